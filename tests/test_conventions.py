"""Conventions, pure: every table is complete, `explain` sums to the gap exactly for every zoo network and every
convention, and hand-counted figures of a tiny network for each tool. No tool and no torch needed (the real tools are
run in tests/test_conventions_tools.py)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import cnncalc
from cnncalc.conventions import CONVENTIONS, OURS, count, explain
from cnncalc.errors import OptionError
from cnncalc.layers import types
from cnncalc.spec.zoo import names

TINY = """
name: tiny
input: [3, 8, 8]
layers:
  - conv: {out: 4, kernel: 3, padding: 1}
  - bn
  - relu
  - maxpool: 2
  - flatten
  - dense: 10
"""

# Hand counts for TINY at batch 1, from each tool's source (the rule's `source`), not from cnncalc's output.
# Shapes: conv → 4×8×8 = 256 elements, MACs 256·3·9 = 6912, params 4·3·9 + 4 = 112; bn on 256 elements, params 8,
# buffers 8; relu 256; maxpool 2 → 4×4×4 = 64 (input 256); dense 64 → 10: MACs 640, params 650.
HAND = {
    # conv 6912 + bn 2·256 + dense 640 (no bias anywhere)
    "fvcore": {"flops": 6912 + 512 + 640, "params": 770},
    # conv 6912 + 256 bias; bn 512; relu 256 hook + 256 F.relu; maxpool 256 hook + 256 F.max_pool2d; dense 640 + 10
    "ptflops": {"macs": 7168 + 512 + 512 + 512 + 650, "module_macs": 7168 + 512 + 256 + 256 + 650, "params": 770},
    "ptflops-aten": {"macs": 7168 + 650, "params": 770},  # convolution and addmm, biases included
    "thop": {"macs": 6912 + 4 * 256 + 640, "params": 770},  # bn: 2 per element, doubled for affine
    # conv (108 + 4) weights × 64 positions; bn 8 params × batch; dense 650 × batch; bytes: 2 × 4 × (256 + 256 + 10)
    "torchinfo": {"mult_adds": 7168 + 8 + 650, "params": 770, "forward_backward_bytes": 4176, "params_bytes": 3080},
    # conv 256·(2·27 − 1 + 1); bn 2·4 + 2·256 + 2·256; relu 256; maxpool kernel_size=2 read as 2: 64·(2 − 1);
    # dense 10·(2·64 − 1) + 10
    "torchscan": {"flops": 13824 + 1032 + 256 + 64 + 1280, "macs": 6912 + 512 + 64 + 640, "params": 770},
    # conv 2·6912 + 256; bn 512; relu 256; maxpool 256 (input elements); dense 2·640
    "calflops": {"flops": 14080 + 512 + 256 + 256 + 1280, "macs": 6912 + 640, "params": 770},
    "keras": {"total_params": 778, "trainable_params": 770, "non_trainable_params": 8},
    "torchvision-metadata": {"gflops": 7552, "num_params": 770},
    "paper": {"mult_adds": 7552, "params": 770},
}


@pytest.fixture(scope="module")
def tiny():
    return cnncalc.load(TINY).analyze()


def test_hand_counts_cover_every_convention():
    assert set(HAND) == set(CONVENTIONS)


@pytest.mark.parametrize("name", sorted(CONVENTIONS))
def test_tiny_network_hand_counts(tiny, name):
    assert dict(count(tiny, name).totals) == HAND[name]


def test_tiny_network_per_layer(tiny):
    # thop per layer: conv 6912, bn 4·256, relu 0, maxpool 0, flatten 0, dense 640 (the same hand counts)
    layers = count(tiny, "thop").layers
    assert [(l.type, l.values["macs"]) for l in layers] == [
        ("conv", 6912), ("bn", 1024), ("relu", 0), ("maxpool", 0), ("flatten", 0), ("dense", 640)]


def test_ptflops_divides_hook_counts_by_the_batch_but_not_functional_counts():
    # batch 3: hooks count 3 × the one-sample figures and ptflops divides them by 3; F.relu/F.max_pool2d count all 3
    a = cnncalc.load(TINY).analyze(batch=3)
    assert count(a, "ptflops").totals["macs"] == (7168 + 512 + 256 + 256 + 650) + 3 * (256 + 256)
    assert count(a, "fvcore").totals["flops"] == 3 * (6912 + 512 + 640)  # fvcore counts the whole batch


def test_every_rule_names_its_source_and_every_metric_has_a_default():
    registered = set(types())
    for conv in CONVENTIONS.values():
        keys = {m.key for m in conv.metrics}
        assert set(conv.default) == keys, conv.name
        assert set(conv.rules) <= registered, f"{conv.name}: rules for no layer type"
        for layer_type, rules in conv.rules.items():
            assert set(rules) <= keys, (conv.name, layer_type)
        for rule in [*conv.default.values(), *(r for rules in conv.rules.values() for r in rules.values())]:
            assert rule.text and rule.source, conv.name
        for m in conv.metrics:
            assert m.ours is None or m.ours in OURS


EXTRA = [str(Path(__file__).parent / "specs" / "conventions" / f"{d}.yaml") for d in ("1d", "2d", "3d")]


@pytest.mark.parametrize("spec", [*names(), *EXTRA])  # the zoo, and every layer type in 1-D, 2-D and 3-D
def test_explain_sums_to_the_gap_for_every_zoo_network_and_convention(spec):
    a = cnncalc.load(spec).analyze()
    totals = a.totals
    for name in CONVENTIONS:
        counted = count(a, name)
        for e in explain(a, name):
            assert sum(row.delta for row in e.rows) == e.gap, (spec, name, e.metric.key)
            assert e.theirs == counted.totals[e.metric.key] == sum(l.values[e.metric.key] for l in counted.layers)
            # cnncalc's side of the gap is cnncalc's own total of that metric
            ours = {"macs": totals.macs, "flops": totals.flops, "params": totals.params,
                    "trainable_params": totals.trainable_params, "activation_bytes": totals.activation_bytes,
                    "param_bytes": totals.param_bytes}[e.metric.ours]
            assert e.ours == ours


# torchvision's weights metadata: "_ops" (GFLOPS) and "num_params" in torchvision/models/*.py (v0.20), e.g.
# ResNet50_Weights.IMAGENET1K_V1 meta {"num_params": 25557032, "_ops": 4.089}
TORCHVISION_META = {
    "alexnet_torchvision": (0.714, 61100840), "densenet121": (2.834, 7978856), "googlenet_torchvision": (1.498, 6624904),
    "inception_v3": (5.713, None),  # its num_params (27,161,264) includes the auxiliary head the zoo spec leaves out
    "mobilenet_v2": (0.301, 3504872), "resnet18": (1.814, 11689512), "resnet34": (3.664, 21797672),
    "resnet50": (4.089, 25557032), "resnet101": (7.801, 44549160), "resnet152": (11.514, 60192808),
    "vgg11": (7.609, 132863336), "vgg11_bn": (7.609, 132868840), "vgg13": (11.308, 133047848),
    "vgg13_bn": (11.308, 133053736), "vgg16": (15.47, 138357544), "vgg16_bn": (15.47, 138365992),
    "vgg19": (19.632, 143667240), "vgg19_bn": (19.632, 143678248),
}


@pytest.mark.parametrize("spec", sorted(TORCHVISION_META))
def test_torchvision_metadata(spec):
    gflops, num_params = TORCHVISION_META[spec]
    counted = count(cnncalc.load(spec).analyze(), "torchvision-metadata")
    metric = counted.convention.metric("gflops")
    assert metric.shown(counted.totals["gflops"]) == f"{gflops:.3f}"
    if num_params is not None:
        assert counted.totals["num_params"] == num_params


def test_resnet50_paper_figure_is_the_v1_network():
    # He et al. 2016, Table 1: ResNet-50 "3.8 × 10^9 FLOPs" — mult-adds of the paper's v1 stride placement
    counted = count(cnncalc.load("resnet50", vars={"v1": True}).analyze(), "paper")
    assert 3.8e9 < counted.totals["mult_adds"] < 3.9e9


def test_unknown_convention_is_a_usage_error():
    a = cnncalc.load(TINY).analyze()
    with pytest.raises(OptionError, match="unknown convention 'fvcor'") as e:
        count(a, "fvcor")
    assert "fvcore" in e.value.hint


# -- the commands -----------------------------------------------------------------------------------------------------
def test_explain_json_rows_sum_to_the_gap(cli, tmp_path):
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY)
    result = cli("explain", str(spec), "--vs", "thop", "--format", "json")
    assert result.exit_code == 0, result.stderr
    macs = next(e for e in json.loads(result.stdout)["explanations"] if e["metric"] == "macs")
    # thop 8576 (HAND) against cnncalc's 7552 MACs: batch norm's 4 per element is the whole gap
    assert (macs["theirs"], macs["ours"], macs["gap"]) == (8576, 7552, 1024)
    assert [(r["type"], r["delta"]) for r in macs["rows"]] == [("bn", 1024)]
    assert macs["rows"][0]["source"].startswith("thop 0.1.1")


def test_explain_table_names_the_rules(cli):
    result = cli("explain", "resnet50", "--vs", "fvcore")
    assert result.exit_code == 0, result.stderr
    # fvcore 4,111,512,576 'flop' (the real FlopCountAnalysis on resnet50; tests/test_conventions_tools.py)
    assert "4,111,512,576" in result.stdout and "batch_norm" not in result.stdout
    assert "bn" in result.stdout and "global_avgpool" in result.stdout


def test_explain_unknown_convention_is_a_usage_error(cli):
    result = cli("explain", "resnet50", "--vs", "ptflop")
    assert result.exit_code == 2 and "did you mean 'ptflops'" in result.stderr


def test_summary_convention_json_and_table(cli, tmp_path):
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY)
    data = json.loads(cli("summary", str(spec), "--convention", "torchscan", "--format", "json").stdout)
    assert data["convention"]["totals"] == HAND["torchscan"]
    assert data["totals"]["macs"] == 7552  # cnncalc's own figures stay as they are
    assert [l["macs"] for l in data["convention"]["layers"]] == [6912, 512, 0, 64, 0, 640]
    table = cli("summary", str(spec), "--convention", "torchscan").stdout
    assert "16,456" in table and "torchscan 0.2.0" in table
    bad = cli("summary", str(spec), "--convention", "torchscan", "--format", "csv")
    assert bad.exit_code == 2


def test_lint_budget_under_a_convention(cli, tmp_path):
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY)
    # cnncalc's 7,552 MACs fit in 8K; ptflops' 9,354 "MACs" (HAND) do not
    assert cli("lint", str(spec), "--select", "CNN3", "--max-macs", "8K").exit_code == 0
    result = cli("lint", str(spec), "--select", "CNN3", "--max-macs", "8K", "--convention", "ptflops")
    assert result.exit_code == 1 and "ptflops MACs" in result.stdout and "(9,354)" in result.stdout


def test_compare_under_a_convention(cli, tmp_path):
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY)
    data = json.loads(cli("compare", str(spec), f"{spec}@input=3,16,16", "--convention", "calflops",
                          "--format", "json").stdout)
    assert data["convention"] == "calflops"
    assert data["items"][0]["values"]["flops"] == HAND["calflops"]["flops"]
    assert data["items"][0]["values"]["macs"] == HAND["calflops"]["macs"]


def test_the_tool_checks_see_every_layer_type():
    # tests/test_conventions_tools.py runs the tools on the zoo and on EXTRA: together they must hold every layer
    # type, so a new type fails here until a spec under tests/specs/conventions/ uses it (and the tools check its rules)
    seen = {r.type for spec in [*names(), *EXTRA] for r in cnncalc.load(spec).analyze().layers}
    assert set(types()) - seen == set()
