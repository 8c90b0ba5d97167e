"""Cross-checks against PyTorch: every zoo network and random specs of every layer type, built by cnncalc.torch.

For each network: PyTorch's parameter and buffer counts equal cnncalc's; every layer's output shape seen by a
forward hook equals the analysed shape; MACs counted by hooks on PyTorch's conv/linear modules equal cnncalc's;
and with the same weights (batch norm's running statistics calibrated to the batch) cnncalc's NumPy forward equals
PyTorch's: each layer in float32 on cnncalc's own inputs (rtol 1e-4, atol 1e-5), the whole network in float64.
"""
from __future__ import annotations

import tempfile
from math import prod

import numpy as np
import pytest
import yaml

torch = pytest.importorskip("torch")
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, assume, given, settings, strategies as st  # noqa: E402

import cnncalc  # noqa: E402
from cnncalc import runtime as fw  # noqa: E402
from cnncalc.spec import zoo  # noqa: E402
from cnncalc import torch as ct  # noqa: E402
from cnncalc.spec.graph import INPUT  # noqa: E402
from crosscheck import check_export, distinct_zoo_names, small_input  # noqa: E402

RTOL, ATOL = 1e-4, 1e-5


# -- the four checks ----------------------------------------------------------------------------------------------------
def hooked_run(network, model, x):
    """Run `model` on x with a hook on every layer's module: {layer name: output}, and MACs of conv/linear modules."""
    paths = ct.module_paths(network)
    outputs, macs = {}, [0]

    def hook(name):
        def record(module, inputs, output):
            outputs[name] = output
            batch = output.shape[0]
            if isinstance(module, torch.nn.Linear):
                macs[0] += output.numel() // batch * module.in_features  # out × in per sample
            elif isinstance(module, torch.nn.modules.conv._ConvNd):
                k = prod(module.kernel_size)
                if module.transposed:  # each input element scatters into (C_out / groups) × kernel taps
                    macs[0] += inputs[0].numel() // batch * module.out_channels // module.groups * k
                else:  # each output element gathers (C_in / groups) × kernel taps
                    macs[0] += output.numel() // batch * module.in_channels // module.groups * k
        return record

    handles = [model.get_submodule(paths[node.name]).register_forward_hook(hook(node.name)) for node in network.nodes]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return outputs, macs[0]


def check_counts(network):
    """Parameters, buffers, every layer's shape and the MACs, at the spec's full input size on the meta device."""
    a = network.analyze()
    assert a.error is None, a.error.format()
    model = ct.build(network)
    assert sum(p.numel() for p in model.parameters()) == a.totals.params
    buffers = dict(model.named_buffers())
    counters = [k for k in buffers if k.endswith("." + ct.BN_COUNTER)]  # one int64 step counter per batch norm
    assert len(counters) == sum(1 for r in a.layers if r.type == "bn")
    assert sum(b.numel() for k, b in buffers.items() if k not in counters) == a.totals.buffers
    outputs, macs = hooked_run(network, model.to("meta"), torch.empty((2, *network.input), device="meta"))
    for row in a.layers:
        assert tuple(outputs[row.name].shape) == (2, *row.output), row.name
    assert macs == a.totals.macs


def calibrate(model, x):
    """Batch norm's running statistics set to this batch's, so activations stay O(1) as in a trained network (with
    PyTorch's initial mean 0 and variance 1, a deep residual network's activations grow to 1e8)."""
    model.eval()
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average: after one batch, exactly its statistics
        m.train()
    with torch.no_grad():
        model(x)
        for m in norms:  # a channel the batch does not vary (a flat tail after global pooling) would divide
            m.running_var.clamp_(min=0.01)  # float32 rounding by √eps = 0.003; at most by 0.1 here
    model.eval()


def close(ours, theirs, what):
    # float32 sums of K terms carry an absolute error that grows with the terms, not with the result: atol scales
    # with the layer's largest value when that is above 1
    scale = max(1.0, float(np.abs(ours).max(initial=0)))
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL * scale, err_msg=what)


