"""The torch backend: one layer type → one module constructor call, in a table.

Each entry has one signature, `(layer, facts, rank) -> Call`: the layer's configuration, its `Facts` (normalised
geometry, shapes) and its number of spatial axes. `build()` calls `Call.module()`; `export` renders the same calls
as source. This module does not import torch, so the table can be checked anywhere; a test fails when a registered
layer type has no entry.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List

from ..errors import SpecError
from ..layers import Facts, Layer

class UnsupportedError(SpecError):
    """A valid cnncalc network that PyTorch cannot express (exit code 2, located like a spec error)."""


@dataclass
class Call:
    """A module constructor call: `cls(*args, **kwargs)`; `defaults` are the kwargs' default values (export leaves
    them out where every instance has them)."""

    cls: str  # "nn.Conv2d", or a helper module's name
    args: List[Any]
    kwargs: Dict[str, Any] = field(default_factory=dict)
    defaults: Dict[str, Any] = field(default_factory=dict)

    def module(self):
        from torch import nn

        from .modules import HELPER_NAMES

        factory = getattr(nn, self.cls[3:]) if self.cls.startswith("nn.") else HELPER_NAMES[self.cls]
        return factory(*self.args, **self.kwargs)


def _axes(values) -> Any:
    """Per-axis values as one int when they are all equal (PyTorch accepts either)."""
    values = tuple(values)
    return values[0] if len(set(values)) == 1 else values


def _d(rank: int) -> str:
    return f"{max(rank, 1)}d"


def _conv(layer, f: Facts, rank: int) -> Call:
    g = f.geometry
    kw = {"stride": _axes(g.stride), "padding": _axes(lo for lo, _ in g.pads), "dilation": _axes(g.dilation),
          "groups": layer.groups, "bias": layer.bias}
    defaults = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1, "bias": True}
    args = [f.inputs[0][0], layer.out, _axes(g.kernel)]
    if g.symmetric:
        return Call(f"nn.Conv{_d(rank)}", args, kw, defaults)
    kw["padding"] = 0
    kw["pads"] = [p for lo_hi in g.pads[::-1] for p in lo_hi]
    return Call(f"PaddedConv{_d(rank)}", args, kw, defaults)


def _conv_transpose(layer, f: Facts, rank: int) -> Call:
    g = f.geometry
    kw = {"stride": _axes(g.stride), "padding": _axes(lo for lo, _ in g.pads),
          "output_padding": _axes(g.output_padding), "groups": layer.groups, "bias": layer.bias,
          "dilation": _axes(g.dilation)}
    defaults = {"stride": 1, "padding": 0, "output_padding": 0, "groups": 1, "bias": True, "dilation": 1}
    return Call(f"nn.ConvTranspose{_d(rank)}", [f.inputs[0][0], layer.out, _axes(g.kernel)], kw, defaults)


def _pool(layer, f: Facts, rank: int) -> Call:
    g = f.geometry
    kind = layer.type[:-len("pool")]
    # avg_pool3d refuses an input axis shorter than the kernel, which ceil mode allows (its 1-D/2-D forms do not)
    short = kind == "avg" and rank == 3 and any(n < k for n, k in zip(f.inputs[0][1:], g.kernel))
    if kind == "median" or not g.symmetric or short:
        kw = {"count_include_pad": layer.count_include_pad} if kind == "avg" else {}
        if kind == "max":
            kw["dilation"] = list(g.dilation)
        return Call("WindowPool", [kind, list(g.kernel), list(g.stride), [list(p) for p in g.pads], list(g.overhang)],
                    kw, {"dilation": None, "count_include_pad": True})
    kw = {"stride": _axes(g.stride), "padding": _axes(lo for lo, _ in g.pads), "ceil_mode": layer.ceil_mode}
    defaults = {"stride": _axes(g.kernel), "padding": 0, "ceil_mode": False}
    if kind == "max":
        kw["dilation"], defaults["dilation"] = _axes(g.dilation), 1
    else:
        kw["count_include_pad"], defaults["count_include_pad"] = layer.count_include_pad, True
    return Call(f"nn.{kind.title()}Pool{_d(rank)}", [_axes(g.kernel)], kw, defaults)


def _upsample(layer, f: Facts, rank: int) -> Call:
    if layer.linear:
        mode = ("linear", "bilinear", "trilinear")[rank - 1]
        kw, defaults = {"mode": mode, "align_corners": layer.align_corners}, {"mode": "nearest"}
    else:
        kw, defaults = {}, {}
    if layer.scale is not None:  # an integer scale maps output i to input i / scale, the same as size does
        scale = layer.scale if isinstance(layer.scale, tuple) else (layer.scale,) * rank
        return Call("nn.Upsample", [], {"scale_factor": _axes(scale), **kw}, defaults)
    return Call("nn.Upsample", [], {"size": _axes(f.output[1:]), **kw}, defaults)


def _lrn(layer, f: Facts, rank: int) -> Call:
    if rank == 0:
        raise UnsupportedError("'lrn' on a flat input has no PyTorch equivalent", layer.loc,
                               hint="LocalResponseNorm needs [C, L] or more: put it before `flatten`")
    return Call("nn.LocalResponseNorm", [layer.size], {"alpha": layer.alpha, "beta": layer.beta, "k": layer.k},
                {"alpha": 1e-4, "beta": 0.75, "k": 1.0})


def _plain(cls: str) -> Callable[[Layer, Facts, int], Call]:
    return lambda layer, f, rank: Call(cls, [])


CALLS: Dict[str, Callable[[Layer, Facts, int], Call]] = {
    "conv": _conv,
    "conv_transpose": _conv_transpose,
    "maxpool": _pool,
    "avgpool": _pool,
    "medianpool": _pool,
    "upsample": _upsample,
    "lrn": _lrn,
    "dense": lambda layer, f, rank: Call("nn.Linear", [f.inputs[0][0], layer.out], {"bias": layer.bias}, {"bias": True}),
    "bn": lambda layer, f, rank: Call(f"nn.BatchNorm{_d(rank)}", [f.inputs[0][0]],
                                      {"eps": layer.eps, "momentum": layer.momentum, "affine": layer.affine},
                                      {"eps": 1e-5, "momentum": 0.1, "affine": True}),
    "global_avgpool": lambda layer, f, rank: Call(f"nn.AdaptiveAvgPool{_d(rank)}", [1]),
    "global_maxpool": lambda layer, f, rank: Call(f"nn.AdaptiveMaxPool{_d(rank)}", [1]),
    "adaptive_avgpool": lambda layer, f, rank: Call(f"nn.AdaptiveAvgPool{_d(rank)}", [_axes(f.output[1:])]),
    "adaptive_maxpool": lambda layer, f, rank: Call(f"nn.AdaptiveMaxPool{_d(rank)}", [_axes(f.output[1:])]),
    "leaky_relu": lambda layer, f, rank: Call("nn.LeakyReLU", [layer.slope], {}, {}),
    "gelu": lambda layer, f, rank: Call("nn.GELU", [], {"approximate": layer.approximate}, {"approximate": "none"}),
    "softmax": lambda layer, f, rank: Call("nn.Softmax", [], {"dim": 1}),
    "dropout": lambda layer, f, rank: Call("nn.Dropout", [layer.p], {}, {}),
    "scale": lambda layer, f, rank: Call("Scale", [layer.factor]),
    "add": _plain("Add"),
    "mul": _plain("Mul"),
    "concat": _plain("Concat"),
    "relu": _plain("nn.ReLU"),
    "relu6": _plain("nn.ReLU6"),
    "sigmoid": _plain("nn.Sigmoid"),
    "tanh": _plain("nn.Tanh"),
    "silu": _plain("nn.SiLU"),
    "hardswish": _plain("nn.Hardswish"),
    "hardsigmoid": _plain("nn.Hardsigmoid"),
    "flatten": _plain("nn.Flatten"),
    "identity": _plain("nn.Identity"),
}


def module_call(layer: Layer, facts: Facts) -> Call:
    """The module that does what `layer` does on the inputs its facts describe, as a constructor call."""
    return CALLS[layer.type](layer, facts, len(facts.inputs[0]) - 1)
