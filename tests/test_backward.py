"""The NumPy backward of every layer type against central finite differences in float64, on small shapes.

For a layer, its facts on the input shapes, random inputs and weights, and a fixed random r: the loss Σ y·r has the
gradient the backward kernel computes; each input and weight element is nudged by ±h and (L(+h) − L(−h)) / 2h
must agree to 1e-6 relative (float64: truncation error O(h²) ≈ 1e-10). Options are drawn by hypothesis: strides,
dilations, groups, paddings (asymmetric, 'same'), ceil mode, 1-D/2-D/3-D.
"""
from __future__ import annotations

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from cnncalc.core.train.rules import Grads  # noqa: E402
from cnncalc.errors import Location, ShapeError  # noqa: E402
from cnncalc.layers import REGISTRY, types  # noqa: E402
from cnncalc.runtime.backward import BACKWARD  # noqa: E402

LOC = Location("<test>", 1, 1)
H = 1e-6


def test_every_layer_type_has_a_backward():
    assert set(types()) <= set(BACKWARD), f"missing: {sorted(set(types()) - set(BACKWARD))}"


def check(kind, args, shapes, seed=0, weights=True):
    """Finite differences against the backward kernel for one layer on inputs of `shapes` (batch first)."""
    layer = REGISTRY[kind].create(args, {}, LOC)
    facts = layer.infer([s[1:] for s in shapes])
    rng = np.random.default_rng(seed)
    xs = [rng.standard_normal(s) for s in shapes]
    w = {name: rng.standard_normal(wt.shape) + (2.0 if name == "running_var" else 0.0)
         for name, wt in facts.weights.items()}
    kernels = BACKWARD[kind]

    def loss(xs_, w_):
        y, _ = kernels.forward(layer, facts, xs_, w_, np.random.default_rng(7))  # dropout: the same mask every call
        return float(np.sum(y * r))

    y, saved = kernels.forward(layer, facts, [x.copy() for x in xs], w, np.random.default_rng(7))
    assert y.shape == (shapes[0][0], *facts.output)
    r = np.random.default_rng(seed + 1).standard_normal(y.shape)
    need = Grads((True,) * len(xs), weights and any(wt.learnable for wt in facts.weights.values()))
    dxs, dws = kernels.backward(layer, facts, saved, r.copy(), w, need)
    targets = [(f"input {k}", xs[k], np.asarray(dxs[k])) for k in range(len(xs))]
    targets += [(name, w[name], dws[name]) for name, wt in facts.weights.items() if wt.learnable and need.weights]
    for what, array, grad in targets:
        assert grad.shape == array.shape, what
        numeric = np.zeros_like(array)
        for i in np.ndindex(array.shape):
            old = array[i]
            array[i] = old + H
            up = loss(xs, w)
            array[i] = old - H
            down = loss(xs, w)
            array[i] = old
            numeric[i] = (up - down) / (2 * H)
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-6, err_msg=f"{kind} {args}: {what}")


