"""Folding an analysis into display rows: with a depth N, containers nested deeper than N levels become one row."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import List, Optional, Tuple

from .receptive import ReceptiveField


@dataclass(frozen=True, slots=True)
class Row:
    """A table row: one layer, or a folded group of layers (`--depth`); costs include the batch."""

    name: str
    type: str
    output: Tuple[int, ...]
    params: int
    buffers: int
    macs: int
    flops: int
    receptive_field: ReceptiveField
    dropped: Optional[Tuple[int, ...]] = None
    activation_bytes: int = 0  # the outputs of the row's layers, batch included
    layers: int = 1
    level: int = 0
    groups: Tuple[str, ...] = ()  # the containers around the row, outermost first (a folded row: around its group)


def rows(analysis, depth: Optional[int] = None) -> List[Row]:
    """Rows for display; with `depth` N, only N levels of containers show: deeper layers fold into one row.

    A top-level layer is at level 1; `depth=1` folds each top-level block, repeat or residual into one row. A folded
    row shows its last layer's output and receptive field, and the sums of its layers' costs.
    """
    out: List[Row] = []
    open_group: Optional[str] = None
    groups = analysis.network.groups
    for info in analysis.layers:
        enclosing = info.groups
        if depth is not None and len(enclosing) >= depth:
            key = enclosing[depth - 1]
            if key == open_group and out:
                row = out[-1]
                out[-1] = replace(row, output=info.output, params=row.params + info.params,
                                  buffers=row.buffers + info.buffers, macs=row.macs + info.macs,
                                  flops=row.flops + info.flops, receptive_field=info.receptive_field,
                                  dropped=row.dropped or info.dropped,
                                  activation_bytes=row.activation_bytes + info.activation_bytes, layers=row.layers + 1)
            else:
                out.append(Row(key, groups[key].label, info.output, info.params, info.buffers, info.macs, info.flops,
                               info.receptive_field, info.dropped, info.activation_bytes, level=depth - 1,
                               groups=enclosing[:depth - 1]))
                open_group = key
            continue
        open_group = None
        out.append(Row(info.name, info.type, info.output, info.params, info.buffers, info.macs, info.flops,
                       info.receptive_field, info.dropped, info.activation_bytes, level=len(enclosing),
                       groups=enclosing))
    return out
