"""The NumPy backward pass: per layer type, a training-mode forward that keeps what autograd keeps, and a backward.

`BACKWARD[type]` is a `Kernels(forward, backward)` pair with one signature each:

    forward(layer, facts, xs, w, rng) -> (y, saved)              # saved: {name: array}, what cnncalc.core.train predicts
    backward(layer, facts, saved, dy, w, need) -> (dxs, dws)     # dxs: one array (or None) per input; dws: {name: array}

`need` is a `Grads` (which inputs need a gradient, whether the weights do). Layers whose training forward is their
inference forward call it through `backend.FORWARD`; batch norm (batch statistics) and dropout (a mask) have their
own. The saved arrays are the tensors `cnncalc.core.train.rules` names, with the same sizes, so the measured
peak of a NumPy step follows the predicted one. The derivations are the seed notes': the output gradient routed to
the maximum's position through max pooling, spread evenly through average pooling, passed back through a
convolution with the kernel flipped (a transposed convolution, written here as one scatter-add per kernel tap), the
weight gradient a correlation of the input with the output gradient, the bias gradient the output gradient summed
per channel. `tests/test_backward.py` checks every type against finite differences in float64; a test fails when a
registered layer type has no entry here.
"""
from __future__ import annotations

import math
from itertools import product
from typing import Callable, Dict, List, NamedTuple, Optional, Tuple

import numpy as np

from ..layers.geometry import adaptive_windows
from . import ops
from .backend import FORWARD


class Kernels(NamedTuple):
    forward: Callable
    backward: Callable


def _spatial(x) -> Tuple[int, ...]:
    return tuple(range(2, x.ndim))


def _tap(offset, stride, dilation, count):
    """The slices of a padded input that kernel tap `offset` reads, one per output position (per axis)."""
    return tuple(slice(k * d, k * d + s * (o - 1) + 1, s) for k, s, d, o in zip(offset, stride, dilation, count))


def _pad(x, pads, extra=None, value=0.0):
    """x zero- (or value-) padded by (lo, hi) per spatial axis, plus `extra` units at the end of each."""
    extra = extra or (0,) * len(pads)
    width = [(0, 0), (0, 0)] + [(lo, hi + max(e, 0)) for (lo, hi), e in zip(pads, extra)]
    if not any(lo or hi for lo, hi in width):
        return x
    return np.pad(x, width, constant_values=value)


def _crop(x_pad, pads, n):
    return x_pad[(slice(None), slice(None)) + tuple(slice(lo, lo + m) for (lo, _), m in zip(pads, n))]


# -- convolution ---------------------------------------------------------------------------------------------------

def _with_input(layer, f, xs, w, rng):  # the inference kernel; keep the input (conv, avg pools, …)
    return FORWARD[layer.type](layer, f, xs, w), {"input": xs[0]}


def _conv_forward(layer, f, xs, w, rng):
    y = FORWARD["conv"](layer, f, xs, w)
    if not f.geometry.symmetric:  # PyTorch pads first (F.pad) and keeps the padded copy
        return y, {"padded input": _pad(xs[0], f.geometry.pads)}
    return y, {"input": xs[0]}


