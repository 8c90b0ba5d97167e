"""`cnncalc summary`: the per-layer table and totals of one or more specs."""
from __future__ import annotations

import click

from ..errors import OptionError, SpecError
from .options import Failure, console, load_network, spec_options


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
def summary(specs, input_shape, batch, sets, dtype, fmt, depth, columns, width, full_names, bars):
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
    """
    if bars and fmt != "table":
        raise click.BadParameter("--bars draws in the terminal: use it with --format table", param_hint="--bars")
    chosen = ()
    if columns.strip():
        from ..render.table import OPTIONAL_COLUMNS

        chosen = OPTIONAL_COLUMNS if columns.strip() == "all" else \
            tuple(c.strip() for c in columns.split(",") if c.strip())
        for c in chosen:
            if c not in OPTIONAL_COLUMNS:
                raise click.BadParameter(f"unknown column {c!r}; choose from {', '.join(OPTIONAL_COLUMNS)}",
                                         param_hint="--columns")
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
    if fmt == "json" and failed:
        from ..render.text import failure_dict

        for at, spec, e in failed:  # every spec gets its object, in order, with the documented `error`
            analyses.insert(at, failure_dict(spec, e, batch, dtype))
    if not analyses:
        pass
    elif fmt == "table":
        from ..render.table import summary_table

        out = console(width=width)
        for a in analyses:
            if bars:
                from ..render.bars import bars_table
                from ..render.table import totals_panel

                out.print(bars_table(a, depth), *([totals_panel(a, out.width)] if a.totals else []))
            else:
                out.print(summary_table(a, depth=depth, columns=chosen, width=out.width, full_names=full_names),
                          crop=False)
    else:
        from ..render import text

        render = {"json": text.render_json, "csv": text.render_csv,
                  "markdown": lambda items: text.render_markdown(items, depth)}[fmt]
        click.echo(render(analyses), nl=False)
    if failures:
        raise Failure("\n".join(failures), 2)
