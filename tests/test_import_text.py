"""Darknet .cfg and Caffe .prototxt imports: each framework's arithmetic, against hand counts and hand-written specs.

tests/data/import/tiny.cfg and tiny.prototxt use every layer type their importers read; tiny_cfg.yaml and
tiny_prototxt.yaml are the same networks written by hand as cnncalc specs (Darknet's pad=1 as size/2, its max-pool
padding as a total split before/after, Caffe's ceil-mode pooling spelled out), so the comparison is independent of the
importers' code.
"""
from pathlib import Path

import pytest

import cnncalc
from cnncalc.errors import SpecError

DATA = Path(__file__).parent / "data" / "import"


def rows(net):
    a = net.analyze()
    assert a.error is None, a.error.format()
    return a, [(r.type, r.output, r.params, r.buffers, r.macs, r.flops) for r in a.layers]


@pytest.mark.parametrize("model, hand", [("tiny.cfg", "tiny_cfg.yaml"), ("tiny.prototxt", "tiny_prototxt.yaml")])
def test_imported_network_equals_the_hand_written_spec_row_by_row(model, hand):
    imported, mine = rows(cnncalc.load(str(DATA / model)))
    written, theirs = rows(cnncalc.load(str(DATA / hand)))
    assert mine == theirs
    assert imported.totals == written.totals or imported.totals.params == written.totals.params


def test_darknet_counts_by_hand():
    a = cnncalc.load(str(DATA / "tiny.cfg")).analyze()
    out = {r.name: r.output for r in a.layers}
    assert out["conv0"] == (8, 32, 32)  # pad=1, size 3: padding 1 keeps 32
    assert out["maxpool1"] == (8, 16, 16)  # (32 + 1 − 2) // 2 + 1 = 16: padding total size − 1 = 1
    assert out["conv3"] == (8, 16, 16)  # pad=1 with size 1 is padding 1 // 2 = 0
    assert out["maxpool6"] == (16, 16, 16)  # size 3 stride 1: padding 2, (16 + 2 − 3) + 1 = 16
    assert out["route7"] == (32, 16, 16)  # concat of layer 6 (16) and layer 5 (16)
    assert out["conv8"] == (8, 8, 8)  # (16 + 2 − 3) // 2 + 1 = 8
    assert out["route10"] == (24, 16, 16)  # upsample9 (8) + conv2 (16)
    assert out["route13"] == (32, 16, 16)  # layers=7 alone: that layer's output
    # params: conv0 8·3·9 = 216 (+ bn 16); conv2 16·8·9 + 16 = 1,168; conv3 8·16 = 128 (+16); conv4 16·8·9 = 1,152
    # (+32); conv8 8·(32/8)·9 + 8 = 296; conv11 4·24 + 4 = 100; batchnorm14 64; connected17 32·10 + 10 = 330
    assert a.totals.params == 216 + 16 + 1168 + 128 + 16 + 1152 + 32 + 296 + 100 + 64 + 330 == 3518
    assert a.totals.buffers == 2 * (8 + 8 + 16 + 32)  # running mean and variance of the four norms
    # MACs: out elements × C_in/groups × kernel: 8·32²·27, 16·16²·72, 8·16²·16, 16·16²·72, 8·8²·36, 4·16²·24, 32·10
    assert a.totals.macs == 8 * 1024 * 27 + 16 * 256 * 72 + 8 * 256 * 16 + 16 * 256 * 72 + 8 * 64 * 36 + 4 * 256 * 24 + 320


def test_caffe_counts_by_hand():
    a = cnncalc.load(str(DATA / "tiny.prototxt")).analyze()
    out = {r.name: r.output for r in a.layers}
    assert out["conv1"] == (8, 15, 15)  # (32 − 3) // 2 + 1
    assert out["pool1"] == (8, 8, 8)  # ceil((15 − 2) / 2) + 1 = 8, where PyTorch's default would give 7
    assert out["pool2"] == (16, 5, 5)  # ceil((8 + 2 − 3) / 2) + 1 = 5 (floor: 4)
    assert out["up"] == (4, 10, 10)  # (5 − 1)·2 + 2
    assert "scale2" not in out and "split" not in out and "acc" not in out  # folded, no-op, TRAIN only
    by = {r.name: r for r in a.layers}
    assert by["bn2"].params == 32 and by["bn3"].params == 0  # with its Scale: affine; alone: not
    assert by["relu2"].type == "leaky_relu"
    # conv1 8·27 + 8; conv2 16·(8/2)·3·1; bn2 32; b1 8·16 + 8; b2 8·16·9 + 8; up 16·4·2·2 + 4; fc 4·10 + 10
    assert a.totals.params == 224 + 192 + 32 + 136 + 1160 + 260 + 50 == 2054
    assert a.totals.buffers == 32 + 32
    assert a.totals.macs == 8 * 225 * 27 + 16 * 64 * 4 * 3 + 8 * 64 * 16 + 8 * 64 * 144 + 16 * 25 * 4 * 4 + 40