def check_numbers(network, seed=0):
    """cnncalc's NumPy forward against PyTorch's with the same weights: the output, and each layer run by PyTorch on
    cnncalc's own inputs to that layer, so a difference names the layer that makes it."""
    with torch.device("meta"):  # no time spent on PyTorch's own initialisation: every value is loaded below
        model = ct.build(network).to_empty(device="cpu")
    x = fw.random_input(network, batch=2, seed=seed)  # calibrating batch norm on a 1×1 map needs 2 samples
    result = model.load_state_dict(ct.to_state_dict(network, fw.init_weights(network, seed)), strict=False)
    assert not result.unexpected_keys
    assert all(k.endswith(ct.BN_COUNTER) for k in result.missing_keys)  # calibrate() resets them
    calibrate(model, torch.from_numpy(x))
    weights = ct.from_state_dict(network, model.state_dict())
    _, ours = fw.forward(network, x, weights, return_all=True)
    paths = ct.module_paths(network)
    with torch.no_grad():
        for node in network.nodes:  # graph order
            ins = [torch.from_numpy(x if j == INPUT else ours[network.nodes[j].name]) for j in node.inputs]
            theirs = model.get_submodule(paths[node.name])(*ins).numpy()
            close(ours[node.name], theirs, f"{network.name}: layer {node.name} ({node.type}) differs from PyTorch")
        # end to end in float64, where a hundred layers' float32 rounding does not pile up: the same graph
        y64 = fw.forward(network, x.astype(np.float64), {k: w.astype(np.float64) for k, w in weights.items()})
        close(y64, model.double()(torch.from_numpy(x).double()).numpy(), f"{network.name}: output differs from PyTorch")


# -- the zoo -------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", zoo.names())
def test_zoo_counts_match_pytorch(name):
    check_counts(cnncalc.load(name))


@pytest.mark.parametrize("name", distinct_zoo_names())
def test_zoo_numbers_match_pytorch(name):
    check_numbers(small_input(cnncalc.load(name)))


def test_resnet50_state_dict_keys_are_cnncalc_weight_keys():
    # the same strings both ways: torchvision-style nesting follows cnncalc's row names
    net = cnncalc.load("resnet50")
    state = ct.build(net).state_dict()
    keys = {k for k in state if not k.endswith(ct.BN_COUNTER)}
    assert keys == set(fw.init_weights(net))
    assert "layer1.1.bottleneck1.residual.body.conv1.weight" in keys


# -- weights both ways ---------------------------------------------------------------------------------------------------
SMALL_NET = """
name: small
input: [3, 9, 9]
layers:
  - conv: {out: 4, kernel: 3, padding: same, stride: 2}
  - bn
  - relu
  - flatten
  - dense: 5
"""


def test_weights_round_trip_through_state_dict_and_npz(tmp_path):
    net = cnncalc.load(SMALL_NET)
    model = ct.build(net)
    weights = ct.from_state_dict(net, model.state_dict())
    assert fw.check_weights(net, weights) == []  # num_batches_tracked dropped, every key and shape fits
    fw.save_weights(tmp_path / "w.npz", weights)
    again = ct.to_state_dict(net, fw.load_weights(tmp_path / "w.npz"))
    for key, value in model.state_dict().items():
        if not key.endswith(ct.BN_COUNTER):
            assert torch.equal(again[key], value), key


def test_unknown_weight_keys_are_refused():
    net = cnncalc.load(SMALL_NET)
    with pytest.raises(KeyError, match="no layer named 'conv9'"):
        ct.to_state_dict(net, {"conv9.weight": np.zeros(1)})
    with pytest.raises(KeyError, match="no layer of small at 'dense7'"):
        ct.from_state_dict(net, {"dense7.bias": torch.zeros(1)})


def test_name_that_clashes_with_a_module_attribute_gets_an_underscore():
    net = cnncalc.load("input: [2, 5]\nlayers:\n  - conv: {out: 2, kernel: 1, name: eval}\n  - conv: {out: 2, kernel: 1, name: eval_}\n")
    with pytest.raises(ct.UnsupportedError, match="eval, eval_ map to the same PyTorch submodule name 'eval_'") as e:
        ct.build(net)
    assert e.value.format().startswith("<string>:4:5: error:")  # the second conv, on line 4
    net = cnncalc.load("input: [2, 5]\nlayers:\n  - conv: {out: 2, kernel: 1, name: forward}\n")
    assert ct.module_paths(net) == {"forward": "forward_"}
    assert set(ct.build(net).state_dict()) == {"forward_.weight", "forward_.bias"}


