"""The network as a picture: Mermaid (renders in GitHub), Graphviz DOT, and a self-contained SVG.

`graph()` turns an analysis into boxes and edges, folding containers deeper than `depth` into one box (the
rule of `summary --depth`); the three writers only lay that out. The SVG needs no Graphviz: a small layered
layout (longest-path layers, dummy nodes on long edges, barycentre ordering, then x positions pulled towards
each node's inputs) that suits the chain-with-skips shape of CNNs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple
from xml.sax.saxutils import escape

from ..core.analysis import Analysis
from ..spec.graph import INPUT
from .. import units

FORMATS = ("mermaid", "dot", "svg")


@dataclass
class Box:
    """One drawn node: a layer, a folded container, or the network input."""

    name: str
    type: str
    output: Tuple[int, ...]
    params: int = 0
    macs: int = 0
    layers: int = 1
    clusters: Tuple[str, ...] = ()  # the unfolded containers around it, outermost first

    def lines(self, short: bool = False) -> List[str]:
        """Label lines: name, type and output shape, then params (and the folded layer count).

        `short` drops the enclosing container's name (`body.conv1` → `conv1`) where the container is drawn.
        """
        name = _relative(self.name, self.clusters[-1]) if short and self.clusters else self.name
        head = name if self.type == "input" else f"{name} · {self.type}"
        tail = [f"{units.human(self.params)} params" if self.params else ""]
        if self.layers > 1:
            tail = [" · ".join(t for t in (tail[0], f"{self.layers} layers") if t)]
        return [head, units.shape(self.output)] + [t for t in tail if t]


@dataclass
class Graph:
    name: str
    boxes: List[Box]
    edges: List[Tuple[int, int]]  # (from, to) box indices, each pair once
    cluster_kinds: Dict[str, str] = field(default_factory=dict)


def graph(a: Analysis, depth: Optional[int] = None) -> Graph:
    """Boxes in topological order (box 0 is the input) and the edges of `LayerNode.inputs` between them."""
    net = a.network
    boxes = [Box("input", "input", net.input)]
    index: Dict[str, int] = {}  # box key (layer or folded container name) → box index
    of_layer: Dict[int, int] = {INPUT: 0}
    for info in a.layers:
        groups = info.groups
        if depth is not None and len(groups) >= depth:
            key, clusters = groups[depth - 1], groups[:depth - 1]
            kind = net.groups[key].label
        else:
            key, clusters, kind = info.name, groups, info.type
        if key not in index:
            index[key] = len(boxes)
            boxes.append(Box(key, kind, info.output, layers=0, clusters=clusters))
        box = boxes[index[key]]
        box.params += info.params
        box.macs += info.macs
        box.layers += 1
        box.output = info.output  # a folded container shows its last layer's output
        of_layer[info.index] = index[key]
    edges: Dict[Tuple[int, int], None] = {}  # each pair once, in first-seen order (a dict: a list made this quadratic)
    for info in a.layers:
        for j in info.node.inputs:
            edge = (of_layer[j], of_layer[info.index])
            if edge[0] != edge[1]:
                edges[edge] = None
    kinds = {name: g.label for name, g in net.groups.items()}
    return Graph(net.name, boxes, list(edges), kinds)


def _relative(name: str, parent: str) -> str:
    return name[len(parent) + 1:] if name.startswith(parent + ".") else name


def _cluster_tree(g: Graph) -> Dict[str, List]:
    """Container name ('' for the top) → its members in first-appearance order: box indices and container names."""
    tree: Dict[str, List] = {"": []}
    for i, box in enumerate(g.boxes):
        parent = ""
        for name in box.clusters:
            if name not in tree:
                tree[name] = []
                tree[parent].append(name)
            parent = name
        tree[parent].append(i)
    return tree


def _nested(g: Graph, open_cluster, close_cluster, node) -> List[str]:
    """Lines for the cluster tree, depth first: the writers supply how a cluster opens and closes, and a node."""
    tree = _cluster_tree(g)
    lines: List[str] = []

    def walk(name: str, indent: str, n: List[int]) -> None:
        for member in tree[name]:
            if isinstance(member, int):
                lines.append(indent + node(member))
            else:
                n[0] += 1
                lines.append(indent + open_cluster(n[0], member, _relative(member, name)))
                walk(member, indent + "  ", n)
                lines.append(indent + close_cluster)

    walk("", "  ", [0])
    return lines


# -- Mermaid ----------------------------------------------------------------------------------------------
def mermaid(g: Graph) -> str:
    """A Mermaid flowchart (GitHub renders ```mermaid blocks in issues and pull requests)."""
    def text(s: str) -> str:
        return escape(s).replace('"', "#quot;")

    def node(i: int) -> str:
        return f'n{i}["{"<br/>".join(text(line) for line in g.boxes[i].lines(short=True))}"]'

    def open_cluster(n: int, name: str, label: str) -> str:
        return f'subgraph c{n} ["{text(label)} · {text(g.cluster_kinds[name])}"]'

    lines = ["flowchart TD"] + _nested(g, open_cluster, "end", node)
    lines += [f"  n{u} --> n{v}" for u, v in g.edges]
    return "\n".join(lines) + "\n"


# -- DOT ------------------------------------------------------------------------------------------------
def dot(g: Graph) -> str:
    """Graphviz DOT: `dot -Tsvg net.dot > net.svg`. Unfolded containers are clusters."""
    def q(s: str) -> str:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

    def node(i: int) -> str:
        return f"n{i} [label={q(chr(10).join(g.boxes[i].lines(short=True)))}];".replace("\n", "\\n")

    def open_cluster(n: int, name: str, label: str) -> str:
        return f"subgraph cluster_{n} {{ label={q(label + ' · ' + g.cluster_kinds[name])}; style=rounded; color=gray60;"

    lines = [f"digraph {q(g.name)} {{", "  rankdir=TB;",
             '  node [shape=box, style="rounded,filled", fillcolor=white, fontname="monospace", fontsize=10];']
    lines += _nested(g, open_cluster, "}", node)
    lines += [f"  n{u} -> n{v};" for u, v in g.edges]
    return "\n".join(lines) + "\n}\n"


# -- SVG --------------------------------------------------------------------------------------------------
CHAR_W, LINE_H, PAD, GAP_X, GAP_Y, DUMMY_W = 7.2, 15, 8, 24, 36, 12  # px; CHAR_W fits 12px monospace


@dataclass
class _Place:
    """A positioned node of the layout: a box, or a dummy point on a long edge (box None)."""

    box: Optional[int]
    layer: int
    w: float
    h: float
    x: float = 0.0
    preds: List[int] = field(default_factory=list)
    succs: List[int] = field(default_factory=list)


def layout(g: Graph) -> Tuple[List[_Place], List[List[int]]]:
    """Places (boxes first, then dummies) and the edges as paths of place indices."""
    places = []
    for i, box in enumerate(g.boxes):
        lines = box.lines()
        places.append(_Place(i, 0, max(map(len, lines)) * CHAR_W + 2 * PAD, len(lines) * LINE_H + 2 * PAD))
    # Longest-path layers in one pass: boxes are in topological order, except that folding containers can
    # create a back edge (a box feeding a container it also reads from); back edges don't push layers.
    for u, v in sorted(g.edges, key=lambda e: e[1]):
        if u < v:
            places[v].layer = max(places[v].layer, places[u].layer + 1)
    paths = []
    for u, v in g.edges:
        path = [u]
        for layer in range(places[u].layer + 1, places[v].layer):
            places.append(_Place(None, layer, DUMMY_W, 0))
            path.append(len(places) - 1)
        path.append(v)
        for a, b in zip(path, path[1:]):
            places[a].succs.append(b)
            places[b].preds.append(a)
        paths.append(path)
    rows: List[List[int]] = [[] for _ in range(max(p.layer for p in places) + 1)]
    for i, p in enumerate(places):
        rows[p.layer].append(i)
    _order(places, rows)
    _assign_x(places, rows)
    return places, paths


def _order(places: List[_Place], rows: List[List[int]]) -> None:
    """Barycentre ordering, down then up, a few rounds: fewer crossings, long edges beside the main chain."""
    pos = {i: k for row in rows for k, i in enumerate(row)}
    for _ in range(4):
        for sweep, neighbours in ((rows[1:], "preds"), (rows[-2::-1], "succs")):
            for row in sweep:
                row.sort(key=lambda i: (_mean([pos[j] for j in getattr(places[i], neighbours)], pos[i]),
                                        places[i].box is None, pos[i]))
                pos.update((i, k) for k, i in enumerate(row))


def _assign_x(places: List[_Place], rows: List[List[int]]) -> None:
    """Pull each place towards its neighbours (real boxes first), keeping the order and the gaps."""
    for row in rows:
        x = 0.0
        for i in row:
            places[i].x = x + places[i].w / 2
            x += places[i].w + GAP_X
    for _ in range(6):
        for sweep, neighbours in ((rows[1:], "preds"), (rows[-2::-1], "succs")):
            for row in sweep:
                want = []
                for i in row:
                    near = getattr(places[i], neighbours)
                    real = [j for j in near if places[j].box is not None] or near
                    want.append(_mean([places[j].x for j in real], places[i].x))
                _pack(places, row, want)
    left = min(p.x - p.w / 2 for p in places)
    for p in places:
        p.x -= left


def _pack(places: List[_Place], row: List[int], want: List[float]) -> None:
    """Positions as close to `want` as the order and gaps allow: the mean of a left and a right packing."""
    def gap(a: int, b: int) -> float:
        return (places[a].w + places[b].w) / 2 + GAP_X

    left = list(want)
    for k in range(1, len(row)):
        left[k] = max(left[k], left[k - 1] + gap(row[k - 1], row[k]))
    right = list(want)
    for k in range(len(row) - 2, -1, -1):
        right[k] = min(right[k], right[k + 1] - gap(row[k], row[k + 1]))
    for k, i in enumerate(row):
        places[i].x = (left[k] + right[k]) / 2


def _mean(values: List[float], default: float) -> float:
    return sum(values) / len(values) if values else default


def svg(g: Graph) -> str:
    """A standalone SVG: boxes shaded by their share of the MACs, edges as curves with arrowheads."""
    places, paths = layout(g)
    heights = [0.0] * (max(p.layer for p in places) + 1)
    for p in places:
        heights[p.layer] = max(heights[p.layer], p.h)
    tops = [0.0]
    for h in heights[:-1]:
        tops.append(tops[-1] + h + GAP_Y)
    margin = 12
    width = max(p.x + p.w / 2 for p in places) + 2 * margin
    height = tops[-1] + heights[-1] + 2 * margin

    def top(p: _Place) -> float:
        return margin + tops[p.layer] + (heights[p.layer] - p.h) / 2

    heaviest = max((b.macs for b in g.boxes), default=0) or 1
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" '
           f'font-size="12">',
           f"<title>{escape(g.name)}</title>",
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>',
           '<rect width="100%" height="100%" fill="white"/>']
    for path in paths:
        pts = []
        for k, i in enumerate(path):
            p = places[i]
            x = p.x + margin
            if k == 0:
                pts.append((x, top(p) + p.h))
            elif k == len(path) - 1:
                pts.append((x, top(p)))
            else:  # a dummy: pass straight through its layer
                pts += [(x, margin + tops[p.layer]), (x, margin + tops[p.layer] + heights[p.layer])]
        d = f"M{pts[0][0]:.1f},{pts[0][1]:.1f}"
        for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
            if x0 == x1:
                d += f" L{x1:.1f},{y1:.1f}"
            else:
                mid = (y0 + y1) / 2
                d += f" C{x0:.1f},{mid:.1f} {x1:.1f},{mid:.1f} {x1:.1f},{y1:.1f}"
        out.append(f'<path d="{d}" fill="none" stroke="#555" stroke-width="1.2" marker-end="url(#arrow)"/>')
    for i, box in enumerate(g.boxes):
        p = places[i]
        x, y = p.x + margin - p.w / 2, top(p)
        out.append(f'<g class="node"><rect x="{x:.1f}" y="{y:.1f}" width="{p.w:.1f}" height="{p.h:.1f}" rx="5" '
                   f'fill="{_heat(box.macs / heaviest)}" stroke="#333"/>')
        for k, line in enumerate(box.lines()):
            weight = ' font-weight="bold"' if k == 0 else ""
            out.append(f'<text x="{x + PAD:.1f}" y="{y + PAD + (k + 0.8) * LINE_H:.1f}"{weight}>{escape(line)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _heat(share: float) -> str:
    """White for no MACs to orange for the heaviest box."""
    r, g, b = (255, 255, 255) if share <= 0 else (255, round(255 - 110 * share), round(255 - 200 * share))
    return f"#{r:02x}{g:02x}{b:02x}"
