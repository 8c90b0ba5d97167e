"""`cnncalc explain`: why another tool's figure for a network differs from cnncalc's, rule by rule."""
from __future__ import annotations

import click

from .options import console, load_network, spec_options


@click.command()
@click.argument("spec", metavar="SPEC")
@click.option("--vs", "vs", required=True, metavar="NAME",
              help="The tool's convention: fvcore, ptflops, ptflops-aten, thop, torchinfo, torchscan, calflops, keras, "
                   "torchvision-metadata, paper.")
@spec_options
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table", show_default=True,
              help="Output format; json gives every rule's source.")
@click.option("--sources", is_flag=True, help="Add a column with each rule's source (file:lines of the tool).")
def explain(spec, vs, input_shape, batch, sets, dtype, fmt, sources):
    """Explain the gap between a tool's figure and cnncalc's, by layer type and counting rule.

    Each row is what one of the tool's rules adds to (or leaves out of) cnncalc's figure over the layers of one
    type; the rows sum exactly to the gap.

    \b
    Examples:
      cnncalc explain resnet50 --vs ptflops
      cnncalc explain mobilenet_v2 --vs thop --sources
      cnncalc explain vgg16 --vs torchscan --format json
    """
    from ..conventions import convention, explain as explained
    from ..render import explain as render

    conv = convention(vs, option="--vs")  # a bad name fails before the spec is read
    analysis = load_network(spec, sets, input_shape).analyze(batch=batch, dtype=dtype).complete()
    explanations = explained(analysis, conv)
    name = analysis.network.name
    if fmt == "json":
        click.echo(render.explain_json(name, explanations))
    elif fmt == "markdown":
        click.echo(render.explain_markdown(name, explanations), nl=False)
    else:
        out = console()
        for table in render.explain_tables(name, explanations, sources):
            out.print(table, crop=False)
