"""`cnncalc report`: a self-contained interactive HTML report of one or more specs (side by side)."""
from __future__ import annotations

import click

from ..errors import OptionError, SpecError
from .options import Failure, load_network, spec_options


@click.command()
@click.argument("specs", nargs=-1, required=True, metavar="SPEC...")
@spec_options
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), required=True,
              help="The HTML file to write.")
def report(specs, input_shape, batch, sets, dtype, output):
    """Write one HTML file: the layer table (sortable, foldable by block), the diagram (pan, zoom, boxes
    coloured by MACs, params, FLOPs or activation bytes), per-layer bars, the totals and the receptive
    field against depth. Several SPECs are shown side by side. The file needs no network to open.

    \b
    Examples:
      cnncalc report resnet50 -o resnet50.html
      cnncalc report resnet50 mobilenet_v2 -o side-by-side.html
    """
    from ..render.report import report_html

    analyses, failures = [], []
    for spec in specs:
        try:
            a = load_network(spec, sets, input_shape).analyze(batch=batch, dtype=dtype)
        except OptionError:
            raise
        except SpecError as e:
            failures.append(e.format())
            continue
        analyses.append(a)
        if a.error is not None:
            failures.append(a.error.format())
    if analyses:
        with open(output, "w", encoding="utf-8") as f:
            f.write(report_html(analyses))
    if failures:
        raise Failure("\n".join(failures), 2)
