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
    """Write a cnncalc spec for FILE: a Darknet .cfg, a Caffe .prototxt, an ONNX .onnx file, or a PyTorch module
    made by FILE.py:FACTORY (needs torch and --input).

    FILE.py:FACTORY RUNS THAT FILE'S CODE: it imports FILE.py as a module and calls FACTORY() for the nn.Module to
    trace (torch.fx, or forward hooks where tracing fails). Use it only on code you trust; every other format is
    only read.

    Layer names come from the file; repeated structure is folded into blocks with arguments and `repeat:`;
    a header names the source and what was folded. `cnncalc summary FILE` (and lint, compare, diagram) read
    these files directly; import when you want a spec to read and edit.

    \b
    Examples:
      cnncalc import yolov3-tiny.cfg -o yolov3-tiny.yaml
      cnncalc import resnet50.onnx --input 3,224,224 > resnet50.yaml
      cnncalc import my_models.py:make_net --input 3,32,32 -o net.yaml
    """
    from ..importers import spec_text
    from ..spec.options import parse_shape

    shape = parse_shape(input_shape, option="--input") if input_shape is not None else None
    if ".py:" in model:
        text = _from_python(model, shape, flat)
    else:
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


def _from_python(ref: str, shape, flat: bool) -> str:
    """FILE.py:FACTORY → the module FACTORY() returns, as a spec. This runs FILE.py: the one importer that does."""
    import importlib.util
    import sys
    from pathlib import Path

    path, _, factory = ref.rpartition(":")
    if shape is None:
        raise Failure(f"error: {ref}: a module has no input shape of its own\n  hint: give one: --input 3,224,224", 2)
    if not Path(path).is_file():
        raise Failure(f"error: no such file: {path}", 2)
    try:
        from ..torch import to_spec
    except ImportError as e:
        raise Failure(f"error: importing a PyTorch module needs torch: {e}\n  hint: pip install 'cnncalc[torch]'", 2) from None
    spec = importlib.util.spec_from_file_location(Path(path).stem, path)
    code = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(Path(path).resolve().parent))  # the file may import its neighbours
    try:
        spec.loader.exec_module(code)
    finally:
        sys.path.pop(0)
    make = getattr(code, factory, None)
    if not callable(make):
        raise Failure(f"error: {path} has no function or class '{factory}'", 2)
    return to_spec(make(), shape, fold=not flat, name=factory, source=ref)
