"""The terminal view: a rich table of rows and a totals panel."""
from __future__ import annotations

from typing import List, Optional, Sequence, Set

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.cells import cell_len
from rich.text import Text

from ..core.analysis import Analysis
from .. import units

OPTIONAL_COLUMNS = ("flops", "buffers", "memory", "stride", "inputs")


def summary_table(a: Analysis, depth: Optional[int] = None, columns: Sequence[str] = (), width: int = 140):
    """A renderable: title, the per-layer table, notes, then the totals panel (none for a partial analysis)."""
    extra = [c for c in OPTIONAL_COLUMNS if c in columns]
    heads = ["Layer", "Type", "Output", "Params", "MACs"] + [_EXTRA_HEADS[c] for c in extra] + ["RF"]
    left = {0, 1} | ({heads.index("Inputs")} if "inputs" in extra else set())
    by_name = {info.name: info for info in a.layers}
    rows = []
    for r in a.rows(depth):
        name = Text("  " * r.level + r.name)
        if r.layers > 1:
            name.append(f" ({r.layers} layers)", style="dim")
        out = Text(units.shape(r.output))
        if r.dropped:
            out.append(" ⚠", style="yellow")
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
        rf = r.receptive_field
        cells.append(units.axes(rf.size) + ("" if rf.aligned else " †"))
        rows.append([c if isinstance(c, Text) else Text(c) for c in cells])
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


_EXTRA_HEADS = {"flops": "FLOPs", "buffers": "Buffers", "memory": "Act. mem", "stride": "RF stride", "inputs": "Inputs"}


def grid(heads: List[str], rows: List[List[Text]], left: Set[int], width: int) -> Text:
    """Rows laid out like rich's heavy-head table, as one styled Text: one line per row.

    rich's Table lays out every cell separately (about 0.3 ms a row: a third of a second for Inception v3);
    this costs a tenth of that. When the table is wider than `width`, the first column folds.
    """
    widths = [max([cell_len(h)] + [row[i].cell_len for row in rows]) for i, h in enumerate(heads)]
    overflow = sum(widths) + 3 * len(widths) - 1 - width
    if overflow > 0:
        widths[0] = max(12, widths[0] - overflow)

    def rule(l: str, line: str, mid: str, r: str) -> str:
        inner = [line * (w + (1 if i in (0, len(widths) - 1) else 2)) for i, w in enumerate(widths)]
        return l + mid.join(inner) + r + "\n"

    def line(cells: List[Text], bar: str, style: Optional[str] = None) -> Text:
        text = Text(bar)
        for i, (cell, w) in enumerate(zip(cells, widths)):
            pad = " " * (w - cell.cell_len)
            lead = "" if i == 0 else " "
            tail = "" if i == len(widths) - 1 else " "
            text.append(lead + (pad if i not in left else ""))
            text.append_text(cell)
            text.append((pad if i in left else "") + tail + bar)
        if style:
            text.stylize(style, 1, len(text) - 1)
        return text

    out = Text(rule("┏", "━", "┳", "┓"), no_wrap=True, overflow="ignore")
    out.append_text(line([Text(h) for h in heads], "┃", "bold"))
    out.append("\n" + rule("┡", "━", "╇", "┩"))
    for row in rows:
        first = row[0]
        pieces = [first] if first.cell_len <= widths[0] else \
            first.divide(range(widths[0], len(first.plain), widths[0]))  # fold a long name
        for k, piece in enumerate(pieces):
            out.append_text(line([piece] + (row[1:] if k == 0 else [Text()] * (len(row) - 1)), "│"))
            out.append("\n")
    out.append(rule("└", "─", "┴", "┘").rstrip("\n"))
    return out


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
