"""`summary --bars`: where the parameters and MACs go, one bar per layer, so the heavy layers jump out."""
from __future__ import annotations

from typing import Optional, Sequence

from rich.table import Table
from rich.text import Text

from ..core.analysis import Analysis
from .. import units
from .roofline import seconds_text

EIGHTHS = " ▏▎▍▌▋▊▉"  # partial blocks: a bar is drawn to 1/8 of a character


def bar(value: int, largest: int, width: int) -> str:
    """A bar `width` characters long for the largest value; any non-zero value shows at least 1/8."""
    if value <= 0 or largest <= 0:
        return ""
    eighths = max(round(value / largest * width * 8), 1)
    full, part = divmod(eighths, 8)
    return "█" * full + (EIGHTHS[part] if part else "")


def share(value: int, total: int) -> str:
    return f"{100 * value / total:.1f} %" if total and value else ""


def bars_table(a: Analysis, depth: Optional[int] = None, width: int = 24,
               times: Optional[Sequence[float]] = None) -> Table:
    """Rows (folded by `depth`) that have params or MACs: bars scaled to the largest row, shares of the total.

    With `times` (estimated seconds per row of `a.rows(depth)`, from a roofline), a time bar beside the MAC bar,
    and rows that take time without MACs (a memory-bound batch norm) are shown too."""
    rows = a.rows(depth)
    if times is not None:
        width = min(width, 12)  # three bars side by side in a usual terminal
    seconds = list(times) if times is not None else [0.0] * len(rows)
    keep = [i for i, r in enumerate(rows) if r.params or r.macs or seconds[i]]
    shown = [rows[i] for i in keep]
    total_params, total_macs = sum(r.params for r in rows), sum(r.macs for r in rows)
    top_params = max((r.params for r in shown), default=0)
    top_macs = max((r.macs for r in shown), default=0)
    hidden = len(rows) - len(shown)
    total_time = sum(seconds)
    top_time = max((seconds[i] for i in keep), default=0)
    what = "parameters, MACs and estimated time" if times is not None else "parameters and MACs"
    table = Table(title=f"{a.network.name} — where the {what} go", title_justify="left",
                  caption=f"{hidden} rows without {'parameters, MACs or time' if times is not None else 'parameters or MACs'}"
                          f" not shown" if hidden else None,
                  caption_justify="left", header_style="bold", pad_edge=False)
    table.add_column("Layer", overflow="fold")
    table.add_column("Type")
    table.add_column("Params", justify="right")
    table.add_column("", min_width=width, no_wrap=True)
    table.add_column("%", justify="right")
    table.add_column("MACs", justify="right")
    table.add_column("", min_width=width, no_wrap=True)
    table.add_column("%", justify="right")
    if times is not None:
        table.add_column("Est. time", justify="right")
        table.add_column("", min_width=width, no_wrap=True)
        table.add_column("%", justify="right")
    for i, r in zip(keep, shown):
        name = Text("  " * r.level + r.name)
        if r.layers > 1:
            name.append(f" ({r.layers} layers)", style="dim")
        cells = [name, r.type,
                 units.human(r.params) if r.params else "-", Text(bar(r.params, top_params, width), style="blue"),
                 share(r.params, total_params),
                 units.human(r.macs) if r.macs else "-", Text(bar(r.macs, top_macs, width), style="magenta"),
                 share(r.macs, total_macs)]
        if times is not None:
            s = seconds[i]
            cells += [seconds_text(s) if s else "-", Text(bar(s, top_time, width), style="green"), share(s, total_time)]
        table.add_row(*cells)
    return table
