"""`cnncalc summary`: the per-layer table and totals of one or more specs."""
from __future__ import annotations

import click

from ..errors import OptionError, SpecError
from .device import device_option, load_profile
from .options import Failure, console, load_network, spec_options

DEVICE_COLUMNS = ("time", "bound")  # need --device; with it they (and intensity) are shown unasked


@click.command()
@click.argument("specs", nargs=-1, required=True, metavar="SPEC...")
@spec_options
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "markdown"]), default="table",
              show_default=True, help="Output format; json/csv/markdown give exact integers.")
@click.option("--depth", type=click.IntRange(1, 64), help="Fold containers nested deeper than N levels into one row.")
@click.option("--columns", "columns", metavar="LIST", default="",
              help="Extra table columns, comma-separated, or 'all' (`--columns ?` lists them). From 120 columns "
                   "on, FLOPs and activation memory join by themselves when they fit.")
@click.option("--width", type=click.IntRange(40, 1000), metavar="N",
              help="Lay the table out for N columns (default: the terminal's width; 140 into a file or pipe).")
@click.option("--full-names", is_flag=True,
              help="Label rows with their full dotted names instead of the tree (JSON and CSV always have them).")
@click.option("--bars", is_flag=True, help="Instead of the table, bars of each layer's params and MACs.")
@device_option
@click.option("--roofline", "roofline_file", metavar="FILE", type=click.Path(dir_okay=False, writable=True),
              help="With --device: also write a roofline chart (SVG) of the (first) spec to FILE.")
@click.option("--convention", metavar="NAME", help="Count as another tool does (fvcore, ptflops, thop, torchinfo, "
              "torchscan, calflops, keras, …): its figures per layer and in total (table, or a 'convention' in JSON).")
