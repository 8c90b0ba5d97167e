"""`cnncalc diff`: what changed between two networks — layers, stages, totals, receptive field and peak memory."""
from __future__ import annotations

from pathlib import Path

import click

from .options import spec_options


def load_side(arg: str, base_vars, base_input, batch: int, dtype: str, stdin_source=None):
    """One side of the diff: a file, zoo name, variant (`net@width=32`), '-' or REV:PATH → (analysis, file or None).

    The file is the spec's path when it is a file in the working tree (GitHub annotations can point into it)."""
    from ..compare import parse_variant, revision
    from ..core.load import load

    variant = parse_variant(arg).over(base_vars, base_input)
    spec = variant.spec
    at = revision.split(spec)
    source = revision.read(*at) if at else stdin_source if spec == "-" else spec
    analysis = load(source, vars=dict(variant.vars), input=variant.input).analyze(batch=batch, dtype=dtype)
    return analysis.complete(), (spec if not at and spec != "-" and Path(spec).is_file() else None)


@click.command()
@click.argument("old", metavar="OLD")
@click.argument("new", metavar="NEW")
@spec_options
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json", "github"]), default="text",
              show_default=True, help="markdown for a pull-request comment, github for Actions annotations.")
@click.option("--all", "all_layers", is_flag=True, help="List unchanged layers and stages too (text).")
@click.option("--exit-code", is_flag=True, help="Exit 1 when the networks differ (as `git diff --exit-code`).")
def diff(old, new, input_shape, batch, sets, dtype, fmt, all_layers, exit_code):
    """Show what changed from OLD to NEW: layers added, removed, changed and renamed, per-stage and total deltas.

    OLD and NEW are spec files, zoo names, variants (NAME=VALUE settings after '@', as for `compare`), - for
    standard input, or REV:PATH for a file at a git revision (`git show REV:PATH`; PATH from the repository's
    root, ./PATH from the working directory). Layers are matched by name, then by structure, so a renamed stage is
    a rename, not a removal. --set and --input apply to both sides.

    \b
    Examples:
      cnncalc diff resnet50 resnet101
      cnncalc diff mobilenet_v2 mobilenet_v2@alpha=0.75,input=192
      cnncalc diff main:models/net.yaml models/net.yaml --format markdown
    """
    from ..compare.diff import diff as compute
    from ..core.load import open_spec
    from ..render import diff as render
    from ..spec.options import parse_sets, parse_shape

    base_vars = parse_sets(sets)
    base_input = parse_shape(input_shape, option="--input") if input_shape is not None else None
    stdin = open_spec("-") if "-" in (old.rpartition("@")[0] or old, new.rpartition("@")[0] or new) else None
    a, _ = load_side(old, base_vars, base_input, batch, dtype, stdin)
    b, new_file = load_side(new, base_vars, base_input, batch, dtype, stdin)
    d = compute(a, b)
    if fmt == "text":
        out = render.render_text(d, old, new, all_layers)
    elif fmt == "markdown":
        out = render.render_markdown(d, old, new)
    elif fmt == "json":
        out = render.render_json(d, old, new)
    else:
        out = render.render_github(d, old, new, new_file)
    click.echo(out, nl=False)
    if exit_code and d.changed:
        raise click.exceptions.Exit(1)
