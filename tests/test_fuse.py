"""The fused inference path (cnncalc.runtime.fuse) against the reference path: the same outputs (float32, rtol 1e-4)
with batch norm folded into convs and activations in place; in place only where no later reader sees the buffer;
and the peak the schedule predicts for it is the peak the executor holds."""
from __future__ import annotations

import json

import numpy as np
import pytest

import cnncalc
from cnncalc.core.schedule import Schedule
from cnncalc.runtime import execute, init_weights
from cnncalc.runtime.fuse import fold_weights, plan
from cnncalc.spec.graph import INPUT


def varied_weights(net, seed=0):
    """init_weights' shapes with batch norms far from the identity (γ, β, mean random; var in [0.5, 1.5]), so a
    fold that forgets a term is visible."""
    rng = np.random.default_rng(seed)
    w = init_weights(net, seed)
    for k, v in w.items():
        if ".bn" in "." + k or k.split(".")[-2].startswith("bn"):
            w[k] = (rng.uniform(0.5, 1.5, v.shape) if k.endswith("running_var") else rng.standard_normal(v.shape)
                    ).astype(np.float32)
    return w


def agree(net, batch=2, seed=0):
    w = varied_weights(net, seed)
    x = np.random.default_rng(seed + 1).standard_normal((batch, *net.input)).astype(np.float32)
    ref, fused = cnncalc.forward(net, x, w), cnncalc.forward(net, x, w, fused=True)
    assert fused.dtype == np.float32
    np.testing.assert_allclose(fused, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())
    return plan(net.analyze(batch=batch).complete())


BLOCKS = """
input: [3, 16, 16]
layers:
  - conv: {out: 8, kernel: 3, padding: 1, bias: false}     # folded, no bias of its own
  - bn
  - relu
  - conv: {out: 8, kernel: 3, padding: 1, groups: 8}       # depthwise with a bias, folded
  - bn
  - relu6
  - residual:
      body:
        - bn                                                # after the residual's input: not in place (read by the add)
        - leaky_relu: 0.1                                   # in place on the bn's output
        - conv: {out: 8, kernel: 1}
        - bn: {affine: false}                               # folded without γ, β
  - relu
  - global_avgpool
  - flatten
  - dense: 4
"""


def test_fused_path_agrees_with_the_reference_and_folds_what_it_should():
    net = cnncalc.load(BLOCKS)
    p = agree(net)
    names = {info.index: info.name for info in net.analyze().complete().layers}
    assert sorted(names[i] for i in p.folded) == ["bn1", "bn2", "residual1.body.bn2"]
    in_place = sorted(names[i] for i in p.in_place if i not in p.folded)
    # relu1 and relu6 overwrite their (folded) conv's buffer; the body's first bn must not overwrite relu6's output,
    # which the add still reads; leaky_relu may overwrite that bn's own output; the last relu overwrites the sum
    assert in_place == ["relu1", "relu2", "relu6_1", "residual1.body.leaky_relu1"]


@pytest.mark.parametrize("name, shape", [("mobilenet_v2", (3, 64, 64)), ("resnet50", (3, 64, 64)),
                                         ("densenet121", (3, 64, 64)), ("inception_v3", (3, 96, 96))])
def test_zoo_networks_agree_fused_and_unfused(name, shape):
    p = agree(cnncalc.load(name).with_input(shape), batch=1)
    assert p.folded


def test_a_view_of_a_tensor_read_later_is_never_overwritten():
    # dropout returns its input; relu reading the dropout must not overwrite what the add reads afterwards
    net = cnncalc.load("""
input: [4, 6, 6]
layers:
  - conv: {out: 4, kernel: 3, padding: 1, id: c}
  - dropout
  - relu: {id: r}
  - add: {from: [r, c]}
  - flatten
  - relu
""")
    p = agree(net)
    names = {info.index: info.name for info in net.analyze().complete().layers}
    assert sorted(names[i] for i in p.in_place) == ["relu2"]  # after flatten: the sum is read by nothing else


def test_the_networks_input_is_never_overwritten():
    net = cnncalc.load("input: [3, 4, 4]\nlayers:\n  - relu\n  - bn\n")
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 4)).astype(np.float32)
    before = x.copy()
    cnncalc.forward(net, x, fused=True)
    np.testing.assert_array_equal(x, before)
    assert list(plan(net.analyze().complete()).in_place) == [1]  # only the bn, on relu's output