def summary(specs, input_shape, batch, sets, dtype, fmt, depth, columns, width, full_names, bars, device,
            roofline_file, convention):
    """Show every layer's output shape, parameters, MACs, FLOPs, memory and receptive field.

    SPEC is a YAML file, a bundled network's name (see `cnncalc zoo`), or - for standard input.

    \b
    Examples:
      cnncalc summary resnet50
      cnncalc summary net.yaml --set width=32 --input 3,160,160
      cnncalc summary net.yaml --format json | jq .totals.macs
      cnncalc summary net.yaml --depth 1 --columns flops,memory
      cnncalc summary resnet50 --bars --depth 2
      cnncalc summary inception_v3 --width 80 --full-names
      cnncalc summary mobilenet_v2 --device raspberry-pi-5 --roofline mnv2.svg
      cnncalc summary resnet50 --convention fvcore
    """
    if bars and fmt != "table":
        raise click.BadParameter("--bars draws in the terminal: use it with --format table", param_hint="--bars")
    chosen = ()
    if columns.strip():
        from ..render.table import ALL_COLUMNS, OPTIONAL_COLUMNS

        chosen = ALL_COLUMNS if columns.strip() == "all" else \
            tuple(c.strip() for c in columns.split(",") if c.strip())
        for c in chosen:
            if c not in OPTIONAL_COLUMNS:
                raise click.BadParameter(f"unknown column {c!r}; choose from {', '.join(OPTIONAL_COLUMNS)}",
                                         param_hint="--columns")
    if convention is not None:
        from ..conventions import convention as find_convention

        convention = find_convention(convention)
        if fmt not in ("table", "json") or bars or device:
            raise click.BadParameter("a convention is shown as a table or JSON, without --bars or --device",
                                     param_hint="--convention")
    profile = load_profile(device)
    if profile is None:
        if roofline_file:
            raise click.BadParameter("a roofline needs a device: add --device NAME|FILE", param_hint="--roofline")
        if any(c in DEVICE_COLUMNS for c in chosen):
            raise click.BadParameter("time and bound need --device NAME|FILE", param_hint="--columns")
    else:
        profile.peak_for(dtype)  # a dtype the profile lacks is a usage error before any work
        chosen = tuple(dict.fromkeys(chosen + ("intensity", "time", "bound")))
    analyses, failures, failed = [], [], []  # failed: (position, JSON object) of specs that did not load
    for spec in specs:
        try:
            a = load_network(spec, sets, input_shape).analyze(batch=batch, dtype=dtype)
        except OptionError as e:  # a bad option is wrong for every spec
            if fmt != "json" or not isinstance(e, SpecError) or e.option:
                raise
            failures.append(e.format())  # a bad value for this spec (an input of another rank): JSON says so too
            failed.append((len(analyses) + len(failed), spec, e))
            continue
        except SpecError as e:  # report it and go on with the other specs
            failures.append(e.format())
            failed.append((len(analyses) + len(failed), spec, e))
            continue
        analyses.append(a)
        if a.error is not None:
            failures.append(a.error.format())
    estimates = _estimates(analyses, profile)
    analyses_first = analyses[0] if analyses else None
    if profile is not None and fmt in ("json", "csv"):
        from ..render import roofline

        pairs = list(zip(analyses, estimates))
        click.echo((roofline.render_json if fmt == "json" else roofline.render_csv)(pairs), nl=False)
        analyses, failed = [], []  # written, with the estimate
    if fmt == "json" and failed:
        from ..render.text import failure_dict

        for at, spec, e in failed:  # every spec gets its object, in order, with the documented `error`
            analyses.insert(at, failure_dict(spec, e, batch, dtype))
    if not analyses:
        pass
    elif convention is not None:
        _show_convention([a for a in analyses if not isinstance(a, dict) and a.totals is not None], convention, fmt)
    elif fmt == "table":
        from ..render.table import summary_table

        out = console(width=width)
        for a, r in zip(analyses, estimates):
            if bars:
                from ..render.bars import bars_table
                from ..render.table import totals_panel

                times = None if r is None else [t.seconds for t in _row_times(a, r, depth)]
                out.print(bars_table(a, depth, out.width, times), *([totals_panel(a, out.width)] if a.totals else []), crop=False)
            else:
                out.print(summary_table(a, depth=depth, columns=chosen, width=out.width, full_names=full_names,
                                        extra_cells=_cells(a, r, depth, chosen)), crop=False)
            if r is not None:
                from ..render.roofline import totals_panel as estimate_panel

                out.print(estimate_panel(a, r))
    else:
        from ..render import text

        render = {"json": text.render_json, "csv": text.render_csv,
                  "markdown": lambda items: text.render_markdown(items, depth)}[fmt]
        click.echo(render(analyses), nl=False)
    if roofline_file and estimates and estimates[0] is not None:
        from pathlib import Path

        from ..render.roofline import roofline_svg

        Path(roofline_file).write_text(roofline_svg(analyses_first, estimates[0]), encoding="utf-8")
    if failures:
        raise Failure("\n".join(failures), 2)


def _estimates(analyses, profile):
    """The roofline of each complete analysis on the device (None without a device or for a partial analysis)."""
    if profile is None:
        return [None] * len(analyses)
    from ..core.roofline import estimate

    return [estimate(a, profile) if a.ok else None for a in analyses]


def _row_times(a, r, depth):
    from ..core.roofline import row_times

    return row_times(r, a.rows(depth))


def _cells(a, r, depth, chosen):
    """Cells of the traffic and time columns by column and row name (none of those columns chosen: None)."""
    from ..render import roofline

    if not a.ok or not any(c in roofline.TRAFFIC_COLUMNS + roofline.TIME_COLUMNS for c in chosen):
        return None
    from ..core.roofline import row_traffic
    from ..core.traffic import traffic

    rows = a.rows(depth)
    cells = roofline.traffic_cells(row_traffic(traffic(a), rows))
    if r is not None:
        cells.update(roofline.time_cells(_row_times(a, r, depth)))
    return {column: {row.name: cell for row, cell in zip(rows, column_cells)} for column, column_cells in cells.items()}


def _show_convention(analyses, convention, fmt) -> None:
    """`--convention`: the tool's figures per layer and in total, or the JSON object with a "convention" added."""
    from ..conventions import count
    from ..render.data import analysis_dict
    from ..render.explain import counted_dict, counted_table
    from ..render.jsonout import dumps

    counted = [count(a, convention) for a in analyses]
    if fmt == "json":
        data = [{**analysis_dict(c.analysis), "convention": counted_dict(c)} for c in counted]
        click.echo(dumps(data[0] if len(data) == 1 else data))
        return
    out = console()
    for c in counted:
        out.print(*counted_table(c), crop=False)
