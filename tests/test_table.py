"""The terminal table at the widths people use: 80, 100 and 160 columns, for a deep network (ResNet-50), a wide one
(Inception v3) and a folded one (`--depth 1`).

Beside the golden files (`pytest --update-golden` after an intended change), every table is checked for what the
issue asks: no line wider than the terminal, no word broken — every label is a name from the analysis, relative to
its container, whole or with its middle cut out — and every figure of the totals on one line.
"""
import json
import re

import pytest
from rich.cells import cell_len

from cnncalc.render.table import COLUMNS, OPTIONAL_COLUMNS, cut_end, cut_middle, fold_at_dots

CASES = {"resnet50": ["resnet50"], "inception_v3": ["inception_v3"], "inception_v3.depth1": ["inception_v3", "--depth", "1"]}
WIDTHS = (80, 100, 160)


def table_lines(text):
    """The table's body lines (between the heading rule and the bottom rule), split into stripped cells."""
    lines = text.splitlines()
    top = next(i for i, line in enumerate(lines) if line.startswith("┏"))
    bars = [0, *(i for i, ch in enumerate(lines[top]) if ch == "┳"), len(lines[top]) - 1]  # where the columns part
    start = next(i for i, line in enumerate(lines) if line.startswith("┡"))
    end = next(i for i, line in enumerate(lines) if line.startswith("└"))
    return [[line[a + 1:b].strip() for a, b in zip(bars, bars[1:])] for line in lines[start + 1:end]]


def names_of(cli, args):
    """Every name a label may come from: the layers' full names and their containers'."""
    data = json.loads(cli("summary", *args, "--format", "json").stdout)
    names = {layer["name"] for layer in data["layers"]}
    for name in list(names):
        parts = name.split(".")
        names.update(".".join(parts[:k]) for k in range(1, len(parts)))
    return names, data


def is_relative_name(label, names):
    """`label` is the tail (at a dot) of some name: a name relative to one of its containers."""
    return any(n == label or n.endswith("." + label) for n in names)


def is_cut_name(label, names):
    """`label` is `head…tail` of a relative name: its middle cut out, its ends whole."""
    head, tail = label.split("…")
    return any(("." + n).find("." + head) >= 0 and n.endswith(tail) and len(n) > len(head) + len(tail)
               for n in names)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("case", CASES)
def test_table_fits_and_breaks_no_word(cli, golden, case, width):
    args = CASES[case]
    result = cli("summary", *args, "--width", str(width))
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    golden(f"table/{case}.{width}.txt", text)
    assert max(cell_len(line) for line in text.splitlines()) <= width
    names, data = names_of(cli, args)
    import cnncalc

    # a Type cell is a layer type or a container's block name or kind, whole or with its end cut
    types = {layer["type"] for layer in data["layers"]} | \
        {g.label for g in cnncalc.load(args[0]).groups.values()}
    rows = table_lines(text)
    assert rows
    for cells in rows:
        label = re.sub(r"^[│├└ ]+", "", cells[0])  # the tree guides
        label = re.sub(r" \(\d+ layers\)$", "", label)  # a folded row's count
        assert label, cells
        if "…" in label:
            assert is_cut_name(label, names), label
        else:
            assert is_relative_name(label, names), label
        kind = cells[1]
        if kind.endswith("…"):
            assert width < 160 and any(t.startswith(kind[:-1]) for t in types), kind  # cut only when narrow
        else:
            assert kind in types, kind
        assert re.fullmatch(r"(\d+(×\d+)*( ⚠)?)?", cells[2]), cells[2]  # output shapes are never cut
    totals = data["totals"]
    for figure in (f"{totals['params']:,}", f"{totals['macs']:,}", f"{totals['flops']:,}"):
        assert sum(figure in line for line in text.splitlines()) >= 1, figure  # each figure whole on a line


def test_labels_are_relative_to_their_container(cli):
    # ResNet-50's first block: conv1 under residual under bottleneck1 under layer1.1, as the names say
    # (layer1.1.bottleneck1.residual.body.conv1 in JSON)
    rows = table_lines(cli("summary", "resnet50", "--width", "100").stdout)
    labels = [cells[0] for cells in rows]
    at = labels.index("layer1.1")
    assert labels[at + 1:at + 4] == ["└ bottleneck1", "├ residual", "│ ├ body.conv1"]  # (cells stripped)
    assert rows[at][1] == "iteration" and rows[at + 1][1] == "bottleneck"
    assert rows[at][2] == "256×56×56"  # a container shows its last layer's output (the block's relu)
    assert rows[at][3] == ""  # … and no costs of its own: the Params column still sums to the total


def test_full_names_fold_at_dots(cli):
    out = cli("summary", "resnet50", "--width", "80", "--full-names").stdout
    assert max(cell_len(line) for line in out.splitlines()) <= 80
    names = []  # the labels with a name folded over several lines (each ending at a dot) joined again
    for cells in table_lines(out):
        if names and names[-1].endswith("."):
            assert not cells[1]  # a continuation line has no other cells
            names[-1] += cells[0]
        else:
            names.append(cells[0])
    data = json.loads(cli("summary", "resnet50", "--format", "json").stdout)
    assert names == [layer["name"] for layer in data["layers"]]
    wide = cli("summary", "resnet50", "--width", "160", "--full-names").stdout
    assert "│ layer4.3.bottleneck1.residual.body.conv3 " in wide


def test_asked_columns_drop_with_a_note_when_narrow(cli):
    out = cli("summary", "tests/specs/residual.yaml", "--columns", "all", "--width", "80").stdout
    heading = next(line for line in out.splitlines() if "Layer" in line)
    assert "Inputs" not in heading and "RF" in heading
    assert "left out to fit 80 columns" in out.replace("\n", " ")
    wide = cli("summary", "tests/specs/residual.yaml", "--columns", "all", "--width", "240").stdout
    heading = next(line for line in wide.splitlines() if "Layer" in line)
    # `all` is every optional column but the roofline's (asked for by name, and time needs --device)
    assert all(c.head in heading for c in COLUMNS if c.in_all) and "left out" not in wide
    assert not any(c.head in heading for c in COLUMNS if not c.in_all)


def test_wide_terminals_get_the_automatic_columns(cli):
    heading = next(line for line in cli("summary", "resnet50", "--width", "160").stdout.splitlines()
                   if "Layer" in line)
    assert "FLOPs" in heading and "Act. mem" in heading
    heading = next(line for line in cli("summary", "resnet50", "--width", "100").stdout.splitlines()
                   if "Layer" in line)
    assert "FLOPs" not in heading


def test_unknown_column_lists_the_registry(cli):
    bad = cli("summary", "lenet5", "--columns", "?")
    assert bad.exit_code == 2 and ", ".join(OPTIONAL_COLUMNS) in bad.stderr


@pytest.mark.parametrize("text, width, expected", [
    ("Mixed_5b.parallel1", 10, "Mixed…lel1"),  # 5 + 1 + 4 cells
    ("conv1", 10, "conv1"),
    ("abcdef", 1, "…"),
])
def test_cut_middle(text, width, expected):
    assert cut_middle(text, width) == expected


def test_cut_end_and_fold():
    assert cut_end("global_avgpool", 8) == "global_…"
    assert fold_at_dots("layer1.1.bottleneck1.conv1", 12) == ["layer1.1.", "bottleneck1.", "conv1"]
    assert fold_at_dots("a_very_long_single_name", 8) == ["a_ve…ame"]
