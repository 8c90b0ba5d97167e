"""`cnncalc compare`: variant syntax, metrics, ratios, by-stage, sweeps, formats and errors.

Hand calculations use the README's conventions: conv params = Cout·Cin·k² (+ Cout bias), MACs = output
elements × Cin·k², dense params = in·out + out, MACs = in·out.
"""
from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

import cnncalc
from cnncalc.spec import zoo
from cnncalc.cli import cli
from cnncalc.compare import Variant, VariantError, collect, longest_path, parse_sweep, parse_variant, sweep_variants
from cnncalc.spec.options import resolve_input

NET = """\
name: small
input: [3, 32, 32]
vars: {width: 16}
layers:
  - conv: {out: $width, kernel: 3, padding: 1, bias: false}
  - relu
  - conv: {out: $width, kernel: 3, padding: 1, stride: 2}
  - global_avgpool
  - flatten
  - dense: 10
"""
# width 16, input 32: conv1 16·3·9 = 432 params, 16·32·32·27 = 442,368 MACs; conv2 16·16·9 + 16 = 2,320 params,
# output 16×16×16, 16·16·16·144 = 589,824 MACs; dense 16·10 + 10 = 170 params, 160 MACs.
SMALL = {"params": 432 + 2320 + 170, "macs": 442_368 + 589_824 + 160}  # 2,922 and 1,032,352
# width 32: conv1 32·27 = 864 params, 32·1024·27 = 884,736 MACs; conv2 32·32·9 + 32 = 9,248 params,
# 32·256·288 = 2,359,296 MACs; dense 330 params, 320 MACs.
WIDE = {"params": 864 + 9248 + 330, "macs": 884_736 + 2_359_296 + 320}  # 10,442 and 3,244,352

STAGES = """\
name: staged
input: [8, 16, 16]
vars: {deep: false}
layers:
  - conv: {out: 8, kernel: 3, padding: 1, bias: false, name: stem}
  - repeat: 2
    name: stage1
    layers:
      - conv: {out: 8, kernel: 3, padding: 1, bias: false}
  - repeat: '${2 if deep else 1}'
    name: stage2
    layers:
      - conv: {out: 8, kernel: 3, padding: 1, bias: false}
"""


def run(*args, input=None):
    """The CLI with stdout and stderr apart (colour off, as in CI)."""
    return CliRunner(env={"NO_COLOR": "1"}).invoke(cli, list(args), input=input, prog_name="cnncalc")


