"""The model zoo: every bundled network exact against its reference, the variants, `cnncalc zoo`, the README table.

Where a figure comes from:
- "torchvision" / "timm": computed once by tools/zoo_reference.py (torch 2.14.1, torchvision 0.29.1, timm 1.0.31):
  params = sum(p.numel() for p in model.parameters()); MACs by forward hooks on Conv2d/Linear counting output
  elements × (C_in / groups) × kernel volume and in × out (bias excluded, the README's definition), batch 1.
- "torch, written out": the same script, for networks with no torchvision/timm model, written out in a few lines
  of torch from the paper (LeNet-5, the paper's AlexNet, VGG configuration C, FCN-VGG16).
- papers and TF-slim READMEs: quoted where they are checked below, with the rounding they use.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import pytest

import cnncalc
from cnncalc.spec import zoo
from cnncalc.cli.zoo import markdown
from cnncalc.core.catalogue import catalogue

README = Path(__file__).parent.parent / "README.md"

REFERENCE = {  # zoo name: (params, MACs, output shape) at the spec's own input, batch 1
    # torch, written out: LeCun et al. 1998 as commonly implemented; the 61,706 params
    "lenet5": (61_706, 416_520, (10,)),
    # torch, written out: Krizhevsky et al. 2012 with groups=2 on conv2/4/5; the 60,965,224 params
    "alexnet": (60_965_224, 724_406_816, (1000,)),
    "alexnet_torchvision": (61_100_840, 714_188_480, (1000,)),  # torchvision alexnet()
    # torchvision vgg11 … vgg19_bn; vgg16's 138,357,544 is the issue's figure
    "vgg11": (132_863_336, 7_609_090_048, (1000,)),
    "vgg13": (133_047_848, 11_308_466_176, (1000,)),
    "vgg16": (138_357_544, 15_470_264_320, (1000,)),
    "vgg19": (143_667_240, 19_632_062_464, (1000,)),
    "vgg11_bn": (132_868_840, 7_609_090_048, (1000,)),
    "vgg13_bn": (133_053_736, 11_308_466_176, (1000,)),
    "vgg16_bn": (138_365_992, 15_470_264_320, (1000,)),
    "vgg19_bn": (143_678_248, 19_632_062_464, (1000,)),
    # the paper's configurations: A, B, D, E are torchvision's vgg11/13/16/19; A-LRN adds a weightless LRN to A;
    # C (1×1 convs) is torch, written out (tools/zoo_reference.py vgg_c)
    "vgg_a": (132_863_336, 7_609_090_048, (1000,)),
    "vgg_a_lrn": (132_863_336, 7_609_090_048, (1000,)),
    "vgg_b": (133_047_848, 11_308_466_176, (1000,)),
    "vgg_c": (133_638_952, 11_770_888_192, (1000,)),
    "vgg_d": (138_357_544, 15_470_264_320, (1000,)),
    "vgg_e": (143_667_240, 19_632_062_464, (1000,)),
    # the paper's GoogLeNet has no torch model: params by hand below (test_googlenet_params_by_hand), MACs checked
    # block by block against the paper's Table 1 (test_googlenet_table1_ops)
    "googlenet": (6_998_552, 1_582_671_872, (1000,)),
    "googlenet_torchvision": (6_624_904, 1_498_376_192, (1000,)),  # torchvision googlenet(aux_logits=False)
    "inception_v3": (23_834_568, 5_713_216_096, (1000,)),  # torchvision inception_v3(aux_logits=False)
    "inception_v4": (42_679_816, 12_253_974_624, (1000,)),  # timm inception_v4
    "inception_resnet_v2": (55_843_464, 13_155_794_016, (1000,)),  # timm inception_resnet_v2
    # torchvision resnet18 … resnet152 (stride on the 3×3, "v1.5"); params are the figures
    "resnet18": (11_689_512, 1_814_073_344, (1000,)),
    "resnet34": (21_797_672, 3_663_761_408, (1000,)),
    "resnet50": (25_557_032, 4_089_184_256, (1000,)),
    "resnet101": (44_549_160, 7_801_405_440, (1000,)),
    "resnet152": (60_192_808, 11_513_626_624, (1000,)),
    "mobilenet_v1": (4_231_976, 568_740_352, (1000,)),  # timm mobilenetv1_100; the 4,231,976 params
    "mobilenet_v2": (3_504_872, 300_774_272, (1000,)),  # torchvision mobilenet_v2()
    "densenet121": (7_978_856, 2_834_161_664, (1000,)),  # torchvision densenet121()
    "fcn_vgg16": (138_357_544, 15_470_264_320, (1000, 1, 1)),  # torch, written out: vgg16().features + conv fc6-fc8
}


@lru_cache(maxsize=None)
def totals(name: str, input=None, **vars):
    a = cnncalc.load(name, vars=vars or None, input=input).analyze()
    assert a.error is None, a.error.format()
    return a.totals


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_matches_reference(name):
    params, macs, output = REFERENCE[name]
    t = totals(name)
    assert (t.params, t.macs, tuple(t.output)) == (params, macs, output)


def test_every_zoo_name_has_reference_figures():
    assert zoo.names() == sorted(REFERENCE, key=zoo._natural)


# -- variants and --input/--set beyond the defaults, against the reference -------------------------------------
@pytest.mark.parametrize("name, vars, input, params, macs", [
    # timm's MobileNet v1 builder with channel multiplier 0.5 at 160×160
    ("mobilenet_v1", {"alpha": 0.5}, (3, 160, 160), 1_331_592, 76_524_800),
    # torchvision mobilenet_v2(width_mult=0.5) at 160; and 0.35, where _make_divisible's +8 rule turns the stem's
    # 32·0.35 = 11.2 into 16, not 8
    ("mobilenet_v2", {"alpha": 0.5}, (3, 160, 160), 1_968_680, 50_184_000),
    ("mobilenet_v2", {"alpha": 0.35}, None, 1_677_128, 59_285_808),
    # the same FCN-VGG16 at 384×384: a 6×6 map of scores (torch, written out)
    ("fcn_vgg16", {}, (3, 384, 384), 138_357_544, 49_551_114_240),
])
def test_vars_and_inputs_match_reference(name, vars, input, params, macs):
    t = totals(name, input, **vars)
    assert (t.params, t.macs) == (params, macs)


def test_mobilenet_v2_rounding_keeps_channels_divisible_by_8():
    # torchvision _make_divisible: 32·0.35 = 11.2 → int(11.2 + 4) // 8 · 8 = 8 < 0.9·11.2, so 16
    a = cnncalc.load("mobilenet_v2", vars={"alpha": 0.35}).analyze()
    assert a.layers[0].output == (16, 112, 112)
    assert all(r.output[0] % 8 == 0 for r in a.layers if r.type == "conv")


def test_fcn_vgg16_output_follows_the_input():
    # 512×12×12 after the five pools at 384 (384 / 32); the 7×7 fc6 leaves 12 − 7 + 1 = 6
    assert tuple(totals("fcn_vgg16", (3, 384, 384)).output) == (1000, 6, 6)


# -- published figures -------------------------------------------------------------------------------------------
def millions(n: int, places: int = 0) -> float:
    return round(n / 1e6, places)


@pytest.mark.parametrize("alpha, size, macs_m, params_m", [
    # Howard et al. 2017, Table 6 (width multiplier, 224): 569/325/149/41 million mult-adds, 4.2/2.6/1.3/0.5 M params
    (1.0, 224, 569, 4.2), (0.75, 224, 325, 2.6), (0.5, 224, 149, 1.3), (0.25, 224, 41, 0.5),
    # Table 7 (resolution, α = 1): 418/290/186 million mult-adds at 192/160/128
    (1.0, 192, 418, 4.2), (1.0, 160, 290, 4.2), (1.0, 128, 186, 4.2),
])
def test_mobilenet_v1_paper_tables(alpha, size, macs_m, params_m):
    t = totals("mobilenet_v1", (3, size, size), alpha=alpha)
    # the paper neither rounds nor truncates consistently (568.7 M is listed as 569, 290.7 M as 290): within 1 M
    assert abs(t.macs / 1e6 - macs_m) < 1
    assert millions(t.params, 1) == params_m


def tf_slim_counts(alpha, size):
    """MobileNet v1's (MACs, params) as TF-slim counts them: 1001 classes; of batch norm, beta, moving mean and
    moving variance (slim's batch norm has no gamma by default), i.e. params − C + 2·C per batch norm."""
    a = cnncalc.load("mobilenet_v1", vars={"alpha": alpha, "classes": 1001}, input=(3, size, size)).analyze()
    gammas = sum(r.params // 2 for r in a.layers if r.type == "bn")
    return a.totals.macs, a.totals.params - gammas + a.totals.buffers


def test_mobilenet_v1_alpha_half_at_160_tf_slim():
    # TF-slim mobilenet_v1.md, MobileNet_v1_0.50_160: 77 million MACs, 1.34 million parameters. Its checkpoints
    # have no BN gamma (slim's scale=False) and its counts include the moving statistics: the same rule gives
    # 1.0_224's 569 / 4.24 on the same table.
    macs, params = tf_slim_counts(0.5, 160)
    assert (millions(macs), millions(params, 2)) == (77, 1.34)
    macs, params = tf_slim_counts(1.0, 224)
    assert (millions(macs), millions(params, 2)) == (569, 4.24)


@pytest.mark.parametrize("alpha, size, macs_m, params_m", [
    # TF-slim mobilenet/README.md (MobileNet v2 checkpoints): MACs (M), parameters (M) counting conv and dense
    # weights only (batch norm folded): 0.5_160 → 50, 1.95; 1.0_224 → 300, 3.47; 0.35_224 → 59, 1.66
    (0.5, 160, 50, 1.95), (1.0, 224, 300, 3.47), (0.35, 224, 59, 1.66),
])
def test_mobilenet_v2_tf_slim_table(alpha, size, macs_m, params_m):
    a = cnncalc.load("mobilenet_v2", vars={"alpha": alpha, "classes": 1001}, input=(3, size, size)).analyze()
    folded = a.totals.params - sum(r.params for r in a.layers if r.type == "bn")
    assert abs(a.totals.macs / 1e6 - macs_m) < 1  # 300.78 M is listed as 300: within the table's 1 M
    assert millions(folded, 2) == params_m


@pytest.mark.parametrize("name, paper_m", [
    # Simonyan & Zisserman 2015, Table 2: parameters (millions) of configurations A, A-LRN, B, C, D, E
    ("vgg_a", 133), ("vgg_a_lrn", 133), ("vgg_b", 133), ("vgg_c", 134), ("vgg_d", 138), ("vgg_e", 144),
])
def test_vgg_paper_table2(name, paper_m):
    assert millions(totals(name).params) == paper_m


@pytest.mark.parametrize("depth, v1, paper_g", [
    # He et al. 2016, Table 1: FLOPs (multiply-adds) 1.8, 3.6, 3.8, 7.6, 11.3 ×10⁹ for 18 … 152 layers, with the
    # stride on the first 1×1 (v1). The paper's figures are approximate: each is within 0.1×10⁹ of the exact count.
    (18, False, 1.8), (34, False, 3.6), (50, True, 3.8), (101, True, 7.6), (152, True, 11.3),
])
def test_resnet_paper_table1(depth, v1, paper_g):
    name = "resnet34" if depth <= 34 else "resnet50"
    t = totals(name, depth=depth, **({"v1": True} if v1 else {}))
    assert abs(t.macs / 1e9 - paper_g) < 0.1


def test_resnet50_v1_moves_the_stride_to_the_first_1x1():
    # v1: the stride-2 1×1 of layer2-4's first block sees the full-size input; v1.5's 3×3 does instead. Exact v1
    # count (He et al. quote 3.8×10⁹); v1.5 is 4,089,184,256 (torchvision), 0.29×10⁹ more.
    v1 = cnncalc.load("resnet50", vars={"v1": True}).analyze()
    assert v1.totals.macs == 3_857_973_248
    assert v1.totals.params == 25_557_032  # the same weights
    conv1 = next(r for r in v1.layers if r.name == "layer2.1.bottleneck1.residual.body.conv1")
    assert conv1.output == (128, 28, 28)


def test_googlenet_params_by_hand():
    # inception 3a on 192 channels, weights + biases per branch:
    # 1×1 64: 192·64+64 = 12,352; 1×1 96 → 3×3 128: 18,528 + 110,720; 1×1 16 → 5×5 32: 3,088 + 12,832;
    # pool → 1×1 32: 6,176. Sum 163,696.
    a = cnncalc.load("googlenet").analyze()
    assert sum(r.params for r in a.layers if r.name.startswith("inception3a.")) == 163_696


GOOGLENET_TABLE1_OPS = {  # Szegedy et al. 2015, Table 1, "ops" column (millions), row → our row-name prefixes
    "conv1": (("conv1",), 118), "conv2": (("conv2", "conv3"), 360),
    "inception3a": (("inception3a",), 128), "inception3b": (("inception3b",), 304),
    "inception4a": (("inception4a",), 73), "inception4b": (("inception4b",), 88),
    "inception4c": (("inception4c",), 100), "inception4d": (("inception4d",), 119),
    "inception4e": (("inception4e",), 170), "inception5b": (("inception5b",), 71), "linear": (("fc",), 1),
}


@pytest.mark.parametrize("row", sorted(GOOGLENET_TABLE1_OPS))
def test_googlenet_table1_ops(row):
    # Each block's exact MACs are within 1 M of the table's rounded figure (4a: 73.6 M listed as 73). Inception 5a
    # is left out: the table's 54 M is not the sum of the layers it lists (51.1 M), a known slip in the paper.
    prefixes, ops_m = GOOGLENET_TABLE1_OPS[row]
    a = cnncalc.load("googlenet").analyze()
    macs = sum(r.macs for r in a.layers if r.name.split(".")[0] in prefixes)
    assert abs(macs / 1e6 - ops_m) < 1


# -- names, variants, lookup -------------------------------------------------------------------------------------
def test_row_names_read_like_the_reference():
    names = [r.name for r in cnncalc.load("resnet50").analyze().layers]
    assert names[:4] == ["conv1", "bn1", "relu1", "maxpool1"]
    assert "layer1.1.bottleneck1.residual.shortcut.downsample" in names
    assert "layer4.3.bottleneck1.residual.body.conv3" in names
    assert names[-1] == "fc"


def test_variant_name_and_set_override():
    net = cnncalc.load("vgg16_bn")
    assert net.name == "vgg16_bn" and net.vars["bn"] is True
    # vars given to load() override the variant's: vgg16_bn with depth 11 is vgg11_bn (torchvision 132,868,840)
    assert cnncalc.load("vgg16_bn", vars={"depth": 11}).analyze().totals.params == 132_868_840


def test_spec_names_follow_their_vars():
    assert cnncalc.load("resnet50", vars={"depth": 101}).name == "resnet101"
    assert cnncalc.load("alexnet", vars={"torchvision": True}).name == "alexnet_torchvision"


def test_resolve_prefers_an_existing_file(tmp_path, monkeypatch):
    (tmp_path / "vgg16_bn").write_text("input: [1, 8, 8]\nlayers: [relu]\n")
    monkeypatch.chdir(tmp_path)
    found = zoo.resolve("vgg16_bn")
    assert found == zoo.Found(Path("vgg16_bn"), {}, None)


def test_unknown_zoo_name_suggests_one(cli):
    result = cli("summary", "resnet51")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: no such file or zoo network: resnet51\n  hint: did you mean 'resnet50'")


def test_summary_of_a_variant_from_any_directory(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("summary", "vgg16_bn", "--set", "depth=19", "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    # torchvision vgg19_bn: 143,678,248 params
    assert (data["name"], data["totals"]["params"]) == ("vgg16_bn", 143_678_248)
    assert data["source"].endswith("specs/vgg16.yaml")


def test_summary_mobilenet_alpha_and_input(cli):
    result = cli("summary", "mobilenet_v1", "--set", "alpha=0.5", "--input", "3,160,160", "--format", "json")
    assert result.exit_code == 0, result.stderr
    t = json.loads(result.stdout)["totals"]
    assert (t["params"], t["macs"]) == (1_331_592, 76_524_800)  # timm, channel multiplier 0.5, at 160


def test_variants_file_names_existing_specs():
    for name, found in zoo.variants().items():
        assert found.path.is_file(), name
        assert found.name == name
        assert name not in {p.stem for p in zoo.ZOO_DIR.glob("*.yaml")}, f"{name} is both a file and a variant"
    with pytest.raises(cnncalc.SpecError, match="no such file or zoo network: variants"):
        zoo.resolve("variants")  # the index itself is not a network


# -- cnncalc zoo and the README ----------------------------------------------------------------------------------
def test_zoo_json_lists_every_name(cli):
    result = cli("zoo", "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [d["name"] for d in data] == zoo.names()
    by_name = {d["name"]: d for d in data}
    assert by_name["resnet50"] == {"name": "resnet50", "input": [3, 224, 224], "params": 25_557_032,
                                   "macs": 4_089_184_256, "output": [1000],
                                   "source": "He et al. 2016; torchvision resnet50"}
    assert by_name["vgg_c"]["source"] == "Simonyan & Zisserman 2015, configuration C"


def test_zoo_table_shows_every_name(cli):
    result = cli("zoo")
    assert result.exit_code == 0, result.stderr
    rows = [line.split("│")[1].strip() for line in result.stdout.splitlines() if line.startswith("│")]
    assert rows == zoo.names()


def test_zoo_markdown_row():
    line = next(l for l in markdown(catalogue()).splitlines() if l.startswith("| `lenet5`"))
    assert line == "| `lenet5` | 1×32×32 | 61,706 | 416,520 | 10 | LeCun et al. 1998, as commonly implemented |"


def test_readme_zoo_table_is_current(cli):
    section = re.search(r"<!-- section:zoo -->\n(.*?)<!-- /section:zoo -->", README.read_text(encoding="utf-8"), re.S)
    assert section, "README.md has no zoo section"
    table = cli("zoo", "--format", "markdown").stdout
    assert section.group(1).endswith(table), "README's zoo table is stale: paste `cnncalc zoo --format markdown` into it"


def test_inception_resnet_v2_scales_its_residual_branches():
    # timm: Block35(scale=0.17) ×10, Block17(scale=0.10) ×20, Block8(scale=0.20) ×9, the last Block8 at its default 1.0
    a = cnncalc.load("inception_resnet_v2").analyze()
    factors = [info.node.layer.factor for info in a.layers if info.type == "scale"]
    assert factors == [0.17] * 10 + [0.1] * 20 + [0.2] * 9
    # one multiply per element: 320·35·35·10 + 1088·17·17·20 + 2080·8·8·9 = 3,920,000 + 6,288,640 + 1,198,080
    assert sum(info.flops for info in a.layers if info.type == "scale") == 11_406_720