# -- semantics that are easy to get wrong ------------------------------------------------------------------------------
SEMANTICS = {
    # 'same' with stride 2 on 9: out = ceil(9/2) = 5, total padding (5−1)·2 + 3 − 9 = 2 → (1, 1); on 10: 1 → (0, 1)
    "same_odd_total": "input: [2, 10, 9]\nlayers:\n  - conv: {out: 3, kernel: 3, stride: 2, padding: same}\n",
    "same_even_kernel": "input: [2, 7]\nlayers:\n  - conv: {out: 3, kernel: 4, padding: same}\n",
    "pairs_3d": "input: [1, 4, 5, 6]\nlayers:\n  - conv: {out: 2, kernel: 2, padding: [[0, 1], [1, 0], [2, 1]]}\n",
    "maxpool_ceil": "input: [2, 8, 8]\nlayers:\n  - maxpool: {kernel: 3, stride: 2, ceil_mode: true, padding: 1}\n",
    "maxpool_same_ceil": "input: [2, 8, 9]\nlayers:\n  - maxpool: {kernel: 2, stride: 3, padding: same, ceil_mode: true}\n",
    "avgpool_exclude_pad": "input: [2, 7, 7]\nlayers:\n  - avgpool: {kernel: 3, stride: 2, padding: 1, count_include_pad: false, ceil_mode: true}\n",
    "avgpool_asymmetric": "input: [2, 8, 7]\nlayers:\n  - avgpool: {kernel: 3, stride: 2, padding: same, count_include_pad: true, ceil_mode: true}\n",
    "avgpool_asym_exclude": "input: [2, 8]\nlayers:\n  - avgpool: {kernel: 2, stride: 2, padding: [[1, 0]], count_include_pad: false}\n",
    "avgpool3d_short_ceil": "input: [1, 1, 2, 3]\nlayers:\n  - avgpool: {kernel: 2, ceil_mode: true, count_include_pad: false}\n",
    "medianpool_even": "input: [2, 6, 7]\nlayers:\n  - medianpool: {kernel: 2, stride: 1, padding: 1}\n",
    "medianpool_ceil": "input: [2, 7, 7]\nlayers:\n  - medianpool: {kernel: 3, stride: 2, ceil_mode: true}\n",
    "lrn": "input: [7, 5, 5]\nlayers:\n  - lrn: {size: 4, alpha: 0.01, beta: 0.75, k: 2}\n",
    "lrn_1d": "input: [6, 5]\nlayers:\n  - lrn: 3\n",
    "upsample_nearest_size": "input: [2, 5, 7]\nlayers:\n  - upsample: {size: [8, 17]}\n",
    "upsample_bilinear": "input: [2, 5, 7]\nlayers:\n  - upsample: {scale: [2, 3], mode: bilinear}\n",
    "upsample_align": "input: [2, 4, 3, 5]\nlayers:\n  - upsample: {size: [7, 5, 9], mode: trilinear, align_corners: true}\n",
    "upsample_linear_1d": "input: [2, 6]\nlayers:\n  - upsample: {scale: 3, mode: linear}\n",
    "softmax_channels": "input: [5, 3, 3]\nlayers:\n  - softmax\n",
    "gelu_tanh": "input: [3, 8]\nlayers:\n  - gelu: {approximate: tanh}\n  - gelu\n",
    "conv_transpose": "input: [4, 5, 6]\nlayers:\n  - conv_transpose: {out: 6, kernel: 3, stride: 2, padding: 1, output_padding: 1, groups: 2, dilation: [1, 2]}\n",
}


@pytest.mark.parametrize("spec", SEMANTICS.values(), ids=SEMANTICS.keys())
def test_semantics_match_pytorch(spec):
    net = cnncalc.load(spec)
    check_counts(net)
    check_numbers(net)


