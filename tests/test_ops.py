"""cnncalc.runtime.ops (fast kernels) against tests/ops_ref.py (loops from the definitions), hand-checked
worked examples, and numerical properties.  Torch cross-checks run only where torch is installed."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

import ops_ref
from cnncalc.runtime import ops

rng = np.random.default_rng(1234)
fuzz = settings(max_examples=100, deadline=None, derandomize=True)


def rand(*shape):
    return rng.standard_normal(shape)


def sym(*p):
    return tuple((q, q) for q in p)


def close(a, b, tol=1e-12):
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


# --------------------------------------------------------------------------- sizes

@pytest.mark.parametrize("n,k,s,lo,hi,d,ceil,expected", [
    (224, 7, 2, 3, 3, 1, False, 112),     # ResNet stem
    (112, 3, 2, 1, 1, 1, False, 56),      # ResNet max pool
    (5, 2, 2, 0, 0, 1, False, 2),
    (5, 2, 2, 0, 0, 1, True, 3),          # ceil keeps the window starting at 4 (inside input)
    (6, 2, 2, 1, 1, 1, True, 4),          # last window would start at 8 >= n + lo = 7: dropped
    (6, 2, 2, 1, 1, 1, False, 4),
    (7, 3, 2, 1, 1, 2, True, 3),
    (13, 3, 1, 0, 0, 5, False, 3),
])
def test_out_size(n, k, s, lo, hi, d, ceil, expected):
    assert ops.out_size(n, k, s, lo, hi, d, ceil) == expected
    assert ops_ref.n_windows(n, k, s, lo, hi, d, ceil) == expected


@given(n=st.integers(1, 20), k=st.integers(1, 5), s=st.integers(1, 4), lo=st.integers(0, 3),
       hi=st.integers(0, 3), d=st.integers(1, 3), ceil=st.booleans())
@settings(max_examples=300, deadline=None, derandomize=True)
def test_out_size_matches_enumeration(n, k, s, lo, hi, d, ceil):
    assume(not ceil or max(lo, hi) <= k // 2)        # pools: PyTorch accepts pad <= k // 2 only
    expected = ops_ref.n_windows(n, k, s, lo, hi, d, ceil)
    if expected == 0:
        with pytest.raises(ValueError):
            ops.out_size(n, k, s, lo, hi, d, ceil)
    else:
        assert ops.out_size(n, k, s, lo, hi, d, ceil) == expected


# --------------------------------------------------------------------------- worked examples

def test_conv_worked_example():
    # UFLDL / CS231n: 5x5 binary image, 3x3 filter, stride 1, no padding; first output 4.
    img = np.array([[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0],
                    [0, 1, 1, 0, 0]], dtype=np.float64)
    f = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=np.float64)
    expected = [[4, 3, 4], [2, 4, 3], [2, 3, 4]]
    for impl in (ops, ops_ref):
        y = impl.conv(img[None, None], f[None, None], None, (1, 1), sym(0, 0), (1, 1), 1)
        np.testing.assert_array_equal(y[0, 0], expected)


def test_max_pool_worked_example():
    # CS231n: 4x4 map, 2x2 max pool, stride 2.
    m = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]], dtype=np.float64)
    for impl in (ops, ops_ref):
        y = impl.max_pool(m[None, None], (2, 2), (2, 2), sym(0, 0), (1, 1), False)
        np.testing.assert_array_equal(y[0, 0], [[6, 8], [3, 4]])


def test_int_input_promoted_to_float():
    y = ops.conv(np.ones((1, 1, 3, 3), dtype=int), np.ones((1, 1, 2, 2), dtype=int), None,
                 (1, 1), sym(0, 0), (1, 1), 1)
    assert y.dtype == np.float64 and (y == 4).all()


# --------------------------------------------------------------------------- convolution

CONV_CASES = [
    # (spatial n, k, stride, padding (lo, hi), dilation, Cg, groups, M)
    ((7,), (3,), (1,), ((0, 0),), (1,), 2, 1, 3),
    ((9,), (3,), (2,), ((2, 1),), (2,), 1, 4, 2),                              # 1-D depthwise x2
    ((6, 5), (3, 3), (1, 1), sym(1, 1), (1, 1), 3, 1, 4),                      # 'same'
    ((8, 7), (4, 4), (1, 1), ((1, 2), (2, 1)), (1, 1), 2, 1, 2),               # asymmetric 'same'
    ((9, 8), (3, 2), (2, 3), ((1, 0), (0, 1)), (2, 1), 2, 3, 2),               # grouped
    ((7, 7), (3, 3), (2, 2), sym(1, 1), (1, 1), 1, 5, 1),                      # depthwise
    ((7, 6), (3, 3), (1, 2), sym(2, 0), (2, 1), 1, 3, 3),                      # depthwise, x3
    ((11, 10), (7, 7), (2, 2), sym(3, 3), (1, 1), 3, 1, 2),                    # stem-like 7x7/2
    ((5, 6), (1, 1), (1, 1), sym(0, 0), (1, 1), 4, 1, 3),                      # pointwise
    ((4, 5, 6), (2, 3, 2), (1, 2, 1), ((1, 0), (1, 1), (0, 2)), (1, 1, 2), 2, 2, 2),  # 3-D
]


@pytest.mark.parametrize("n,k,s,pad,d,Cg,G,M", CONV_CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_conv_cases(n, k, s, pad, d, Cg, G, M, bias):
    x, w = rand(2, Cg * G, *n), rand(M * G, Cg, *k)
    b = rand(M * G) if bias else None
    close(ops.conv(x, w, b, s, pad, d, G), ops_ref.conv(x, w, b, s, pad, d, G))


@st.composite
def conv_params(draw):
    D = draw(st.integers(1, 3))
    k = tuple(draw(st.integers(1, 3)) for _ in range(D))
    s = tuple(draw(st.integers(1, 3)) for _ in range(D))
    d = tuple(draw(st.integers(1, 2)) for _ in range(D))
    pad = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(D))
    # smallest size that leaves one window, plus a little
    n = tuple(max(1, dd * (kk - 1) + 1 - lo - hi) + draw(st.integers(0, 6 - 2 * D))
              for kk, dd, (lo, hi) in zip(k, d, pad))
    G = draw(st.integers(1, 3))
    Cg = draw(st.integers(1, 2))
    M = draw(st.integers(1, 2))
    return D, n, k, s, pad, d, G, Cg, M, draw(st.booleans())


@given(conv_params())
@fuzz
def test_conv_fuzz(p):
    D, n, k, s, pad, d, G, Cg, M, bias = p
    x, w = rand(2, Cg * G, *n), rand(M * G, Cg, *k)
    b = rand(M * G) if bias else None
    close(ops.conv(x, w, b, s, pad, d, G), ops_ref.conv(x, w, b, s, pad, d, G))


@pytest.mark.parametrize("budget", [1, 200, 5000])
@pytest.mark.parametrize("shape,k,s,pad,G", [
    ((3, 4, 9, 8), (3, 3), (1, 1), sym(1, 1), 1),
    ((2, 6, 10, 7), (3, 2), (2, 1), ((1, 2), (0, 1)), 3),
    ((2, 4, 9, 8), (1, 1), (1, 1), sym(0, 0), 1),        # 1x1: copy-free unless row-chunked
    ((2, 4, 5, 4, 6), (2, 3, 2), (2, 1, 1), sym(1, 0, 1), 2),
])
def test_conv_chunking_identical(monkeypatch, budget, shape, k, s, pad, G):
    # Small-integer data: every partial sum is exact in float32, so BLAS's blocking (which does
    # change with the chunk's size) cannot hide or fake an indexing difference.
    def ints(*sh):
        return rng.integers(-3, 4, sh).astype(np.float32)
    args = (ints(*shape), ints(5 * G, shape[1] // G, *k), ints(5 * G), s, pad, (1,) * len(k), G)
    whole = ops.conv(*args)
    monkeypatch.setattr(ops, "COL_BUDGET", budget)        # 1 byte: one output row per chunk
    np.testing.assert_array_equal(ops.conv(*args), whole)
    monkeypatch.setattr(ops, "PARALLEL_COPY_MIN", 0)      # every column copy split across 3 threads
    with ops.copy_threads(3):
        np.testing.assert_array_equal(ops.conv(*args), whole)


GROUPED = [  # shape, kernel, stride, padding, dilation, groups, out channels per group
    ((2, 6, 9, 8), (3, 3), (1, 1), sym(1, 1), (1, 1), 6, 1),                 # depthwise 'same'
    ((2, 6, 11, 10), (3, 3), (2, 2), sym(1, 1), (1, 1), 6, 2),               # depthwise stride 2, multiplier 2
    ((3, 4, 13, 12), (3, 5), (3, 2), ((2, 0), (1, 3)), (2, 2), 2, 3),        # s and d sharing a factor: 2 phases
    ((1, 8, 7, 7), (5, 5), (2, 2), sym(4, 4), (1, 1), 4, 1),                 # padding past the input's size
    ((2, 6, 12), (4,), (3,), ((1, 2),), (3,), 3, 2),                         # 1-D, s = d: one phase per tap run
    ((2, 4, 5, 6, 7), (3, 2, 3), (2, 1, 2), sym(1, 0, 1), (1, 2, 1), 4, 1),  # 3-D depthwise
]


@pytest.mark.parametrize("block", [1, 600, 2**20])
@pytest.mark.parametrize("shape,k,s,pad,d,G,M", GROUPED)
def test_grouped_conv_blocks_and_phases(monkeypatch, block, shape, k, s, pad, d, G, M):
    # Small integers: every sum is exact in float32, so blocking (1 B: one group of one sample per block) may not
    # change a single bit, and the loops of ops_ref (no phases, no flat rows) must agree exactly.
    def ints(*sh):
        return rng.integers(-3, 4, sh).astype(np.float32)
    x, w, b = ints(*shape), ints(M * G, shape[1] // G, *k), ints(M * G)
    monkeypatch.setattr(ops, "TAP_BLOCK", block)
    y = ops.conv(x, w, b, s, pad, d, G)
    np.testing.assert_array_equal(y, ops_ref.conv(x, w, b, s, pad, d, G).astype(np.float32))


def test_grouped_conv_falls_back_to_im2col_when_a_group_outgrows_the_budget(monkeypatch):
    x, w = rand(2, 6, 9, 9), rand(6, 2, 3, 3)
    called = []
    monkeypatch.setattr(ops, "_conv_flat", lambda *a: called.append(a))
    monkeypatch.setattr(ops, "TAP_BLOCK", 0)           # no group fits: im2col, chunked by rows
    close(ops.conv(x, w, None, (1, 1), sym(1, 1), (1, 1), 3), ops_ref.conv(x, w, None, (1, 1), sym(1, 1), (1, 1), 3))
    assert called == []


def peak_bytes(f):
    """(result, peak bytes NumPy allocated while computing it)."""
    import tracemalloc
    tracemalloc.start()
    try:
        y = f()
        return y, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_conv_temporaries_are_bounded(monkeypatch):
    # unchunked, the column matrix would be 16*9*96*96*4 B = 5.3 MB
    x = rand(1, 16, 96, 96).astype(np.float32)
    w = rand(16, 16, 3, 3).astype(np.float32)
    monkeypatch.setattr(ops, "COL_BUDGET", 2**19)
    y, peak = peak_bytes(lambda: ops.conv(x, w, None, (1, 1), sym(1, 1), (1, 1), 1))
    assert peak - y.nbytes < 2**19 + 2**17          # the buffer plus a padded slab of rows


def test_depthwise_temporaries_are_bounded(monkeypatch):
    # MobileNet-like depthwise 3×3 on 64 channels of 56×56 (a 784 KiB output): one block's phase copy, column
    # matrix (9 taps) and output stay under the block size, however many groups there are
    x = rand(1, 64, 56, 56).astype(np.float32)
    w = rand(64, 1, 3, 3).astype(np.float32)
    monkeypatch.setattr(ops, "TAP_BLOCK", 2**18)
    y, peak = peak_bytes(lambda: ops.conv(x, w, None, (1, 1), sym(1, 1), (1, 1), 64))
    assert peak - y.nbytes <= 2**18 + 2**12


def test_column_budget_caps_a_small_conv_buffer():
    # LeNet's first conv: the 25-fold column matrix is 2·25·28·28·4 B = 156,800 B; under a 64 KiB cap it is chunked
    x, w = rand(2, 1, 32, 32).astype(np.float32), rand(6, 1, 5, 5).astype(np.float32)
    expect = ops.conv(x, w, None, (1, 1), sym(0, 0), (1, 1), 1)
    _, free = peak_bytes(lambda: ops.conv(x, w, None, (1, 1), sym(0, 0), (1, 1), 1))
    with ops.column_budget(2**16):
        y, capped = peak_bytes(lambda: ops.conv(x, w, None, (1, 1), sym(0, 0), (1, 1), 1))
    assert free - y.nbytes >= 156_800                     # without a cap, the whole column matrix at once
    assert capped - y.nbytes <= 2**16 + 2**13             # with it, at most the cap (plus a padded slab)
    np.testing.assert_allclose(y, expect, rtol=1e-5, atol=1e-6)   # chunking only regroups the sums


@pytest.mark.parametrize("name", ["batch_norm", "relu", "relu6", "leaky_relu", "sigmoid", "silu",
                                  "hardswish", "hardsigmoid", "gelu", "gelu_tanh", "softmax",
                                  "avg_pool", "max_pool", "lrn", "global_avg_pool"])
def test_elementwise_ops_allocate_about_their_output(name):
    x = rand(2, 8, 64, 64).astype(np.float32)
    p = np.ones(8, np.float32)
    f = {
        "batch_norm": lambda: ops.batch_norm(x, p, p, p, p, 1e-5),
        "leaky_relu": lambda: ops.leaky_relu(x, 0.1),
        "gelu_tanh": lambda: ops.gelu(x, "tanh"),
        "avg_pool": lambda: ops.avg_pool(x, (3, 3), (1, 1), sym(1, 1), False),
        "max_pool": lambda: ops.max_pool(x, (3, 3), (1, 1), sym(1, 1), (1, 1), False),
        "lrn": lambda: ops.lrn(x, 5, 1e-4, 0.75, 2.0),
        "global_avg_pool": lambda: ops.adaptive_avg_pool(x, (1, 1)),
    }.get(name, lambda: getattr(ops, name)(x))
    y, peak = peak_bytes(f)
    # output + a bool mask or a padded copy of the input, never several activation-sized arrays;
    # gelu's float64 erfc works in fixed-size blocks
    assert peak <= y.nbytes + 1.6 * x.nbytes + (2**20 if name == "gelu" else 0)


def test_conv_rejects_bad_groups():
    with pytest.raises(ValueError):
        ops.conv(rand(1, 4, 5, 5), rand(6, 3, 3, 3), None, (1, 1), sym(0, 0), (1, 1), 2)


CONVT_CASES = [
    # (n, k, stride, padding, output_padding, dilation, Cg, groups, M)
    ((5,), (3,), (2,), (1,), (1,), (1,), 2, 1, 3),
    ((4, 5), (3, 3), (2, 2), (1, 1), (1, 0), (1, 1), 2, 1, 2),        # typical decoder 2x
    ((4, 4), (4, 4), (2, 2), (1, 1), (0, 0), (1, 1), 3, 1, 2),        # DCGAN 4x4/2
    ((3, 5), (2, 3), (3, 1), (0, 2), (2, 0), (2, 2), 2, 2, 3),        # grouped, p > d(k-1)/2
    ((6, 6), (3, 3), (1, 1), (3, 3), (0, 0), (1, 1), 1, 1, 1),        # p > d(k-1): output cropped
    ((4, 3), (3, 3), (2, 2), (1, 1), (1, 1), (1, 1), 1, 4, 1),        # depthwise
    ((3, 4, 3), (2, 3, 2), (2, 1, 3), (0, 1, 1), (1, 0, 2), (1, 2, 1), 2, 1, 2),  # 3-D
]


@pytest.mark.parametrize("n,k,s,p,op,d,Cg,G,M", CONVT_CASES)
def test_conv_transpose_cases(n, k, s, p, op, d, Cg, G, M):
    x, w, b = rand(2, Cg * G, *n), rand(Cg * G, M, *k), rand(M * G)
    y = ops.conv_transpose(x, w, b, s, p, op, d, G)
    assert y.shape[2:] == tuple((nn - 1) * ss - 2 * pp + dd * (kk - 1) + oo + 1
                                for nn, ss, pp, dd, kk, oo in zip(n, s, p, d, k, op))
    close(y, ops_ref.conv_transpose(x, w, b, s, p, op, d, G))


def test_conv_transpose_is_adjoint_of_conv():
    # <conv(x), y> == <x, conv_transpose(y)> for the same weight: the definition of the adjoint.
    x, w = rand(2, 4, 9, 8), rand(6, 2, 3, 3)
    s, p, d = (2, 2), (1, 1), (1, 2)
    y = ops.conv(x, w, None, s, sym(*p), d, 2)
    g = rand(*y.shape)
    short = ops.conv_transpose(g, w, None, s, p, (0, 0), d, 2).shape[2:]
    op = tuple(n - m for n, m in zip(x.shape[2:], short))     # rows the strided conv skipped
    xt = ops.conv_transpose(g, w, None, s, p, op, d, 2)
    assert xt.shape == x.shape
    assert math.isclose((y * g).sum(), (x * xt).sum(), rel_tol=1e-10)


def test_dense():
    x, w, b = rand(3, 5), rand(4, 5), rand(4)
    close(ops.dense(x, w, b), np.array([[sum(xi[j] * wo[j] for j in range(5)) + bo
                                         for wo, bo in zip(w, b)] for xi in x]))
    close(ops.dense(x, w, None), x @ w.T)


# --------------------------------------------------------------------------- pooling

POOL_CASES = [
    # (n, kernel, stride, padding (lo, hi), ceil)
    ((7,), (3,), (2,), sym(1), False),
    ((8,), (3,), (2,), sym(1), True),
    ((6, 6), (2, 2), (2, 2), sym(0, 0), False),
    ((5, 7), (2, 2), (2, 2), sym(0, 0), True),        # ceil: overhanging last windows
    ((6, 6), (2, 2), (2, 2), sym(1, 1), True),        # ceil: last window would start in padding
    ((7, 9), (3, 3), (2, 2), sym(1, 1), True),
    ((9, 8), (3, 4), (3, 2), ((1, 0), (2, 1)), True),  # asymmetric
    ((5, 6, 7), (2, 3, 2), (2, 2, 3), sym(1, 1, 0), True),
    ((5, 4, 6), (3, 2, 2), (1, 2, 2), ((0, 2), (1, 0), (0, 0)), False),
]


@pytest.mark.parametrize("n,k,s,pad,ceil", POOL_CASES)
def test_avg_and_median_pool_cases(n, k, s, pad, ceil):
    x = rand(2, 3, *n)
    for cip in (True, False):
        close(ops.avg_pool(x, k, s, pad, ceil, cip), ops_ref.avg_pool(x, k, s, pad, ceil, cip))
    close(ops.median_pool(x, k, s, pad, ceil), ops_ref.median_pool(x, k, s, pad, ceil))


@pytest.mark.parametrize("n,k,s,pad,ceil", POOL_CASES)
@pytest.mark.parametrize("dilated", [False, True])
def test_max_pool_cases(n, k, s, pad, ceil, dilated):
    x = rand(2, 3, *n)
    d = tuple(2 if dilated and nn >= 2 * kk else 1 for nn, kk in zip(n, k))
    close(ops.max_pool(x, k, s, pad, d, ceil), ops_ref.max_pool(x, k, s, pad, d, ceil), 0)


def test_avg_pool_divisor_rules():
    # n=4, k=3, s=2, pad 1, ceil: windows over padded coordinates [0,3) [2,5) [4,7) with input at
    # 1..4; the last starts inside the input and holds x=4, one padding tap (5, inside n + hi = 6)
    # and one overhang tap (6), which never counts.
    x = np.arange(1.0, 5.0)[None, None]
    incl = ops.avg_pool(x, (3,), (2,), sym(1), True, True)[0, 0]
    excl = ops.avg_pool(x, (3,), (2,), sym(1), True, False)[0, 0]
    np.testing.assert_allclose(incl, [3 / 3, 9 / 3, 4 / 2])
    np.testing.assert_allclose(excl, [3 / 2, 9 / 3, 4 / 1])
    # a window that would start in the right padding is dropped (n=5, k=2, s=2, pad 1: 3 not 4)
    assert ops.avg_pool(np.ones((1, 1, 5)), (2,), (2,), sym(1), True).shape[-1] == 3


def test_median_pool_semantics():
    x = np.array([[1.0, 5.0, 2.0, 8.0, 3.0]])[None]
    # windows of 2 with stride 1: even counts average the middle pair
    np.testing.assert_allclose(ops.median_pool(x, (2,), (1,), sym(0), False)[0, 0],
                               [3, 3.5, 5, 5.5])
    # padding is ignored, not counted as zeros: first window is {1, 5}, last {8, 3}
    np.testing.assert_allclose(ops.median_pool(x, (3,), (2,), sym(1), False)[0, 0], [3, 5, 5.5])


@st.composite
def pool_params(draw):
    D = draw(st.integers(1, 3))
    k = tuple(draw(st.integers(1, 3)) for _ in range(D))
    s = tuple(draw(st.integers(1, 3)) for _ in range(D))
    # PyTorch-legal padding (<= k // 2) so every window holds at least one input value
    pad = tuple((draw(st.integers(0, kk // 2)), draw(st.integers(0, kk // 2))) for kk in k)
    n = tuple(kk + draw(st.integers(0, 6 - 2 * D)) for kk in k)
    return n, k, s, pad, draw(st.booleans()), draw(st.booleans())


@given(pool_params())
@fuzz
def test_pools_fuzz(p):
    n, k, s, pad, ceil, cip = p
    x = rand(1, 2, *n)
    d = (1,) * len(k)
    close(ops.max_pool(x, k, s, pad, d, ceil), ops_ref.max_pool(x, k, s, pad, d, ceil), 0)
    close(ops.avg_pool(x, k, s, pad, ceil, cip), ops_ref.avg_pool(x, k, s, pad, ceil, cip))
    close(ops.median_pool(x, k, s, pad, ceil), ops_ref.median_pool(x, k, s, pad, ceil))


@pytest.mark.parametrize("n,o", [((7,), (3,)), ((6, 6), (3, 3)), ((7, 5), (4, 3)), ((5, 4), (7, 9)),
                                 ((6, 7), (1, 1)), ((4, 5, 7), (3, 2, 4))])
def test_adaptive_pools(n, o):
    x = rand(2, 3, *n)
    close(ops.adaptive_avg_pool(x, o), ops_ref.adaptive_avg_pool(x, o))
    close(ops.adaptive_max_pool(x, o), ops_ref.adaptive_max_pool(x, o), 0)


def test_global_average_pool_is_mean():
    x = rand(2, 3, 7, 7)
    close(ops.adaptive_avg_pool(x, (1, 1))[..., 0, 0], x.mean(axis=(2, 3)))


# --------------------------------------------------------------------------- normalisation

def test_batch_norm():
    x = rand(2, 3, 4, 5)
    g, b, m, v = rand(3), rand(3), rand(3), rng.uniform(0.5, 2, 3)
    c = (slice(None), None, None)
    close(ops.batch_norm(x, g, b, m, v, 1e-5), (x - m[c]) / np.sqrt(v[c] + 1e-5) * g[c] + b[c])
    close(ops.batch_norm(x, None, None, m, v, 1e-3), (x - m[c]) / np.sqrt(v[c] + 1e-3))


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("spatial", [(5,), (3, 4), (2, 3, 2)])
def test_lrn(size, spatial):
    x = rand(2, 6, *spatial)
    close(ops.lrn(x, size, 1e-2, 0.75, 2.0), ops_ref.lrn(x, size, 1e-2, 0.75, 2.0))


# --------------------------------------------------------------------------- activations

def test_erf_against_math_erf():
    z = np.concatenate([np.linspace(-8, 8, 20001), rand(2000) * 3])
    err = np.abs(ops.erf(z) - np.array([math.erf(v) for v in z]))
    assert err.max() <= 1.5e-7
    # erfc keeps relative precision in the tail (what gelu's negative side relies on)
    t = np.linspace(0, 9, 2001)
    rel = np.abs(ops.erfc(t) / np.array([math.erfc(v) for v in t]) - 1)
    assert rel.max() <= 1.5e-7


def test_gelu():
    z = np.linspace(-10, 10, 4001)
    exact = np.array([0.5 * v * math.erfc(-v / math.sqrt(2)) for v in z])
    np.testing.assert_allclose(ops.gelu(z), exact, rtol=2e-7, atol=1e-12)
    tanh = 0.5 * z * (1 + np.tanh(math.sqrt(2 / math.pi) * (z + 0.044715 * z**3)))
    close(ops.gelu(z, "tanh"), tanh)
    assert np.abs(ops.gelu(z, "tanh") - ops.gelu(z)).max() < 1e-3
    with pytest.raises(ValueError):
        ops.gelu(z, "exact")


def test_simple_activations():
    z = np.linspace(-9, 9, 361)
    sig = np.array([1 / (1 + math.exp(-v)) for v in z])
    close(ops.relu(z), np.where(z > 0, z, 0))
    close(ops.relu6(z), np.minimum(np.maximum(z, 0), 6))
    close(ops.leaky_relu(z, 0.1), np.where(z > 0, z, 0.1 * z))
    close(ops.sigmoid(z), sig)
    close(ops.tanh(z), np.tanh(z))
    close(ops.silu(z), z * sig)
    close(ops.hardsigmoid(z), np.minimum(np.maximum(z + 3, 0), 6) / 6)
    close(ops.hardswish(z), z * np.minimum(np.maximum(z + 3, 0), 6) / 6)
    big = np.array([-1000.0, 1000.0])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        np.testing.assert_array_equal(ops.sigmoid(big), [0, 1])


def test_softmax_stable():
    x = np.array([[1000.0, 1001.0, 1002.0], [-1e30, 0.0, 1e30]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        y = ops.softmax(x, axis=1)
    close(y[0], ops.softmax(np.array([[0.0, 1.0, 2.0]]))[0])
    np.testing.assert_array_equal(y[1], [0, 0, 1])
    x4 = rand(2, 5, 3, 3) * 50
    close(ops.softmax(x4).sum(axis=1), np.ones((2, 3, 3)))


# --------------------------------------------------------------------------- resampling & plumbing

@pytest.mark.parametrize("n,size", [((5,), (11,)), ((4, 3), (8, 6)), ((5, 7), (3, 4)),
                                    ((3, 4), (7, 10)), ((2, 3, 4), (5, 3, 7)), ((6,), (6,)),
                                    ((2, 82), (3, 82))])
@pytest.mark.parametrize("mode,ac", [("nearest", False), ("linear", False), ("linear", True)])
def test_upsample(n, size, mode, ac):
    x = rand(2, 2, *n)
    close(ops.upsample(x, size, mode, ac), ops_ref.upsample(x, size, mode, ac))


def test_upsample_nearest_integer_factor_repeats():
    x = rand(1, 2, 3, 4)
    close(ops.upsample(x, (6, 12)), x.repeat(2, axis=2).repeat(3, axis=3), 0)


def test_upsample_nearest_uses_float32_scale():
    # PyTorch's legacy 'nearest' computes floor(i * float32(n/o)) in float32: for n=2, o=82 the
    # source of output 41 is index 0, not floor(41 * 2 / 82) = 1.
    x = np.arange(2.0)[None, None]
    assert ops.upsample(x, (82,))[0, 0, 41] == 0


def test_plumbing():
    x = rand(2, 3, 4, 5)
    se = rand(3, 1, 1)
    close(ops.add(x, x, x), 3 * x)
    close(ops.mul(x, se), x * se)
    assert ops.concat(x, x[:, :1]).shape == (2, 4, 4, 5)
    assert ops.flatten(x).shape == (2, 60)


# --------------------------------------------------------------------------- dtype

def test_float32_stays_float32():
    x = rand(2, 4, 6, 6).astype(np.float32)
    w64 = rand(4, 2, 3, 3)                      # float64 parameters are cast, not upcasting
    p = rand(4)
    outs = {
        "conv": ops.conv(x, w64, p, (1, 1), sym(1, 1), (1, 1), 2),
        "conv_transpose": ops.conv_transpose(x, w64, rand(4), (2, 2), (1, 1), (1, 1), (1, 1), 2),
        "dense": ops.dense(ops.flatten(x), rand(3, 144), rand(3)),
        "max_pool": ops.max_pool(x, (3, 3), (2, 2), sym(1, 1), (1, 1), True),
        "avg_pool": ops.avg_pool(x, (3, 3), (2, 2), sym(1, 1), True, False),
        "median_pool": ops.median_pool(x, (2, 2), (2, 2), sym(0, 1), True),
        "adaptive_avg_pool": ops.adaptive_avg_pool(x, (4, 5)),
        "adaptive_max_pool": ops.adaptive_max_pool(x, (4, 5)),
        "batch_norm": ops.batch_norm(x, p, p, p, np.abs(p), 1e-5),
        "batch_norm_plain": ops.batch_norm(x, None, None, p, np.abs(p), 1e-5),
        "lrn": ops.lrn(x, 3, 1e-4, 0.75, 1.0),
        "leaky_relu": ops.leaky_relu(x, 0.01),
        "softmax": ops.softmax(x),
        "upsample_nearest": ops.upsample(x, (9, 12)),
        "upsample_linear": ops.upsample(x, (9, 12), "linear"),
        "upsample_linear_ac": ops.upsample(x, (9, 12), "linear", True),
        "add": ops.add(x, x), "mul": ops.mul(x, x[:1]), "concat": ops.concat(x, x),
        "erf": ops.erf(x), "erfc": ops.erfc(x), "gelu_tanh": ops.gelu(x, "tanh"),
    }
    for f in (ops.relu, ops.relu6, ops.sigmoid, ops.tanh, ops.silu, ops.hardswish,
              ops.hardsigmoid, ops.gelu):
        outs[f.__name__] = f(x)
    wrong = {name: y.dtype for name, y in outs.items() if y.dtype != np.float32}
    assert not wrong


# --------------------------------------------------------------------------- torch cross-check

@pytest.fixture(scope="module")
def F():
    return pytest.importorskip("torch").nn.functional


def T(a):
    import torch
    return torch.as_tensor(a)


def symmetric(cases):
    return [c for c in cases if all(lo == hi for lo, hi in c[3])]


@pytest.mark.parametrize("n,k,s,pad,d,Cg,G,M", symmetric(CONV_CASES))
def test_conv_matches_torch(F, n, k, s, pad, d, Cg, G, M):
    x, w, b = rand(2, Cg * G, *n), rand(M * G, Cg, *k), rand(M * G)
    f = [F.conv1d, F.conv2d, F.conv3d][len(n) - 1]
    ref = f(T(x), T(w), T(b), s, tuple(lo for lo, _ in pad), d, G).numpy()
    close(ops.conv(x, w, b, s, pad, d, G), ref, 1e-10)


@pytest.mark.parametrize("n,k,s,p,op,d,Cg,G,M", CONVT_CASES)
def test_conv_transpose_matches_torch(F, n, k, s, p, op, d, Cg, G, M):
    x, w, b = rand(2, Cg * G, *n), rand(Cg * G, M, *k), rand(M * G)
    f = [F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d][len(n) - 1]
    ref = f(T(x), T(w), T(b), s, p, op, G, d).numpy()
    close(ops.conv_transpose(x, w, b, s, p, op, d, G), ref, 1e-10)


@pytest.mark.parametrize("n,k,s,pad,ceil", symmetric(POOL_CASES))
def test_pools_match_torch(F, n, k, s, pad, ceil):
    x, D, p = rand(2, 3, *n), len(n), tuple(lo for lo, _ in pad)
    mp = [F.max_pool1d, F.max_pool2d, F.max_pool3d][D - 1]
    ap = [F.avg_pool1d, F.avg_pool2d, F.avg_pool3d][D - 1]
    close(ops.max_pool(x, k, s, pad, (1,) * D, ceil), mp(T(x), k, s, p, 1, ceil).numpy(), 0)
    for cip in (True, False):
        close(ops.avg_pool(x, k, s, pad, ceil, cip), ap(T(x), k, s, p, ceil, cip).numpy())


@pytest.mark.parametrize("n,o", [((7,), (3,)), ((7, 5), (4, 3)), ((5, 4), (7, 9)),
                                 ((4, 5, 7), (3, 2, 4))])
def test_adaptive_and_lrn_match_torch(F, n, o):
    x, D = rand(2, 5, *n), len(n)
    aa = [F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d][D - 1]
    am = [F.adaptive_max_pool1d, F.adaptive_max_pool2d, F.adaptive_max_pool3d][D - 1]
    close(ops.adaptive_avg_pool(x, o), aa(T(x), o).numpy())
    close(ops.adaptive_max_pool(x, o), am(T(x), o).numpy(), 0)
    for size in (2, 3):
        ref = F.local_response_norm(T(x), size, 1e-2, 0.75, 2.0).numpy()
        close(ops.lrn(x, size, 1e-2, 0.75, 2.0), ref)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 13])
@pytest.mark.parametrize("o", [1, 2, 5, 14, 82, 97])
def test_upsample_matches_torch(F, n, o):
    x = rand(1, 2, n, 3)
    size = (o, 4)
    close(ops.upsample(x, size), F.interpolate(T(x), size=size, mode="nearest").numpy(), 0)
    for ac in (False, True):
        ref = F.interpolate(T(x), size=size, mode="bilinear", align_corners=ac).numpy()
        close(ops.upsample(x, size, "linear", ac), ref)


def test_activations_match_torch(F):
    import torch
    z = np.linspace(-12, 12, 2401)
    for ours, theirs in [(ops.gelu, F.gelu), (ops.silu, F.silu), (ops.sigmoid, torch.sigmoid),
                         (ops.hardswish, F.hardswish), (ops.hardsigmoid, F.hardsigmoid)]:
        np.testing.assert_allclose(ours(z), theirs(T(z)).numpy(), rtol=2e-7, atol=1e-15)
    close(ops.gelu(z, "tanh"), F.gelu(T(z), approximate="tanh").numpy())
    close(ops.softmax(z.reshape(7, -1), 1), F.softmax(T(z.reshape(7, -1)), 1).numpy())