# -- bad input: located errors, exit 2 ---------------------------------------------------------------------------------

BAD = {
    "unknown.cfg": ("[net]\nwidth=8\nheight=8\nchannels=3\n\n[convolutional]\nfilters=4\n\n[reorg]\nstride=2\n",
                    "unknown.cfg:9:1: error: unknown Darknet section [reorg]"),
    "twonets.cfg": ("[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\nfilters=4\n[net]\n",
                    "twonets.cfg:7:1: error: a second [net] section; a cfg has one, first"),
    "mish.cfg": ("[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\nfilters=4\nactivation=mish\n",
                 "mish.cfg:7:12: error: [convolutional]: Darknet activation 'mish' has no cnncalc layer"),
    "nonet.cfg": ("[convolutional]\nfilters=4\n", "nonet.cfg:1:1: error: a Darknet cfg starts with a [net] section"),
    "badvalue.cfg": ("[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\nfilters=four\n",
                     "badvalue.cfg:6:9: error: [convolutional]: `filters` must be int, got 'four'"),
    "badroute.cfg": ("[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\nfilters=4\n[route]\nlayers=-5\n",
                     "badroute.cfg:8:8: error: [route]: layer -5 (index -4) is not an earlier layer"),
    "syntax.prototxt": ('name: "x"\nlayer { name: "a" type: "Input" top: "a"\n  input_param { shape { dim: 1 dim: 3 } } }\n'
                        'layer { name "b" }\n', "syntax.prototxt:4:14: error: prototxt syntax: expected ':' or '{' after 'name'"),
    "truncated.prototxt": ('layer { name: "a" type: "Input" top: "a"\n  input_param { shape { dim: 1 dim: 3 ',
                           "truncated.prototxt:2:39: error: prototxt syntax: the file ends before this message's closing '}'"),
    "unknown.prototxt": ('layer { name: "a" type: "Input" top: "a" input_param { shape { dim: 1 dim: 3 dim: 8 dim: 8 } } }\n'
                         'layer { name: "p" type: "PReLU" bottom: "a" top: "p" }\n',
                         "unknown.prototxt:2:1: error: Caffe layer 'p' has type 'PReLU', which cnncalc cannot express"),
    "nobottom.prototxt": ('input: "data"\ninput_dim: 1\ninput_dim: 3\ninput_dim: 8\ninput_dim: 8\n'
                          'layer { name: "r" type: "ReLU" bottom: "dta" top: "r" }\n',
                          "nobottom.prototxt:6:32: error: bottom 'dta' is no earlier layer's top or the network input"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_files_give_located_errors_and_exit_2(cli, tmp_path, monkeypatch, name):
    text, expected = BAD[name]
    (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    result = cli("summary", name)
    assert result.exit_code == 2
    assert result.stderr.startswith(expected), result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("module, name", [("darknet", "big.cfg"), ("caffe", "big.prototxt")])
def test_a_file_beyond_its_format_limit_is_refused_before_it_is_read(tmp_path, monkeypatch, module, name):
    import importlib

    reader = importlib.import_module(f"cnncalc.importers.{module}")
    monkeypatch.setattr(reader, "MAX_BYTES", 100)
    (tmp_path / name).write_bytes(b"\xff" * 101)  # not even text: refused on its size alone
    with pytest.raises(SpecError, match="the limit is 100"):
        cnncalc.load(str(tmp_path / name))


def test_commands_take_the_files_directly(cli):
    cfg, proto = str(DATA / "tiny.cfg"), str(DATA / "tiny.prototxt")
    lint = cli("lint", cfg, "--format", "json")
    assert lint.exit_code in (0, 1), lint.stderr
    assert all(f["file"] == cfg for f in __import__("json").loads(lint.stdout))  # findings point into the cfg
    assert cli("compare", cfg, proto).exit_code == 0
    assert cli("diagram", proto, "--format", "mermaid").exit_code == 0
    summary = cli("summary", cfg, "--input", "3,64,64", "--format", "json")
    assert summary.exit_code == 0 and __import__("json").loads(summary.stdout)["input"] == [3, 64, 64]


def test_lint_finds_model_files_in_a_directory(cli, tmp_path):
    import shutil

    shutil.copy(DATA / "tiny.cfg", tmp_path / "tiny.cfg")
    shutil.copy(DATA / "tiny.prototxt", tmp_path / "net.prototxt")
    (tmp_path / "notes.txt").write_text("not a model")
    result = cli("lint", str(tmp_path), "--format", "json")
    assert result.exit_code in (0, 1), result.stderr
    files = {f["file"] for f in __import__("json").loads(result.stdout)}
    assert files == {str(tmp_path / "tiny.cfg"), str(tmp_path / "net.prototxt")}
