"""`cnncalc diff`: layer matching (name, structure, type), per-stage and total deltas, the four formats, and specs
read from a git revision."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

import cnncalc
from cnncalc.compare.diff import diff, match

# conv1: 3·3·3·8 + 8 = 224 params, on 8×8 (padding 1) 64·8·27 = 13,824 MACs; dense: 8·8·8 = 512 in → 10: 5,130
BASE = """name: net
input: [3, 8, 8]
layers:
  - conv: {out: 8, kernel: 3, padding: 1}
  - relu
  - flatten
  - dense: 10
"""
# the same with a 1×1 conv (8·8 + 8 = 72 params, 64·8·8 = 4,096 MACs) inserted after the relu: conv2 is new, and
# relu/flatten/dense keep their names (positional names count per type)
INSERTED = BASE.replace("  - relu\n", "  - relu\n  - conv: {out: 8, kernel: 1}\n")
# conv1 widened to 16: 3·3·3·16 + 16 = 448 params, 64·16·27 = 27,648 MACs; the dense reads 16·8·8 = 1,024: 10,250
WIDER = BASE.replace("out: 8", "out: 16")


def analysis(text, **kw):
    return cnncalc.load(text, **kw).analyze()


def statuses(d):
    return [(c.status, c.old.name if c.old else None, c.new.name if c.new else None) for c in d.layers]


def test_identical_networks_have_no_changes():
    d = diff(analysis(BASE), analysis(BASE))
    assert not d.changed and d.counts["unchanged"] == 4 and all(x.same for x in d.totals.values())


def test_an_inserted_layer_is_one_addition():
    d = diff(analysis(BASE), analysis(INSERTED))
    assert statuses(d) == [("unchanged", "conv1", "conv1"), ("unchanged", "relu1", "relu1"),
                           ("added", None, "conv2"), ("unchanged", "flatten1", "flatten1"),
                           ("unchanged", "dense1", "dense1")]
    # 224 + 5,130 = 5,354 params before; + 72 after (see INSERTED)
    assert (d.totals["params"].old, d.totals["params"].new, d.totals["params"].change) == (5354, 5426, 72)
    assert d.totals["params"].share == pytest.approx(72 / 5354)


def test_a_shifted_positional_name_is_a_rename_not_a_removal():
    # a conv inserted *before* conv1: the old conv1 is now conv2 (same arguments) and matched by structure
    text = BASE.replace("  - conv: {out: 8, kernel: 3, padding: 1}\n",
                        "  - conv: {out: 3, kernel: 1}\n  - conv: {out: 8, kernel: 3, padding: 1}\n")
    d = diff(analysis(BASE), analysis(text))
    assert statuses(d)[:2] == [("added", None, "conv1"), ("renamed", "conv1", "conv2")]
    assert d.layers[1].matched_by == "structure" and d.counts["removed"] == 0


def test_changed_arguments_shapes_params_and_macs():
    d = diff(analysis(BASE), analysis(WIDER))
    conv, relu, flatten, dense = d.layers
    assert (conv.status, conv.matched_by, conv.args) == ("changed", "name", (("out", 8, 16),))
    assert conv.output.old == (8, 8, 8) and conv.output.new == (16, 8, 8)
    assert (conv.delta("params").change, conv.delta("macs").change) == (448 - 224, 27648 - 13824)
    # the relu's arguments are the same; its output doubled, so it changed too
    assert relu.status == "changed" and relu.args == ()
    assert (dense.args, dense.delta("params").change) == ((), 10250 - 5130)


def test_renamed_stage_is_matched_as_a_whole():
    old = """input: [3, 16, 16]
blocks:
  unit: {args: {out: null}, layers: [conv: {out: $out, kernel: 3, padding: 1}, bn, relu]}
layers:
  - repeat: 2
    name: layer1
    layers: [unit: 8]
  - global_avgpool
