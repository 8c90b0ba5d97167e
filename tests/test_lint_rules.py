"""Lint rules, tested as data: tests/lint/<CODE>.fail.yaml and <CODE>.pass.yaml for every rule.

A fixture states what it must produce in comments: `# expect: CODE LINE:COL message-fragment`, one line per
finding of the rule named by the file (the figures behind each message are worked out in the fixture's own
comments). A .pass fixture expects none. Then each rule's own documentation examples are run the same way.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import cnncalc
from cnncalc.spec import zoo
from cnncalc.lint import REGISTRY, Settings, Severity, lint
from cnncalc.lint.core import parse_doc

FIXTURES = sorted((Path(__file__).parent / "lint").glob("CNN*.yaml"))
EXPECT = re.compile(r"^#\s*expect:\s*(CNN\d{3})\s+(\d+):(\d+)\s*(.*?)\s*$", re.M)


def test_every_rule_has_a_failing_and_a_passing_fixture():
    names = {p.name for p in FIXTURES}
    missing = [f"{code}.{kind}.yaml" for code in REGISTRY for kind in ("fail", "pass") if f"{code}.{kind}.yaml" not in names]
    assert not missing


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fixture(path):
    code, kind = path.name.split(".")[:2]
    expected = [(c, int(line), int(col), text) for c, line, col, text in EXPECT.findall(path.read_text(encoding="utf-8"))]
    assert (kind == "fail") == bool(expected), "a .fail fixture expects findings, a .pass fixture none"
    assert all(c == code for c, *_ in expected)
    findings = [f for f in lint(cnncalc.load(str(path)).analyze()) if f.code == code]
    assert [(f.code, f.loc.line, f.loc.col) for f in findings] == [e[:3] for e in expected]
    for f, (*_, text) in zip(findings, expected):
        assert text in f.message
        assert f.severity is REGISTRY[code].severity
        assert f.loc.file == str(path)


@pytest.mark.parametrize("code", sorted(REGISTRY))
def test_documented_examples(code):
    """`cnncalc rules CODE` shows these: the bad one must trigger the rule, the good one must be clean of every rule."""
    rule = REGISTRY[code]
    bad = lint(cnncalc.load(rule.doc.bad).analyze())
    assert code in {f.code for f in bad}
    assert lint(cnncalc.load(rule.doc.good).analyze()) == []


def test_rule_metadata():
    for code, rule in REGISTRY.items():
        assert rule.code == code and re.match(r"^[a-z][a-z0-9-]+$", rule.name)
        assert rule.doc.what and rule.doc.why and rule.doc.why.endswith((".", ")"))
        assert code[3] in "123" and (code.startswith("CNN3") or code == "CNN101") == (rule.severity is Severity.ERROR)


def test_docstring_without_examples_is_refused():
    class Undocumented:
        """Does something.

        Why: because.
        """

    with pytest.raises(AssertionError, match="Why:, Bad: and Good:"):
        parse_doc(Undocumented)


# -- fixes: the alternative is built and analysed by the core ----------------------------------------------
def _one(text, code, settings=Settings()):
    found = [f for f in lint(cnncalc.load(text).analyze(), settings) if f.code == code]
    assert len(found) == 1, found
    return found[0]


FIXES = [
    # 7×7, 64 → 64 with bias: 49·64·64 + 64 = 200,768; three 3×3: 3·(9·64·64 + 64) = 110,784 → −44.8 % ≈ −45 % (the
    # issue's example). MACs per output element: 49·64 against 3·9·64 (same 56×56 output everywhere): −45 % as well.
    pytest.param("input: [64, 56, 56]", "conv: {out: 64, kernel: 7, padding: 3}", "CNN201",
                 "replace it with three 3×3 convs (out 64): −45% params (200,768 → 110,784), −45% MACs, same receptive field",
                 id="three-3x3"),
    # 5×5 stride 2 'same' on 32 → 16; the stride goes on the last 3×3, so the field stays 5 and the output 16×16.
    # Params 25·64·64 = 102,400 against 2·9·64·64 = 73,728 (−28 %); the first 3×3 runs at 32×32, so MACs rise:
    # 16·16·64·25·64 = 26,214,400 against 32·32·64·9·64 + 16·16·64·9·64 = 47,185,920 (+80 %).
    pytest.param("input: [64, 32, 32]", "conv: {out: 64, kernel: 5, stride: 2, padding: 2, bias: false}", "CNN201",
                 "replace it with two 3×3 convs (out 64): −28% params (102,400 → 73,728), +80% MACs, same receptive field",
                 id="strided-stack"),
    # 7×7 128 → 128, no bias: 802,816 → 1×7 + 7×1: 2·7·128·128 = 229,376 (−71 %), MACs likewise at 17×17.
    pytest.param("input: [128, 17, 17]", "conv: {out: 128, kernel: 7, padding: 3, bias: false}", "CNN202",
                 "replace it with a 1×7 conv then a 7×1 conv (out 128): −71% params (802,816 → 229,376), −71% MACs, "
                 "same receptive field", id="factorised"),
    # 4×4 16 → 16 with bias: 16·16·16 + 16 = 4,112; 3×3: 9·16·16 + 16 = 2,320 (−44 %); field 4 → 3.
    pytest.param("input: [16, 32, 32]", "conv: {out: 16, kernel: 4, padding: same}", "CNN103",
                 "kernel: 3, padding: 1 keeps 32×32 symmetrically: −44% params (4,112 → 2,320), −44% MACs, "
                 "receptive field 4×4 → 3×3", id="odd-kernel"),
    # 3×3 stride 2 on 32 without padding: (32 − 3) mod 2 = 1 row lost; a 4×4 window ends on it and still gives
    # (32 − 4) / 2 + 1 = 15. Params 9·16·16 + 16 = 2,320 → 16·16·16 + 16 = 4,112 (+77 %).
    pytest.param("input: [16, 32, 32]", "conv: {out: 16, kernel: 3, stride: 2}", "CNN102",
                 "kernel: 4 reads every pixel with the same 15×15 output: +77% params; or change the input size",
                 id="longer-window"),
    # 1×1 stride 2 on 56 loses row 55 (ResNet's downsampling shortcut); ResNet-D averages 2×2 cells first and
    # runs the 1×1 at stride 1: 56 → 28 → 28, params unchanged (64·64 + 64), MACs 28·28·64·64 either way.
    pytest.param("input: [64, 56, 56]", "conv: {out: 64, kernel: 1, stride: 2}", "CNN102",
                 "avgpool: {kernel: 2, stride: 2, ceil_mode: true, count_include_pad: false} before it and stride 1 "
                 "here (ResNet-D) reads every pixel with the same 28×28 output: same params, same MACs",
                 id="pool-first"),
]


@pytest.mark.parametrize("head, layer, code, fix", FIXES)
def test_fix_effect_is_computed_by_the_core(head, layer, code, fix):
    assert _one(f"{head}\nlayers:\n  - {layer}\n", code).fix == fix


def test_dense_heavy_on_vgg16():
    # torchvision VGG-16: 138,357,544 params; fc6 25,088·4,096 + 4,096 = 102,764,544 (74 %). Pooling 512×7×7 to
    # 512 first: 512·4,096 + 4,096 = 2,101,248, saving 100,663,296 (73 % of the network).
    f = _one("vgg16", "CNN203")
    assert f.layer == "fc6"
    assert f.message == "holds 74% of the network's parameters (102.76M of 138.36M) on a flattened 512×7×7 map"
    assert f.fix == "global_avgpool before flatten1: dense input 25088 → 512, −100.66M params (−73% of the network)"


def test_lrn_cost_and_share():
    # VGG A-LRN's first layers: conv 3 → 64 on 224×224: MACs 224·224·64·27 = 86,704,128, FLOPs 2·MACs + 3,211,264
    # (bias) = 176,619,520; relu 3,211,264; LRN (2·5 + 3)·64·224·224 = 41,746,432 → 41.7M of 221,577,216 = 18.8 %.
    text = "input: [3, 224, 224]\nlayers:\n  - conv: {out: 64, kernel: 3, padding: 1}\n  - relu\n  - lrn\n"
    f = _one(text, "CNN206")
    assert f.message == "LRN costs 41.75M FLOPs (18.8% of the network's) and a 64×224×224 activation"
    assert f.fix == "remove it (−41,746,432 FLOPs), or use batch norm"


def test_bottleneck_fix_gives_the_channels_that_keep_the_factor():
    # 150,528 values (3×224×224) into 56×56: within 4× needs 150,528 / (4·3,136) = 12 channels.
    # Params 7·7·3·8 + 8 = 1,184 → 7·7·3·12 + 12 = 1,776 (+50 %).
    f = _one("input: [3, 224, 224]\nlayers:\n  - conv: {out: 8, kernel: 7, stride: 4, padding: 3}\n  - relu\n", "CNN106")
    assert f.fix == "out: 12 keeps the shrink within 4×: +50% params"


def test_bottleneck_option_factor():
    text = "input: [3, 224, 224]\nlayers:\n  - conv: {out: 8, kernel: 7, stride: 4, padding: 3}\n  - relu\n"
    assert [f for f in lint(cnncalc.load(text).analyze(), Settings(rules={"CNN106": {"factor": 8}})) if f.code == "CNN106"] == []


def test_inverted_residual_projection_is_not_a_bottleneck():
    # MobileNetV2 projects 144 → 24 channels (6×) inside a residual: the block input 24×56×56 stays live.
    assert not [f for f in lint(cnncalc.load("mobilenet_v2").analyze()) if f.code == "CNN106"]


# -- folding, ignores, selection --------------------------------------------------------------------------
BLOCKS = """\
input: [3, 32, 32]
blocks:
  unit:
    layers:
      - conv: {out: 12, kernel: 3, padding: 1}
      - relu
