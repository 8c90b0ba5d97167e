"""The terminal view: a rich table of rows and a totals panel."""
from __future__ import annotations

from typing import Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple, Union

from rich.console import Console, ConsoleOptions, Group
from rich.measure import Measurement
from rich.segment import Segment
from rich.panel import Panel
from rich.table import Table
from rich.cells import cell_len
from rich.text import Span, Text

from ..core.analysis import Analysis
from .. import units

OPTIONAL_COLUMNS = ("flops", "buffers", "memory", "stride", "inputs", "read", "written", "intensity", "time", "bound")


def summary_table(a: Analysis, depth: Optional[int] = None, columns: Sequence[str] = (), width: int = 140,
                  extra_cells: Optional[Dict[str, Sequence[Cell]]] = None):
    """A renderable: title, the per-layer table, notes, then the totals panel (none for a partial analysis).

    `extra_cells` gives the cells of columns computed elsewhere (traffic and time: cnncalc.render.roofline), one per
    row of `a.rows(depth)`."""
    extra = [c for c in OPTIONAL_COLUMNS if c in columns]
    heads = ["Layer", "Type", "Output", "Params", "MACs"] + [_EXTRA_HEADS[c] for c in extra] + ["RF"]
    left = {0, 1} | ({heads.index("Inputs")} if "inputs" in extra else set())
    by_name = {info.name: info for info in a.layers}
    rows: List[List[Cell]] = []
    for k, r in enumerate(a.rows(depth)):
        name: Cell = "  " * r.level + r.name
        if r.layers > 1:
            name = Text(name).append(f" ({r.layers} layers)", style="dim")
        out: Cell = units.shape(r.output)
        if r.dropped:
            out = Text(out).append(" ⚠", style="yellow")
        cells = [name, r.type, out, _count(r.params), _count(r.macs)]
        for c in extra:
            if c == "flops":
                cells.append(_count(r.flops))
            elif c == "buffers":
                cells.append(_count(r.buffers))
            elif c == "memory":
                cells.append(units.human_bytes(r.activation_bytes))
            elif c == "stride":
                cells.append(units.axes(r.receptive_field.stride))
            elif c == "inputs":
                info = by_name.get(r.name)
                cells.append(", ".join(info.inputs) if info else "")
            else:  # a column computed elsewhere; blank where it could not be (a partial analysis)
                cells.append(extra_cells[c][k] if extra_cells and c in extra_cells else "")
        rf = r.receptive_field
        cells.append(units.axes(rf.size) + ("" if rf.aligned else " †"))
        rows.append(cells)
    title = Text(f"{a.network.name} — input {units.shape(a.network.input)}, batch {a.batch}, {a.dtype}", style="italic")
    parts = [title, grid(heads, rows, left, width)]
    notes = []
    if any(r.dropped for r in a.layers):
        notes.append(units.DROPPED_NOTE)
    if any(not r.receptive_field.aligned for r in a.layers):
        notes.append(units.MISALIGNED_NOTE)
    if notes:
        parts.append(Text("\n".join(notes), style="dim"))
    if a.totals is not None:
        parts.append(totals_panel(a))
    return Group(*parts)


_EXTRA_HEADS = {"flops": "FLOPs", "buffers": "Buffers", "memory": "Act. mem", "stride": "RF stride", "inputs": "Inputs",
                "read": "Read", "written": "Written", "intensity": "FLOP/B", "time": "Est. time", "bound": "Bound"}


Cell = Union[str, Text]  # a Text only where part of the cell is styled


def _plain(cell: Cell) -> str:
    return cell.plain if isinstance(cell, Text) else cell


def _narrow(s: str) -> bool:
    """Whether every character of `s` takes one terminal cell (printable ASCII), so len(s) is its width."""
    return s.isascii() and s.isprintable()


def _padder(narrow: bool, left: bool) -> Callable[[str, int], str]:
    """Pads a cell with spaces to a width in cells: on the right when aligned `left`, else on the left."""
    if narrow:
        return str.ljust if left else str.rjust

    def pad(s: str, width: int) -> str:
        spaces = " " * (width - cell_len(s))
        return s + spaces if left else spaces + s
    return pad


