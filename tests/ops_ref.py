"""Slow, obviously-correct reference versions of the ops in :mod:`cnncalc.runtime.ops`.

Written straight from the definitions with plain Python loops over output positions and kernel
taps, for small inputs only; the tests check the fast kernels against these.  Same signatures and
conventions as :mod:`cnncalc.runtime.ops` (arrays (B, C, *spatial), per-axis tuples, padding as (lo, hi)
pairs, except symmetric ints for conv_transpose).  Nothing here shares code with ops.py: sizes are
found by enumerating the windows that exist.
"""
from __future__ import annotations

import math
from itertools import product

import numpy as np


def n_windows(n, k, s=1, lo=0, hi=0, d=1, ceil_mode=False):
    """How many windows of span d*(k-1)+1 at starts 0, s, 2s, ... fit an axis of n padded by
    (lo, hi).  A window fits if it lies inside the padded axis; in ceil mode a partial last window
    is also kept if it overhangs the padded end by less than a stride and starts inside the input
    or its left padding (PyTorch's rule)."""
    span, padded = d * (k - 1) + 1, n + lo + hi
    count = 0
    while (count * s + span <= padded
           or (ceil_mode and count * s + span < padded + s and count * s < n + lo)):
        count += 1
    return count


def _taps(x, b, c, pos, k, s, lo, d):
    """(input index or None if outside the input, tap) for each kernel tap of window `pos`."""
    for tap in np.ndindex(*k):
        idx = tuple(p * ss + t * dd - l for p, t, ss, dd, l in zip(pos, tap, s, d, lo))
        inside = all(0 <= i < n for i, n in zip(idx, x.shape[2:]))
        yield (x[(b, c) + idx] if inside else None), tap


def _sizes(x, k, s, padding, d, ceil_mode=False):
    return tuple(n_windows(n, kk, ss, lo, hi, dd, ceil_mode)
                 for n, kk, ss, (lo, hi), dd in zip(x.shape[2:], k, s, padding, d))


