"""Comparison renderers for `cnncalc compare` and `cnncalc kernels`: pure formatting of a computed `Comparison`.

A `Grid` of cells becomes a rich table or Markdown; JSON and CSV carry the exact numbers.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from .. import units
from ..compare import BY_KEY, RATIO_KINDS, Comparison, Item, Stage, setting_text, shown_metrics
from .data import SCHEMA_VERSION, receptive_field
from .text import _axes_cell

Cell = Any  # a str, or (text, ratio to the first item or None)


@dataclass(frozen=True)
class Grid:
    """What a table shows: a title, column headers and rows of cells; renderers only lay it out."""

    title: str
    header: List[str]
    rows: List[List[Cell]]
    notes: Tuple[str, ...] = ()


# -- cells -------------------------------------------------------------------------------------------------------
def value_text(kind: str, value: Any) -> str:
    if kind == "shape":
        return units.shape(value)
    if kind == "bytes":
        return units.human_bytes(value)
    if kind == "rf":
        return units.axes(value.size) + ("" if value.aligned else " †")
    if kind == "seconds":
        return units.seconds(value)
    if kind == "share":
        return f"{value:.0%}"
    return str(value) if kind == "layers" else units.human(value)


def metric_cell(item: Item, key: str, first: bool) -> Cell:
    text = value_text(BY_KEY[key].kind, item.values[key])
    return text if first or key not in item.ratios else (text, item.ratios[key])


def ratio_text(r: Optional[float]) -> str:
    return "–" if r is None else f"{r:.2f}×"


# -- grids -----------------------------------------------------------------------------------------------------
def columns_grid(comparison: Comparison, keys: Sequence[str], title: str) -> Grid:
    """One column per item, one row per metric (`compare A B C`)."""
    items = comparison.items
    rows = [[BY_KEY[k].label] + [metric_cell(item, k, i == 0) for i, item in enumerate(items)] for k in keys]
    rows.insert(0, ["Input"] + [units.shape(item.analysis.network.input) for item in items])  # what each one read
    return Grid(title, [""] + [item.label for item in items], rows, _notes(comparison))


def rows_grid(comparison: Comparison, keys: Sequence[str], title: str, lead: Sequence[str],
              lead_cells: Callable[[Item], Sequence[str]], notes: Sequence[str] = ()) -> Grid:
    """One row per item (sweeps, kernels): leading columns from `lead_cells(item)`, then the metrics; `notes` go
    after the usual ones."""
    rows = [list(lead_cells(item)) + [metric_cell(item, k, i == 0) for k in keys]
            for i, item in enumerate(comparison.items)]
    return Grid(title, list(lead) + [BY_KEY[k].label for k in keys], rows, _notes(comparison) + tuple(notes))


def stages_grid(comparison: Comparison, stages: Sequence[Stage], title: str) -> Grid:
    """One row per top-level stage; per item its output, params and MACs (ratios against the first item)."""
    items = comparison.items
    header = ["Stage"]
    for item in items:
        header += [f"{item.label}\nOutput", "Params", "MACs"]
    rows = []
    for stage in stages:
        row: List[Cell] = [stage.name]
        for i, (r, ratios) in enumerate(zip(stage.rows, stage.ratios)):
            if r is None:
                row += ["", "", ""]
                continue
            cells = [value_text("count", r.params), value_text("count", r.macs)]
            if i and ratios is not None:
                cells = [(cells[0], ratios["params"]), (cells[1], ratios["macs"])]
            row += [value_text("shape", r.output)] + cells
        rows.append(row)
    total = ["total"]
    for i, item in enumerate(items):
        total += [value_text("shape", item.values["output"]), metric_cell(item, "params", i == 0),
                  metric_cell(item, "macs", i == 0)]
    return Grid(title, header, rows + [total], _notes(comparison))


def _notes(comparison: Comparison) -> Tuple[str, ...]:
    notes = []
    if len(comparison.items) > 1:
        notes.append(f"ratios (×) are against the first: {comparison.items[0].label}")
    if any(not item.values["receptive_field"].aligned for item in comparison.items):
        notes.append(units.MISALIGNED_NOTE)
    return tuple(notes)


# -- layout ------------------------------------------------------------------------------------------------------
def render_table(grid: Grid):
    """A rich renderable; ratios above 1 (more expensive than the first) in bold red, below 1 in green."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    table = Table(title=grid.title, title_justify="left", header_style="bold", pad_edge=False)
    for i, name in enumerate(grid.header):
        table.add_column(name, justify="left" if i == 0 else "right")
    for row in grid.rows:
        cells = []
        for cell in row:
            if isinstance(cell, tuple):
                text, r = cell
                style = "dim" if r is None or r == 1 else ("bold red" if r > 1 else "green")
                cells.append(Text(text + " ").append(ratio_text(r), style=style))
            else:
                cells.append(Text(cell))
        table.add_row(*cells)
    return Group(table, *[Text(note, style="dim") for note in grid.notes])