"""
    d = diff(analysis(old), analysis(old.replace("name: layer1", "name: stage1")))
    assert d.counts == {"added": 0, "removed": 0, "changed": 0, "renamed": 6, "unchanged": 1}
    [stage, pool] = d.stages
    assert (stage.status, stage.old_name, stage.new_name, stage.type) == ("renamed", "layer1", "stage1", "repeat")
    assert pool.status == "unchanged"


def test_renamed_and_changed_layer_is_paired_by_type():
    old = "input: [4]\nlayers:\n  - dense: {out: 8, name: fc}\n"
    new = "input: [4]\nlayers:\n  - dense: {out: 6, name: head}\n"
    [c] = diff(analysis(old), analysis(new)).layers
    # 4·8 + 8 = 40 → 4·6 + 6 = 30 params
    assert (c.status, c.matched_by, c.renamed, c.args, c.delta("params").change) == ("changed", "type", True,
                                                                                   (("out", 8, 6),), -10)


def test_removed_layers_sit_where_they_were():
    d = diff(analysis(INSERTED), analysis(BASE))
    assert [c.status for c in d.layers] == ["unchanged", "unchanged", "removed", "unchanged", "unchanged"]


def test_resnet50_to_resnet101():
    """ResNet-101 is ResNet-50 with 23 bottlenecks in layer3 instead of 6 (He et al. 2016, Table 1): 17 blocks of 10
    layers (3 × conv, bn, relu except the last relu after the add: conv bn relu conv bn relu conv bn add relu)."""
    d = diff(analysis("resnet50"), analysis("resnet50", vars={"depth": 101}))
    assert d.counts == {"added": 170, "removed": 0, "changed": 0, "renamed": 0, "unchanged": 175}
    # torchvision: resnet50 25,557,032 and resnet101 44,549,160 params (the README's zoo table, from torchvision)
    assert (d.totals["params"].old, d.totals["params"].new) == (25_557_032, 44_549_160)
    assert [s.name for s in d.stages if s.status != "unchanged"] == ["layer3"]
    assert d.stages[6].costs["params"].change == d.totals["params"].change  # all of it in layer3
    assert d.peak.old == d.peak.new  # the peak is in layer1, which did not change


@pytest.mark.parametrize("old, new", [("resnet34", "resnet50"), ("vgg16", "vgg16_bn"), ("mobilenet_v2", "mobilenet_v1"),
                                      ("googlenet", "inception_v3")])
def test_stage_and_layer_deltas_sum_to_the_total(old, new):
    """An invariant: however layers and stages were matched, their deltas add up to the totals' deltas."""
    d = diff(analysis(old), analysis(new))
    for key in ("params", "macs", "flops"):
        total = d.totals[key].change
        assert sum(c.delta(key).change for c in d.layers) == total
        assert sum(s.costs[key].change for s in d.stages) == total
    assert sum(1 for c in d.layers if c.old) == len(d.old.layers)  # every old layer appears once
    assert sum(1 for c in d.layers if c.new) == len(d.new.layers)


def test_matching_keeps_order():
    a, b = analysis("resnet34"), analysis("resnet50")
    pairs = match(a.layers, b.layers)
    assert [j for _, j, _ in pairs] == sorted(j for _, j, _ in pairs)


# -- command line -----------------------------------------------------------------------------------------------
@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "old.yaml").write_text(BASE)
    (tmp_path / "new.yaml").write_text(WIDER)
    return tmp_path


def test_text(cli, files):
    r = cli("diff", "old.yaml", "new.yaml")
    assert r.exit_code == 0 and r.stderr == ""
    lines = r.stdout.splitlines()
    assert lines[0] == "old.yaml → new.yaml (batch 1, float32)"
    # 5,354 → 448 + 10,250 = 10,698 params: +5,344, +99.81%
    assert "Params                5,354     10,698  +5,344 (+99.81%)" in lines
    assert ("  ~ conv1 (conv): out 8 → 16; output 8×8×8 → 16×8×8; params +224 (+100.00%); "
            "MACs +13,824 (+100.00%)") in lines
    assert cli("diff", "old.yaml", "new.yaml", "--exit-code").exit_code == 1
    assert cli("diff", "old.yaml", "old.yaml", "--exit-code").exit_code == 0