def conv(x, w, b, stride, padding, dilation, groups):
    B, C = x.shape[:2]
    Cout, Cg, k = w.shape[0], w.shape[1], w.shape[2:]
    M = Cout // groups
    out = _sizes(x, k, stride, padding, dilation)
    lo = [p[0] for p in padding]
    y = np.zeros((B, Cout) + out)
    for bi, co, pos in product(range(B), range(Cout), np.ndindex(*out)):
        acc = 0.0 if b is None else b[co]
        for ci in range(Cg):
            for val, tap in _taps(x, bi, (co // M) * Cg + ci, pos, k, stride, lo, dilation):
                if val is not None:
                    acc += val * w[(co, ci) + tap]
        y[(bi, co) + pos] = acc
    return y


def conv_transpose(x, w, b, stride, padding, output_padding, dilation, groups):
    """Scatter form (the adjoint of conv): input pixel i sends x[i] * w[tap] to output
    i*s + tap*d - p."""
    B, Cin = x.shape[:2]
    M, k = w.shape[1], w.shape[2:]
    Cg = Cin // groups
    out = tuple((n - 1) * s - 2 * p + d * (kk - 1) + op + 1 for n, s, p, d, kk, op
                in zip(x.shape[2:], stride, padding, dilation, k, output_padding))
    y = np.zeros((B, M * groups) + out)
    for bi, ci, pos in product(range(B), range(Cin), np.ndindex(*x.shape[2:])):
        g = ci // Cg
        for co, tap in product(range(M), np.ndindex(*k)):
            o = tuple(i * s + t * d - p
                      for i, t, s, d, p in zip(pos, tap, stride, dilation, padding))
            if all(0 <= j < n for j, n in zip(o, out)):
                y[(bi, g * M + co) + o] += x[(bi, ci) + pos] * w[(ci, co) + tap]
    if b is not None:
        y += np.reshape(b, (-1,) + (1,) * len(out))
    return y


def _pool(x, kernel, stride, padding, dilation, ceil_mode, window_fn):
    """Apply window_fn(in-bounds values, taps inside the padded axis) to each window."""
    out = _sizes(x, kernel, stride, padding, dilation, ceil_mode)
    lo = [p[0] for p in padding]
    y = np.zeros(x.shape[:2] + out)
    for bi, c, pos in product(range(x.shape[0]), range(x.shape[1]), np.ndindex(*out)):
        vals, in_padded = [], 0
        for val, tap in _taps(x, bi, c, pos, kernel, stride, lo, dilation):
            if val is not None:
                vals.append(val)
            idx = [p * s + t * d - l for p, t, s, d, l in zip(pos, tap, stride, dilation, lo)]
            in_padded += all(-l <= i < n + h for i, n, (l, h) in zip(idx, x.shape[2:], padding))
        y[(bi, c) + pos] = window_fn(vals, in_padded)
    return y


def max_pool(x, kernel, stride, padding, dilation, ceil_mode):
    return _pool(x, kernel, stride, padding, dilation, ceil_mode,
                 lambda vals, _: max(vals, default=-math.inf))


def avg_pool(x, kernel, stride, padding, ceil_mode, count_include_pad=True):
    return _pool(x, kernel, stride, padding, (1,) * len(kernel), ceil_mode,
                 lambda vals, n_pad: sum(vals) / (n_pad if count_include_pad else len(vals)))


def median_pool(x, kernel, stride, padding, ceil_mode):
    return _pool(x, kernel, stride, padding, (1,) * len(kernel), ceil_mode,
                 lambda vals, _: np.median(vals))


def _adaptive(x, out_size, fn):
    y = np.zeros(x.shape[:2] + tuple(out_size))
    for bi, c, pos in product(range(x.shape[0]), range(x.shape[1]), np.ndindex(*out_size)):
        box = tuple(slice(math.floor(i * n / o), math.ceil((i + 1) * n / o))
                    for i, n, o in zip(pos, x.shape[2:], out_size))
        y[(bi, c) + pos] = fn(x[(bi, c) + box])
    return y


def adaptive_avg_pool(x, out_size):
    return _adaptive(x, out_size, np.mean)


def adaptive_max_pool(x, out_size):
    return _adaptive(x, out_size, np.max)


def lrn(x, size, alpha, beta, k):
    y = np.zeros(x.shape)
    C = x.shape[1]
    for bi, c, pos in product(range(x.shape[0]), range(C), np.ndindex(*x.shape[2:])):
        near = range(max(c - size // 2, 0), min(c + (size - 1) // 2 + 1, C))
        sq = sum(x[(bi, j) + pos] ** 2 for j in near)
        y[(bi, c) + pos] = x[(bi, c) + pos] / (k + alpha / size * sq) ** beta
    return y


def _nearest_src(i, n, o):
    # PyTorch's legacy 'nearest': float32 scale n/o, floor(i * scale), clamped.
    return min(int(math.floor(np.float32(i) * (np.float32(n) / np.float32(o)))), n - 1)


def _linear_src(i, n, o, align_corners):
    """[(input index, weight), (input index, weight)] for output i along one axis."""
    if align_corners:
        src = i * ((n - 1) / (o - 1) if o > 1 else 0.0)
    else:
        src = max((i + 0.5) * n / o - 0.5, 0.0)
    i0 = min(int(math.floor(src)), n - 1)
    lam = src - i0
    return [(i0, 1 - lam), (min(i0 + 1, n - 1), lam)]


def upsample(x, size, mode="nearest", align_corners=False):
    y = np.zeros(x.shape[:2] + tuple(size))
    shape = x.shape[2:]
    for bi, c, pos in product(range(x.shape[0]), range(x.shape[1]), np.ndindex(*size)):
        if mode == "nearest":
            y[(bi, c) + pos] = x[(bi, c) + tuple(map(_nearest_src, pos, shape, size))]
            continue
        corners = [_linear_src(i, n, o, align_corners) for i, n, o in zip(pos, shape, size)]
        y[(bi, c) + pos] = sum(math.prod(wt for _, wt in corner)
                               * x[(bi, c) + tuple(j for j, _ in corner)]
                               for corner in product(*corners))
    return y
