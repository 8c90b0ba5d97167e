"""`cnncalc export`: a spec as a readable, self-contained PyTorch module."""
from __future__ import annotations

import click

from .options import Failure, load_network


@click.command()
@click.argument("spec", metavar="SPEC")
@click.option("--to", "target", type=click.Choice(["pytorch"]), default="pytorch", show_default=True,
              help="Framework to write code for.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write to FILE instead of stdout.")
@click.option("--input", "input_shape", metavar="C,H,W", help="Override the spec's input shape (no batch).")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE", help="Override a spec variable (repeatable).")
def export(spec, target, output, input_shape, sets):
    """Write SPEC as a PyTorch module: one nn.Module class named after the spec, submodules named after its layers
    (state_dict keys are cnncalc's weight keys), blocks as classes, repeats as loops. The file imports only torch.

    \b
    Examples:
      cnncalc export resnet50 --to pytorch -o resnet50.py
      cnncalc export net.yaml --set width=32 | python -c 'import sys; exec(sys.stdin.read())'
    """
    try:
        from ..torch import export as codegen
    except ImportError as e:
        raise Failure(f"error: cnncalc export needs PyTorch: {e}\n  hint: pip install 'cnncalc[torch]'", 2) from None
    code = codegen.export(load_network(spec, sets, input_shape))
    if output is None:
        click.echo(code, nl=False)
        return
    with open(output, "w", encoding="utf-8") as f:
        f.write(code)
    click.echo(f"wrote {output}", err=True)