def render_markdown(grid: Grid) -> str:
    def plain(cell: Cell) -> str:
        text = f"{cell[0]} ({ratio_text(cell[1])})" if isinstance(cell, tuple) else cell
        return text.replace("|", "\\|").replace("\n", " ")

    lines = [f"### {grid.title}", "", "| " + " | ".join(plain(h) for h in grid.header) + " |",
             "|" + "|".join(["---"] + ["---:"] * (len(grid.header) - 1)) + "|"]
    lines += ["| " + " | ".join(plain(c) for c in row) + " |" for row in grid.rows]
    if grid.notes:
        lines += [""] + [f"{note}." for note in grid.notes]
    return "\n".join(lines) + "\n"


# -- exact data ------------------------------------------------------------------------------------------------
def _json_value(key: str, value: Any) -> Any:
    kind = BY_KEY[key].kind
    return receptive_field(value) if kind == "rf" else list(value) if kind == "shape" else value


def comparison_dict(comparison: Comparison, stages: Optional[Sequence[Stage]] = None) -> Dict[str, Any]:
    """The JSON object: every metric exactly, ratios to the first item, the stages when given, errors."""
    items = comparison.items
    first = items[0].analysis if items else None
    data: Dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "batch": first.batch if first else None, "dtype": first.dtype if first else None,
        "items": [{
            "label": item.label, "name": item.analysis.network.name, "source": item.analysis.network.source,
            "input": list(item.analysis.network.input), "settings": item.variant.settings,
            "values": {k: _json_value(k, v) for k, v in item.values.items()}, "ratios": item.ratios,
        } for item in items],
    }
    if comparison.device is not None and first is not None:
        d = comparison.device
        data["device"] = {"name": d.name, "description": d.description, "file": d.file,
                          "peak_flops": d.peak_for(first.dtype), "bandwidth_bytes": d.bandwidth.value}
    if stages is not None:
        data["stages"] = [{"name": s.name, "items": [None if r is None else {
            "output": list(r.output), "params": r.params, "macs": r.macs, "flops": r.flops, "layers": r.layers,
        } for r in s.rows]} for s in stages]
    data["errors"] = [{"message": e.message, "location": str(e.loc) if e.loc else None} for e in comparison.errors]
    return data


def render_csv(comparison: Comparison) -> str:
    """One row per item: its settings, every metric exactly, then each ratio to the first item."""
    items = comparison.items
    settings = list(dict.fromkeys(k for item in items for k in item.variant.settings if k != "input"))
    metrics = shown_metrics(comparison)
    ratio_keys = [m.key for m in metrics if m.kind in RATIO_KINDS]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["label", "name", "input"] + settings + [m.key for m in metrics] + [f"{k}_ratio" for k in ratio_keys])
    for item in items:
        values = []
        for m in metrics:
            v = item.values[m.key]
            if m.kind == "shape":
                v = "x".join(map(str, v))
            elif m.kind == "rf":
                v = "global" if v.is_global else _axes_cell(v.size)
            values.append(v)
        s = item.variant.settings
        writer.writerow([item.label, item.analysis.network.name, "x".join(map(str, item.analysis.network.input))]
                        + [setting_text(s.get(k, "")) for k in settings] + values
                        + ["" if item.ratios[k] is None else round(item.ratios[k], 6) for k in ratio_keys])
    return out.getvalue()
