"""The terminal view: the per-layer table drawn as a tree and fitted to the terminal, then the totals panel.

Every layout decision lives here (the data is `cnncalc.core.rows`, the numbers' formats `cnncalc.units`):

- **Tree.** Each container (block instance, repeat iteration, residual, parallel) gets a header row; the rows inside
  it are labelled relative to it (`conv1` under `bottleneck1` under `layer1.1`) behind tree guides. A repeat has no
  header of its own: its iterations read `layer1.1`, `layer1.2`. `full_names=True` gives the flat list of full dotted
  names instead (JSON and CSV always carry full names).
- **Width.** The table never exceeds `width` and never breaks a word. When it does not fit, in this order: the
  automatic columns go (shown only from `WIDE` columns on, when they fit), the Layer column shrinks to `LABEL_EASY`,
  the optional columns asked for with `--columns` drop right to left (a note names them and how to get them back),
  then the Type column shrinks to `TYPE_EASY`, the Layer column to `LABEL_MIN` and the Type column to `TYPE_MIN`. Labels lose their middle (`Mixed_…
  _5b`), types their end. A full name (`full_names`) folds at its dots instead.
- **Columns** are the entries of `COLUMNS`: adding an optional column is one entry there.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, NamedTuple, Optional, Sequence, Set, Tuple, Union

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group
from rich.measure import Measurement
from rich.panel import Panel
from rich.segment import Segment
from rich.text import Span, Text

from ..core.analysis import Analysis
from ..core.rows import Row
from .. import units

WIDE = 120       # from this width on, the automatic columns join the table when it still fits
LABEL_EASY = 24  # the Layer column shrinks to this before any column asked for is dropped
LABEL_MIN = 12   # … and to this, with the Type column at TYPE_MIN, before the table overflows
TYPE_EASY = 10   # (between those two steps the Type column shrinks to TYPE_EASY)
TYPE_MIN = 6
ELLIPSIS = "…"

class Styled(NamedTuple):
    """A cell with styled parts: its text and the spans of the styles (a light Text, for the table's many headers)."""

    plain: str
    spans: List[Span]


Cell = Union[str, Text, Styled]  # a Text or Styled only where part of the cell is styled


class Context:
    """What a column's cell function may need beside the row: the analysis's layers by name."""

    def __init__(self, a: Analysis, extra: Optional[Dict[str, Dict[str, Cell]]] = None):
        self.analysis = a
        self._by_name = None
        self.extra = extra or {}  # cells computed elsewhere (traffic, time: cnncalc.render.roofline), by column and row

    def given(self, key: str, r: Row) -> Cell:
        return self.extra.get(key, {}).get(r.name, "")

    def info(self, name: str):
        if self._by_name is None:
            self._by_name = {info.name: info for info in self.analysis.layers}
        return self._by_name.get(name)


@dataclass(frozen=True)
class Column:
    """One table column after Layer: its `--columns` key, heading, and the cell of a row."""

    key: str
    head: str
    cell: Callable[[Row, Context], Cell]
    left: bool = False      # left-aligned (text), else right-aligned (figures)
    optional: bool = True   # shown only when asked for (`--columns`) …
    auto: bool = False      # … or, for an automatic column, when the terminal is WIDE and the table fits
    in_all: bool = True     # part of `--columns all` (the traffic and time columns are asked for by name)


def _count(n: int) -> str:
    return units.human(n) if n else "-"


def _output(r: Row, ctx: Context) -> Cell:
    out = units.shape(r.output)
    return Text(out).append(" ⚠", style="yellow") if r.dropped else out


def _rf(r: Row, ctx: Context) -> str:
    rf = r.receptive_field
    return units.axes(rf.size) if rf.aligned else units.axes(rf.size) + " †"


def _inputs(r: Row, ctx: Context) -> str:
    info = ctx.info(r.name)
    return ", ".join(info.inputs) if info else ""


COLUMNS: Tuple[Column, ...] = (
    Column("type", "Type", lambda r, ctx: r.type, left=True, optional=False),
    Column("output", "Output", _output, optional=False),
    Column("params", "Params", lambda r, ctx: _count(r.params), optional=False),
    Column("macs", "MACs", lambda r, ctx: _count(r.macs), optional=False),
    Column("flops", "FLOPs", lambda r, ctx: _count(r.flops), auto=True),
    Column("buffers", "Buffers", lambda r, ctx: _count(r.buffers)),
    Column("memory", "Act. mem", lambda r, ctx: units.human_bytes(r.activation_bytes), auto=True),
    Column("stride", "RF stride", lambda r, ctx: units.axes(r.receptive_field.stride)),
    Column("inputs", "Inputs", _inputs, left=True),
    # memory traffic and the roofline estimate on a device: cells made by cnncalc.render.roofline
    *(Column(key, head, lambda r, ctx, key=key: ctx.given(key, r), left=key == "bound", in_all=False)
      for key, head in (("read", "Read"), ("written", "Written"), ("intensity", "FLOP/B"), ("time", "Est. time"),
                        ("bound", "Bound"))),
    Column("rf", "RF", _rf, optional=False),
)
OPTIONAL_COLUMNS = tuple(c.key for c in COLUMNS if c.optional)
ALL_COLUMNS = tuple(c.key for c in COLUMNS if c.optional and c.in_all)  # `--columns all`


def _plain(cell: Cell) -> str:
    return cell.plain if isinstance(cell, Text) else cell


def _width(s: str) -> int:
    """Terminal cells of `s`: len() for printable ASCII (names, numbers, shapes almost always are)."""
    return len(s) if s.isascii() else cell_len(s)


def cut_middle(s: str, width: int) -> str:
    """`s` in at most `width` cells, its middle replaced by an ellipsis: `Mixed_5b.parallel1` → `Mixed…lel1`."""
    if _width(s) <= width:
        return s
    if width <= 1:
        return ELLIPSIS[:width]
    if s.isascii():
        head = (width - 1 + 1) // 2
        tail = width - 1 - head
        return s[:head] + ELLIPSIS + (s[len(s) - tail:] if tail else "")
    head, tail = "", ""
    chars = list(s)
    while chars and _width(head) + _width(tail) + 1 < width:  # alternate ends, one character at a time
        if len(head) <= len(tail):
            head += chars.pop(0)
        else:
            tail = chars.pop() + tail
    while _width(head) + _width(tail) + 1 > width:
        head = head[:-1]
    return head + ELLIPSIS + tail


def cut_end(s: str, width: int) -> str:
    """`s` in at most `width` cells, its end replaced by an ellipsis."""
    if _width(s) <= width:
        return s
    while s and _width(s) + 1 > width:
        s = s[:-1]
    return s + ELLIPSIS if width else ""


def fold_at_dots(name: str, width: int) -> List[str]:
    """A dotted name in lines of at most `width` cells, broken only after a dot (a part too long loses its middle)."""
    lines: List[str] = []
    line = ""
    parts = name.split(".")
    for i, part in enumerate(parts):
        piece = part + ("." if i < len(parts) - 1 else "")
        if line and _width(line) + _width(piece) > width:
            lines.append(line)
            line = ""
        line += piece
        if _width(line) > width:
            lines.append(cut_middle(line, width))
            line = ""
    if line or not lines:
        lines.append(line)
    return lines


@dataclass(slots=True)
class _Entry:
    """One line of the tree: a row of the analysis, or the header of a container around the rows after it."""

    level: int
    label: str
    suffix: str             # " (N layers)" on a folded row
    header: bool
    cells: List[Cell]
    last: bool = True       # no later sibling at the same level (└ rather than ├)
    prefix: str = ""        # the tree guides in front of the label
    last_row: Optional[Row] = None  # a header's last row (whose output the header shows)


def _tree(a: Analysis, rows: Sequence[Row], ctx: Context, columns: Sequence[Column]) -> List[_Entry]:
    """Rows with a header entry before each container they open, labels relative to the innermost shown container."""
    groups = a.network.groups
    entries: List[_Entry] = []
    open_: List[Tuple[str, _Entry]] = []  # the shown containers around the current row, outermost first
    out_at = [c.key for c in columns].index("output") if any(c.key == "output" for c in columns) else -1
    type_at = [c.key for c in columns].index("type") if any(c.key == "type" for c in columns) else -1
    blank = [""] * len(columns)
    headed: Dict[Tuple[str, ...], List[str]] = {}  # the containers that get a header, by a row's groups
    for r in rows:
        if not r.groups and not open_:  # a top-level layer
            entries.append(_Entry(0, r.name, f" ({r.layers} layers)" if r.layers > 1 else "", False,
                                  [c.cell(r, ctx) for c in columns]))
            continue
        shown = headed.get(r.groups)
        if shown is None:
            shown = headed[r.groups] = [g for g in r.groups if groups[g].kind != "repeat"]
        keep = 0
        while keep < len(open_) and keep < len(shown) and open_[keep][0] == shown[keep]:
            keep += 1
        del open_[keep:]
        for g in shown[keep:]:
            parent = open_[-1][0] if open_ else ""
            cells = list(blank)
            if type_at >= 0:
                cells[type_at] = groups[g].label
            entry = _Entry(len(open_), _relative(g, parent), "", True, cells)
            entries.append(entry)
            open_.append((g, entry))
        for _, entry in open_:  # a container shows what it produces: its last row's output
            entry.last_row = r
        parent = open_[-1][0] if open_ else ""
        suffix = f" ({r.layers} layers)" if r.layers > 1 else ""
        entries.append(_Entry(len(open_), _relative(r.name, parent), suffix, False,
                              [c.cell(r, ctx) for c in columns]))
    if out_at >= 0:
        for e in entries:
            if e.header and e.last_row is not None:
                e.cells[out_at] = units.shape(e.last_row.output)
    _guides(entries)
    return entries


def _relative(name: str, parent: str) -> str:
    if parent and name.startswith(parent) and name[len(parent):len(parent) + 1] == ".":
        return name[len(parent) + 1:]
    return name


def _guides(entries: List[_Entry]) -> None:
    """Tree guides: `├ `/`└ ` before an entry below the top level, `│ ` where an ancestor has siblings to come."""
    later: List[bool] = []  # by level, walking backwards: whether an entry at that level comes later (same parent)
    for e in reversed(entries):
        while len(later) <= e.level:
            later.append(False)
        e.last = not later[e.level]
        later[e.level] = True
        del later[e.level + 1:]
    going: List[str] = []  # by level: "│ " while that level's current entry has siblings to come, else "  "
    for e in entries:
        if e.level == 0:
            going = []
            continue
        del going[e.level - 1:]
        e.prefix = "".join(going) + ("└ " if e.last else "├ ")
        going.append("  " if e.last else "│ ")


def summary_table(a: Analysis, depth: Optional[int] = None, columns: Sequence[str] = (), width: int = 140,
                  full_names: bool = False, extra_cells: Optional[Dict[str, Dict[str, Cell]]] = None):
    """A renderable: title, the per-layer table fitted to `width`, notes, then the totals panel (none for a partial
    analysis). `columns` are the optional columns asked for (keys of `COLUMNS`); `extra_cells` the cells of columns
    computed elsewhere, by column key and row name."""
    ctx = Context(a, extra_cells)
    chosen = [c for c in COLUMNS if not c.optional or c.key in columns or (c.auto and width >= WIDE)]
    table, dropped = tree_grid(a, a.rows(depth), chosen, ctx, width, columns, full_names)

    title = Text(f"{a.network.name} — input {units.shape(a.network.input)}, batch {a.batch}, {a.dtype}",
                 style="italic")
    parts = [title, table]
    notes = []
    if any(r.dropped for r in a.layers):
        notes.append(units.DROPPED_NOTE)
    if any(not r.receptive_field.aligned for r in a.layers):
        notes.append(units.MISALIGNED_NOTE)
    if dropped:
        notes.append(f"{', '.join(dropped)} left out to fit {width} columns: widen the terminal or pass a larger "
                     "--width")
    if notes:
        parts.append(Text("\n".join(notes), style="dim"))
    if a.totals is not None:
        parts.append(totals_panel(a, width))
    return Group(*parts)


def tree_grid(a: Analysis, rows: Sequence[Row], chosen: Sequence[Column], ctx: Context, width: int,
              asked: Sequence[str] = (), full_names: bool = False) -> Tuple["Block", List[str]]:
    """`rows` as a tree (or full names) with `chosen` columns after Layer, fitted to `width` as the module docstring
    says: the grid, and the headings of the optional columns dropped to fit."""
    if full_names:
        entries = [_Entry(0, r.name, f" ({r.layers} layers)" if r.layers > 1 else "", False,
                          [c.cell(r, ctx) for c in chosen]) for r in rows]
    else:
        entries = _tree(a, rows, ctx, chosen)
    texts = [[cell if isinstance(cell, str) else cell.plain for cell in e.cells] for e in entries]
    natural = []
    narrow = []  # by column: whether every character takes one cell, so that len() measures and str.ljust pads
    for i, c in enumerate(chosen):
        column = [c.head, *(row[i] for row in texts)]
        narrow.append("".join(column).isascii())
        natural.append(max(map(len if narrow[-1] else cell_len, column)))
    labels_narrow = "".join(e.label for e in entries).isascii()  # guides and the ellipsis take one cell each
    label_natural = max([5, *(len(e.prefix) + (len(e.label) if labels_narrow else cell_len(e.label)) + len(e.suffix)
                              for e in entries)])
    keep, label_w, widths, dropped = _fit(chosen, natural, label_natural, width, asked)
    shown = [c for c, k in zip(chosen, keep) if k]
    widths = [w for w, k in zip(widths, keep) if k]
    idx = [i for i, k in enumerate(keep) if k]

    heads = ["Layer", *(c.head for c in shown)]
    left = {0} | {i + 1 for i, c in enumerate(shown) if c.left}
    out_rows: List[List[Cell]] = []
    type_at = next((i for i, c in enumerate(shown) if c.key == "type"), -1)
    cut_types = type_at >= 0 and widths[type_at] < natural[idx[type_at]]
    fits = label_w >= label_natural  # every label as it is: the common case, kept quick for long tables
    every = len(idx) == len(chosen)
    for e, plain in zip(entries, texts):
        cells = e.cells if every else [e.cells[i] for i in idx]
        if cut_types and _width(plain[idx[type_at]]) > widths[type_at]:
            cells = list(cells)
            cells[type_at] = cut_end(plain[idx[type_at]], widths[type_at])
        if fits and not e.suffix:
            if e.header:
                at = len(e.prefix)
                out_rows.append([Styled(e.prefix + e.label, [Span(at, at + len(e.label), "bold")]), *cells])
            else:
                out_rows.append([e.prefix + e.label, *cells])
            continue
        for k, label in enumerate(_labels(e, label_w, full_names)):
            out_rows.append([label, *cells] if k == 0 else [label, *([""] * len(cells))])

    return grid(heads, out_rows, left, [label_w, *widths], [labels_narrow, *(narrow[i] for i in idx)]), dropped


def _fit(chosen: Sequence[Column], natural: List[int], label: int, width: int, asked: Sequence[str]):
    """Which columns stay, the Layer column's width, the columns' widths and the headings of the columns dropped."""
    keep = [True] * len(chosen)
    widths = list(natural)

    def total() -> int:
        n = 1 + sum(keep)
        return label + sum(w for w, k in zip(widths, keep) if k) + 3 * n + 1  # "│ " cell " │ " … " │"

    for i in reversed(range(len(chosen))):  # 1. automatic columns that were not asked for
        if total() > width and chosen[i].auto and chosen[i].key not in asked:
            keep[i] = False
    if total() > width:  # 2. the Layer column to an easy width
        label = max(min(label, LABEL_EASY), label - (total() - width))
    dropped = []
    for i in reversed(range(len(chosen))):  # 3. the optional columns asked for, right to left
        if total() > width and chosen[i].optional and keep[i]:
            keep[i] = False
            dropped.append(chosen[i].head)
    type_at = next((i for i, c in enumerate(chosen) if c.key == "type"), None)

    def shrink_type(least: int) -> None:
        if total() > width and type_at is not None:
            widths[type_at] = max(min(widths[type_at], least), widths[type_at] - (total() - width))

    shrink_type(TYPE_EASY)  # 4. the Type column to an easy width, the Layer column to its least, the Type column too
    if total() > width:
        label = max(min(label, LABEL_MIN), label - (total() - width))
    shrink_type(TYPE_MIN)
    return keep, label, widths, dropped[::-1]


def _labels(e: _Entry, width: int, full_names: bool) -> List[Cell]:
    """The Layer cell of an entry in `width` cells: one line, or several for a full name folded at its dots."""
    room = width - len(e.prefix)
    prefix = e.prefix
    if room < 3:  # guides deeper than the column: keep the innermost ones
        prefix = prefix[len(prefix) - max(width - 3, 0):]
        room = width - len(prefix)
    if full_names and _width(e.label) + len(e.suffix) > room:
        lines: List[Cell] = list(fold_at_dots(e.label, room))
        if e.suffix and _width(_plain(lines[-1])) + len(e.suffix) <= room:
            lines[-1] = Text(lines[-1]).append(e.suffix, style="dim")
        return lines
    suffix = e.suffix if _width(e.label) + len(e.suffix) <= room else ""  # the name before the layer count
    label = cut_middle(e.label, room - len(suffix))
    if e.header:
        return [Styled(prefix + label, [Span(len(prefix), len(prefix) + len(label), "bold")])]
    if suffix:
        return [Text(prefix + label).append(suffix, style="dim")]
    return [prefix + label]


def _padder(narrow: bool, left: bool) -> Callable[[str, int], str]:
    """Pads a cell with spaces to a width in cells: on the right when aligned `left`, else on the left."""
    if narrow:
        return str.ljust if left else str.rjust

    def pad(s: str, width: int) -> str:
        n = width - cell_len(s)
        return s + " " * n if left else " " * n + s
    return pad


def simple_grid(heads: List[str], rows: List[List[Cell]], left: Set[int], width: int) -> "Block":
    """`grid` for a table without a tree: columns as wide as their widest cell, and when the table is wider than
    `width`, the first column (names) shortened in the middle to make room."""
    texts = [[_plain(cell) for cell in row] for row in rows]
    widths = [max([_width(h), *(_width(row[i]) for row in texts)]) for i, h in enumerate(heads)]
    overflow = sum(widths) + 3 * len(widths) + 1 - width
    if overflow > 0 and widths:
        widths[0] = max(12, widths[0] - overflow)
        rows = [[cut_middle(texts[k][0], widths[0]), *row[1:]] if _width(texts[k][0]) > widths[0] else row
                for k, row in enumerate(rows)]
    return grid(heads, rows, left, widths)


def grid(heads: List[str], rows: List[List[Cell]], left: Set[int], widths: List[int],
         narrow: Sequence[bool] = ()) -> "Block":
    """Rows laid out like rich's heavy-head table in the given column widths, as one block of styled text.

    rich's Table lays out every cell separately (about 0.3 ms a row: a third of a second for Inception v3);
    this builds each line as one string, padding a `narrow` column (one cell per character) with str.ljust.
    Cells must already fit their width.
    """
    pads = [_padder(i < len(narrow) and narrow[i], i in left) for i in range(len(widths))]

    def rule(l: str, line: str, mid: str, r: str) -> str:
        return l + mid.join(line * (w + 2) for w in widths) + r

    lines: List[str] = []
    spans: List[Span] = []
    start = 0  # where the next line starts in the whole text

    def emit(cells: Sequence[Cell], bar: str, bold: bool = False) -> None:
        nonlocal start
        plain = [cell if isinstance(cell, str) else cell.plain for cell in cells]
        padded = [pad(cell, w) for pad, cell, w in zip(pads, plain, widths)]
        text = f"{bar} " + f" {bar} ".join(padded) + f" {bar}"
        if bold:
            spans.append(Span(start + 2, start + len(text) - 2, "bold"))
        at = start + len(bar) + 1  # where the padded cell starts
        for i, (cell, p) in enumerate(zip(cells, padded)):
            if not isinstance(cell, str):
                lead = 0 if i in left else len(p) - len(cell.plain)
                spans.extend(span.move(at + lead) for span in cell.spans)
            at += len(p) + 3
        lines.append(text)
        start += len(text) + 1

    def emit_rule(text: str) -> None:
        nonlocal start
        lines.append(text)
        start += len(text) + 1

    emit_rule(rule("┏", "━", "┳", "┓"))
    emit(heads, "┃", bold=True)
    emit_rule(rule("┡", "━", "╇", "┩"))
    for row in rows:
        emit(row, "│")
    emit_rule(rule("└", "─", "┴", "┘"))
    return Block("\n".join(lines), spans)


class Block:
    """Lines of text with styled spans (in order, not overlapping), printed as they are: never wrapped or cropped.

    These are the segments rich prints for Text(text, spans=spans, no_wrap=True, overflow="ignore"), without
    what that costs for a 10,000-row table: rich would scan every character for control codes (the cells are
    names, numbers and shapes: there are none), split the text into a Text per line and join them again.
    """

    def __init__(self, text: str, spans: List[Span]):
        self.text = text
        self.spans = spans

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterable[Segment]:
        at = 0
        for start, end, style in self.spans:
            if start > at:
                yield Segment(self.text[at:start])
            if end > start:
                yield Segment(self.text[start:end], console.get_style(style))
                at = end
        if at < len(self.text):
            yield Segment(self.text[at:])
        yield Segment.line()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, Text(self.text))


