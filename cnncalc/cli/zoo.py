"""`cnncalc zoo`: the bundled networks with their input, parameters, MACs, output and source."""
from __future__ import annotations

import json

import click

from .options import console


def markdown(entries) -> str:
    """The zoo as a Markdown table (the README's zoo section is this output, checked by the tests)."""
    from .. import units

    lines = ["| Network | Input | Params | MACs | Output | Source |", "|---|---|---:|---:|---|---|"]
    for e in entries:
        lines.append(f"| `{e.name}` | {units.shape(e.input)} | {e.params:,} | {e.macs:,} | {units.shape(e.output)} | {e.source} |")
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--format", "fmt", type=click.Choice(["table", "markdown", "json"]), default="table", show_default=True,
              help="Output format; markdown and json give exact integers.")
def zoo(fmt):
    """List the bundled networks: input, parameters, MACs (batch 1), output shape and source.

    Each name works wherever a spec does; variants preset the spec's vars, and --set still overrides them.

    \b
    Examples:
      cnncalc zoo
      cnncalc summary vgg16_bn --depth 2
      cnncalc summary mobilenet_v2 --set alpha=0.5 --input 3,160,160
      cnncalc zoo --format json | jq '.[] | select(.params < 5000000) | .name'
    """
    from ..core.catalogue import catalogue

    entries = catalogue()
    if fmt == "markdown":
        click.echo(markdown(entries), nl=False)
    elif fmt == "json":
        click.echo(json.dumps([{**e._asdict(), "input": list(e.input), "output": list(e.output)} for e in entries], indent=2))
    else:
        from rich.table import Table

        from .. import units

        table = Table(header_style="bold", pad_edge=False)
        for title, justify in (("Network", "left"), ("Input", "right"), ("Params", "right"), ("MACs", "right"),
                               ("Output", "right"), ("Source", "left")):
            table.add_column(title, justify=justify)
        for e in entries:
            table.add_row(e.name, units.shape(e.input), units.human(e.params), units.human(e.macs),
                          units.shape(e.output), e.source)
        console().print(table)
