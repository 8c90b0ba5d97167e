"""The training analysis by hand: backward FLOPs, saved bytes, optimizer state, precision, checkpointing, the peak
walk, --fit (checked by running the NumPy step), and the command's output and errors."""
from __future__ import annotations

import json

import numpy as np
import pytest

import cnncalc
from cnncalc.core.train import OPTIMIZERS, fit, train
from cnncalc.errors import OptionError, ShapeError

SMALL = """
name: small
input: [3, 8, 8]
layers:
  - conv: {out: 4, kernel: 3, padding: 1}
  - relu
  - conv: {out: 6, kernel: 3, padding: 1, bias: false}
  - bn
  - relu
  - maxpool: 2
  - flatten
  - dense: 10
"""


def rows(t):
    return {r.name: r for r in t.layers}


def test_backward_flops_by_hand():
    t = train(cnncalc.load(SMALL), batch=2)
    r = rows(t)
    # conv1: MACs = 8·8 outputs × 4 channels × 3·9 = 6,912 per sample. Its input is the data: no input gradient.
    # Weight gradient 2·MACs + the bias's one add per output element (4·64 = 256), times batch 2.
    assert r["conv1"].input_grad_flops == 0
    assert r["conv1"].weight_grad_flops == 2 * (2 * 6912 + 256)
    # conv2: MACs = 64 × 6 × 4·9 = 13,824; input and weight gradients 2·MACs each, no bias
    assert r["conv2"].input_grad_flops == 2 * 2 * 13824
    assert r["conv2"].weight_grad_flops == 2 * 2 * 13824
    # bn on 6×8×8 = 384 elements: forward 8 per element in training, weight gradient 5, input gradient 5
    assert (r["bn1"].forward_flops, r["bn1"].weight_grad_flops, r["bn1"].input_grad_flops) == (2 * 3072, 2 * 1920, 2 * 1920)
    # relu: 1 per element; maxpool 2×2 → 96 outputs, one add each routes the gradient
    assert r["relu2"].input_grad_flops == 2 * 384 and r["maxpool1"].input_grad_flops == 2 * 96
    # dense 96 → 10: 960 MACs; input gradient 2·960, weight 2·960 + 10 bias adds
    assert (r["dense1"].input_grad_flops, r["dense1"].weight_grad_flops) == (2 * 1920, 2 * 1930)
    params = 112 + 216 + 12 + 970  # conv1 4·3·9 + 4, conv2 6·4·9, bn 2·6, dense 960 + 10
    assert t.totals.optimizer_flops == 12 * params  # adam: 12 per parameter


def test_saved_bytes_by_hand():
    t = train(cnncalc.load(SMALL), batch=2)
    r = rows(t)
    act = 2 * 4  # batch 2, float32
    assert r["conv1"].saved_bytes == 3 * 64 * act  # the input batch
    assert r["relu1"].saved_bytes == 4 * 64 * act  # its output (conv2 keeps the same tensor: counted once in total)
    assert r["conv2"].saved_bytes == 4 * 64 * act
    assert r["bn1"].saved_bytes == 6 * 64 * act + 2 * 6 * 4  # its input, mean and invstd per channel (fp32)
    assert r["maxpool1"].saved_bytes == 6 * 64 * act + 6 * 16 * 2 * 8  # input and int64 indices of the 6×4×4 output
    assert r["flatten1"].saved_bytes == 0
    assert r["dense1"].saved_bytes == 96 * act  # the flattened view: the pool's output storage
    # the union: input, relu1's output (shared with conv2), conv2's output (bn), bn's stats, relu2's output
    # (shared with maxpool), indices, the pool output (flatten's view, dense) — each once
    total = (3 * 64 + 4 * 64 + 6 * 64 + 6 * 64 + 96) * act + 48 + 6 * 16 * 2 * 8
    assert t.totals.saved_bytes == total


@pytest.mark.parametrize("name,states", [("sgd", 0), ("momentum", 1), ("adam", 2), ("adamw", 2), ("rmsprop", 1)])
def test_optimizer_state(name, states):
    t = train(cnncalc.load(SMALL), optimizer=name)
    params = 1310
    assert t.totals.optimizer_bytes == states * 4 * params
    assert t.totals.grad_bytes == 4 * params
    assert OPTIMIZERS[name].states == states


