"""`cnncalc summary`: the per-layer table and totals of one or more specs."""
from __future__ import annotations

import click

from ..errors import OptionError, SpecError
from .options import Failure, console, load_network, spec_options

COLUMNS = ("flops", "buffers", "memory", "stride", "inputs")


@click.command()
@click.argument("specs", nargs=-1, required=True, metavar="SPEC...")
@spec_options
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "markdown"]), default="table",
              show_default=True, help="Output format; json/csv/markdown give exact integers.")
@click.option("--depth", type=click.IntRange(1, 64), help="Fold containers nested deeper than N levels into one row.")
@click.option("--columns", "columns", metavar="LIST", default="",
              help=f"Extra table columns, comma-separated: {', '.join(COLUMNS)} (or 'all').")
@click.option("--bars", is_flag=True, help="Instead of the table, bars of each layer's params and MACs.")
@click.option("--convention", metavar="NAME", help="Count as another tool does (fvcore, ptflops, thop, torchinfo, "
              "torchscan, calflops, keras, …): its figures per layer and in total (table, or a 'convention' in JSON).")
def summary(specs, input_shape, batch, sets, dtype, fmt, depth, columns, bars, convention):
    """Show every layer's output shape, parameters, MACs, FLOPs, memory and receptive field.

    SPEC is a YAML file, a bundled network's name (see `cnncalc zoo`), or - for standard input.

    \b
    Examples:
      cnncalc summary resnet50
      cnncalc summary net.yaml --set width=32 --input 3,160,160
      cnncalc summary net.yaml --format json | jq .totals.macs
      cnncalc summary net.yaml --depth 1 --columns flops,memory
      cnncalc summary resnet50 --bars --depth 2
      cnncalc summary resnet50 --convention fvcore
    """
    if bars and fmt != "table":
        raise click.BadParameter("--bars draws in the terminal: use it with --format table", param_hint="--bars")
    chosen = COLUMNS if columns.strip() == "all" else tuple(c.strip() for c in columns.split(",") if c.strip())
    for c in chosen:
        if c not in COLUMNS:
            raise click.BadParameter(f"unknown column {c!r}; choose from {', '.join(COLUMNS)}", param_hint="--columns")
    if convention is not None:
        from ..conventions import convention as find_convention

        convention = find_convention(convention)
        if fmt not in ("table", "json") or bars:
            raise click.BadParameter("a convention is shown as a table or JSON", param_hint="--convention")
    analyses, failures = [], []
    for spec in specs:
        try:
            a = load_network(spec, sets, input_shape).analyze(batch=batch, dtype=dtype)
        except OptionError:  # a bad option is wrong for every spec
            raise
        except SpecError as e:  # report it and go on with the other specs
            failures.append(e.format())
            continue
        analyses.append(a)
        if a.error is not None:
            failures.append(a.error.format())
    if not analyses:
        pass
    elif convention is not None:
        _show_convention([a for a in analyses if a.totals is not None], convention, fmt)
    elif fmt == "table":
        from ..render.table import summary_table

        out = console()
        for a in analyses:
            if bars:
                from ..render.bars import bars_table
                from ..render.table import totals_panel

                out.print(bars_table(a, depth), *([totals_panel(a)] if a.totals else []))
            else:
                out.print(summary_table(a, depth=depth, columns=chosen, width=out.width), crop=False)
    else:
        from ..render import text

        render = {"json": text.render_json, "csv": text.render_csv,
                  "markdown": lambda items: text.render_markdown(items, depth)}[fmt]
        click.echo(render(analyses), nl=False)
    if failures:
        raise Failure("\n".join(failures), 2)


def _show_convention(analyses, convention, fmt) -> None:
    """`--convention`: the tool's figures per layer and in total, or the JSON object with a "convention" added."""
    import json

    from ..conventions import count
    from ..render.data import analysis_dict
    from ..render.explain import counted_dict, counted_table

    counted = [count(a, convention) for a in analyses]
    if fmt == "json":
        data = [{**analysis_dict(c.analysis), "convention": counted_dict(c)} for c in counted]
        click.echo(json.dumps(data[0] if len(data) == 1 else data, indent=2))
        return
    out = console()
    for c in counted:
        out.print(*counted_table(c), crop=False)