def test_markdown_has_a_collapsed_layer_section(cli, files):
    r = cli("diff", "old.yaml", "new.yaml", "--format", "markdown")
    md = r.stdout
    assert md.startswith("### cnncalc diff: `old.yaml` → `new.yaml`\n")
    assert "| Params | 5,354 | 10,698 | +5,344 (+99.81%) |" in md
    assert "<details><summary>Per layer: 4 of 4 rows differ</summary>" in md and md.rstrip().endswith("</details>")


def test_markdown_escapes_hostile_labels(cli, files):
    # layer names are plain words (the spec language refuses others), but a file name can hold anything
    evil = "a|b<img src=x>`c.yaml"
    (files / evil).write_text(WIDER)
    md = cli("diff", "old.yaml", evil, "--format", "markdown").stdout
    assert md.startswith("### cnncalc diff: `old.yaml` → `a\\|b<img src=x>'c.yaml`\n")  # a code span: inert
    assert md.count("<img") == 1 and "\n| Params | 5,354 | 10,698 |" in md


def test_json(cli, files):
    data = json.loads(cli("diff", "old.yaml", "new.yaml", "--format", "json").stdout)
    assert data["totals"]["params"] == {"old": 5354, "new": 10698, "change": 5344, "share": pytest.approx(5344 / 5354)}
    conv = data["layers"][0]
    assert conv["status"] == "changed" and conv["args"] == [{"name": "out", "old": 8, "new": 16}]
    assert conv["new"]["location"] == "new.yaml:4:5" and data["counts"]["changed"] == 4


def test_github_annotations_point_into_the_new_file(cli, files):
    lines = cli("diff", "old.yaml", "new.yaml", "--format", "github").stdout.splitlines()
    assert lines[0].startswith("::notice title=cnncalc diff old.yaml → new.yaml::"
                               "Params: 5,354 → 10,698, +5,344 (+99.81%25)%0A")
    assert lines[1] == ("::notice file=new.yaml,line=4,col=5,title=changed%3A conv1::out 8 → 16; output 8×8×8 → "
                        "16×8×8; params +224 (+100.00%25); MACs +13,824 (+100.00%25)")


def test_variants_and_zoo_names(cli):
    # MobileNet v2 at α = 0.5, 160: 1,968,680 params, 50,184,000 MACs (torchvision's mobilenet_v2(width_mult=0.5),
    # as the spec's header records; TF-slim's table says 50 M MACs) and 3,504,872 at α = 1 (torchvision)
    r = cli("diff", "mobilenet_v2", "mobilenet_v2@alpha=0.5,input=160", "--format", "json")
    data = json.loads(r.stdout)
    assert data["new"]["input"] == [3, 160, 160]
    assert (data["totals"]["params"]["old"], data["totals"]["params"]["new"]) == (3_504_872, 1_968_680)
    assert data["totals"]["macs"]["new"] == 50_184_000


def test_bad_spec_is_a_located_error(cli, files):
    (files / "bad.yaml").write_text("input: [3, 8, 8]\nlayers:\n  - convv: 3\n")
    r = cli("diff", "old.yaml", "bad.yaml")
    assert r.exit_code == 2 and r.stderr.startswith("bad.yaml:3:5: error:") and "Traceback" not in r.stderr


@pytest.fixture
def repo(files):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    env = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q"], check=True)
    subprocess.run(["git", *env, "add", "old.yaml"], check=True)
    subprocess.run(["git", *env, "commit", "-qm", "base"], check=True)
    return files