def test_mixed_precision_halves_activations_and_keeps_fp32_state():
    net = cnncalc.load(SMALL)
    full, half, fp16 = (train(net, 4, precision=p) for p in ("fp32", "bf16-mixed", "fp16-mixed"))
    r, h = rows(full), rows(half)
    assert h["relu1"].saved_bytes * 2 == r["relu1"].saved_bytes
    assert h["conv2"].saved_bytes == r["conv2"].saved_bytes // 2 + 216 * 2  # plus autocast's half weight copy
    assert half.totals.param_bytes == full.totals.param_bytes and half.totals.grad_bytes == full.totals.grad_bytes
    assert fp16.totals.loss_scale_bytes == 8 and half.totals.loss_scale_bytes == 0


def test_frozen_layers_have_no_gradients_or_state():
    net = cnncalc.load(SMALL.replace("- conv: {out: 4, kernel: 3, padding: 1}",
                                     "- conv: {out: 4, kernel: 3, padding: 1, trainable: false}"))
    r = rows(train(net))
    assert r["conv1"].grad_bytes == 0 and r["conv1"].optimizer_bytes == 0 and r["conv1"].weight_grad_flops == 0
    assert not r["relu1"].needs_grad and r["relu1"].saved_bytes == 0  # below the lowest trainable layer
    assert r["conv2"].input_grad_flops == 0


def test_checkpointing_trades_memory_for_recomputation():
    net = cnncalc.load("resnet18")
    plain, ck = train(net, 8), train(net, 8, checkpoint=["layer2", "layer3"])
    assert ck.totals.saved_bytes < plain.totals.saved_bytes
    assert ck.totals.peak_bytes < plain.totals.peak_bytes
    expected = sum(r.forward_flops for r in plain.layers if r.name.startswith(("layer2.", "layer3.")))
    assert ck.totals.recompute_flops == expected
    assert {r.name for r in ck.layers if r.checkpointed} == {r.name for r in plain.layers
                                                             if r.name.startswith(("layer2.", "layer3."))}
    depth = train(net, 8, checkpoint=["1"])
    assert depth.totals.recompute_flops > ck.totals.recompute_flops


def test_checkpoint_that_matches_nothing_is_refused():
    with pytest.raises(OptionError, match="matches no layer") as e:
        train(cnncalc.load("resnet18"), checkpoint=["layer9"])
    assert "layer" in e.value.hint


def test_batch_norm_needs_two_values_per_channel():
    net = cnncalc.load("input: [4, 1, 1]\nlayers:\n  - conv: {out: 4, kernel: 1}\n  - bn")
    with pytest.raises(ShapeError, match="more than one value per channel"):
        train(net, 1)
    train(net, 2)


def test_step_flops_add_up():
    t = train(cnncalc.load("resnet50"), 4, "adamw")
    tt = t.totals
    assert tt.step_flops == tt.forward_flops + tt.input_grad_flops + tt.weight_grad_flops + tt.optimizer_flops
    assert tt.forward_flops == sum(r.forward_flops for r in t.layers)


# -- the NumPy step ------------------------------------------------------------------------------------------------

FIT = """
name: fit
input: [3, 40, 40]
layers:
  - conv: {out: 16, kernel: 3}
  - bn
  - relu
  - repeat: 5
    layers:
      - conv: {out: 16, kernel: 3}
      - relu
  - dropout: 0.2
  - maxpool: 2
  - residual:
      body: [{conv: {out: 16, kernel: 1}}, sigmoid]
      merge: mul
  - global_avgpool
  - flatten
  - dense: 10
"""


