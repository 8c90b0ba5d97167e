"""Golden outputs of small specs in tests/specs/: JSON, the plain table and Markdown, as a user sees them.

Behaviour changes show up as text diffs; after an intended change run `pytest --update-golden` and review them.
"""
import json

import pytest

from conftest import SPECS_DIR

SPECS = sorted(p.stem for p in SPECS_DIR.glob("*.yaml"))
FORMATS = {"json": "json", "table": "txt", "markdown": "md"}


@pytest.fixture
def in_tests_dir(monkeypatch):
    # run from tests/ so that sources and locations read specs/NAME.yaml on every machine
    monkeypatch.chdir(SPECS_DIR.parent)


def test_the_golden_specs_are_there():
    assert SPECS == ["conv1d", "conv3d", "inception", "residual", "tiny_cnn"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", SPECS)
def test_golden(cli, golden, in_tests_dir, name, fmt):
    result = cli("summary", f"specs/{name}.yaml", "--format", fmt)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    golden(f"{name}.{FORMATS[fmt]}", result.stdout)


def test_golden_folded_table(cli, golden, in_tests_dir):
    result = cli("summary", "specs/residual.yaml", "--depth", "1", "--columns", "all", "--batch", "2")
    assert result.exit_code == 0, result.stderr
    golden("residual.depth1.txt", result.stdout)


@pytest.mark.parametrize("name", SPECS)
def test_json_columns_sum_to_totals(cli, in_tests_dir, name):
    data = json.loads(cli("summary", f"specs/{name}.yaml", "--format", "json").stdout)
    totals = data["totals"]
    for column in ("params", "buffers", "macs", "flops"):
        assert sum(layer[column] for layer in data["layers"]) == totals[column]
    assert sum(layer["params"] for layer in data["layers"] if layer["trainable"]) == totals["trainable_params"]
    assert totals["output"] == data["layers"][-1]["output"]
    assert totals["layers"] == len(data["layers"])


def test_lenet_matches_the_pytorch_tutorial(cli, in_tests_dir):
    # LeNet-5 of the PyTorch tutorials: conv 6·1·25 + 6 = 156, conv 16·6·25 + 16 = 2,416, fc 400·120 + 120 = 48,120,
    # fc 120·84 + 84 = 10,164, fc 84·10 + 10 = 850 → 61,706
    data = json.loads(cli("summary", "specs/tiny_cnn.yaml", "--format", "json").stdout)
    assert [layer["params"] for layer in data["layers"] if layer["params"]] == [156, 2_416, 48_120, 10_164, 850]
    assert data["totals"]["params"] == 61_706
    # MACs: 6·28·28·25 = 117,600; 16·10·10·150 = 240,000; 48,000; 10,080; 840
    assert data["totals"]["macs"] == 117_600 + 240_000 + 48_000 + 10_080 + 840 == 416_520


def test_small_resnet_hand_counts(cli, in_tests_dir):
    data = json.loads(cli("summary", "specs/residual.yaml", "--format", "json").stdout)
    t = data["totals"]
    # stem 16·3·9 = 432 (frozen); stage1: 4 convs 16·16·9 = 2,304; stage2: 32·16·9 = 4,608, 32·32·9 = 9,216,
    # shortcut 32·16 = 512; bn: (1 + 4) · 2·16 + 3 · 2·32 = 352; dense 32·10 + 10 = 330
    assert t["params"] == 432 + 4 * 2_304 + 4_608 + 9_216 + 512 + 352 + 330 == 24_666
    assert t["non_trainable_params"] == 432 and t["trainable_params"] == 24_666 - 432
    assert t["buffers"] == 352  # the same shapes as the bn parameters
    shortcut = next(layer for layer in data["layers"] if layer["name"] == "stage2.residual1.shortcut.conv1")
    assert shortcut["dropped"] == [1, 1]  # 1×1/2 on 32: the last window reads unit 30, unit 31 is never read