def test_git_revision(cli, repo):
    (repo / "old.yaml").write_text(WIDER)  # the working copy changes; HEAD keeps BASE
    for arg in ("HEAD:old.yaml", "HEAD:./old.yaml"):
        r = cli("diff", arg, "old.yaml", "--format", "json")
        assert r.exit_code == 0, r.stderr
        data = json.loads(r.stdout)
        assert data["totals"]["params"]["old"] == 5354 and data["old"]["source"] == arg
    r = cli("diff", "HEAD:missing.yaml", "old.yaml")
    assert r.exit_code == 2 and r.stderr.startswith("error: cannot read HEAD:missing.yaml: fatal:")
    r = cli("diff", "nosuchrev:old.yaml", "old.yaml")
    assert r.exit_code == 2 and "cannot read nosuchrev:old.yaml" in r.stderr


def test_git_revision_errors_point_into_the_revision(cli, repo):
    (repo / "old.yaml").write_text("input: [3, 8, 8]\nlayers:\n  - relu\n")
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "x"], check=True)
    (repo / "old.yaml").write_text("input: [3, 8, 8]\nlayers:\n  - rleu\n")
    r = cli("diff", "old.yaml", "HEAD:old.yaml")
    assert r.exit_code == 2 and r.stderr.startswith("old.yaml:3:5: error")
    r = cli("diff", "HEAD:old.yaml", "HEAD~1:old.yaml", "--format", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)["new"]["source"] == "HEAD~1:old.yaml"


def test_revision_reading_is_bounded(monkeypatch, repo):
    from cnncalc.compare import revision
    from cnncalc.errors import OptionError

    monkeypatch.setattr(revision, "MAX_BYTES", 10)
    with pytest.raises(OptionError, match="larger than 10 bytes"):
        revision.read("HEAD", "old.yaml")
    assert revision.split("-x:y") is None and revision.split("old.yaml") is None  # an option, an existing file
    assert revision.split("main:models/a b.yaml") == ("main", "models/a b.yaml")


def test_random_insertions_are_additions_only():
    """Brute force over random chains: inserting k layers anywhere gives exactly k additions, no removal, and every
    old layer matched to a layer of its own type and arguments (the spec order kept)."""
    import random

    kinds = ["conv: {out: 4, kernel: 1}", "conv: {out: 4, kernel: 3, padding: 1}", "relu", "bn", "identity"]
    rng = random.Random(0)
    for _ in range(60):
        old = [rng.choice(kinds) for _ in range(rng.randint(1, 30))]
        new = list(old)
        k = rng.randint(0, 6)
        for _ in range(k):
            new.insert(rng.randint(0, len(new)), rng.choice(kinds))

        def spec(entries):
            return "input: [4, 6, 6]\nlayers:\n" + "".join(f"  - {e}\n" for e in entries)

        d = diff(analysis(spec(old)), analysis(spec(new)))
        assert (d.count("added"), d.count("removed"), d.count("changed")) == (k, 0, 0), (old, new)
        pairs = [(c.old, c.new) for c in d.layers if c.old and c.new]
        assert all(signature_of(a) == signature_of(b) for a, b in pairs)
        assert [b.index for _, b in pairs] == sorted(b.index for _, b in pairs)


def signature_of(info):
    from cnncalc.compare.diff import signature

    return signature(info)


def test_long_chains_align_in_linear_time():
    """10,000 layers with one conv inserted in the middle: the convs' positional names after it shift.
    (A count, not a timing: the old difflib alignment took a minute here, see benchmarks/bench_diff.py.)"""
    def chain(insert):
        body = "".join("  - conv: {out: 8, kernel: 3, padding: 1}\n  - relu\n" if i != 2500 or not insert else
                       "  - conv: {out: 8, kernel: 1}\n  - conv: {out: 8, kernel: 3, padding: 1}\n  - relu\n"
                       for i in range(5000))
        return "input: [8, 4, 4]\nlayers:\n" + body

    d = diff(analysis(chain(False)), analysis(chain(True)))
    # the 2,500 convs after the new one are renamed (conv2501 → conv2502); relus count apart and keep their names
    assert d.counts == {"added": 1, "removed": 0, "changed": 0, "renamed": 2500, "unchanged": 7500}