@pytest.fixture
def spec(tmp_path, monkeypatch):
    """The small spec as a short relative path (it labels the table's columns)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "small.yaml").write_text(NET)
    return "small.yaml"


# -- the variant syntax ------------------------------------------------------------------------------------
@pytest.mark.parametrize("arg, spec, vars, shape", [
    ("mobilenet_v2", "mobilenet_v2", (), None),
    ("mobilenet_v2@alpha=0.5", "mobilenet_v2", (("alpha", 0.5),), None),
    ("mobilenet_v2@input=3,160,160", "mobilenet_v2", (), (3, 160, 160)),
    ("mobilenet_v2@alpha=0.5,input=3,160,160", "mobilenet_v2", (("alpha", 0.5),), (3, 160, 160)),
    ("mobilenet_v2@input=3x160x160,alpha=0.5", "mobilenet_v2", (("alpha", 0.5),), (3, 160, 160)),
    ("net.yaml@input=160", "net.yaml", (), (160,)),
    ("net.yaml@sizes=[1,2],name=wide", "net.yaml", (("sizes", [1, 2]), ("name", "wide")), None),
    ("runs/v@2/net.yaml@bn=true", "runs/v@2/net.yaml", (("bn", True),), None),  # the last '@' splits
])
def test_parse_variant(arg, spec, vars, shape):
    assert parse_variant(arg) == Variant(spec, vars, shape, arg)


@pytest.mark.parametrize("arg, message, caret", [
    # the caret sits under the offending piece: column 9 is the 'd' of 'depth' after 'resnet50@'
    ("resnet50@depth", "expected NAME=VALUE in 'resnet50@depth'", "         ^^^^^"),
    ("resnet50@depth=", "empty value", "               ^"),
    ("resnet50@input=3,x", "expected positive integers like 3,160,160 or one spatial size like 160, got '3,x'",
     "               ^^^"),
    ("resnet50@input=0", "expected positive integers", "               ^"),
    ("resnet50@depth=101,depth=50", "'depth' is set twice", "                   ^^^^^"),
    ("@depth=1", "a variant needs a spec before '@'", "^"),
])
def test_parse_variant_errors_point_at_the_column(arg, message, caret):
    with pytest.raises(VariantError) as e:
        parse_variant(arg)
    lines = e.value.format().splitlines()
    assert lines[0].startswith(f"error: {message}")
    assert lines[1:] == [f"  {arg}", f"  {caret}"]


def test_variant_error_is_a_usage_error_on_stderr(spec):
    r = run("compare", spec, f"{spec}@width")
    assert r.exit_code == 2
    assert r.stdout == ""
    assert r.stderr.startswith(f"error: expected NAME=VALUE in '{spec}@width'\n")


def test_spatial_input_keeps_the_channels():
    assert resolve_input((160,), (3, 224, 224), "x") == (3, 160, 160)
    assert resolve_input((100,), (2, 16000), "x") == (2, 100)  # 1-D: [C, L]
    assert resolve_input((1, 28, 28), (3, 224, 224), "x") == (1, 28, 28)  # a full shape as is
    assert resolve_input((28,), (784,), "mlp@input=28") == (28,)  # a flat input: one number is its length


def test_sweep_parsing_and_grid_order():
    assert parse_sweep("alpha=0.25,0.5") == ("alpha", [0.25, 0.5])
    assert parse_sweep("input=128,3x96x96") == ("input", [(128,), (3, 96, 96)])
    with pytest.raises(VariantError, match="--sweep expects NAME=V1,V2"):
        parse_sweep("alpha")
    grid = sweep_variants(Variant("m", (("classes", 10),)), [("alpha", [0.5, 1.0]), ("input", [(128,), (160,)])])
    # first sweep outermost; the base variant's settings stay underneath
    assert [v.label for v in grid] == ["alpha=0.5 input=128", "alpha=0.5 input=160",
                                       "alpha=1.0 input=128", "alpha=1.0 input=160"]
    assert grid[1] == Variant("m", (("classes", 10), ("alpha", 0.5)), (160,), "alpha=0.5 input=160")


# -- collected numbers -----------------------------------------------------------------------------------
def test_collect_metrics_and_ratios(spec):
    c = collect([parse_variant(spec), parse_variant(f"{spec}@width=32")])
    assert c.errors == []
    small, wide = c.items
    assert (small.values["params"], small.values["macs"]) == (SMALL["params"], SMALL["macs"])
    assert (wide.values["params"], wide.values["macs"]) == (WIDE["params"], WIDE["macs"])
    assert wide.ratios["params"] == pytest.approx(10_442 / 2_922)
    assert wide.ratios["macs"] == pytest.approx(3_244_352 / 1_032_352)
    assert small.ratios["params"] == 1
    assert small.values["output"] == (10,)
    # float32: 4 bytes per parameter (no buffers here)
    assert small.values["param_bytes"] == 4 * 2_922
    assert small.values["depth"] == small.values["weighted_layers"] == 3 and small.values["nonlinearities"] == 1
    assert small.values["receptive_field"].is_global
    # 3×3 (r = 3), then 3×3 stride 2 (r = 3 + 2·1 = 5): the field before global pooling
    assert small.values["local_receptive_field"].size == (5, 5)
    assert "depth" not in small.ratios  # layer counts get no ratio


def test_depth_is_the_longest_path_of_weighted_layers():
    text = """\
input: [8, 8, 8]
layers:
  - residual:
      body:
        - conv: {out: 8, kernel: 3, padding: 1}
        - relu
        - conv: {out: 8, kernel: 3, padding: 1}
      shortcut:
        - conv: {out: 8, kernel: 1}
  - relu
