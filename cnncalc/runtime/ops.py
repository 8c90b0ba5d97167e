"""NumPy kernels for running a CNN: the fast path used to prove shapes and costs by execution.

Conventions (PyTorch semantics throughout):

* Activations are shaped ``(B, C, *spatial)`` with 1, 2 or 3 spatial axes; every op is written
  per axis, so one code path serves 1-D, 2-D and 3-D.
* Per-axis arguments (kernel, stride, dilation, sizes) are already-normalised tuples with one
  entry per spatial axis.  ``padding`` is a tuple of ``(lo, hi)`` pairs per axis (so asymmetric
  'same' padding works), except for :func:`conv_transpose`, which takes symmetric ints like
  ``torch.nn.ConvTranspose``.
* Output sizes use floor division, or PyTorch's ceil-mode rule for pools (see :func:`out_size`).
  Convolution and average pooling pad with zeros, max pooling with ``-inf``.
* Weights use torch layouts: conv ``(Cout, Cin // groups, *k)``, transposed conv
  ``(Cin, Cout // groups, *k)``, dense ``(out, in)``.
* dtype is preserved: float32 in gives float32 out; parameters are cast to the activation's
  dtype, and non-float inputs are promoted to float64.
* Memory: an op allocates its output and at most small or bounded temporaries (arithmetic is
  done in place), because a forward pass's measured peak must stay close to its live
  activations.  The exception is median_pool, which sorts a copy of every window.

Grouped and depthwise convolutions copy the padded input once, split by stride into flat phases in which
every kernel tap is a constant offset, and run one small matmul per group (:func:`_conv_flat`). Other
convolutions are im2col over a strided ``sliding_window_view`` followed by one (batched) matmul per
chunk; chunks of samples or output rows keep the column buffer under :data:`COL_BUDGET` bytes,
or under the tighter cap a caller sets with :func:`column_budget` (a forward pass sets a share of the
whole network's predicted peak, so a small net's buffer stays small and a large net's GEMMs stay large).
``tests/ops_ref.py`` holds slow loop versions of the same ops, and the tests pit the two against
each other.
"""
from __future__ import annotations

import contextvars
import itertools
import math
from contextlib import contextmanager
from functools import reduce

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from ..layers.geometry import adaptive_windows, window_count

__all__ = [
    "COL_BUDGET", "column_budget", "out_size",
    "conv", "conv_transpose", "dense",
    "max_pool", "avg_pool", "median_pool", "adaptive_avg_pool", "adaptive_max_pool",
    "batch_norm", "lrn",
    "relu", "relu6", "leaky_relu", "sigmoid", "tanh", "silu", "hardswish", "hardsigmoid",
    "erf", "erfc", "gelu", "softmax",
    "upsample", "add", "mul", "concat", "flatten",
]

# Bytes allowed for one im2col buffer.  Each chunk is still a large GEMM, the buffer stays in
# cache between its copy and the GEMM (4 MiB measured fastest here: VGG conv1_2 27 ms vs 38 ms at
# 16 MiB), and a forward pass's peak memory stays near its activations.
COL_BUDGET = 4 * 2**20
# Grouped and depthwise convs (`_conv_flat`) work in blocks of (samples, groups) of about this many bytes of
# phase copy, column matrix and output (1–4 MiB measured alike and ~1.5× faster than 256 KiB under load:
# fewer Python-level steps; MobileNet v2's 7×7×960 depthwise conv is then one block).
TAP_BLOCK = 2 * 2**20
# ... or less under column_budget(), but never less than this.
MIN_COLS = 2**16
_col_cap = contextvars.ContextVar("cnncalc_col_cap", default=None)


@contextmanager
def column_budget(nbytes: int):
    """Cap the im2col buffer of the convolutions run inside at `nbytes` (at least MIN_COLS, at most COL_BUDGET)."""
    token = _col_cap.set(max(MIN_COLS, int(nbytes)))
    try:
        yield
    finally:
        _col_cap.reset(token)


