"""`cnncalc compare`: specs (or variants of one) side by side, block by block, or over a sweep grid.

Also the comparison renderers `cnncalc kernels` uses: a `Grid` of cells becomes a rich table or Markdown;
JSON and CSV carry the exact numbers.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import click

from ._common import Failure, console, parse_set, parse_shape, read_spec, reports_errors, spec_options

Cell = Any  # a str, or (text, ratio to the first item or None)


@dataclass
class Grid:
    """What a table shows: a title, column headers and rows of cells; renderers only lay it out."""

    title: str
    header: List[str]
    rows: List[List[Cell]]
    notes: Tuple[str, ...] = ()


# -- cells -------------------------------------------------------------------------------------------------------
def value_text(kind: str, value: Any) -> str:
    from ..render import units

    if kind == "shape":
        return units.shape(value)
    if kind == "bytes":
        return units.human_bytes(value)
    if kind == "rf":
        return units.axes(value.size) + ("" if value.aligned else " †")
    return str(value) if kind == "layers" else units.human(value)


def metric_cell(item, key: str, first: bool) -> Cell:
    from ..compare import BY_KEY

    text = value_text(BY_KEY[key].kind, item.values[key])
    return text if first or key not in item.ratios else (text, item.ratios[key])


def ratio_text(r: Optional[float]) -> str:
    return "–" if r is None else f"{r:.2f}×"


# -- grids -----------------------------------------------------------------------------------------------------
def columns_grid(comparison, keys: Sequence[str], title: str) -> Grid:
    """One column per item, one row per metric (`compare A B C`)."""
    from ..compare import BY_KEY

    items = comparison.items
    rows = [[BY_KEY[k].label] + [metric_cell(item, k, i == 0) for i, item in enumerate(items)] for k in keys]
    return Grid(title, [""] + [item.label for item in items], rows, _notes(comparison))


def rows_grid(comparison, keys: Sequence[str], title: str, lead: Sequence[str], lead_cells) -> Grid:
    """One row per item (sweeps, kernels): leading columns from `lead_cells(item)`, then the metrics."""
    from ..compare import BY_KEY

    rows = [list(lead_cells(item)) + [metric_cell(item, k, i == 0) for k in keys]
            for i, item in enumerate(comparison.items)]
    return Grid(title, list(lead) + [BY_KEY[k].label for k in keys], rows, _notes(comparison))


def stages_grid(comparison, title: str) -> Grid:
    """One row per top-level stage; per item its output, params and MACs (ratios against the first item)."""
    from ..compare import stages, ratio

    items = comparison.items
    header = ["Stage"]
    for item in items:
        header += [f"{item.label}\nOutput", "Params", "MACs"]
    rows = []
    for stage in stages(comparison):
        base = stage.rows[0]
        row: List[Cell] = [stage.name]
        for i, r in enumerate(stage.rows):
            if r is None:
                row += ["", "", ""]
                continue
            cells = [value_text("count", r.params), value_text("count", r.macs)]
            if i and base is not None:
                cells = [(cells[0], ratio(r.params, base.params)), (cells[1], ratio(r.macs, base.macs))]
            row += [value_text("shape", r.output)] + cells
        rows.append(row)
    total = ["total"]
    for i, item in enumerate(items):
        total += [value_text("shape", item.values["output"]), metric_cell(item, "params", i == 0),
                  metric_cell(item, "macs", i == 0)]
    return Grid(title, header, rows + [total], _notes(comparison))


def _notes(comparison) -> Tuple[str, ...]:
    notes = []
    if len(comparison.items) > 1:
        notes.append(f"ratios (×) are against the first: {comparison.items[0].label}")
    if any(not item.values["receptive_field"].aligned for item in comparison.items):
        notes.append("† merged paths are misaligned (different strides or centres): the largest field is shown")
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
    from ..compare import BY_KEY
    from ..render.data import receptive_field

    kind = BY_KEY[key].kind
    return receptive_field(value) if kind == "rf" else list(value) if kind == "shape" else value


def comparison_dict(comparison, by_stage: bool = False) -> Dict[str, Any]:
    """The JSON object: every metric exactly, ratios to the first item, stages on request, errors."""
    from ..compare import stages
    from ..render.data import SCHEMA_VERSION

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
    if by_stage:
        data["stages"] = [{"name": s.name, "items": [None if r is None else {
            "output": list(r.output), "params": r.params, "macs": r.macs, "flops": r.flops, "layers": r.layers,
        } for r in s.rows]} for s in stages(comparison)]
    data["errors"] = [{"message": e.message, "location": str(e.loc) if e.loc else None} for e in comparison.errors]
    return data


def render_csv(comparison) -> str:
    """One row per item: its settings, every metric exactly, then each ratio to the first item."""
    from ..compare import METRICS, RATIO_KINDS, setting_text
    from ..render.text import _axes_cell

    items = comparison.items
    settings = list(dict.fromkeys(k for item in items for k in item.variant.settings if k != "input"))
    ratio_keys = [m.key for m in METRICS if m.kind in RATIO_KINDS]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["label", "name", "input"] + settings + [m.key for m in METRICS] + [f"{k}_ratio" for k in ratio_keys])
    for item in items:
        values = []
        for m in METRICS:
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


def emit(comparison, grid: Grid, fmt: str, by_stage: bool = False) -> None:
    """Print in the chosen format, then fail with every located error (exit 2) if any spec failed."""
    if comparison.items:
        if fmt == "table":
            console().print(render_table(grid))
        elif fmt == "markdown":
            click.echo(render_markdown(grid), nl=False)
        elif fmt == "json":
            click.echo(json.dumps(comparison_dict(comparison, by_stage), indent=2))
        else:
            click.echo(render_csv(comparison), nl=False)
    if comparison.errors:
        raise Failure("\n".join(e.format() for e in comparison.errors), 2)


FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "markdown"]), default="table",
                      show_default=True, help="Output format; json/csv give exact integers.")
COMPARE_KEYS = ("output", "params", "macs", "flops", "param_bytes", "peak_activation_bytes", "receptive_field",
                "local_receptive_field", "depth", "weighted_layers")
SWEEP_KEYS = ("output", "params", "macs", "flops", "param_bytes", "peak_activation_bytes")


@click.command()
@click.argument("specs", nargs=-1, required=True, metavar="SPEC[@NAME=VALUE,...]...")
@spec_options
@click.option("--by-stage", is_flag=True, help="Compare top-level blocks and layers, matched by name.")
@click.option("--sweep", "sweeps", multiple=True, metavar="NAME=V1,V2,...",
              help="Analyse one SPEC over a grid of values (repeatable; input=160 sets every spatial size).")
@FORMAT
@reports_errors
def compare(specs, input_shape, batch, sets, dtype, by_stage, sweeps, fmt):
    """Compare specs side by side: output, params, MACs, FLOPs, memory, receptive field and depth.

    A SPEC is a file, a zoo name or -, optionally with variable overrides after '@': NAME=VALUE pairs
    (like --set) and input=C,H,W, or input=N to set every spatial size and keep the channels; they
    take precedence over --set and --input, which apply to every SPEC. Ratios are against the first. Depth counts conv and dense layers on the longest path (ResNet-50: 50).

    \b
    Examples:
      cnncalc compare resnet34 resnet50
      cnncalc compare mobilenet_v2 mobilenet_v2@alpha=0.5 mobilenet_v2@input=3,160,160
      cnncalc compare resnet50 resnet50@input=160 --by-stage
      cnncalc compare mobilenet_v2 --sweep alpha=0.35,0.5,0.75,1.0 --sweep input=128,160,192,224
    """
    from ..compare import collect, load_variant, parse_sweep, parse_variant, setting_text, sweep_variants

    base_vars, base_input = parse_set(sets), parse_shape(input_shape)
    variants = [parse_variant(s).over(base_vars, base_input) for s in specs]
    if sweeps:
        if len(variants) != 1 or by_stage:
            raise click.UsageError("--sweep takes exactly one SPEC and no --by-stage")
        grid_points = sweep_variants(variants[0], [parse_sweep(s) for s in sweeps])
        if len(grid_points) > 1024:
            raise click.UsageError(f"--sweep grid has {len(grid_points)} points; at most 1024")
        variants = grid_points
    texts = {"-": read_spec("-")[1]} if any(v.spec == "-" for v in variants) else {}  # stdin, read once
    result = collect(variants, batch=batch, dtype=dtype, load=lambda v: load_variant(v, texts))
    title = f"batch {batch}, {dtype}"
    if sweeps:
        names = [s.partition("=")[0].strip() for s in sweeps]
        grid = rows_grid(result, SWEEP_KEYS, f"{variants[0].spec} sweep — {title}", names,
                         lambda item: [setting_text(item.variant.settings[n], "×") for n in names])
    elif by_stage:
        grid = stages_grid(result, f"By stage — {title}")
    else:
        grid = columns_grid(result, COMPARE_KEYS, f"Comparison — {title}")
    emit(result, grid, fmt, by_stage)

