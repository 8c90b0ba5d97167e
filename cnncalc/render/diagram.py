"""The network as a picture: Mermaid (renders in GitHub), Graphviz DOT, and a self-contained SVG.

`graph()` turns an analysis into boxes and edges, folding containers deeper than `depth` into one box (the
rule of `summary --depth`); the three writers only lay that out. The SVG needs no Graphviz: a small layered
layout (longest-path layers, dummy nodes on long edges, barycentre ordering, then x positions pulled towards
each node's inputs) that suits the chain-with-skips shape of CNNs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple
from xml.sax.saxutils import escape, quoteattr

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

    lines = [f"digraph {q(g.name)} {{", "  rankdir=TB; ordering=in;  // a merge's inputs left to right in order",
             '  node [shape=box, style="rounded,filled", fillcolor=white, fontname="monospace", fontsize=10];']
    lines += _nested(g, open_cluster, "}", node)
    lines += [f"  n{u} -> n{v};" for u, v in g.edges]
    return "\n".join(lines) + "\n}\n"


# -- SVG --------------------------------------------------------------------------------------------------
CHAR_W, LINE_H, PAD, GAP_X, GAP_Y, DUMMY_W = 7.2, 15, 8, 24, 28, 12  # px; CHAR_W fits 12px monospace
FRAME_HEAD, FRAME_PAD, FRAME_CHAR_W = 16, 6, 6.6  # px: a frame's heading above its first layer, its padding at the sides and bottom
FRAME_FILLS = ("#f5f7fa", "#eef2f7", "#e6ecf3", "#dfe6ee")  # deeper frames a little darker


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
    key: float = 0.0  # left-to-right order within the layer (see _lanes)
    clusters: Tuple[str, ...] = ()  # the frames around it


def layout(g: Graph) -> Tuple[List[_Place], List[List[int]]]:
    """Places (boxes first, then dummies) and the edges as paths of place indices."""
    places = []
    for i, box in enumerate(g.boxes):
        lines = box.lines(short=True)
        places.append(_Place(i, 0, max(map(len, lines)) * CHAR_W + 2 * PAD, len(lines) * LINE_H + 2 * PAD))
    # Longest-path layers in one pass: boxes are in topological order, except that folding containers can
    # create a back edge (a box feeding a container it also reads from); back edges don't push layers.
    for u, v in sorted(g.edges, key=lambda e: e[1]):
        if u < v:
            places[v].layer = max(places[v].layer, places[u].layer + 1)
    keys = _lanes(g)
    paths = []
    for u, v in g.edges:
        path = [u]
        for layer in range(places[u].layer + 1, places[v].layer):
            places.append(_Place(None, layer, DUMMY_W, 0, key=keys[(u, v)],
                                 clusters=_common(g.boxes[u].clusters, g.boxes[v].clusters)))
            path.append(len(places) - 1)
        path.append(v)
        for a, b in zip(path, path[1:]):
            places[a].succs.append(b)
            places[b].preds.append(a)
        paths.append(path)
    for i, box in enumerate(g.boxes):
        places[i].key = keys[i]
        places[i].clusters = box.clusters
    rows: List[List[int]] = [[] for _ in range(max(p.layer for p in places) + 1)]
    for i, p in enumerate(places):
        rows[p.layer].append(i)
    for row in rows:  # left to right in the order the merges read their inputs: concatenation order
        row.sort(key=lambda i: (places[i].key, i))
    main = _main_line(g, places, paths)
    _assign_x(g, places, rows, main)
    return places, paths


def _common(a: Tuple[str, ...], b: Tuple[str, ...]) -> Tuple[str, ...]:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def _lanes(g: Graph) -> Dict:
    """Each box's and each edge's place from left to right, as a number in [0, 1].

    Walking back from the outputs, a box's interval is split among its inputs in the order it reads them (a
    concat's branches, a residual's body then shortcut); a box read by several gets the span of all its slots.
    Keys: box index → the middle of its interval; (u, v) edge → the middle of u's slot in v.
    """
    n = len(g.boxes)
    lo: List[Optional[float]] = [None] * n
    hi: List[Optional[float]] = [None] * n
    ins: Dict[int, List[int]] = {}
    for u, v in g.edges:
        if u < v:
            ins.setdefault(v, []).append(u)
    keys: Dict = {}
    for v in reversed(range(n)):
        if lo[v] is None:
            lo[v], hi[v] = 0.0, 1.0
        preds = ins.get(v, [])
        span = (hi[v] - lo[v]) / max(len(preds), 1)
        for j, u in enumerate(preds):
            a, b = lo[v] + j * span, lo[v] + (j + 1) * span
            keys[(u, v)] = (a + b) / 2
            lo[u] = a if lo[u] is None else min(lo[u], a)
            hi[u] = b if hi[u] is None else max(hi[u], b)
        keys[v] = (lo[v] + hi[v]) / 2
    for u, v in g.edges:
        keys.setdefault((u, v), keys[u])  # a back edge of a folded graph
    return keys


def _main_line(g: Graph, places: List[_Place], paths: List[List[int]]) -> set:
    """The places of the main line, drawn straight down: from the last box back to the input, each step to the
    input on the layer just above (the longest path; the first such input on a tie), dummies included."""
    by_edge = {(path[0], path[-1]): path for path in paths}
    ins: Dict[int, List[int]] = {}
    for u, v in g.edges:
        if u < v:
            ins.setdefault(v, []).append(u)
    v = max(range(len(g.boxes)), key=lambda i: (places[i].layer, i))
    main = {v}
    while ins.get(v):
        u = max(ins[v], key=lambda k: (places[k].layer, -ins[v].index(k)))
        main.update(by_edge[(u, v)])
        v = u
    return main


def _assign_x(g: Graph, places: List[_Place], rows: List[List[int]], main: set) -> None:
    """The main line at x = 0; in each row the other places packed beside it in their order, pulled towards their
    neighbours (real boxes first), a few sweeps down and up."""
    def gap(a: int, b: int) -> float:
        frames = len(set(framed(g, places[a].clusters)) ^ set(framed(g, places[b].clusters)))  # frame sides between
        return (places[a].w + places[b].w) / 2 + GAP_X + FRAME_PAD * frames

    def pack(row: List[int], want: List[float]) -> None:
        pinned = next((k for k, i in enumerate(row) if i in main), None)
        if pinned is None:  # no main place in this row: keep the row's middle where it wants to be
            pinned = len(row) // 2
        x = [0.0] * len(row)
        x[pinned] = 0.0 if row[pinned] in main else want[pinned]
        for k in range(pinned - 1, -1, -1):
            x[k] = min(want[k], x[k + 1] - gap(row[k], row[k + 1]))
        for k in range(pinned + 1, len(row)):
            x[k] = max(want[k], x[k - 1] + gap(row[k - 1], row[k]))
        for k, i in enumerate(row):
            places[i].x = x[k]

    for row in rows:
        pack(row, [0.0] * len(row))
    for _ in range(3):
        for sweep, neighbours in ((rows[1:], "preds"), (rows[-2::-1], "succs")):
            for row in sweep:
                want = []
                for i in row:
                    near = getattr(places[i], neighbours)
                    real = [j for j in near if places[j].box is not None] or near
                    want.append(_mean([places[j].x for j in real], places[i].x))
                pack(row, want)


def _mean(values: List[float], default: float) -> float:
    return sum(values) / len(values) if values else default


def framed(g: Graph, clusters: Tuple[str, ...]) -> Tuple[str, ...]:
    """The containers drawn as frames: all but a repeat's iterations (the repeat's frame and the block inside say
    it all; the block's label carries the iteration number)."""
    return tuple(c for c in clusters if g.cluster_kinds.get(c) != "iteration")