# im2col copies of at least this many bytes are split across the copy threads (`copy_threads`).
PARALLEL_COPY_MIN = 256 * 2**10
_copy_threads = contextvars.ContextVar("cnncalc_copy_threads", default=1)
_pool = None


@contextmanager
def copy_threads(n: int):
    """Split the im2col copies of the convolutions run inside across `n` threads (NumPy's copy releases the GIL,
    and BLAS parallelises only the matmul after it: single-threaded, the copy's share grows with the batch)."""
    token = _copy_threads.set(max(1, int(n)))
    try:
        yield
    finally:
        _copy_threads.reset(token)


def _copy(dst, src):
    """np.copyto(dst, src), in `copy_threads` parts along the first axis longer than 1 when it is large."""
    n = _copy_threads.get()
    axis = next((a for a, m in enumerate(dst.shape) if m > 1), None)
    if n == 1 or dst.nbytes < PARALLEL_COPY_MIN or axis is None:
        np.copyto(dst, src)
        return
    global _pool
    if _pool is None or _pool._max_workers < n:
        from concurrent.futures import ThreadPoolExecutor
        _pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="cnncalc-copy")
    bounds = [dst.shape[axis] * i // n for i in range(n + 1)]
    parts = [(slice(None),) * axis + (slice(a, b),) for a, b in zip(bounds, bounds[1:]) if b > a]
    jobs = [_pool.submit(np.copyto, dst[p], src[p]) for p in parts[1:]]
    np.copyto(dst[parts[0]], src[parts[0]])
    for job in jobs:
        job.result()


def out_size(n, k, s=1, lo=0, hi=0, d=1, ceil_mode=False):
    """Output length of a sliding window along one axis (conv and pools alike): the size formula of
    `cnncalc.layers.geometry.window_count`, PyTorch's ceil-mode rule included; ValueError when no window fits."""
    o, _ = window_count(n, k, s, lo, hi, d, ceil_mode)
    if o <= 0:
        raise ValueError(
            f"window of {k} (dilation {d}) does not fit an axis of {n} padded by ({lo}, {hi})")
    return o


def _float(x):
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


def _param(p, dtype):
    return None if p is None else np.asarray(p, dtype=dtype)


def _padded(x, lo, starts, lengths, value):
    """Window of the padded input: padded coordinates [start, start+length) per spatial axis.

    Padded coordinate p holds x[p - lo] where that is in range and `value` elsewhere (which also
    covers ceil-mode overhang and, for negative lo, cropping).  Returns a view when no padding
    value is needed.
    """
    src, dst = [slice(None)] * 2, [slice(None)] * 2
    for n, l, a, L in zip(x.shape[2:], lo, starts, lengths):
        off = a - l                          # input index of padded coordinate `a`
        i0, i1 = max(off, 0), min(off + L, n)
        src.append(slice(i0, max(i1, i0)))
        dst.append(slice(i0 - off, max(i1, i0) - off))
    part = x[tuple(src)]
    if part.shape[2:] == tuple(lengths):
        return part
    out = np.full(x.shape[:2] + tuple(lengths), value, dtype=x.dtype)
    if part.size:
        out[tuple(dst)] = part
    return out


def _windows(x, k, s, d, lo, out, value, starts=None):
    """Strided view (B, C, *out, *k) of the windows of the padded input; `starts` offsets axis
    positions (in output units) so a conv can take a chunk of output rows."""
    D = len(k)
    starts = starts or (0,) * D
    e = [dd * (kk - 1) + 1 for kk, dd in zip(k, d)]
    xp = _padded(x, lo, [a * ss for a, ss in zip(starts, s)],
                 [(o - 1) * ss + ee for o, ss, ee in zip(out, s, e)], value)
    v = sliding_window_view(xp, e, axis=tuple(range(2, 2 + D)))
    return v[(Ellipsis,) + tuple(slice(None, None, ss) for ss in s)
             + tuple(slice(None, None, dd) for dd in d)]


def _sizes(x, k, s, padding, d, ceil_mode=False):
    return tuple(out_size(n, kk, ss, lo, hi, dd, ceil_mode)
                 for n, kk, ss, (lo, hi), dd in zip(x.shape[2:], k, s, padding, d))


# --------------------------------------------------------------------------- convolution

def conv(x, w, b, stride, padding, dilation, groups):
    """Grouped N-d cross-correlation (torch.nn.functional.conv{1,2,3}d).

    x (B, Cin, *n), w (Cout, Cin // groups, *k), b (Cout,) or None -> (B, Cout, *out).
    """
    x = _float(x)
    w, b = _param(w, x.dtype), _param(b, x.dtype)
    B, C, D = x.shape[0], x.shape[1], x.ndim - 2
    Cout, Cg, k = w.shape[0], w.shape[1], w.shape[2:]
    G = groups
    if C != Cg * G or Cout % G:
        raise ValueError(f"conv: {C} input / {Cout} output channels do not fit groups={G} "
                         f"with weight {w.shape}")
    M, K = Cout // G, Cg * math.prod(k)
    out = _sizes(x, k, stride, padding, dilation)
    lo = [p[0] for p in padding]
    cap = _col_cap.get()
    budget = COL_BUDGET if cap is None else min(COL_BUDGET, cap)
    if G > 1:                                                 # grouped and depthwise: no im2col ...
        flat, block = _Flat(k, out, stride, dilation), TAP_BLOCK if cap is None else min(TAP_BLOCK, cap)
        if flat.group_bytes(Cg, M, x.itemsize) <= block:      # ... unless one group outgrows the budget
            return _conv_flat(x, w, b, stride, lo, dilation, G, out, flat, block)
    wm = w.reshape(G, M, K)                                   # (G, M, Cg*k)
    y = np.empty((B, Cout) + out, dtype=x.dtype)

    # Chunk: whole samples while the column buffer allows, else output rows of one sample.
    row_bytes = C * math.prod(k) * math.prod(out[1:]) * x.itemsize
    rows = max(1, min(out[0], budget // row_bytes))
    rows = -(-out[0] // -(-out[0] // rows))              # even chunks: no thin last GEMM
    nb = min(B, max(1, budget // (row_bytes * out[0]))) if rows == out[0] else 1
    buf = None                                    # column buffer, reused by every chunk
    to_cols = (0, 1) + tuple(range(2 + D, 2 + 2 * D)) + tuple(range(2, 2 + D))
    for b0 in range(0, B, nb):
        xb = x[b0:b0 + nb]
        for r0 in range(0, out[0], rows):
            oc = (min(rows, out[0] - r0),) + out[1:]
            v = _windows(xb, k, stride, dilation, lo, oc, 0, starts=(r0,) + (0,) * (D - 1))
            # im2col: (nb, C, *oc, *k) -> (nb, C, *k, *oc) = (nb, G, Cg*k, P) contiguous.
            cols = v.transpose(to_cols)
            if not cols.flags.c_contiguous:       # (a 1x1 stride-1 conv needs no copy)
                if buf is None:
                    buf = np.empty(nb * rows * row_bytes // x.itemsize, dtype=x.dtype)
                packed = buf[:v.size].reshape(cols.shape)
                _copy(packed, cols)
                cols = packed
            # One BLAS call, written in place: y's chunk is (M, P) matrices with row stride
            # prod(out), so this reshape is a view.
            dst = y[b0:b0 + nb, :, r0:r0 + oc[0]].reshape(len(xb), G, M, math.prod(oc))
            np.matmul(wm, cols.reshape(len(xb), G, K, -1), out=dst)
    if b is not None:
        y += b.reshape((Cout,) + (1,) * D)
    return y


class _Flat:
    """The flat phase layout of `_conv_flat` for one kernel, stride and dilation and output size.

    Per axis, the padded input splits into phases by stride; phase a holds padded positions a, a+s, a+2s…,
    Q of them (the output length plus the largest tap offset). Phases are flattened with rows of
    Q[1]·Q[2]… elements, so output position q's tap at per-axis offsets e reads phase[q + e·strides].
    Per axis and phase, the taps t with t·d ≡ a (mod s) form an arithmetic run, t0, t0+ts… at offsets
    e0, e0+es…, which makes each phase's part of the column matrix one regular strided view.
    """

    def __init__(self, k, out, stride, dilation):
        D = len(k)
        Q = [o + ((kk - 1) * d) // s for o, kk, s, d in zip(out, k, stride, dilation)]
        Q[0] += 1                                      # slack: the dropped columns of the last row read past it
        self.Q = tuple(Q)
        self.strides = tuple(math.prod(Q[i + 1:]) for i in range(D))
        self.L = out[0] * self.strides[0]              # flat output length (rows of Q[1:], cropped later)
        self.F = math.prod(Q)                          # flat phase length
        self.K = math.prod(k)
        self.runs = []                                 # per axis: (a, t0, count, ts, e0, es) per phase
        for kk, s, d in zip(k, stride, dilation):
            g, axis = math.gcd(s, d), {}
            for t in range(kk):
                axis.setdefault((t * d) % s, []).append(t)
            self.runs.append([(a, ts[0], len(ts), s // g, (ts[0] * d) // s, d // g) for a, ts in sorted(axis.items())])
        self.phases = math.prod(len(r) for r in self.runs)

    def group_bytes(self, Cg, M, itemsize):
        """Bytes of one group's phase copy, column matrix and output in one sample."""
        return (Cg * self.phases * self.F + Cg * self.K * self.L + M * self.L) * itemsize


def _conv_flat(x, w, b, stride, lo, dilation, G, out, f, block):
    """Grouped conv (depthwise included) over a flat, phase-split padded copy of the input (layout: `_Flat`).

    Every kernel tap of every output position is a constant offset into a phase, so the column matrix
    (taps × flat positions) is a few regular strided views of the phases (one per phase), copied in long
    contiguous runs instead of output row by output row, and each group's output is one small matmul
    (M × Cg·K) @ (Cg·K × L). The columns past each output row are computed and dropped. Work goes in blocks
    of (samples, groups) of at most `block` bytes, which stay in cache from copy to matmul.
    """
    B, n, D = x.shape[0], x.shape[2:], x.ndim - 2
    Cout, Cg, k = w.shape[0], w.shape[1], w.shape[2:]
    M, K, its = Cout // G, f.K, x.itemsize
    Q, L, F, nph = f.Q, f.L, f.F, f.phases
    fills, views = [], []      # (phase, x slices, phase slices); (phase, tap slices, offset, strides, counts)
    for number, combo in enumerate(itertools.product(*f.runs)):
        src, dst = [], []
        for (a, *_), q, s, l, nn in zip(combo, Q, stride, lo, n):
            q0 = max(0, -((a - l) // s))               # first q whose x index q·s + a − lo is ≥ 0
            q1 = min(q, (nn - 1 + l - a) // s + 1)     # one past the last inside x
            i0 = q0 * s + a - l
            src.append(slice(i0, i0 + (q1 - q0 - 1) * s + 1, s))
            dst.append(slice(q0, max(q1, q0)))
        if all(d.stop > d.start for d in dst):
            fills.append((number, tuple(src), tuple(dst)))
        taps = tuple(slice(t0, t0 + (c - 1) * ts + 1, ts) for _, t0, c, ts, _, _ in combo)
        offset = sum(e0 * st for (*_, e0, _), st in zip(combo, f.strides))
        views.append((number, taps, offset, tuple(es * st * its for (*_, es), st in zip(combo, f.strides)),
                      tuple(c for _, _, c, *_ in combo)))
    y = np.empty((B, Cout) + out, dtype=x.dtype)
    xg = x.reshape((B, G, Cg) + n)
    yg = y.reshape((B, G, M) + out)
    wg = w.reshape(G, M, Cg * K)
    per_group = f.group_bytes(Cg, M, its)
    gb = max(1, min(G, block // per_group))
    gb = -(-G // -(-G // gb))                          # even blocks
    nb = max(1, min(B, block // (per_group * G))) if gb == G else 1
    phase_buf = np.empty(nb * gb * Cg * nph * F, dtype=x.dtype)
    col_buf = np.empty(nb * gb * Cg * K * L, dtype=x.dtype)
    out_buf = np.empty(nb * gb * M * L, dtype=x.dtype)
    crop = (Ellipsis, slice(None)) + tuple(slice(0, o) for o in out[1:])
    for b0 in range(0, B, nb):
        for g0 in range(0, G, gb):
            bs, gs = slice(b0, b0 + nb), slice(g0, g0 + gb)
            xb = xg[bs, gs]                                          # (nb, gb, Cg, *n)
            lead = xb.shape[:3]
            ph = phase_buf[:math.prod(lead) * nph * F].reshape(lead + (nph,) + tuple(Q))
            ph.fill(0)                                               # the padding
            for number, src, dst in fills:
                ph[(Ellipsis, number) + dst] = xb[(Ellipsis,) + src]
            phf = ph.reshape(lead + (nph, F))
            cols = col_buf[:math.prod(lead) * K * L].reshape(lead + tuple(k) + (L,))
            for number, taps, offset, steps, counts in views:
                base = phf[:, :, :, number, offset:]
                src = as_strided(base, lead + counts + (L,), base.strides[:3] + steps + (its,), writeable=False)
                np.copyto(cols[(Ellipsis,) + taps + (slice(None),)], src)
            acc = out_buf[:lead[0] * lead[1] * M * L].reshape(lead[:2] + (M, L))
            np.matmul(wg[gs], cols.reshape(lead[:2] + (Cg * K, L)), out=acc)
            yb = yg[bs, gs]
            np.copyto(yb, acc.reshape(lead[:2] + (M, out[0]) + tuple(Q[1:]))[crop])
            if b is not None:
                yb += b.reshape((G, M) + (1,) * D)[gs]
    return y


def conv_transpose(x, w, b, stride, padding, output_padding, dilation, groups):
    """Transposed convolution (torch.nn.functional.conv_transpose{1,2,3}d), padding symmetric ints.

    x (B, Cin, *n), w (Cin, Cout // groups, *k) -> (B, Cout, *out) with
    out = (n-1)*s - 2p + d*(k-1) + output_padding + 1.
    It is the adjoint of a strided conv, computed as a stride-1 conv over the input with s-1
    zeros between samples, padded by d*(k-1) - p (+ output_padding after), with the kernel
    flipped and its channel axes swapped per group.
    """
    x = _float(x)
    w, b = _param(w, x.dtype), _param(b, x.dtype)
    B, Cin, D = x.shape[0], x.shape[1], x.ndim - 2
    M, k, G = w.shape[1], w.shape[2:], groups
    if Cin != w.shape[0] or Cin % G:
        raise ValueError(f"conv_transpose: {Cin} input channels do not fit weight {w.shape} "
                         f"with groups={G}")
    xd = x
    if any(s > 1 for s in stride):                                    # (B, Cin, *(n-1)*s+1)
        xd = np.zeros((B, Cin) + tuple((n - 1) * s + 1 for n, s in zip(x.shape[2:], stride)),
                      x.dtype)
        xd[(Ellipsis,) + tuple(slice(None, None, s) for s in stride)] = x
    wt = (w.reshape((G, Cin // G, M) + k).swapaxes(1, 2)
          .reshape((G * M, Cin // G) + k)[(Ellipsis,) + (slice(None, None, -1),) * D])
    pad = tuple((d * (kk - 1) - p, d * (kk - 1) - p + op)
                for kk, p, op, d in zip(k, padding, output_padding, dilation))
    return conv(xd, wt, b, (1,) * D, pad, dilation, G)


def dense(x, w, b):
    """Fully connected layer: x (B, in), w (out, in), b (out,) or None -> (B, out)."""
    x = _float(x)
    y = x @ _param(w, x.dtype).T
    if b is not None:
        y += _param(b, x.dtype)
    return y


# --------------------------------------------------------------------------- pooling

def _reduce_taps(ufunc, v, k):
    """Reduce the window axes of v (B, C, *out, *k) -> (B, C, *out), one kernel tap at a time:
    a whole-array ufunc per tap, ~20x faster than ufunc.reduce over short trailing axes."""
    taps = np.ndindex(*k)
    acc = v[(Ellipsis,) + next(taps)].copy()
    for tap in taps:
        ufunc(acc, v[(Ellipsis,) + tap], out=acc)
    return acc


def max_pool(x, kernel, stride, padding, dilation, ceil_mode):
    """Max pooling; the padding (and ceil-mode overhang) is -inf, so it never wins."""
    x = _float(x)
    out = _sizes(x, kernel, stride, padding, dilation, ceil_mode)
    v = _windows(x, kernel, stride, dilation, [p[0] for p in padding], out, -np.inf)
    return _reduce_taps(np.maximum, v, kernel)


def _counts(x, kernel, stride, padding, out, include_pad):
    """Number of taps per window, (*out): inside the padded input (not the ceil-mode overhang)
    if include_pad, else inside the input itself.  Windows are boxes, so it is an outer
    product of per-axis counts."""
    per_axis = []
    for n, k, s, (lo, hi), o in zip(x.shape[2:], kernel, stride, padding, out):
        start = np.arange(o) * s - lo
        end = np.minimum(start + k, n + hi)
        if not include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, n)
        per_axis.append(end - start)
    return reduce(np.multiply.outer, per_axis)


def avg_pool(x, kernel, stride, padding, ceil_mode, count_include_pad=True):
    """Average pooling with PyTorch's divisor: padding taps count if count_include_pad, the
    ceil-mode overhang past the right padding never does."""
    x = _float(x)
    D = len(kernel)
    out = _sizes(x, kernel, stride, padding, (1,) * D, ceil_mode)
    v = _windows(x, kernel, stride, (1,) * D, [p[0] for p in padding], out, 0)
    y = _reduce_taps(np.add, v, kernel)
    y /= _counts(x, kernel, stride, padding, out, count_include_pad).astype(x.dtype)
    return y


def median_pool(x, kernel, stride, padding, ceil_mode):
    """Median of the in-bounds values of each window (np.median: mean of the two middle values
    for an even count); padding and ceil-mode overhang are ignored, not counted as zeros."""
    x = _float(x)
    D = len(kernel)
    out = _sizes(x, kernel, stride, padding, (1,) * D, ceil_mode)
    v = _windows(x, kernel, stride, (1,) * D, [p[0] for p in padding], out, np.inf)
    srt = np.sort(v.reshape(v.shape[:2 + D] + (-1,)), axis=-1)    # (B, C, *out, K), +inf last
    n = _counts(x, kernel, stride, padding, out, False)[..., None]  # (*out, 1) in-bounds taps
    mid = np.take_along_axis(srt, np.broadcast_to((n - 1) // 2, srt.shape[:-1] + (1,)), -1)
    mid2 = np.take_along_axis(srt, np.broadcast_to(n // 2, srt.shape[:-1] + (1,)), -1)
    return np.where(n > 0, (mid + mid2) / 2, np.nan)[..., 0]       # NaN: window wholly padding


def _adaptive(x, size, reduce_fn, fill, mean):
    """Adaptive pooling one axis at a time (a box window's max / mean is separable), over PyTorch's windows
    (`cnncalc.layers.geometry.adaptive_windows`)."""
    x = _float(x)
    for ax, o in zip(range(2, x.ndim), size):
        n, tail = x.shape[ax], (1,) * (x.ndim - ax - 1)
        if n % o == 0:                        # equal, disjoint windows (global pooling too)
            x = reduce_fn(x.reshape(x.shape[:ax] + (o, n // o) + x.shape[ax + 1:]), axis=ax + 1)
            if mean:
                x /= n // o
            continue
        start, end = np.array(adaptive_windows(n, o)).T
        idx = start[:, None] + np.arange((end - start).max())           # (o, L)
        g = np.take(x, np.minimum(idx, n - 1), axis=ax)                  # (..., o, L, ...)
        np.copyto(g, fill, where=(idx >= end[:, None]).reshape(idx.shape + tail))
        x = reduce_fn(g, axis=ax + 1)
        if mean:
            x /= (end - start).reshape((o,) + tail).astype(x.dtype)
    return x


def adaptive_avg_pool(x, out_size):
    return _adaptive(x, out_size, np.sum, 0, True)


def adaptive_max_pool(x, out_size):
    return _adaptive(x, out_size, np.max, -np.inf, False)


# --------------------------------------------------------------------------- normalisation

def batch_norm(x, gamma, beta, running_mean, running_var, eps):
    """Inference batch norm over channel axis 1; gamma/beta None means affine=False."""
    x = _float(x)
    shape = (-1,) + (1,) * (x.ndim - 2)
    scale = 1 / np.sqrt(_param(running_var, x.dtype) + x.dtype.type(eps))
    if gamma is not None:
        scale = scale * _param(gamma, x.dtype)
    shift = -_param(running_mean, x.dtype) * scale
    if beta is not None:
        shift = shift + _param(beta, x.dtype)
    y = x * scale.reshape(shape)
    y += shift.reshape(shape)
    return y


def lrn(x, size, alpha, beta, k):
    """torch.nn.LocalResponseNorm: x / (k + alpha/size * sum of x^2 over a channel window)^beta,
    the window zero-padded size//2 channels before and (size-1)//2 after."""
    x = _float(x)
    C = x.shape[1]
    sq = np.zeros((x.shape[0], C + size - 1) + x.shape[2:], x.dtype)  # channels zero-padded
    np.square(x, out=sq[:, size // 2:size // 2 + C])
    win = sq[:, :C].copy()                                            # (B, C, *spatial)
    for j in range(1, size):
        win += sq[:, j:j + C]
    win *= alpha / size
    win += k
    np.power(win, beta, out=win)
    return np.divide(x, win, out=win)


# --------------------------------------------------------------------------- activations

def relu(x):
    return np.maximum(x, 0)


def relu6(x):
    return np.clip(x, 0, 6)


def leaky_relu(x, slope):
    x = _float(x)
    y = x * slope
    np.copyto(y, x, where=x > 0)
    return y


def sigmoid(x):
    # 1 / (1 + exp(-x)) keeps full relative precision on both tails; exp's overflow to inf
    # for x << 0 gives the right limit 0.
    y = np.negative(_float(x))
    with np.errstate(over="ignore"):
        np.exp(y, out=y)
    y += 1
    return np.reciprocal(y, out=y)


def tanh(x):
    return np.tanh(x)


def silu(x):
    y = sigmoid(x)
    y *= x
    return y


def hardsigmoid(x):
    y = np.add(_float(x), 3)
    np.clip(y, 0, 6, out=y)
    y /= 6
    return y


def hardswish(x):
    y = hardsigmoid(x)
    y *= x
    return y


def _blockwise(f, x, block=1 << 15):
    """f applied to x in flat blocks, so f's float64 temporaries stay small (and in cache)."""
    flat = np.ascontiguousarray(x).reshape(-1)
    out = np.empty_like(flat)
    for i in range(0, flat.size, block):
        out[i:i + block] = f(flat[i:i + block])
    return out.reshape(x.shape)


def _erfc64(x):
    """erfc(|x|) in float64, relative error < 1.2e-7 (Chebyshev fit, Numerical Recipes' erfcc)."""
    z = np.abs(x, dtype=np.float64)
    t = 1 / (1 + 0.5 * z)
    acc = np.full_like(t, 0.17087277)
    for c in (-0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418,
              0.37409196, 1.00002368, -1.26551223):                   # Horner
        acc *= t
        acc += c
    acc -= z * z
    np.exp(acc, out=acc)
    acc *= t
    return acc


def _erfc_block(x):
    r = _erfc64(x)
    return np.subtract(2, r, out=r, where=x < 0)


def _erf_block(x):
    r = 1 - _erfc64(x)
    return np.negative(r, out=r, where=x < 0)


def erfc(x):
    """Complementary error function, relative error < 1.2e-7, in x's float dtype."""
    return _blockwise(_erfc_block, _float(x))


def erf(x):
    """Error function, absolute error < 1.2e-7 (numpy has none, scipy is not a dependency)."""
    return _blockwise(_erf_block, _float(x))


def gelu(x, approximate="none"):
    """GELU: x * Phi(x) exactly (via erfc, so the negative tail keeps relative precision), or
    torch's tanh approximation."""
    x = _float(x)
    if approximate == "tanh":
        y = x ** 3                           # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        y *= 0.044715
        y += x
        y *= math.sqrt(2 / math.pi)
        np.tanh(y, out=y)
        y += 1
        y *= x
        y *= 0.5
        return y
    if approximate != "none":
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', not {approximate!r}")
    y = erfc(x * x.dtype.type(-math.sqrt(0.5)))
    y *= x
    y *= 0.5
    return y


def softmax(x, axis=1):
    e = np.subtract(x, np.max(x, axis=axis, keepdims=True))     # stable: the largest term is 1
    np.exp(e, out=e)
    e /= e.sum(axis=axis, keepdims=True)
    return e


# --------------------------------------------------------------------------- resampling & plumbing

def upsample(x, size, mode="nearest", align_corners=False):
    """F.interpolate with an explicit output size, one axis at a time.

    nearest: src = min(floor(i * scale), n-1) with scale = n/o in float32, exactly PyTorch's
    legacy 'nearest' arithmetic.  linear (bi/tri-linear): PyTorch's source index
    (i + 0.5) * n/o - 0.5 clamped at 0, or i * (n-1)/(o-1) with align_corners.
    """
    x = _float(x)
    for ax, o in zip(range(2, x.ndim), size):
        n = x.shape[ax]
        if mode == "nearest":
            scale = np.float32(n) / np.float32(o)
            idx = np.minimum(np.floor(np.arange(o, dtype=np.float32) * scale).astype(int), n - 1)
            x = np.take(x, idx, axis=ax)
            continue
        if mode != "linear":
            raise ValueError(f"upsample: mode must be 'nearest' or 'linear', not {mode!r}")
        i = np.arange(o, dtype=x.dtype)
        if align_corners:
            src = i * x.dtype.type((n - 1) / (o - 1) if o > 1 else 0)
        else:
            src = np.maximum((i + 0.5) * x.dtype.type(n / o) - 0.5, 0)
        i0 = np.minimum(src.astype(int), n - 1)
        i1 = np.minimum(i0 + 1, n - 1)
        tail = (1,) * (x.ndim - ax - 1)
        l1 = (src - i0.astype(x.dtype)).reshape((o,) + tail)
        a, b = np.take(x, i0, axis=ax), np.take(x, i1, axis=ax)
        b -= a
        b *= l1
        x = np.add(a, b, out=a)                                       # a + (b - a) * l1
    return x


def add(*xs):
    return reduce(np.add, xs)


def mul(*xs):
    return reduce(np.multiply, xs)


def concat(*xs):
    return np.concatenate(xs, axis=1)


def flatten(x):
    return x.reshape(x.shape[0], -1)
