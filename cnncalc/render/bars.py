"""`summary --bars`: where the parameters and MACs go, one bar per layer, so the heavy layers jump out.

The rows are the summary table's tree (labels relative to their block, `render.table.tree_grid`), fitted to the
terminal the same way: the bars take what room there is (at most `BAR` characters each), the Layer column the rest.
"""
from __future__ import annotations

from typing import Callable, List, Optional, Sequence

from rich.console import Group
from rich.text import Span, Text

from ..core.analysis import Analysis
from ..core.rows import Row
from .. import units
from .roofline import seconds_text
from .table import TYPE_EASY, Column, Context, Styled, tree_grid

EIGHTHS = " ▏▎▍▌▋▊▉"  # partial blocks: a bar is drawn to 1/8 of a character
BAR = 24      # the widest bar
BAR_MIN = 4   # the narrowest, before the Layer column gives up its room
LABEL_ROOM = 28  # what the Layer column keeps when bars shrink to fit


def bar(value: float, largest: float, width: int) -> str:
    """A bar `width` characters long for the largest value; any non-zero value shows at least 1/8."""
    if value <= 0 or largest <= 0:
        return ""
    eighths = max(round(value / largest * width * 8), 1)
    full, part = divmod(eighths, 8)
    return "█" * full + (EIGHTHS[part] if part else "")


def share(value: float, total: float) -> str:
    return f"{100 * value / total:.1f} %" if total and value else ""


def _bar_columns(head: str, value: Callable[[Row], float], text: Callable[[float], str], rows: Sequence[Row],
                 width: int, style: str) -> List[Column]:
    """The three columns of one quantity: its figure, its bar (scaled to the largest row) and its share."""
    top = max((value(r) for r in rows), default=0)
    total = sum(value(r) for r in rows)

    def drawn(r: Row, ctx: Context) -> Styled:
        b = bar(value(r), top, width).ljust(width)
        return Styled(b, [Span(0, len(b), style)])

    return [Column(head.lower(), head, lambda r, ctx: text(value(r)) if value(r) else "-", optional=False),
            Column(head.lower() + "_bar", "", drawn, left=True, optional=False),
            Column(head.lower() + "_share", "%", lambda r, ctx: share(value(r), total), optional=False)]


def bars_table(a: Analysis, depth: Optional[int] = None, width: int = 140,
               times: Optional[Sequence[float]] = None) -> Group:
    """Rows (folded by `depth`) that have params or MACs, as a tree: bars scaled to the largest row, shares of the
    total, in `width` columns.

    With `times` (estimated seconds per row of `a.rows(depth)`, from a roofline), a time bar beside the MAC bar,
    and rows that take time without MACs (a memory-bound batch norm) are shown too."""
    rows = a.rows(depth)
    seconds = dict(zip((r.name for r in rows), times)) if times is not None else {}
    shown = [r for r in rows if r.params or r.macs or seconds.get(r.name)]
    quantities = [("Params", lambda r: r.params, units.human, "blue"), ("MACs", lambda r: r.macs, units.human, "magenta")]
    if times is not None:
        quantities.append(("Est. time", lambda r: seconds.get(r.name, 0.0), seconds_text, "green"))
    # the room left for bars: the width less the Layer column's LABEL_ROOM, the Type column (its shortest easy
    # width), each quantity's figure and share (as wide as their widest cell) and the rules between columns
    fixed = LABEL_ROOM + min(TYPE_EASY, max(len(r.type) for r in shown)) if shown else LABEL_ROOM
    for head, value, text, _ in quantities:
        fixed += max([len(head), *(len(text(value(r))) for r in shown)]) + len("100.0 %")
    room = (width - fixed - 3 * (2 + 3 * len(quantities)) - 1) // len(quantities)
    bar_w = max(BAR_MIN, min(BAR, room))
    columns = [Column("type", "Type", lambda r, ctx: r.type, left=True, optional=False)]
    for head, value, text, style in quantities:
        columns += _bar_columns(head, value, text, rows, bar_w, style)
    table, _ = tree_grid(a, shown, columns, Context(a), width)
    what = "parameters, MACs and estimated time" if times is not None else "parameters and MACs"
    parts = [Text(f"{a.network.name} — where the {what} go", style="italic"), table]
    hidden = len(rows) - len(shown)
    if hidden:
        missing = "parameters, MACs or time" if times is not None else "parameters or MACs"
        parts.append(Text(f"{hidden} rows without {missing} not shown", style="dim"))
    return Group(*parts)
