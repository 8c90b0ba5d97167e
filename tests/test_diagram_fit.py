"""Diagrams that fit: branches in concatenation order, a straight main line, framed blocks with relative labels,
and an automatic folding depth that keeps Mermaid within its default limits (500 edges, 50,000 characters)."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

import cnncalc
from cnncalc.render.diagram import LIMITS, fitted, frames, graph, layout, mermaid, svg

SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def googlenet():
    return cnncalc.load("googlenet").analyze()


def merge_inputs_x(g, places, paths, box):
    """x of the place each input edge of `box` leaves from last (a box or a dummy point), in the box's input order."""
    return [places[path[-2]].x for path in paths if path[-1] == box]


def test_branches_are_drawn_in_concatenation_order(googlenet):
    # GoogLeNet's inception blocks concatenate branch 1 (1×1), 2 (3×3), 3 (5×5), 4 (pool): the edges into each
    # concat must arrive left to right in that order (the order of the concat's inputs, checked by its names)
    g = graph(googlenet, depth=3)
    places, paths = layout(g)
    names = [b.name for b in g.boxes]
    concats = [i for i, b in enumerate(g.boxes) if b.type == "concat"]
    assert len(concats) == 9  # inception 3a, 3b, 4a–4e, 5a, 5b
    for c in concats:
        sources = [names[u] for u, v in g.edges if v == c]
        assert [re.search(r"branch(\d)", s).group(1) for s in sources] == ["1", "2", "3", "4"], sources
        xs = merge_inputs_x(g, places, paths, c)
        assert xs == sorted(xs) and len(set(xs)) == 4, (names[c], xs)


@pytest.mark.parametrize("name", ["resnet18", "googlenet", "inception_v3"])
def test_the_main_line_is_straight(name):
    # from the output back to the input, along the longest path, every box sits at the same x: no drift
    a = cnncalc.load(name).analyze()
    g = graph(a)
    places, paths = layout(g)
    from cnncalc.render.diagram import _main_line

    main = _main_line(g, places, paths)
    assert 0 in main and len(g.boxes) - 1 in main  # from the input to the output
    assert {round(places[i].x, 6) for i in main} == {0.0}
    layers = sorted(places[i].layer for i in main)
    assert layers == list(range(layers[-1] + 1))  # one place on every layer


def test_blocks_are_framed_with_relative_labels():
    a = cnncalc.load("resnet18").analyze()
    g = graph(a)
    text = svg(g)
    root = ET.fromstring(text)
    frame_titles = [f.find(SVG_NS + "title").text for f in root.findall(f"{SVG_NS}g[@class='frame']")]
    # every container except repeat iterations: 4 repeats, 8 blocks, 8 residuals
    assert len(frame_titles) == 4 + 8 + 8
    assert "layer1" in frame_titles and "layer1.1.basic1" in frame_titles and "layer1.1" not in frame_titles
    labels = [t.text for t in root.findall(f"{SVG_NS}text[@class='frame-label']")]
    assert "layer1 · repeat" in labels and "1.basic1 · basic" in labels and "residual" in labels
    node_heads = [n.find(SVG_NS + "text").text for n in root.findall(f"{SVG_NS}g[@class='node']")]
    assert "body.conv1 · conv" in node_heads  # relative to its residual's frame
    places, _ = layout(g)
    for f in frames(g, places):  # each frame holds its boxes
        inside = [p for p in places if p.box is not None and f.name in g.boxes[p.box].clusters]
        assert inside and all(f.left <= p.x - p.w / 2 and p.x + p.w / 2 <= f.right for p in inside)


@pytest.mark.parametrize("name", ["resnet152", "inception_v4", "inception_resnet_v2"])
def test_mermaid_folds_itself_within_its_limits(name):
    a = cnncalc.load(name).analyze()
    full = mermaid(graph(a))
    # unfolded, these exceed Mermaid's defaults (maxEdges 500, maxTextSize 50,000) and render an error box
    assert len(graph(a).edges) > 500 or len(full) > 50_000
    text, note = fitted(a, "mermaid")
    edges = sum(" --> " in line for line in text.splitlines())
    assert edges <= LIMITS["mermaid"].edges and len(text) <= LIMITS["mermaid"].chars
    depth = int(re.search(r"--depth (\d+) to stay", note).group(1))
    assert text.splitlines()[1] == f"%% {note}"
    assert f"--depth {depth + 1}" in note  # how to unfold
    # the deepest folding that fits: one level deeper does not
    deeper = graph(a, depth + 1)
    assert len(deeper.edges) > 500 or len(mermaid(deeper)) > 50_000


def test_small_networks_are_not_folded():
    a = cnncalc.load("resnet18").analyze()
    text, note = fitted(a, "mermaid")
    assert note is None and text == mermaid(graph(a))


def test_explicit_depth_is_obeyed(cli):
    result = cli("diagram", "resnet152", "--depth", "5")
    assert result.exit_code == 0 and "note:" not in result.stderr
    result = cli("diagram", "resnet152")
    assert result.stderr.startswith("note: folded to --depth 4 to stay within mermaid's limits (500 edges, "
                                    "50,000 characters); --depth 5 shows every layer")
