"""`cnncalc kernels`: one F×F convolution against the alternatives with the same receptive field."""
from __future__ import annotations

from typing import List

import click

from ._common import reports_errors
from .compare import FORMAT, emit, rows_grid

KEYS = ("output", "params", "macs", "receptive_field", "weighted_layers", "nonlinearities")


@click.command()
@click.option("--size", type=click.IntRange(3, 99), default=7, show_default=True, help="Kernel size F (odd).")
@click.option("--channels", type=click.IntRange(1, 1 << 16), default=64, show_default=True, help="Input channels.")
@click.option("--out", type=click.IntRange(1, 1 << 16), help="Output channels  [default: --channels]")
@click.option("--input", "size_in", type=click.IntRange(1, 1 << 14), default=56, show_default=True,
              help="Spatial size of the (square) input.")
@click.option("--stride", type=click.IntRange(1, 16), default=1, show_default=True,
              help="Stride (on the last spatial conv of each alternative).")
@click.option("--mid", type=click.IntRange(1, 1 << 16), help="Bottleneck channels  [default: channels / 4]")
@FORMAT
@reports_errors
def kernels(size, channels, out, size_in, stride, mid, fmt):
    """Compare one F×F conv with the alternatives that see the same F×F receptive field.

    A stack of (F − 1) / 2 3×3 convs (a ReLU after each), 1×F then F×1, one 3×3 dilated (F − 1) / 2,
    depthwise F×F + pointwise 1×1, and a 1×1 bottleneck in front: params, MACs, receptive field and
    nonlinearities, with ratios to the single F×F conv (bias-free, as a batch norm follows in practice).
    Each is a spec in specs/compare/ for `summary` and `compare`.

    \b
    Examples:
      cnncalc kernels --size 7 --channels 64
      cnncalc kernels --size 5 --channels 64 --out 128      # where a stack is not cheaper
    """
    from ..kernels import compare_kernels

    result = compare_kernels(size, channels, out, size_in, stride, mid)
    out = channels if out is None else out
    title = f"Alternatives to one {size}×{size} conv, {channels} → {out} channels on {size_in}×{size_in}" + \
            (f", stride {stride}" if stride > 1 else "")
    grid = rows_grid(result, KEYS, title, ["Alternative"], lambda item: [item.label])
    grid.notes += tuple(claims(result, size))
    emit(result, grid, fmt)


def claims(result, size: int) -> List[str]:
    """What the table says in words: the stacking claim, every alternative that is not cheaper, the dilation gaps."""
    from ..kernels import same_field

    items = result.items
    if len(items) < 2:
        return []
    base, notes = items[0], []
    for item in items[1:]:
        r, v = item.ratios, item.values
        if not same_field(item, base):
            notes.append(f"✗ {item.label} does not see the same receptive field")
        if item.variant.spec.endswith("stack3x3.yaml"):
            notes.append(f"{item.label}: the same {size}×{size} receptive field as one {size}×{size} conv, "
                         f"{percent(r['params'])} parameters, {percent(r['macs'])} MACs, "
                         f"{v['nonlinearities']} nonlinearities instead of {base.values['nonlinearities']}")
        if r["params"] > 1 or r["macs"] > 1:
            notes.append(f"not cheaper: {item.label} has {percent(r['params'])} parameters and "
                         f"{percent(r['macs'])} MACs compared with one {size}×{size} conv")
        if item.variant.spec.endswith("dilated.yaml"):
            notes.append(f"{item.label} reads 9 of the {size * size} positions of its {size}×{size} window per channel")
    return notes


def percent(r: float) -> str:
    """0.551 → '−45 %', 1.08 → '+8 %' (of the single conv's figure)."""
    change = round((r - 1) * 100)
    return f"{'+' if change > 0 else '−' if change < 0 else '±'}{abs(change)} %"