def grid(heads: List[str], rows: List[List[Cell]], left: Set[int], width: int) -> "Block":
    """Rows laid out like rich's heavy-head table, as one block of styled text: one line per row.

    rich's Table lays out every cell separately (about 0.3 ms a row: a third of a second for Inception v3);
    this builds each line as one string, measuring and padding a column of narrow characters by len().
    When the table is wider than `width`, the first column folds.
    """
    texts = [[_plain(cell) for cell in row] for row in rows]
    columns = [[h, *(row[i] for row in texts)] for i, h in enumerate(heads)]
    narrow = [_narrow("".join(column)) for column in columns]
    widths = [max(map(len if n else cell_len, column)) for n, column in zip(narrow, columns)]
    overflow = sum(widths) + 3 * len(widths) - 1 - width
    if overflow > 0:
        widths[0] = max(12, widths[0] - overflow)
    pads = [_padder(n, i in left) for i, n in enumerate(narrow)]
    last = len(widths) - 1

    def rule(l: str, line: str, mid: str, r: str) -> str:
        inner = [line * (w + (1 if i in (0, last) else 2)) for i, w in enumerate(widths)]
        return l + mid.join(inner) + r

    def line(cells: Sequence[str], bar: str, styled: Sequence[Cell] = ()) -> Tuple[str, List[Span]]:
        """One line of cells between bars, and the spans of the `styled` cells' styles (offsets within the line)."""
        padded = [pad(cell, w) for pad, cell, w in zip(pads, cells, widths)]
        spans: List[Span] = []
        at = len(bar)  # where the padded cell starts
        for i, (cell, text) in enumerate(zip(styled, padded)):
            if isinstance(cell, Text):
                lead = 0 if i in left else len(text) - len(cell.plain)
                spans += [span.move(at + lead) for span in cell.spans]
            at += len(text) + 3
        return bar + f" {bar} ".join(padded) + bar, spans

    lines: List[str] = []
    spans: List[Span] = []
    start = 0  # where the next line starts in the whole text

    def emit(text: str, text_spans: Sequence[Span] = ()) -> None:
        nonlocal start
        spans.extend(span.move(start) for span in text_spans)
        lines.append(text)
        start += len(text) + 1

    emit(rule("┏", "━", "┳", "┓"))
    head, _ = line(heads, "┃")
    emit(head, [Span(1, len(head) - 1, "bold")])
    emit(rule("┡", "━", "╇", "┩"))
    for row, cells in zip(rows, texts):
        styled = row if any(isinstance(cell, Text) for cell in row) else ()
        first = cells[0]
        if (len(first) if narrow[0] else cell_len(first)) <= widths[0]:
            emit(*line(cells, "│", styled))
            continue
        cuts = range(widths[0], len(first), widths[0])  # fold a long name
        pieces = row[0].divide(cuts) if isinstance(row[0], Text) else [first[i:i + widths[0]] for i in [0, *cuts]]
        for k, piece in enumerate(pieces):
            rest = cells[1:] if k == 0 else [""] * (len(row) - 1)
            emit(*line([_plain(piece), *rest], "│", [piece, *styled[1:]] if k == 0 else [piece]))
    emit(rule("└", "─", "┴", "┘"))
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


def _count(n: int) -> str:
    return units.human(n) if n else "-"


def totals_panel(a: Analysis) -> Panel:
    t = a.totals
    rf = t.receptive_field
    rf_text = "global (every output sees the whole input)" if rf.is_global else \
        f"{units.axes(rf.size)} (stride {units.axes(rf.stride)}, padding {units.axes(rf.padding)})"
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("Params", f"{t.params:,} ({units.human(t.params)}): {t.trainable_params:,} trainable, "
                           f"{t.params - t.trainable_params:,} frozen; {t.buffers:,} buffers")
    grid.add_row("MACs", f"{t.macs:,} ({units.human(t.macs)})")
    grid.add_row("FLOPs", f"{t.flops:,} ({units.human(t.flops)})")
    grid.add_row("Param memory", f"{units.human_bytes(t.param_bytes + t.buffer_bytes)} (params + buffers, {a.dtype})")
    grid.add_row("Activations", f"{units.human_bytes(t.activation_bytes)} all outputs (training), "
                                f"{units.human_bytes(t.peak_activation_bytes)} peak live (inference)")
    grid.add_row("Output", units.shape(t.output))
    grid.add_row("Receptive field", rf_text + ("" if rf.aligned else "; paths misaligned"))
    return Panel(grid, title="Totals", title_align="left", expand=False)