def _shape(draw, rank, c=None):
    return (2, c or draw(st.integers(1, 3)), *(draw(st.integers(3, 6)) for _ in range(rank)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_conv(data):
    draw = data.draw
    rank = draw(st.integers(1, 3))
    groups = draw(st.sampled_from([1, 2]))
    shape = _shape(draw, rank, groups * draw(st.integers(1, 2)))
    pad = draw(st.sampled_from([0, 1, "same", [[0, 1]] * rank]))
    args = {"out": groups * draw(st.integers(1, 2)), "kernel": draw(st.integers(1, 3)), "stride": draw(st.integers(1, 2)),
            "dilation": draw(st.integers(1, 2)), "groups": groups, "padding": pad, "bias": draw(st.booleans())}
    try:
        check("conv", args, [shape])
    except ShapeError:
        hypothesis.assume(False)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_conv_transpose(data):
    draw = data.draw
    rank = draw(st.integers(1, 2))
    groups = draw(st.sampled_from([1, 2]))
    shape = _shape(draw, rank, groups)
    stride, dilation = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    args = {"out": groups * draw(st.integers(1, 2)), "kernel": draw(st.integers(1, 3)), "stride": stride,
            "dilation": dilation, "padding": draw(st.integers(0, 1)), "groups": groups,
            "output_padding": draw(st.integers(0, max(stride, dilation) - 1)), "bias": draw(st.booleans())}
    try:
        check("conv_transpose", args, [shape])
    except ShapeError:
        hypothesis.assume(False)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_pools(data):
    draw = data.draw
    kind = draw(st.sampled_from(["maxpool", "avgpool", "medianpool"]))
    rank = draw(st.integers(1, 3 if kind != "medianpool" else 2))
    k = draw(st.integers(1, 3))
    args = {"kernel": k, "stride": draw(st.integers(1, 3)), "padding": draw(st.sampled_from([0, k // 2, "same"])),
            "ceil_mode": draw(st.booleans())}
    if kind == "maxpool":
        args["dilation"] = draw(st.integers(1, 2))
    if kind == "avgpool":
        args["count_include_pad"] = draw(st.booleans())
    try:
        check(kind, args, [_shape(draw, rank)])
    except ShapeError:
        hypothesis.assume(False)


@pytest.mark.parametrize("kind,args", [("global_avgpool", None), ("global_maxpool", None),
                                       ("adaptive_avgpool", {"out": 2}), ("adaptive_avgpool", {"out": 1}),
                                       ("adaptive_maxpool", {"out": [2, 3]}), ("adaptive_avgpool", {"out": [3, 2]})])
def test_global_and_adaptive_pools(kind, args):
    check(kind, args, [(2, 3, 5, 4)])


@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 5), (2, 2, 3, 3), (2, 2, 2, 3, 2)])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_training_mode(shape, affine):
    check("bn", {"affine": affine}, [shape])


@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_lrn(size):
    check("lrn", {"size": size, "alpha": 0.3, "beta": 0.75, "k": 2.0}, [(2, 4, 3, 2)])


POINTWISE = [("relu", None), ("relu6", None), ("leaky_relu", {"slope": 0.2}), ("sigmoid", None), ("tanh", None),
             ("silu", None), ("hardsigmoid", None), ("hardswish", None), ("gelu", None),
             ("gelu", {"approximate": "tanh"}), ("softmax", None), ("scale", {"factor": 0.3}),
             ("dropout", {"p": 0.4}), ("dropout", {"p": 0.0}), ("dropout", {"p": 1.0}), ("identity", None),
             ("flatten", None)]


@pytest.mark.parametrize("kind,args", POINTWISE)
def test_pointwise(kind, args):
    x_scale = 4  # relu6, hardswish: inputs on both sides of every kink
    check(kind, args, [(2, 3, 4, 2)], seed=x_scale)


@pytest.mark.parametrize("args", [{"scale": 2}, {"scale": [1, 3]}, {"size": [5, 7], "mode": "bilinear"},
                                  {"size": [3, 5], "mode": "bilinear", "align_corners": True},
                                  {"scale": 2, "mode": "linear"}])
def test_upsample(args):
    shape = (2, 2, 4) if args.get("mode") == "linear" else (2, 2, 3, 4)
    check("upsample", args, [shape])


def test_upsample_trilinear():
    check("upsample", {"size": [3, 2, 4], "mode": "trilinear"}, [(1, 2, 2, 3, 2)])


@pytest.mark.parametrize("kind,shapes", [("add", [(2, 3, 4)] * 2), ("add", [(2, 3, 4)] * 3),
                                         ("mul", [(2, 3, 4)] * 2), ("mul", [(2, 3, 4)] * 3),
                                         ("mul", [(2, 3, 4, 5), (2, 3, 1, 1)]),
                                         ("concat", [(2, 3, 4), (2, 1, 4), (2, 2, 4)])])
def test_merges(kind, shapes):
    check(kind, None, shapes)


def test_dense():
    check("dense", {"out": 4}, [(3, 5)])
    check("dense", {"out": 2, "bias": False}, [(2, 3)])