def test_fold_weights_by_hand():
    # one channel: conv weight 2, bias 1; bn γ 3, β 0.5, mean 4, var 0.25 − ε → scale 3 / 0.5 = 6
    # W' = 2·6 = 12; b' = (1 − 4)·6 + 0.5 = −17.5
    net = cnncalc.load("input: [1, 3, 3]\nlayers:\n  - conv: {out: 1, kernel: 1}\n  - bn\n")
    a = net.analyze().complete()
    w = {"conv1.weight": np.full((1, 1, 1, 1), 2, np.float32), "conv1.bias": np.ones(1, np.float32),
         "bn1.weight": np.full(1, 3, np.float32), "bn1.bias": np.full(1, 0.5, np.float32),
         "bn1.running_mean": np.full(1, 4, np.float32), "bn1.running_var": np.full(1, 0.25 - 1e-5, np.float32)}
    f = fold_weights(a, plan(a), w)
    assert sorted(f) == ["conv1.bias", "conv1.weight"]
    np.testing.assert_allclose(f["conv1.weight"].ravel(), [12], rtol=1e-6)
    np.testing.assert_allclose(f["conv1.bias"], [-17.5], rtol=1e-6)
    assert w["conv1.weight"].ravel()[0] == 2  # the originals are left alone


def test_schedule_peak_with_in_place_by_hand():
    # input (10 B) → 0 conv (20 B) → 1 relu (20 B) → 2 dense (5 B)
    s = Schedule.of([[INPUT], [0], [1]], output=2)
    sizes = {INPUT: 10, 0: 20, 1: 20, 2: 5}
    # reference: node 0 holds input + 0 = 30; node 1 holds 0 + 1 = 40; node 2 holds 1 + 2 = 25
    assert s.peak(sizes) == (40, [0, 1])
    # relu in place on 0's buffer: node 1 adds nothing (20), node 2 holds 20 + 5 = 25: the peak is node 0's 30
    assert s.peak(sizes, {1: 0}) == (30, [INPUT, 0])


def test_the_executor_holds_the_buffers_the_fused_prediction_counts():
    net = cnncalc.load("input: [2, 4, 4]\nlayers:\n  - conv: {out: 2, kernel: 1}\n  - bn\n  - relu\n  - tanh\n")
    a = net.analyze().complete()
    p = plan(a)
    outputs = []
    execute(a, np.ones((1, 2, 4, 4), np.float32), fold_weights(a, p, init_weights(a)),
            lambda info, y, s: outputs.append(y), p)
    # conv, bn (folded) and relu (in place) are one buffer; tanh makes a new one
    assert outputs[0] is outputs[1] is outputs[2] and outputs[3] is not outputs[2]
    assert p.peak_activation_bytes(a) == 2 * 2 * 16 * 4  # one 2×4×4 float32 buffer + the input's


def test_verify_fused_reports_its_path_and_predicts_its_peak(cli, tmp_path, monkeypatch):
    monkeypatch.setattr("cnncalc.runtime.verify.matmul_gflops", lambda: 100.0)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    # 16 × 512 × 512 float32 = 16 MiB per activation; reference peak: conv's output + bn's (32 MiB); fused: the
    # bn is the conv's buffer and relu overwrites it, so a conv's input and output (32 MiB) at the second conv
    path = tmp_path / "wide.yaml"
    path.write_text("input: [16, 512, 512]\nlayers:\n  - conv: {out: 16, kernel: 3, padding: 1}\n  - bn\n"
                    "  - relu\n  - conv: {out: 16, kernel: 3, padding: 1}\n  - bn\n  - maxpool: 2\n")
    ref = json.loads(cli("verify", str(path), "--format", "json", "--batch", "1").stdout)
    fused = json.loads(cli("verify", str(path), "--format", "json", "--batch", "1", "--fused").stdout)
    assert (ref["path"], fused["path"]) == ("reference", "fused")
    for d in (ref, fused):
        assert d["totals"]["ok"] and 0.9 <= d["totals"]["peak_ratio"] <= 1.3, d["totals"]
    assert "fused: 2 batch norms folded into their convs, 1 layers in place" in cli(
        "verify", str(path), "--batch", "1", "--fused").stdout