def _grouped(a, groups):
    """(B, G·c, *n) → (G, c, B·n): channels by group, then every (sample, position) as one matmul axis."""
    B, C = a.shape[:2]
    return np.ascontiguousarray(np.moveaxis(a.reshape(B, groups, C // groups, -1), 0, 2)).reshape(groups, C // groups, -1)


def _ungrouped(a, shape):
    """(G, c, B·n) → (B, G·c, *n), a view."""
    G, c = a.shape[:2]
    B, n = shape[0], shape[2:]
    return np.moveaxis(a.reshape(G, c, B, -1), 2, 0).reshape((B, G * c, *n))


def _conv_backward(layer, f, saved, dy, w, need):
    """Sample by sample, tap by tap, so the temporaries stay a fraction of one activation: for each kernel tap,
    dW[tap] += dy · x[tap]ᵀ and dx[tap] += W[tap]ᵀ · dy, per group as one batched matmul."""
    g = f.geometry
    x = saved.get("input")
    x_pad = saved["padded input"] if x is None else _pad(x, g.pads)
    weight = w["weight"]
    groups = layer.groups
    B, c_out = dy.shape[:2]
    c_in = x_pad.shape[1]
    ci, co = c_in // groups, c_out // groups
    out = dy.shape[2:]
    w_g = weight.reshape(groups, co, ci, -1)  # (G, co, ci, taps)
    w_t = [np.ascontiguousarray(np.swapaxes(w_g[..., t], 1, 2)) for t in range(w_g.shape[-1])]  # (G, ci, co)
    dx_pad = np.zeros(x_pad.shape, dy.dtype) if need.inputs[0] else None
    dw = np.zeros((groups, co, ci, w_g.shape[-1]), dy.dtype) if need.weights else None
    offsets = list(product(*(range(k) for k in g.kernel)))
    for b in range(B):
        dy_b = dy[b].reshape(groups, co, -1)  # (G, co, out): a view of a contiguous gradient
        for t, offset in enumerate(offsets):
            taps = (slice(None),) + _tap(offset, g.stride, g.dilation, out)
            if dw is not None:  # (G, co, out) @ (G, out, ci)
                dw[..., t] += dy_b @ x_pad[b][taps].reshape(groups, ci, -1).transpose(0, 2, 1)
            if dx_pad is not None:  # (G, ci, co) @ (G, co, out), back to the positions this tap read
                dx_pad[b][taps] += (w_t[t] @ dy_b).reshape((c_in, *out))
    dws = {}
    if dw is not None:
        dws["weight"] = dw.reshape(weight.shape)
        if "bias" in w:
            dws["bias"] = dy.sum(axis=(0, *range(2, dy.ndim)))
    if dx_pad is None:
        return [None], dws
    dx = dx_pad if dx_pad.shape[2:] == tuple(f.inputs[0][1:]) else np.ascontiguousarray(
        _crop(dx_pad, g.pads, f.inputs[0][1:]))
    return [dx], dws


def _conv_transpose_backward(layer, f, saved, dy, w, need):
    g = f.geometry
    x = saved["input"]
    weight = w["weight"]  # (c_in, c_out / groups, *k)
    groups = layer.groups
    c_in, c_out = x.shape[1], dy.shape[1]
    ci, co = c_in // groups, c_out // groups
    n = x.shape[2:]
    pads = tuple((lo, lo) for lo, _ in g.pads)
    # input i sends tap t to output i·S − P + t·D: pad dy by P so that it reads dy_pad[i·S + t·D]
    reach = [ss * (nn - 1) + dd * (kk - 1) + 1 for ss, nn, dd, kk in zip(g.stride, n, g.dilation, g.kernel)]
    extra = tuple(r - (m + 2 * lo) for r, m, (lo, _) in zip(reach, dy.shape[2:], pads))
    dy_pad = _pad(dy, pads, extra)
    x_g = _grouped(x, groups)  # (G, ci, B·n)
    w_g = weight.reshape(groups, ci, co, -1)
    dx = np.zeros((groups, ci, x_g.shape[2]), dy.dtype) if need.inputs[0] else None
    dw = np.zeros((groups, ci, co, w_g.shape[-1]), dy.dtype) if need.weights else None
    for t, offset in enumerate(product(*(range(k) for k in g.kernel))):
        d = _grouped(dy_pad[(slice(None), slice(None)) + _tap(offset, g.stride, g.dilation, n)], groups)  # (G, co, B·n)
        if dw is not None:
            dw[..., t] = x_g @ d.transpose(0, 2, 1)
        if dx is not None:
            dx += w_g[..., t] @ d
    dws = {}
    if dw is not None:
        dws["weight"] = dw.reshape(weight.shape)
        if "bias" in w:
            dws["bias"] = dy.sum(axis=(0, *range(2, dy.ndim)))
    return [None if dx is None else np.ascontiguousarray(_ungrouped(dx, x.shape))], dws


def _dense_forward(layer, f, xs, w, rng):
    return FORWARD["dense"](layer, f, xs, w), {"input": xs[0]}  # kept only when the weights learn (see the step)


def _dense_backward(layer, f, saved, dy, w, need):
    dx = dy @ w["weight"] if need.inputs[0] else None
    dws = {}
    if need.weights:
        dws["weight"] = dy.T @ saved["input"]
        if "bias" in w:
            dws["bias"] = dy.sum(axis=0)
    return [dx], dws


# -- pooling -------------------------------------------------------------------------------------------------------

def _max_pool_forward(layer, f, xs, w, rng):
    """The maximum of each window and which tap holds it (the first, as PyTorch), by one pass over the taps."""
    g = f.geometry
    x = xs[0]
    x_pad = _pad(x, g.pads, g.overhang, -np.inf)
    out = f.output[1:]
    best = idx = None
    for t, offset in enumerate(product(*(range(k) for k in g.kernel))):
        v = x_pad[(slice(None), slice(None)) + _tap(offset, g.stride, g.dilation, out)]
        if best is None:
            best, idx = v.copy(), np.zeros(v.shape, np.int64)
        else:
            more = v > best
            best[more] = v[more]
            idx[more] = t
    return best, {"input": x, "indices": idx}


def _max_pool_backward(layer, f, saved, dy, w, need):
    g = f.geometry
    x, idx = saved["input"], saved["indices"]
    out = f.output[1:]
    dx_pad = np.zeros(_pad(x[:1, :1], g.pads, g.overhang).shape[:2] and
                      (x.shape[0], x.shape[1], *(n + lo + hi + max(e, 0) for n, (lo, hi), e in
                                                 zip(x.shape[2:], g.pads, g.overhang))), dy.dtype)
    for t, offset in enumerate(product(*(range(k) for k in g.kernel))):
        dx_pad[(slice(None), slice(None)) + _tap(offset, g.stride, g.dilation, out)] += np.where(idx == t, dy, 0)
    return [np.ascontiguousarray(_crop(dx_pad, g.pads, x.shape[2:]))], {}


def _avg_counts(layer, f):
    """(1, 1, *out) divisors of each window: taps inside the padded input (count_include_pad) or the input."""
    g = f.geometry
    per_axis = []
    for n, k, s, (lo, hi), o in zip(f.inputs[0][1:], g.kernel, g.stride, g.pads, f.output[1:]):
        start = np.arange(o) * s
        end = start + k
        if layer.count_include_pad:
            c = np.minimum(end, n + lo + hi) - start
        else:
            c = np.minimum(end, lo + n) - np.maximum(start, lo)
        per_axis.append(c)
    counts = per_axis[0]
    for c in per_axis[1:]:
        counts = np.multiply.outer(counts, c)
    return counts.reshape((1, 1, *f.output[1:]))


def _avg_pool_backward(layer, f, saved, dy, w, need):
    g = f.geometry
    n = f.inputs[0][1:]
    out = f.output[1:]
    share = dy / _avg_counts(layer, f).astype(dy.dtype)
    dx_pad = np.zeros((dy.shape[0], dy.shape[1], *(m + lo + hi + max(e, 0) for m, (lo, hi), e in
                                                   zip(n, g.pads, g.overhang))), dy.dtype)
    for offset in product(*(range(k) for k in g.kernel)):
        dx_pad[(slice(None), slice(None)) + _tap(offset, g.stride, (1,) * len(n), out)] += share
    return [np.ascontiguousarray(_crop(dx_pad, g.pads, n))], {}


def _median_pool_forward(layer, f, xs, w, rng):
    """The median of each window's in-bounds values (the mean of the middle two for an even count), keeping the
    sort order and the two chosen ranks as the torch bridge's sort and gathers do."""
    g = f.geometry
    x = xs[0]
    x_pad = _pad(x, g.pads, g.overhang, np.inf)
    out = f.output[1:]
    taps = np.stack([x_pad[(slice(None), slice(None)) + _tap(o, g.stride, (1,) * len(out), out)]
                     for o in product(*(range(k) for k in g.kernel))], axis=-1)  # (B, C, *out, K)
    order = np.argsort(taps, axis=-1, kind="stable")
    ranked = np.take_along_axis(taps, order, axis=-1)
    inside = np.stack([_inside(f, o) for o in product(*(range(k) for k in g.kernel))], axis=-1).sum(-1)
    count = np.broadcast_to(inside, taps.shape[:-1])[..., None].astype(np.int64)
    lower, upper = (count - 1) // 2, count // 2
    y = (np.take_along_axis(ranked, lower, -1) + np.take_along_axis(ranked, upper, -1))[..., 0] / 2
    return y.astype(x.dtype, copy=False), {"sort indices": order, "sorted": ranked, "lower index": lower,
                                           "upper index": upper}


def _inside(f, offset):
    """(*out) booleans: whether tap `offset` of each window lands inside the (unpadded) input."""
    g = f.geometry
    masks = []
    for n, k, s, (lo, _), o in zip(f.inputs[0][1:], offset, g.stride, g.pads, f.output[1:]):
        pos = np.arange(o) * s + k - lo
        masks.append((pos >= 0) & (pos < n))
    m = masks[0]
    for other in masks[1:]:
        m = np.logical_and.outer(m, other)
    return m


def _median_pool_backward(layer, f, saved, dy, w, need):
    g = f.geometry
    n = f.inputs[0][1:]
    out = f.output[1:]
    order = saved["sort indices"]
    half = (dy / 2)[..., None]
    dtaps = np.zeros(order.shape, dy.dtype)
    for rank in (saved["lower index"], saved["upper index"]):  # ½ to each middle rank, at its tap
        np.add.at(dtaps, _index_along(np.take_along_axis(order, rank, -1)), np.broadcast_to(half, rank.shape))
    dx_pad = np.zeros((dy.shape[0], dy.shape[1], *(m + lo + hi + max(e, 0) for m, (lo, hi), e in
                                                   zip(n, g.pads, g.overhang))), dy.dtype)
    for t, offset in enumerate(product(*(range(k) for k in g.kernel))):
        dx_pad[(slice(None), slice(None)) + _tap(offset, g.stride, (1,) * len(out), out)] += dtaps[..., t]
    return [np.ascontiguousarray(_crop(dx_pad, g.pads, n))], {}


def _index_along(last):
    """Index arrays that address `last` (…, 1) positions along the last axis of an array of its leading shape."""
    lead = np.indices(last.shape[:-1], sparse=True)
    return tuple(a[..., None] for a in lead) + (last,)


def _global_max_forward(layer, f, xs, w, rng):
    x = xs[0]
    flat = x.reshape(x.shape[0], x.shape[1], -1)
    idx = flat.argmax(-1)[..., None]  # (B, C, 1): the first maximum
    y = np.take_along_axis(flat, idx, -1).reshape(f.output and (x.shape[0], *f.output))
    return y, {"input": x, "indices": idx}


def _global_max_backward(layer, f, saved, dy, w, need):
    x = saved["input"]
    dx = np.zeros((x.shape[0], x.shape[1], math.prod(x.shape[2:])), dy.dtype)
    np.put_along_axis(dx, saved["indices"], dy.reshape(dy.shape[0], dy.shape[1], 1), -1)
    return [dx.reshape(x.shape)], {}


def _global_avg_forward(layer, f, xs, w, rng):
    return FORWARD["global_avgpool"](layer, f, xs, w), {}


def _global_avg_backward(layer, f, saved, dy, w, need):
    n = f.inputs[0][1:]
    dx = np.empty((dy.shape[0], dy.shape[1], *n), dy.dtype)
    dx[...] = dy / dy.dtype.type(math.prod(n))
    return [dx], {}


def _windows(f):
    """Every output position of an adaptive pool with its input window: [(out index, slices)]."""
    axes = [adaptive_windows(n, o) for n, o in zip(f.inputs[0][1:], f.output[1:])]
    return [(pos, tuple(slice(s, e) for s, e in w)) for pos, w in zip(product(*(range(len(a)) for a in axes)),
                                                                        product(*axes))]


def _adaptive_avg_forward(layer, f, xs, w, rng):
    y = FORWARD["adaptive_avgpool"](layer, f, xs, w)
    return (y, {}) if all(o == 1 for o in f.output[1:]) else (y, {"input": xs[0]})


def _adaptive_avg_backward(layer, f, saved, dy, w, need):
    dx = np.zeros((dy.shape[0], dy.shape[1], *f.inputs[0][1:]), dy.dtype)
    for pos, window in _windows(f):
        size = math.prod(s.stop - s.start for s in window)
        dx[(slice(None), slice(None)) + window] += (dy[(slice(None), slice(None)) + pos] / size)[
            (...,) + (None,) * len(window)]
    return [dx], {}


def _adaptive_max_forward(layer, f, xs, w, rng):
    x = xs[0]
    B, C = x.shape[:2]
    y = np.empty((B, *f.output), x.dtype)
    idx = np.empty((B, *f.output), np.int64)  # the flat index of each maximum within the input's spatial axes
    grid = np.arange(math.prod(x.shape[2:])).reshape(x.shape[2:])
    for pos, window in _windows(f):
        part = x[(slice(None), slice(None)) + window].reshape(B, C, -1)
        at = part.argmax(-1)
        here = (slice(None), slice(None)) + pos
        y[here] = np.take_along_axis(part, at[..., None], -1)[..., 0]
        idx[here] = grid[window].reshape(-1)[at]
    return y, {"input": x, "indices": idx}


def _adaptive_max_backward(layer, f, saved, dy, w, need):
    x, idx = saved["input"], saved["indices"]
    B, C = x.shape[:2]
    dx = np.zeros((B, C, math.prod(x.shape[2:])), dy.dtype)
    flat_idx, flat_dy = idx.reshape(B, C, -1), dy.reshape(B, C, -1)
    for b in range(B):  # overlapping windows may pick one position twice: accumulate
        for c in range(C):
            np.add.at(dx[b, c], flat_idx[b, c], flat_dy[b, c])
    return [dx.reshape(x.shape)], {}


# -- normalisation -------------------------------------------------------------------------------------------------

def _bn_forward(layer, f, xs, w, rng):
    """Training mode: each channel normalised by its batch mean and (biased) variance."""
    x = xs[0]
    axes = (0, *_spatial(x))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mean = x.mean(axis=axes)
    var = x.var(axis=axes)
    invstd = (1 / np.sqrt(var + x.dtype.type(layer.eps))).astype(x.dtype)
    y = x - mean.reshape(shape)
    y *= invstd.reshape(shape)
    if "weight" in w:
        y *= w["weight"].reshape(shape)
        y += w["bias"].reshape(shape)
    return y, {"input": x, "mean": mean, "invstd": invstd}


def _bn_backward(layer, f, saved, dy, w, need):
    x, mean, invstd = saved["input"], saved["mean"], saved["invstd"]
    axes = (0, *_spatial(x))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    n = x.size // x.shape[1]
    xhat = x - mean.reshape(shape)
    xhat *= invstd.reshape(shape)
    sum_dy = dy.sum(axis=axes)
    B, C = x.shape[:2]
    sum_dy_xhat = np.einsum("bcn,bcn->c", dy.reshape(B, C, -1), xhat.reshape(B, C, -1))
    dws = {}
    if need.weights and "weight" in w:
        dws = {"weight": sum_dy_xhat, "bias": sum_dy}
    dx = None
    if need.inputs[0]:  # dx = γ·invstd/N · (N·dy − Σdy − x̂·Σ(dy·x̂))
        scale = invstd * (w["weight"] if "weight" in w else 1) / n
        xhat *= sum_dy_xhat.reshape(shape)
        dx = dy * dy.dtype.type(n)
        dx -= sum_dy.reshape(shape)
        dx -= xhat
        dx *= scale.reshape(shape).astype(dy.dtype)
    return [dx], dws


def _lrn_forward(layer, f, xs, w, rng):
    """torch's F.local_response_norm, keeping what its ops keep: the padded squares, the base, the divisor."""
    x = xs[0]
    size, C = layer.size, x.shape[1]
    sq = np.zeros((x.shape[0], C + size - 1) + x.shape[2:], x.dtype)
    np.square(x, out=sq[:, size // 2:size // 2 + C])
    base = sq[:, :C].copy()
    for j in range(1, size):
        base += sq[:, j:j + C]
    base *= x.dtype.type(layer.alpha / size)
    base += x.dtype.type(layer.k)
    div = np.power(base, x.dtype.type(layer.beta))
    return x / div, {"input": x, "padded squares": sq, "pow base": base, "divisor": div}


def _lrn_backward(layer, f, saved, dy, w, need):
    x, base, div = saved["input"], saved["pow base"], saved["divisor"]
    size, C = layer.size, x.shape[1]
    dx = dy / div
    # through the divisor: d(div) = −dy·x/div², d(base) = d(div)·β·div/base, d(mean) = α·d(base)
    dmean = dy * x
    dmean /= div
    dmean /= base
    dmean *= x.dtype.type(-layer.beta * layer.alpha / size)
    dsq = np.zeros((x.shape[0], C + size - 1) + x.shape[2:], x.dtype)
    for j in range(size):  # channel c's window covers padded channels c … c + size − 1
        dsq[:, j:j + C] += dmean
    dx += 2 * x * dsq[:, size // 2:size // 2 + C]
    return [dx], {}


# -- element-wise --------------------------------------------------------------------------------------------------

def _keep(*names):
    """An inference kernel whose training forward keeps its input and/or output."""
    def forward(layer, f, xs, w, rng):
        y = FORWARD[layer.type](layer, f, xs, w)
        return y, {name: (xs[0] if name == "input" else y) for name in names}
    return forward


def _pointwise(derivative, name):
    """dx = dy · derivative(saved `name`): `name` is "input" or "output"."""
    def backward(layer, f, saved, dy, w, need):
        return [dy * derivative(layer, saved[name])], {}
    return backward


def _erf_pdf(x):
    cdf = 0.5 * ops.erfc(-x / math.sqrt(2))
    pdf = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    return cdf + x * pdf


def _gelu_tanh(x):
    c = math.sqrt(2 / math.pi)
    inner = c * (x + 0.044715 * x ** 3)
    t = np.tanh(inner)
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x)


def _silu(x):
    s = ops.sigmoid(x)
    return s * (1 + x * (1 - s))


def _cast(fn):
    return lambda layer, v: fn(layer, v).astype(v.dtype, copy=False)


def _softmax_backward(layer, f, saved, dy, w, need):
    y = saved["output"]
    dx = dy * y
    dx -= y * dx.sum(axis=1, keepdims=True)
    return [dx], {}


def _scale_backward(layer, f, saved, dy, w, need):
    return [dy * dy.dtype.type(layer.factor)], {}


def _dropout_forward(layer, f, xs, w, rng):
    x = xs[0]
    if layer.p == 0:
        return x, {}
    if layer.p == 1:
        zero = np.zeros((), x.dtype)
        return x * zero, {"zero": zero}
    mask = rng.random(x.shape, dtype=np.float32) >= layer.p  # keep with probability 1 − p (bool, as CUDA keeps)
    y = x * mask
    y *= x.dtype.type(1 / (1 - layer.p))
    return y, {"mask": mask}


def _dropout_backward(layer, f, saved, dy, w, need):
    if layer.p == 0:
        return [dy], {}
    if layer.p == 1:
        return [dy * saved["zero"]], {}
    dx = dy * saved["mask"]
    dx *= dy.dtype.type(1 / (1 - layer.p))
    return [dx], {}


def _plain(layer, f, xs, w, rng):
    return FORWARD[layer.type](layer, f, xs, w), {}


def _flatten_backward(layer, f, saved, dy, w, need):
    return [dy.reshape((dy.shape[0], *f.inputs[0]))], {}


def _identity_backward(layer, f, saved, dy, w, need):
    return [dy], {}


def _interpolation(n, o, layer):
    """The (o, n) matrix that maps an axis of n to o as `ops.upsample` does (nearest or linear), float64."""
    m = np.zeros((o, n))
    if not layer.linear:
        scale = np.float32(n) / np.float32(o)
        idx = np.minimum(np.floor(np.arange(o, dtype=np.float32) * scale).astype(int), n - 1)
        m[np.arange(o), idx] = 1
        return m
    i = np.arange(o, dtype=np.float64)
    if layer.align_corners:
        src = i * ((n - 1) / (o - 1) if o > 1 else 0)
    else:
        src = np.maximum((i + 0.5) * (n / o) - 0.5, 0)
    i0 = np.minimum(src.astype(int), n - 1)
    i1 = np.minimum(i0 + 1, n - 1)
    l1 = src - i0
    np.add.at(m, (np.arange(o), i0), 1 - l1)
    np.add.at(m, (np.arange(o), i1), l1)
    return m


def _upsample_backward(layer, f, saved, dy, w, need):
    dx = dy
    for axis, (n, o) in enumerate(zip(f.inputs[0][1:], f.output[1:]), start=2):
        m = _interpolation(n, o, layer).astype(dy.dtype)
        dx = np.moveaxis(np.tensordot(dx, m, axes=((axis,), (0,))), -1, axis)
    return [np.ascontiguousarray(dx)], {}


def _add_backward(layer, f, saved, dy, w, need):  # the output gradient itself, to every input
    return [dy if needed else None for needed in need.inputs], {}


def _mul_forward(layer, f, xs, w, rng):
    y = FORWARD["mul"](layer, f, xs, w)
    return y, {f"input {k}": x for k, x in enumerate(xs)}


def _reduce_to(g, shape):
    """g summed over the axes where `shape` (batch first) has size 1 but g does not (undoing broadcasting)."""
    axes = tuple(i for i, (a, b) in enumerate(zip(g.shape, shape)) if b == 1 and a != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


def _mul_backward(layer, f, saved, dy, w, need):
    xs = [saved[f"input {k}"] for k in range(len(need.inputs))]
    dxs: List[Optional[np.ndarray]] = []
    for k, needed in enumerate(need.inputs):
        if not needed:
            dxs.append(None)
            continue
        g = dy
        for j, x in enumerate(xs):
            if j != k:
                g = g * x
        dxs.append(np.ascontiguousarray(_reduce_to(g, xs[k].shape)))
    return dxs, {}


def _concat_backward(layer, f, saved, dy, w, need):  # slices of the output gradient (the step copies them)
    dxs, start = [], 0
    for shape, needed in zip(f.inputs, need.inputs):
        dxs.append(dy[:, start:start + shape[0]] if needed else None)
        start += shape[0]
    return dxs, {}


def _activation(derivative, keep):
    return Kernels(_keep(keep), _pointwise(_cast(derivative), keep))


BACKWARD: Dict[str, Kernels] = {
    "conv": Kernels(_conv_forward, _conv_backward),
    "conv_transpose": Kernels(_with_input, _conv_transpose_backward),
    "dense": Kernels(_dense_forward, _dense_backward),
    "maxpool": Kernels(_max_pool_forward, _max_pool_backward),
    "avgpool": Kernels(_with_input, _avg_pool_backward),
    "medianpool": Kernels(_median_pool_forward, _median_pool_backward),
    "global_avgpool": Kernels(_global_avg_forward, _global_avg_backward),
    "global_maxpool": Kernels(_global_max_forward, _global_max_backward),
    "adaptive_avgpool": Kernels(_adaptive_avg_forward, _adaptive_avg_backward),
    "adaptive_maxpool": Kernels(_adaptive_max_forward, _adaptive_max_backward),
    "bn": Kernels(_bn_forward, _bn_backward),
    "lrn": Kernels(_lrn_forward, _lrn_backward),
    "relu": _activation(lambda layer, y: y > 0, "output"),
    "relu6": _activation(lambda layer, x: (x > 0) & (x < 6), "input"),
    "leaky_relu": _activation(lambda layer, x: np.where(x > 0, 1, layer.slope), "input"),
    "sigmoid": _activation(lambda layer, y: y * (1 - y), "output"),
    "tanh": _activation(lambda layer, y: 1 - y * y, "output"),
    "silu": _activation(lambda layer, x: _silu(x), "input"),
    "hardsigmoid": _activation(lambda layer, x: ((x > -3) & (x < 3)) / 6, "input"),
    "hardswish": _activation(lambda layer, x: np.where(x < -3, 0, np.where(x <= 3, x / 3 + 0.5, 1)), "input"),
    "gelu": _activation(lambda layer, x: _gelu_tanh(x) if layer.approximate == "tanh" else _erf_pdf(x), "input"),
    "softmax": Kernels(_keep("output"), _softmax_backward),
    "scale": Kernels(_plain, _scale_backward),
    "dropout": Kernels(_dropout_forward, _dropout_backward),
    "flatten": Kernels(_plain, _flatten_backward),
    "identity": Kernels(_plain, _identity_backward),
    "upsample": Kernels(_plain, _upsample_backward),
    "add": Kernels(_plain, _add_backward),
    "mul": Kernels(_mul_forward, _mul_backward),
    "concat": Kernels(_plain, _concat_backward),
}
