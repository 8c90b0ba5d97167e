"""The terminal view: a rich table of rows and a totals panel."""
from __future__ import annotations

from typing import Optional, Sequence

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..analysis import Analysis
from . import units

OPTIONAL_COLUMNS = ("flops", "buffers", "memory", "stride", "inputs")


def summary_table(a: Analysis, depth: Optional[int] = None, columns: Sequence[str] = (), bars: bool = False):
    """A renderable: the per-layer table, then the totals panel (or the error, for a partial analysis)."""
    table = Table(title=f"{a.network.name} — input {units.shape(a.network.input)}, batch {a.batch}, {a.dtype}",
                  title_justify="left", header_style="bold", pad_edge=False)
    table.add_column("Layer", overflow="fold")
    table.add_column("Type")
    table.add_column("Output", justify="right")
    table.add_column("Params", justify="right")
    table.add_column("MACs", justify="right")
    extra = [c for c in OPTIONAL_COLUMNS if c in columns]
    for c in extra:
        table.add_column({"flops": "FLOPs", "buffers": "Buffers", "memory": "Act. mem", "stride": "RF stride",
                          "inputs": "Inputs"}[c], justify="left" if c == "inputs" else "right")
    table.add_column("RF", justify="right")
    by_name = {info.name: info for info in a.layers}
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
        table.add_row(*cells)
    parts = [table]
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