layers:
  - repeat: 3
    layers: [unit]
  - conv: {out: 16, kernel: 3, padding: 1}
"""


def test_a_block_used_three_times_gives_one_finding():
    f = _one(BLOCKS, "CNN204")
    assert (f.loc.line, f.loc.col, f.layer) == (5, 9, "repeat1.1.unit1.conv1")
    assert f.also == ("repeat1.2.unit1.conv1", "repeat1.3.unit1.conv1")


def test_lint_ignore_on_a_layer_and_in_the_block():
    text = BLOCKS.replace("{out: 12, kernel: 3, padding: 1}", "{out: 12, kernel: 3, padding: 1, lint-ignore: CNN204}")
    assert [f.code for f in lint(cnncalc.load(text).analyze())] == []
    by_name = BLOCKS.replace("layers: [unit]", "layers: [unit]\n    lint-ignore: channel-multiple")
    assert [f.code for f in lint(cnncalc.load(by_name).analyze())] == []


def test_spec_lint_section_ignores_and_selects():
    assert lint(cnncalc.load(BLOCKS + "lint: {ignore: [CNN2]}\n").analyze()) == []
    assert lint(cnncalc.load(BLOCKS + "lint: {select: [CNN1]}\n").analyze()) == []
    assert [f.code for f in lint(cnncalc.load(BLOCKS).analyze(), Settings(select=("CNN204",)))] == ["CNN204"]


def test_invalid_shape_cannot_be_ignored():
    text = "input: [3, 4, 4]\nlint: {ignore: [ALL]}\nlayers:\n  - conv: {out: 8, kernel: 5, lint-ignore: CNN101}\n"
    assert [(f.code, f.loc.line) for f in lint(cnncalc.load(text).analyze())] == [("CNN101", 4)]


def test_budget_with_no_limit_and_a_lifted_limit():
    text = "input: [512]\nlayers:\n  - dense: 256\n"  # 131,328 params
    assert lint(cnncalc.load(text).analyze()) == []
    assert [f.code for f in lint(cnncalc.load(text).analyze(), Settings(budgets={"params": 100_000}))] == ["CNN301"]
    lifted = "input: [512]\nlint: {budgets: {params: null}}\nlayers:\n  - dense: 256\n"
    assert lint(cnncalc.load(lifted).analyze(), Settings(budgets={"params": 100_000})) == []


def test_budgets_scale_with_batch_and_dtype():
    # 32·64·64 float16 output = 262,144 B per sample; batch 4 → peak (input 3·64·64·2·4 = 98,304 + 1,048,576).
    text = "input: [3, 64, 64]\nlayers:\n  - conv: {out: 32, kernel: 3, padding: 1}\n"
    a = cnncalc.load(text).analyze(batch=4, dtype="float16")
    f = lint(a, Settings(budgets={"peak-memory": 1 << 20}))
    assert [x.code for x in f] == ["CNN304"] and "(1,146,880)" in f[0].message


def test_large_kernel_in_3d():
    # 5×5×5, 32 → 32, no bias: 125·32·32 = 128,000; two 3×3×3: 2·27·32·32 = 55,296 (−57 %).
    f = _one("input: [32, 16, 16, 16]\nlayers:\n  - conv: {out: 32, kernel: 5, padding: 2, bias: false}\n", "CNN201")
    assert f.message == "5×5×5 conv (out 32): two stacked 3×3×3 convs see the same field"
    assert f.fix == "replace it with two 3×3×3 convs (out 32): −57% params (128,000 → 55,296), −57% MACs, same receptive field"


@pytest.mark.parametrize("name", zoo.names())
def test_zoo_networks_lint_without_errors(name):
    """Every bundled network is valid: linting it must not crash and must find nothing error-level."""
    net = cnncalc.load(name)
    findings = lint(net.analyze())
    assert [f for f in findings if f.severity is Severity.ERROR] == []
    # one loader for the API and the commands: a zoo spec is named by its file's path, so FILE:LINE:COL opens it
    assert net.source == str(zoo.resolve(name).path)
    assert all(f.loc.file == net.source and f.loc.line >= 1 for f in findings)


def test_peak_memory_names_the_tensors_live_at_the_peak():
    # Each tensor is 16·64·64·4 = 262,144 B. While relu1 runs, the input (kept for the add), conv1's output (relu1's
    # input) and relu1's output are live: 786,432 B, the peak; the add later holds input, relu1 and its own output,
    # equal but not above it.
    text = ("input: [16, 64, 64]\nlayers:\n  - residual:\n      body:\n        - conv: {out: 16, kernel: 3, padding: 1}\n"
            "        - relu\n")
    f = _one(text, "CNN304", Settings(budgets={"peak-memory": 512 * 1024}))
    assert f.message == ("peak activations 768.00 KiB (786,432) exceed the budget of 512.00 KiB (524,288): 50% over; "
                         "live at the peak: input 256.00 KiB (33%), residual1.body.conv1 256.00 KiB (33%), "
                         "residual1.body.relu1 256.00 KiB (33%)")
    assert (f.loc.line, f.loc.col) == (5, 11)  # the first layer among them


@pytest.mark.parametrize("name", ["resnet50", "googlenet", "mobilenet_v2"])
def test_live_at_peak_agrees_with_the_peak(name):
    """The core hook the peak-memory budget uses: the tensors it names add up to Totals.peak_activation_bytes."""
    from cnncalc.spec.graph import INPUT

    a = cnncalc.load(name).analyze(batch=2)
    sizes = {INPUT: a.totals.input_bytes, **{i.index: i.activation_bytes for i in a.layers}}
    peak, live = a.network.schedule.peak(sizes)
    assert peak == a.totals.peak_activation_bytes == sum(sizes[j] for j in live)