def frame_label(g: Graph, name: str, parent: str) -> str:
    """`basic1 · basic` (name relative to the frame around it · block or kind); the name alone when they agree."""
    rel, kind = _relative(name, parent), g.cluster_kinds.get(name, "")
    return rel if rel == kind or not kind else f"{rel} · {kind}"


@dataclass
class _Frame:
    """A container drawn as a labelled frame around its places."""

    name: str
    label: str
    top: int       # first and last layer of its places
    bottom: int
    left: float    # extent of its places (frame padding not included)
    right: float
    depth: int
    rank_top: int = 1     # frames (itself included) that open on its top layer, from it inwards
    rank_bottom: int = 1  # … that close on its bottom layer
    rank_side: int = 1    # levels of frames inside it, itself included


def frames(g: Graph, places: List[_Place]) -> List[_Frame]:
    """The frames of the unfolded containers, outermost first, with their nesting ranks (for padding)."""
    found: Dict[str, _Frame] = {}
    parents: Dict[str, str] = {}
    for p in places:
        drawn = framed(g, p.clusters)
        for depth, name in enumerate(drawn):
            f = found.get(name)
            if f is None:
                parent = drawn[depth - 1] if depth else ""
                parents[name] = parent
                found[name] = _Frame(name, frame_label(g, name, parent), p.layer, p.layer, p.x - p.w / 2,
                                     p.x + p.w / 2, depth)
            else:
                f.top, f.bottom = min(f.top, p.layer), max(f.bottom, p.layer)
                f.left, f.right = min(f.left, p.x - p.w / 2), max(f.right, p.x + p.w / 2)
    ordered = sorted(found.values(), key=lambda f: -f.depth)  # innermost first: a frame's ranks need its children's
    for f in ordered:
        parent = found.get(parents.get(f.name, ""))
        if parent is None:
            continue
        parent.rank_side = max(parent.rank_side, f.rank_side + 1)
        if f.top == parent.top:
            parent.rank_top = max(parent.rank_top, f.rank_top + 1)
        if f.bottom == parent.bottom:
            parent.rank_bottom = max(parent.rank_bottom, f.rank_bottom + 1)
    return sorted(found.values(), key=lambda f: f.depth)