def test_asymmetric_padding_uses_explicit_pads():
    # 'same' with stride 2 on 10 rows: total (5−1)·2 + 3 − 10 = 1 → (0, 1); on 9 columns (1, 1). F.pad: W first
    net = cnncalc.load(SEMANTICS["same_odd_total"])
    first = net.analyze().layers[0]
    call = ct.module_call(first.layer, first.facts)
    assert call.cls == "PaddedConv2d" and call.kwargs["pads"] == [1, 1, 0, 1] and call.kwargs["padding"] == 0


def test_a_difference_names_the_layer_that_makes_it(monkeypatch):
    # the check can fail: map gelu to the exact form whatever `approximate` says, and the tanh layer is blamed
    monkeypatch.setitem(ct.CALLS, "gelu", lambda layer, facts, rank: ct.Call("nn.GELU", []))
    with pytest.raises(AssertionError, match=r"layer gelu1 \(gelu\) differs from PyTorch"):
        check_numbers(cnncalc.load(SEMANTICS["gelu_tanh"]))


def test_lrn_on_a_flat_input_is_refused_with_a_reason():
    net = cnncalc.load("input: [6]\nlayers:\n  - lrn\n")
    with pytest.raises(ct.UnsupportedError, match="'lrn' on a flat input") as e:
        ct.build(net)
    assert e.value.format().startswith("<string>:3:5: error:") and "put it before `flatten`" in e.value.format()