def totals_lines(a: Analysis) -> List[Tuple[str, List[str]]]:
    """The totals as (heading, phrases): a line may break between two phrases, never inside one."""
    t = a.totals
    rf = t.receptive_field
    if rf.is_global:
        rf_phrases = ["global", "(every output sees the whole input)"]
    else:
        rf_phrases = [units.axes(rf.size), f"(stride {units.axes(rf.stride)},", f"padding {units.axes(rf.padding)})"]
    if not rf.aligned:
        rf_phrases[-1] += ";"
        rf_phrases.append("paths misaligned")
    return [
        ("Params", [f"{t.params:,} ({units.human(t.params)}):", f"{t.trainable_params:,} trainable,",
                    f"{t.params - t.trainable_params:,} frozen;", f"{t.buffers:,} buffers"]),
        ("MACs", [f"{t.macs:,} ({units.human(t.macs)})"]),
        ("FLOPs", [f"{t.flops:,} ({units.human(t.flops)})"]),
        ("Param memory", [units.human_bytes(t.param_bytes + t.buffer_bytes), f"(params + buffers, {a.dtype})"]),
        ("Activations", [f"{units.human_bytes(t.activation_bytes)} all outputs (training),",
                         f"{units.human_bytes(t.peak_activation_bytes)} peak live (inference)"]),
        ("Output", [units.shape(t.output)]),
        ("Receptive field", rf_phrases),
    ]


def totals_panel(a: Analysis, width: int = 140) -> Panel:
    """The totals in a panel no wider than `width`: a long line breaks between phrases, so no figure is split."""
    items = totals_lines(a)
    head = max(len(h) for h, _ in items) + 2
    room = max(width - 4 - head, 20)  # the panel's border and padding take 4 cells
    text = Text(no_wrap=True, overflow="ignore")
    for n, (heading, phrases) in enumerate(items):
        lines: List[str] = []
        for phrase in phrases:
            if lines and _width(lines[-1]) + 1 + _width(phrase) <= room:
                lines[-1] += " " + phrase
            else:
                lines.append(phrase)
        for k, line in enumerate(lines):
            if n or k:
                text.append("\n")
            text.append(heading.ljust(head) if k == 0 else " " * head, style="bold" if k == 0 else None)
            text.append(line)
    return Panel(text, title="Totals", title_align="left", expand=False)
