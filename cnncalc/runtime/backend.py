"""The NumPy backend: one forward kernel per layer type, in a table (fvcore's handles are the model).

Each entry has one signature, `(layer, facts, xs, w) -> y`: the layer's configuration, its `Facts` from the
analysis (normalised geometry, output shape), the input arrays (batch first) and its weights by name. The kernels
themselves are in `ops`; this table only says which one a layer type runs and with which of its facts. A test
fails when a registered layer type has no entry here.
"""
from __future__ import annotations

from typing import Callable, Dict, List

import numpy as np

from . import ops

Kernel = Callable[[object, object, List[np.ndarray], Dict[str, np.ndarray]], np.ndarray]


def _unary(op) -> Kernel:
    return lambda layer, facts, xs, w: op(xs[0])


def _conv(layer, f, xs, w):
    g = f.geometry
    return ops.conv(xs[0], w["weight"], w.get("bias"), g.stride, g.pads, g.dilation, layer.groups)


def _conv_transpose(layer, f, xs, w):
    g = f.geometry
    return ops.conv_transpose(xs[0], w["weight"], w.get("bias"), g.stride, [lo for lo, _ in g.pads],
                              g.output_padding, g.dilation, layer.groups)


def _max_pool(layer, f, xs, w):
    g = f.geometry
    return ops.max_pool(xs[0], g.kernel, g.stride, g.pads, g.dilation, layer.ceil_mode)


def _avg_pool(layer, f, xs, w):
    g = f.geometry
    return ops.avg_pool(xs[0], g.kernel, g.stride, g.pads, layer.ceil_mode, layer.count_include_pad)


def _median_pool(layer, f, xs, w):
    g = f.geometry
    return ops.median_pool(xs[0], g.kernel, g.stride, g.pads, layer.ceil_mode)


def _batch_norm(layer, f, xs, w):
    return ops.batch_norm(xs[0], w.get("weight"), w.get("bias"), w["running_mean"], w["running_var"], layer.eps)


def _upsample(layer, f, xs, w):
    return ops.upsample(xs[0], f.output[1:], "linear" if layer.linear else "nearest", layer.align_corners)


def _scale(layer, f, xs, w):
    return xs[0] * xs[0].dtype.type(layer.factor)  # keeps float32 float32


FORWARD: Dict[str, Kernel] = {
    "conv": _conv,
    "conv_transpose": _conv_transpose,
    "dense": lambda layer, f, xs, w: ops.dense(xs[0], w["weight"], w.get("bias")),
    "maxpool": _max_pool,
    "avgpool": _avg_pool,
    "medianpool": _median_pool,
    "global_avgpool": lambda layer, f, xs, w: xs[0].mean(axis=tuple(range(2, xs[0].ndim)), keepdims=True),
    "global_maxpool": lambda layer, f, xs, w: xs[0].max(axis=tuple(range(2, xs[0].ndim)), keepdims=True),
    "adaptive_avgpool": lambda layer, f, xs, w: ops.adaptive_avg_pool(xs[0], f.output[1:]),
    "adaptive_maxpool": lambda layer, f, xs, w: ops.adaptive_max_pool(xs[0], f.output[1:]),
    "bn": _batch_norm,
    "lrn": lambda layer, f, xs, w: ops.lrn(xs[0], layer.size, layer.alpha, layer.beta, layer.k),
    "relu": _unary(ops.relu),
    "relu6": _unary(ops.relu6),
    "sigmoid": _unary(ops.sigmoid),
    "tanh": _unary(ops.tanh),
    "silu": _unary(ops.silu),
    "hardsigmoid": _unary(ops.hardsigmoid),
    "hardswish": _unary(ops.hardswish),
    "leaky_relu": lambda layer, f, xs, w: ops.leaky_relu(xs[0], layer.slope),
    "gelu": lambda layer, f, xs, w: ops.gelu(xs[0], layer.approximate),
    "softmax": lambda layer, f, xs, w: ops.softmax(xs[0], axis=1),
    "scale": _scale,
    "dropout": lambda layer, f, xs, w: xs[0],  # the identity at inference
    "identity": lambda layer, f, xs, w: xs[0],
    "flatten": _unary(ops.flatten),
    "upsample": _upsample,
    "add": lambda layer, f, xs, w: ops.add(*xs),
    "mul": lambda layer, f, xs, w: ops.mul(*xs),
    "concat": lambda layer, f, xs, w: ops.concat(*xs),
}