def svg(g: Graph) -> str:
    """A standalone SVG: containers as labelled frames, boxes shaded by their share of the MACs, labels relative to
    their frame, the main line straight down the middle, edges as curves with arrowheads."""
    places, paths = layout(g)
    boxes_frames = frames(g, places)
    layers = max(p.layer for p in places) + 1
    heights = [0.0] * layers
    for p in places:
        heights[p.layer] = max(heights[p.layer], p.h)
    head = [0] * (layers + 1)  # frame headings stacked above a layer, frame bottoms below it
    foot = [0] * (layers + 1)
    for f in boxes_frames:
        head[f.top] = max(head[f.top], f.rank_top)
        foot[f.bottom] = max(foot[f.bottom], f.rank_bottom)
    tops = [head[0] * FRAME_HEAD]
    for k in range(1, layers):
        tops.append(tops[-1] + heights[k - 1] + foot[k - 1] * FRAME_PAD + GAP_Y + head[k] * FRAME_HEAD)
    margin = 12
    left = min([p.x - p.w / 2 for p in places] + [f.left - f.rank_side * FRAME_PAD for f in boxes_frames])
    right = max([p.x + p.w / 2 for p in places] + [f.right + f.rank_side * FRAME_PAD for f in boxes_frames])
    shift = margin - left
    width = right - left + 2 * margin
    height = margin + tops[-1] + heights[-1] + foot[layers - 1] * FRAME_PAD + margin

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
    labels: List[str] = []  # frame labels go over the edges, with a halo of their frame's colour
    for f in boxes_frames:
        x0 = f.left - f.rank_side * FRAME_PAD + shift
        x1 = f.right + f.rank_side * FRAME_PAD + shift
        y0 = margin + tops[f.top] - f.rank_top * FRAME_HEAD + 2
        y1 = margin + tops[f.bottom] + heights[f.bottom] + f.rank_bottom * FRAME_PAD
        fill = FRAME_FILLS[f.depth % len(FRAME_FILLS)]
        out.append(f'<g class="frame" data-name={quoteattr(f.name)}><title>{escape(f.name)}</title><rect x="{x0:.1f}" y="{y0:.1f}" '
                   f'width="{x1 - x0:.1f}" height="{y1 - y0:.1f}" rx="6" fill="{fill}" stroke="#9aa5b1"/></g>')
        label = _fit_label(f.label, (x1 - x0 - 8) / FRAME_CHAR_W)
        labels.append(f'<text class="frame-label" data-name={quoteattr(f.name)} x="{x0 + 5:.1f}" y="{y0 + 12:.1f}" font-size="11" fill="#3e4c59" '
                      f'stroke="{fill}" stroke-width="3" paint-order="stroke">{escape(label)}</text>')
    for path in paths:
        pts = []
        for k, i in enumerate(path):
            p = places[i]
            x = p.x + shift
            if k == 0:
                pts.append((x, top(p) + p.h))
            elif k == len(path) - 1:
                pts.append((x, top(p)))
            else:  # a dummy: pass straight through its layer
                pts += [(x, margin + tops[p.layer]), (x, margin + tops[p.layer] + heights[p.layer])]
        d = f"M{pts[0][0]:.1f},{pts[0][1]:.1f}"
        for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
            if abs(x0 - x1) < 0.05:
                d += f" L{x1:.1f},{y1:.1f}"
            else:
                mid = (y0 + y1) / 2
                d += f" C{x0:.1f},{mid:.1f} {x1:.1f},{mid:.1f} {x1:.1f},{y1:.1f}"
        ends = f'data-from={quoteattr(g.boxes[path[0]].name)} data-to={quoteattr(g.boxes[path[-1]].name)}'
        out.append(f'<path class="edge" {ends} d="{d}" fill="none" stroke="#555" stroke-width="1.2" '
                   'marker-end="url(#arrow)"/>')
    out += labels
    for i, box in enumerate(g.boxes):
        p = places[i]
        x, y = p.x + shift - p.w / 2, top(p)
        out.append(f'<g class="node" data-name={quoteattr(box.name)}><rect x="{x:.1f}" y="{y:.1f}" width="{p.w:.1f}" height="{p.h:.1f}" rx="5" '
                   f'fill="{_heat(box.macs / heaviest)}" stroke="#333"/>')
        for k, line in enumerate(box.lines(short=True)):
            weight = ' font-weight="bold"' if k == 0 else ""
            out.append(f'<text x="{x + PAD:.1f}" y="{y + PAD + (k + 0.8) * LINE_H:.1f}"{weight}>{escape(line)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _fit_label(label: str, chars: float) -> str:
    """A frame label cut to the frame's width (its middle gives way: the full name is the frame's tooltip)."""
    n = max(int(chars), 3)
    if len(label) <= n:
        return label
    head = (n - 1 + 1) // 2
    return label[:head] + "…" + label[len(label) - (n - 1 - head):]


# -- fitting a diagram to its format's limits ----------------------------------------------------------------
@dataclass(frozen=True)
class Limit:
    """How big a diagram a format takes: Mermaid's defaults (maxEdges 500, maxTextSize 50,000) break beyond these
    with an error box; an SVG or DOT drawing with more boxes than `boxes` is no longer readable."""

    edges: Optional[int] = None
    chars: Optional[int] = None
    boxes: Optional[int] = None

    def allows(self, g: Graph, text: str) -> bool:
        return ((self.edges is None or len(g.edges) <= self.edges) and (self.chars is None or len(text) <= self.chars)
                and (self.boxes is None or len(g.boxes) <= self.boxes))

    def __str__(self) -> str:
        parts = [f"{self.edges} edges" if self.edges else "", f"{self.chars:,} characters" if self.chars else "",
                 f"{self.boxes} boxes" if self.boxes else ""]
        return ", ".join(p for p in parts if p)


LIMITS = {"mermaid": Limit(edges=500, chars=50_000), "dot": Limit(boxes=400), "svg": Limit(boxes=400)}


def fitted(a: Analysis, fmt: str, depth: Optional[int] = None) -> Tuple[str, Optional[str]]:
    """The diagram in `fmt` and, when it had to be folded to stay within `LIMITS[fmt]`, a note saying how to unfold.

    With `depth` given it is drawn as asked. Otherwise every layer is drawn if that fits, else the deepest
    folding that fits (`summary --depth`'s rule), down to one box per top-level container.
    """
    write = {"mermaid": mermaid, "dot": dot, "svg": svg}[fmt]
    if depth is not None:
        return write(graph(a, depth)), None
    deepest = max((len(info.groups) for info in a.layers), default=0)
    limit = LIMITS[fmt]
    depths = [None, *range(deepest, 0, -1)]
    for d in depths:
        g = graph(a, d)
        last = d == depths[-1]  # nothing folds further (a network without containers has only this one)
        if fmt == "svg" and not limit.allows(g, "") and not last:  # an SVG is only drawn at a size that fits
            continue
        text = write(g)
        if limit.allows(g, text) or last:
            break
    if d is None:
        return text, None
    unfold = f"--depth {d + 1} unfolds a level, " if d + 1 <= deepest else ""
    note = f"folded to --depth {d} to stay within {fmt}'s limits ({limit}); {unfold}--depth {deepest + 1} shows every layer"
    if fmt == "mermaid":  # a comment on its own line after the diagram's type
        text = text.replace("\n", f"\n%% {note}\n", 1)
    elif fmt == "dot":
        text = f"// {note}\n" + text
    else:
        text = text.replace("</title>", f"</title>\n<desc>{escape(note)}</desc>", 1)
    return text, note


def _heat(share: float) -> str:
    """White for no MACs to orange for the heaviest box."""
    r, g, b = (255, 255, 255) if share <= 0 else (255, round(255 - 110 * share), round(255 - 200 * share))
    return f"#{r:02x}{g:02x}{b:02x}"