"""
    a = cnncalc.load(text).analyze()
    # three convs, but the deepest path (the body) has two: a projection shortcut sits beside it
    assert longest_path(a, lambda info: info.macs > 0) == 2
    assert sum(info.macs > 0 for info in a.layers) == 3


@pytest.mark.parametrize("name, depth", [
    ("resnet50", 50),  # He et al. 2016, Table 1: "50-layer"
    ("resnet18", 18),  # idem, "18-layer"
    ("vgg16", 16),     # Simonyan & Zisserman 2015, Table 1, configuration D: 13 conv + 3 fc
])
def test_depth_of_zoo_networks_matches_the_papers(name, depth):
    (item,) = collect([parse_variant(name)]).items
    assert item.values["depth"] == depth


def test_resnet50_totals_through_compare():
    r = run("compare", "resnet50", "resnet50@input=160", "--format", "json")
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    full, small = data["items"]
    assert full["values"]["params"] == 25_557_032  # torchvision resnet50: sum(p.numel()) = 25,557,032
    assert full["values"]["macs"] == 4_089_184_256  # torchvision-style v1.5, the widely quoted 4.09 G
    assert small["input"] == [3, 160, 160] and small["settings"] == {"input": 160}
    assert small["ratios"]["params"] == 1.0


# -- output formats ------------------------------------------------------------------------------------
def test_table_has_one_column_per_spec_and_ratios(spec):
    r = run("compare", spec, f"{spec}@width=32")
    assert r.exit_code == 0, r.stderr
    out = r.stdout
    assert f"{spec}@width=32" in out
    params_row = next(line for line in out.splitlines() if line.startswith("│Params"))
    assert "2.92K" in params_row and "10.44K 3.57×" in params_row  # 10,442 / 2,922 = 3.57
    assert "ratios (×) are against the first" in out


def test_markdown(spec):
    r = run("compare", spec, f"{spec}@width=32", "--format", "markdown")
    lines = r.stdout.splitlines()
    assert lines[2] == f"|  | {spec} | {spec}@width=32 |"
    assert lines[3] == "|---|---:|---:|"
    assert "| Params | 2.92K | 10.44K (3.57×) |" in lines
    assert "| Depth | 3 | 3 |" in lines


def test_csv_is_exact(spec):
    r = run("compare", spec, f"{spec}@width=32,input=3,16,16", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [row["width"] for row in rows] == ["", "32"]
    assert [row["input"] for row in rows] == ["3x32x32", "3x16x16"]
    assert rows[0]["params"] == "2922" and rows[0]["macs"] == "1032352"
    # width 32 at 16×16: conv1 32·16·16·27 = 221,184; conv2 32·8·8·288 = 589,824; dense 320
    assert rows[1]["macs"] == str(221_184 + 589_824 + 320)
    assert rows[0]["local_receptive_field"] == "5x5" and rows[0]["receptive_field"] == "global"
    assert float(rows[1]["params_ratio"]) == pytest.approx(10_442 / 2_922, abs=1e-6)


def test_set_and_input_apply_to_every_spec_and_variants_win(spec):
    r = run("compare", spec, f"{spec}@width=16", "--set", "width=32", "--input", "3,16,16", "--format", "json")
    a, b = json.loads(r.stdout)["items"]
    assert (a["values"]["params"], b["values"]["params"]) == (WIDE["params"], SMALL["params"])
    assert a["input"] == b["input"] == [3, 16, 16]


def test_stdin_is_read_once_for_several_variants():
    r = run("compare", "--format", "json", "--", "-", "-@width=32", input=NET)  # '--': '-@…' is no option
    assert r.exit_code == 0, r.stderr
    assert [i["values"]["params"] for i in json.loads(r.stdout)["items"]] == [SMALL["params"], WIDE["params"]]


# -- by stage --------------------------------------------------------------------------------------------
def test_by_stage_matches_named_top_level_groups(tmp_path):
    path = tmp_path / "staged.yaml"
    path.write_text(STAGES)
    r = run("compare", str(path), f"{path}@deep=true", "--by-stage", "--format", "json")
    assert r.exit_code == 0, r.stderr
    stages = {s["name"]: s["items"] for s in json.loads(r.stdout)["stages"]}
    assert list(stages) == ["stem", "stage1", "stage2"]
    # each 3×3 conv 8→8 without bias: 8·8·9 = 576 params, 16·16·8·72 = 147,456 MACs
    assert [s["params"] for s in stages["stage1"]] == [2 * 576, 2 * 576]
    assert [s["params"] for s in stages["stage2"]] == [576, 2 * 576]
    assert [s["macs"] for s in stages["stage2"]] == [147_456, 2 * 147_456]
    assert stages["stage2"][1]["layers"] == 2

    table = run("compare", str(path), f"{path}@deep=true", "--by-stage").stdout
    stage2 = next(line for line in table.splitlines() if line.startswith("│stage2"))
    assert "1.15K 2.00×" in stage2  # 1,152 params: twice the first spec's stage2


def test_by_stage_leaves_unmatched_stages_empty(tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text(STAGES.replace("name: stage2", "name: head"))
    path = tmp_path / "staged.yaml"
    path.write_text(STAGES)
    stages = json.loads(run("compare", str(path), str(other), "--by-stage", "--format", "json").stdout)["stages"]
    assert [s["name"] for s in stages] == ["stem", "stage1", "stage2", "head"]
    assert stages[2]["items"][1] is None and stages[3]["items"][0] is None


# -- sweeps ----------------------------------------------------------------------------------------------
def test_sweep_gives_the_grid_of_totals(spec):
    r = run("compare", spec, "--sweep", "width=16,32", "--sweep", "input=16,32", "--format", "csv")
    assert r.exit_code == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [(row["width"], row["input"]) for row in rows] == [("16", "3x16x16"), ("16", "3x32x32"),
                                                            ("32", "3x16x16"), ("32", "3x32x32")]
    # width 16 at 16×16: conv1 16·16·16·27 = 110,592; conv2 16·8·8·144 = 147,456; dense 160
    assert [int(row["macs"]) for row in rows] == [110_592 + 147_456 + 160, SMALL["macs"],
                                                  221_184 + 589_824 + 320, WIDE["macs"]]

    table = run("compare", spec, "--sweep", "width=16,32", "--sweep", "input=16,32").stdout
    assert table.splitlines()[2].split("┃")[1:3] == ["width ", " input "]  # title, top rule, header


# TF-slim's MobileNet v2 table (tensorflow/models research/slim/nets/mobilenet/README.md), MACs in millions,
# rounded down there: rows alpha 0.35, 0.5, 0.75, 1.0; columns input 128, 160, 192, 224.
MOBILENET_V2_MMACS = [[20, 30, 43, 59], [32, 50, 71, 97], [69, 107, 153, 209], [99, 154, 221, 300]]


@pytest.mark.skipif("mobilenet_v2" not in zoo.names(), reason="the zoo has no mobilenet_v2 spec yet")
def test_mobilenet_v2_sweep_reproduces_the_published_grid():
    r = run("compare", "mobilenet_v2", "--sweep", "alpha=0.35,0.5,0.75,1.0", "--sweep", "input=128,160,192,224",
            "--format", "csv")
    assert r.exit_code == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [int(row["macs"]) // 10**6 for row in rows] == [m for line in MOBILENET_V2_MMACS for m in line]
    assert [row["alpha"] for row in rows[::4]] == ["0.35", "0.5", "0.75", "1.0"]


def test_sweep_reports_an_error_once_not_per_point(spec):
    r = run("compare", spec, "--sweep", "depth=1,2,3")
    assert r.exit_code == 2
    assert r.stderr.count("error: --set: the spec has no variable 'depth'") == 1


def test_sweep_takes_one_spec(spec):
    r = run("compare", spec, spec, "--sweep", "width=16,32")
    assert r.exit_code == 2
    assert "--sweep takes exactly one SPEC" in r.stderr


# -- errors ----------------------------------------------------------------------------------------------
def test_a_failing_spec_is_reported_and_the_rest_shown(spec):
    r = run("compare", spec, "no_such_net", f"{spec}@width=0", "--format", "json")
    assert r.exit_code == 2
    assert [i["label"] for i in json.loads(r.stdout)["items"]] == [spec]
    assert r.stderr.splitlines() == [
        "error: no such file or zoo network: no_such_net",
        "  hint: `cnncalc zoo` lists the bundled networks",
        # line 5, column 12: the value of `out:` in the first conv
        f"{spec}:5:12: error: 'conv' argument 'out' must be a positive integer, got 0",
    ]


def test_a_shape_error_is_located(tmp_path):
    path = tmp_path / "valid.yaml"
    path.write_text("input: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 5}\n")
    r = run("compare", str(path), f"{path}@input=3")  # 3×3 input: (3 + 0 − 5) / 1 + 1 < 1
    assert r.exit_code == 2
    assert r.stderr.startswith(f"{path}:3:20: error: 'conv' output would be empty along H")  # at `kernel:`


def test_train_adds_the_training_step_in_every_format():
    # the figures are `cnncalc train`'s own (core.train.train), worked out again here for each network
    from cnncalc.core.train import train

    runner = CliRunner()
    args = ["compare", "lenet5", "alexnet", "--train", "--batch", "4", "--optimizer", "sgd", "--precision", "bf16-mixed"]
    data = json.loads(runner.invoke(cli, args + ["--format", "json"]).stdout)
    for item, name in zip(data["items"], ["lenet5", "alexnet"]):
        t = train(cnncalc.load(name), 4, "sgd", "bf16-mixed").totals
        v = item["values"]
        assert (v["train_step_flops"], v["backward_flops"], v["saved_bytes"], v["train_peak_bytes"]) == (
            t.step_flops, t.backward_flops, t.saved_bytes, t.peak_bytes)
        assert v["train_state_bytes"] == t.param_bytes + t.buffer_bytes + t.grad_bytes + t.optimizer_bytes + t.loss_scale_bytes
        # SGD without momentum keeps no state: weights (fp32 masters) and their gradients only
        assert t.optimizer_bytes == 0
    first, second = (i["values"]["train_peak_bytes"] for i in data["items"])
    assert data["items"][1]["ratios"]["train_peak_bytes"] == second / first
    rows = list(csv.DictReader(io.StringIO(runner.invoke(cli, args + ["--format", "csv"]).stdout)))
    assert int(rows[1]["train_peak_bytes"]) == second
    table = runner.invoke(cli, args).stdout
    assert "training with sgd, bf16-mixed" in " ".join(table.split()) and "Training peak" in table and "Saved for backward" in table
    assert "Training peak" not in runner.invoke(cli, ["compare", "lenet5", "alexnet"]).stdout
