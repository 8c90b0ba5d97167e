"""`cnncalc diagram`: the network as a Mermaid, DOT or SVG graph."""
from __future__ import annotations

import click

from ..render.diagram import FORMATS
from .options import load_network, spec_options


@click.command()
@click.argument("spec", metavar="SPEC")
@spec_options
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)), default="mermaid", show_default=True,
              help="mermaid renders in GitHub, dot in Graphviz, svg anywhere (no Graphviz needed).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write to FILE instead of stdout.")
@click.option("--depth", type=click.IntRange(1, 64), help="Fold containers nested deeper than N levels into one box.")
def diagram(spec, input_shape, batch, sets, dtype, fmt, output, depth):
    """Draw the network: one box per layer (type, output shape, params), edges from the graph.

    Containers are framed and labelled, branches drawn in concatenation order, the main line straight;
    SVG boxes are shaded by their share of the MACs. --depth N folds blocks, repeats and residuals
    nested deeper than N levels into one box, as `summary --depth` folds rows. Without --depth a network
    too big for the format (Mermaid: 500 edges or 50,000 characters; SVG and DOT: 400 boxes) is folded
    as little as needed, with a note saying how to unfold it.

    \b
    Examples:
      cnncalc diagram resnet50 --depth 2 --format svg -o resnet50.svg
      cnncalc diagram net.yaml > net.mmd                      # Mermaid, for a pull request
      cnncalc diagram net.yaml --format dot | dot -Tpng > net.png
    """
    from ..render import diagram as render

    a = load_network(spec, sets, input_shape).analyze(batch=batch, dtype=dtype).complete()
    text, note = render.fitted(a, fmt, depth)
    if note:
        click.echo(f"note: {note}", err=True)
    if output:
        with open(output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        click.echo(text, nl=False)
