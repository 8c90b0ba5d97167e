"""Folding imported networks into blocks and repeats (cnncalc/importers/fold.py), the same code for every format.

The independent check: every zoo spec is flattened into the importers' neutral form (one op per row, module paths
from the row names, as an ONNX export gives them), folded, written as YAML and loaded again; the result must have
the zoo spec's totals and the same layers (type, output shape, params, MACs) — folding may only regroup them.
"""
from pathlib import Path

import pytest

import cnncalc
from cnncalc.importers import spec_text
from cnncalc.importers.emit import emit
from cnncalc.importers.fold import fold
from cnncalc.importers.ir import INPUT, Imported, Op, safe_name
from cnncalc.spec import zoo

DATA = Path(__file__).parent / "data" / "import"


def neutral(net, scoped=True) -> Imported:
    """A network as an importer would hand it over: flat ops, source names, module paths."""
    names = [safe_name(n.name) for n in net.nodes]
    ops = tuple(Op(names[i], n.layer.type, dict(n.layer.values), tuple(INPUT if j < 0 else names[j] for j in n.inputs),
                   n.loc, tuple(n.name.split(".")[:-1]) if scoped else ()) for i, n in enumerate(net.nodes))
    return Imported(safe_name(net.name), net.source, "test", net.input, net.input_loc, ops)


def layer_key(r):
    return r.type, r.output, r.params, r.buffers, r.macs, r.flops


def same_network(text: str, net):
    a, b = cnncalc.load(text).analyze(), net.analyze()
    assert a.error is None, a.error.format()
    assert a.totals == b.totals
    assert sorted(map(layer_key, a.layers)) == sorted(map(layer_key, b.layers))


@pytest.mark.parametrize("name", sorted(zoo.names()))
def test_folding_keeps_every_zoo_network(name):
    net = cnncalc.load(name)
    same_network(emit(fold(neutral(net))), net)


@pytest.mark.parametrize("name", ["resnet50", "mobilenet_v2", "googlenet", "densenet121"])
def test_folding_without_module_paths_keeps_the_network(name):
    # Darknet and Caffe files name no modules: any run of items may become a block
    net = cnncalc.load(name)
    same_network(emit(fold(neutral(net, scoped=False))), net)


@pytest.mark.parametrize("name", ["resnet50", "mobilenet_v2"])
def test_a_folded_import_is_about_as_long_as_the_hand_written_spec(name):
    net = cnncalc.load(name)
    text = emit(fold(neutral(net)))
    written = len(Path(net.source).read_text().splitlines())
    assert len(text.splitlines()) <= 1.5 * written, text


def test_resnet50_folds_into_its_bottlenecks_used_3_4_6_3_times():
    f = fold(neutral(cnncalc.load("resnet50")))
    assert sorted(b.uses for b in f.blocks) == [4, 12]  # a projection bottleneck opens each stage; 2+3+5+2 others
    text = emit(f)
    for count in (2, 3, 5, 2):  # the stages' 3/4/6/3 bottlenecks (He et al. 2016, Table 1) less the first
        assert f"- repeat: {count}\n" in text
    assert "'${out * 4}'" in text  # the expansion of 4 is found as a multiple of the block's width
    assert "# 175 layers folded into 2 blocks (block_a ×12, block_b ×4) and 4 repeats." in text


def test_darknet_residual_units_fold_into_one_block_with_repeats():
    # residual.cfg: stages of 1, 2 and 3 identical units, each a 1x1 halving and a 3x3 restoring conv plus a shortcut
    text = spec_text(str(DATA / "residual.cfg"))
    assert "block_a:  # used 6×" in text and "- repeat: 2\n" in text and "- repeat: 3\n" in text
    assert "'${out * 2}'" in text
    same_network(text, cnncalc.load(str(DATA / "residual.cfg")))


@pytest.mark.parametrize("model", ["tiny.cfg", "tiny.prototxt", "residual.cfg"])
def test_imported_spec_folded_or_flat_counts_what_the_file_does(model):
    net = cnncalc.load(str(DATA / model))
    for flat in (False, True):
        text = spec_text(str(DATA / model), fold=not flat)
        assert text.startswith(f"# Imported by cnncalc from {DATA / model} (")
        same_network(text, net)


def test_cli_import_writes_the_spec(cli, tmp_path):
    out = tmp_path / "net.yaml"
    result = cli("import", str(DATA / "residual.cfg"), "-o", str(out))
    assert result.exit_code == 0 and result.stderr == f"wrote {out}\n"
    assert out.read_text() == spec_text(str(DATA / "residual.cfg"))
    flat = cli("import", str(DATA / "tiny.prototxt"), "--flat")
    assert flat.exit_code == 0 and "blocks:" not in flat.stdout and "- conv: {out: 8, kernel: 3, stride: 2, name: conv1}" in flat.stdout
    bad = cli("import", str(DATA / "tiny_cfg.yaml"))
    assert bad.exit_code == 2 and "cannot import" in bad.stderr