# -- random specs: every layer type and option, 1-D/2-D/3-D, branches and merges ----------------------------------------
def _pads(draw, rank, k):
    return draw(st.one_of(st.integers(0, k // 2), st.sampled_from(["same", "valid"]),
                          st.lists(st.tuples(st.integers(0, k // 2), st.integers(0, k // 2)).map(list),
                                   min_size=rank, max_size=rank)))


def _axes(draw, rank, low, high):
    return draw(st.one_of(st.integers(low, high), st.lists(st.integers(low, high), min_size=rank, max_size=rank)))


def _spatial_layer(draw, rank, c):
    kind = draw(st.sampled_from(["conv"] * 4 + ["conv_transpose", "maxpool", "avgpool", "medianpool"] * 2 +
                                ["global_avgpool", "global_maxpool", "adaptive_avgpool", "adaptive_maxpool", "lrn",
                                 "upsample"]))
    if kind == "conv":
        groups = draw(st.sampled_from([g for g in (1, 2, 3) if c % g == 0]))
        k = draw(st.integers(1, 3))
        return {"conv": {"out": groups * draw(st.integers(1, 3)), "kernel": _axes(draw, rank, 1, 3) if k > 1 else 1,
                         "stride": _axes(draw, rank, 1, 2), "padding": _pads(draw, rank, 3),
                         "dilation": _axes(draw, rank, 1, 2), "groups": groups, "bias": draw(st.booleans())}}
    if kind == "conv_transpose":
        groups = draw(st.sampled_from([g for g in (1, 2) if c % g == 0]))
        stride, dilation = draw(st.integers(1, 2)), draw(st.integers(1, 2))
        return {"conv_transpose": {"out": groups * draw(st.integers(1, 2)), "kernel": _axes(draw, rank, 1, 3),
                                   "stride": stride, "padding": draw(st.integers(0, 1)), "dilation": dilation,
                                   "output_padding": draw(st.integers(0, max(stride, dilation) - 1)),
                                   "groups": groups, "bias": draw(st.booleans())}}
    if kind in ("maxpool", "avgpool", "medianpool"):
        k = draw(st.integers(1, 3))
        args = {"kernel": k, "stride": draw(st.sampled_from([None, 1, 2, 3])), "padding": _pads(draw, rank, k),
                "ceil_mode": draw(st.booleans())}
        if kind == "maxpool":
            args["dilation"] = draw(st.integers(1, 2))
        if kind == "avgpool":
            args["count_include_pad"] = draw(st.booleans())
        return {kind: {a: v for a, v in args.items() if v is not None}}
    if kind.startswith("adaptive"):
        return {kind: _axes(draw, rank, 1, 3)}
    if kind == "lrn":
        return {"lrn": {"size": draw(st.integers(1, 5)), "alpha": draw(st.sampled_from([1e-4, 0.1])),
                        "beta": draw(st.sampled_from([0.75, 0.5])), "k": draw(st.sampled_from([1.0, 2.0]))}}
    if kind == "upsample":
        mode = draw(st.sampled_from(["nearest", "linear", "bilinear", "trilinear"]))
        args = {"mode": mode}
        if mode != "nearest":
            args["align_corners"] = draw(st.booleans())
        if draw(st.booleans()):
            args["scale"] = _axes(draw, rank, 1, 2)
        else:
            args["size"] = _axes(draw, rank, 1, 9)
        return {"upsample": args}
    return kind


POINTWISE = [{"bn": {"eps": 1e-3, "affine": False}}, "bn", "relu", "relu6", "sigmoid", "tanh", "silu", "hardswish",
             "hardsigmoid", {"leaky_relu": 0.2}, "gelu", {"gelu": {"approximate": "tanh"}}, "softmax",
             {"dropout": 0.3}, "identity", {"scale": 0.17}]


@st.composite
def entries(draw, rank, c):
    """One layer or structure for an input of rank spatial axes and c channels (it may still not fit: checked)."""
    what = draw(st.sampled_from(["spatial", "spatial", "pointwise", "residual", "parallel", "gate", "block", "repeat"]))
    if what == "block" and rank:
        return {"unit": {"out": draw(st.integers(1, 4)), "stride": draw(st.integers(1, 2))}}
    if what == "repeat" and rank:  # iterations alike, or growing by `as: i` (export writes a loop for both)
        out = draw(st.sampled_from([c, "${%d + i}" % c]))
        return {"repeat": draw(st.integers(2, 3)), "as": "i", "layers": [{"unit": {"out": out}}]}
    if what == "spatial" and rank:
        return _spatial_layer(draw, rank, c)
    if what == "residual" and rank:
        body = [{"conv": {"out": c, "kernel": 3, "padding": 1}}, draw(st.sampled_from(POINTWISE))]
        return {"residual": {"body": body, "merge": draw(st.sampled_from(["add", "mul"]))}}
    if what == "parallel" and rank:
        branches = [[{"conv": {"out": draw(st.integers(1, 3)), "kernel": 1}}], [draw(st.sampled_from(POINTWISE))],
                    [{"maxpool": {"kernel": 3, "stride": 1, "padding": 1}}]]
        return {"parallel": {"branches": branches[:draw(st.integers(2, 3))], "merge": "concat"}}
    if what == "gate" and rank:  # squeeze-excitation: [C, 1, …] gates [C, *S] through `mul` with `from:`
        return {"residual": {"body": ["global_avgpool", {"conv": {"out": c, "kernel": 1}}, "sigmoid"],
                             "merge": "mul"}}
    return draw(st.sampled_from(POINTWISE))


BLOCKS = {"unit": {"args": {"out": None, "stride": 1},
                   "layers": [{"conv": {"out": "$out", "kernel": 3, "stride": "$stride", "padding": 1}}, "bn", "relu"]}}


@st.composite
def random_specs(draw):
    rank = draw(st.integers(1, 3))
    shape = [draw(st.integers(1, 4))] + [draw(st.integers(3, (12, 9, 6)[rank - 1])) for _ in range(rank)]
    layers = []
    for _ in range(draw(st.integers(1, 6))):
        current = cnncalc.load(yaml.safe_dump({"input": shape, "blocks": BLOCKS, "layers": layers or ["identity"]}))
        a = current.analyze()
        out = a.layers[-1].output
        entry = draw(entries(len(out) - 1, out[0]))
        trial = cnncalc.load(yaml.safe_dump({"input": shape, "blocks": BLOCKS, "layers": layers + [entry]}))
        candidate = trial.analyze()
        if candidate.error is None and prod(candidate.layers[-1].output) <= 20_000:
            layers.append(entry)
    if draw(st.booleans()):
        layers += ["flatten", {"dense": {"out": draw(st.integers(1, 4)), "bias": draw(st.booleans())}}]
        if draw(st.booleans()):
            layers += ["bn", "softmax"]
    return yaml.safe_dump({"name": "random", "input": shape, "blocks": BLOCKS, "layers": layers or ["identity"]})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_specs())
def test_random_specs_match_pytorch(spec):
    net = cnncalc.load(spec)
    assume(net.analyze().error is None)
    check_counts(net)
    check_numbers(net)
    with tempfile.TemporaryDirectory() as folder:
        check_export(net, folder)
