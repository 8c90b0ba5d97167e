"""`cnncalc import`: a model file of another framework → an editable cnncalc spec."""
from __future__ import annotations

import click

from .options import Failure


@click.command("import")
@click.argument("model", metavar="FILE")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write to FILE instead of stdout.")
@click.option("--input", "input_shape", metavar="C,H,W", help="The input shape (no batch), for a file whose sizes are dynamic.")
@click.option("--flat", is_flag=True, help="One row per layer: fold no blocks or repeats.")
def import_(model, output, input_shape, flat):
    """Write a cnncalc spec for FILE: a Darknet .cfg, a Caffe .prototxt or an ONNX .onnx file (needs `onnx`).

    Layer names come from the file; repeated structure is folded into blocks with arguments and `repeat:`;
    a header names the source and what was folded. `cnncalc summary FILE` (and lint, compare, diagram) read
    these files directly; import when you want a spec to read and edit.

    \b
    Examples:
      cnncalc import yolov3-tiny.cfg -o yolov3-tiny.yaml
      cnncalc import resnet50.onnx --input 3,224,224 > resnet50.yaml
    """
    from ..importers import spec_text
    from ..spec.options import parse_shape

    shape = parse_shape(input_shape, option="--input") if input_shape is not None else None
    text = spec_text(model, fold=not flat, input=shape)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        with open(output, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        raise Failure(f"error: cannot write {output}: {e.strerror}", 2) from None
    click.echo(f"wrote {output}", err=True)