def test_numpy_step_saves_what_the_analysis_predicts():
    from cnncalc.runtime.backward import BACKWARD
    from cnncalc.runtime.weights import init_weights, key

    net = cnncalc.load(FIT)
    t = train(net, 3)
    a = t.analysis
    w = init_weights(a)
    live = {-1: np.random.default_rng(0).standard_normal((3, *net.input), dtype=np.float32)}
    for info, row in zip(a.layers, t.layers):
        xs = [live[j] for j in info.node.inputs]
        y, saved = BACKWARD[info.type].forward(info.layer, info.facts, xs, {n: w[key(info, n)] for n in info.facts.weights},
                                               np.random.default_rng(1))
        bases = {}
        for arr in saved.values():
            base = arr if arr.base is None else arr.base
            bases[id(base)] = base.nbytes
        assert sum(bases.values()) == row.saved_bytes, (info.name, saved.keys())
        live[info.index] = y


def test_fit_is_checked_by_running_the_step():
    from cnncalc.runtime.train_step import check_step

    net = cnncalc.load(FIT)
    low, high = train(net, 6, "sgd").totals.peak_bytes, train(net, 7, "sgd").totals.peak_bytes
    budget = (low + high) // 2  # between the predictions at 6 and 7 (4,160,912 and 4,845,712 bytes)
    batch, at, over = fit(net, budget, optimizer="sgd")
    assert batch == 6 and at.totals.peak_bytes <= budget < over.totals.peak_bytes
    fits, exceeds = check_step(at), check_step(over)
    assert fits.ok and exceeds.ok
    assert fits.peak_measured <= budget < exceeds.peak_measured
    assert 1 <= fits.peak_ratio < 1.1


def test_impossible_budget_says_what_batch_one_needs():
    with pytest.raises(OptionError, match="even batch 1 needs"):
        fit(cnncalc.load("resnet50"), 50 * 2**20)


# -- the command ---------------------------------------------------------------------------------------------------

def test_cli_json_and_csv(cli):
    r = cli("train", "lenet5", "--batch", "4", "--optimizer", "momentum", "--format", "json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["optimizer"] == "momentum" and data["batch"] == 4
    assert data["totals"]["step_flops"] == sum(data["totals"][k] for k in
                                               ("forward_flops", "backward_flops", "recompute_flops", "optimizer_flops"))
    csv = cli("train", "lenet5", "--format", "csv").stdout.splitlines()
    assert csv[0].startswith("network,name,type") and len(csv) == 1 + len(data["layers"])
    md = cli("train", "lenet5", "--format", "markdown").stdout
    first = cnncalc.load("lenet5").nodes[0].name
    assert f"| `{first}` |" in md and "**Peak**" in md


def test_cli_fit(cli):
    r = cli("train", "resnet50", "--fit", "24GiB", "--optimizer", "adamw", "--format", "json")
    assert r.exit_code == 0, r.output
    f = json.loads(r.stdout)["fit"]
    assert f["peak_bytes"] <= 24 * 2**30 < f["next_peak_bytes"]


@pytest.mark.parametrize("args,message", [
    (["resnet50", "--fit", "10MiB"], "even batch 1 needs"),
    (["resnet18", "--checkpoint", "layer9"], "matches no layer or container"),
    (["lenet5", "--precision", "bf16-mixed", "--run"], "fp32 only"),
    (["lenet5", "--precision", "fp8"], "Invalid value for '--precision'"),
    (["lenet5", "--batch", "2000000"], "Invalid value for '--batch'"),
    (["lenet5", "--checkpoint", "0"], "at least 1"),
])
def test_cli_bad_input_exits_2(cli, args, message):
    r = cli("train", *args)
    assert r.exit_code == 2, r.output
    assert message in r.stderr and "Traceback" not in r.stderr


def test_cli_run(cli):
    r = cli("train", "lenet5", "--batch", "2", "--run")
    assert r.exit_code == 0, r.output
    assert "shapes match" in r.stdout and "backward time by layer type" in r.stdout


def test_json_carries_the_error_of_a_spec_that_cannot_train(cli, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("input: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 9}\n")
    r = cli("train", str(path), "--format", "json", "--batch", "4", "--optimizer", "sgd")
    assert r.exit_code == 2 and r.stderr.startswith(f"{path}:3:20: error: 'conv' output would be empty along H")
    d = json.loads(r.stdout)
    assert (d["source"], d["batch"], d["optimizer"], d["layers"], d["totals"]) == (str(path), 4, "sgd", [], None)
    assert d["error"]["location"] == f"{path}:3:20"
