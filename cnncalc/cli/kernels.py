"""`cnncalc kernels`: one F×F convolution against the alternatives with the same receptive field."""
from __future__ import annotations

import click

from ..compare.alternatives import claims, compare_kernels
from ..render.compare import rows_grid
from .compare import FORMAT, emit
from .device import device_option, load_profile

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
@click.option("--batch", type=click.IntRange(1, 1 << 20), default=1, show_default=True, help="Batch size.")
@click.option("--dtype", type=click.Choice(["float32", "float16", "bfloat16", "int8"]), default="float32",
              show_default=True, help="Element type (memory traffic and the device's peak).")
@device_option
@FORMAT
def kernels(size, channels, out, size_in, stride, mid, batch, dtype, device, fmt):
    """Compare one F×F conv with the alternatives that see the same F×F receptive field.

    A stack of (F − 1) / 2 3×3 convs (a ReLU after each), 1×F then F×1, one 3×3 dilated (F − 1) / 2,
    depthwise F×F + pointwise 1×1, and a 1×1 bottleneck in front: params, MACs, receptive field and
    nonlinearities, with ratios to the single F×F conv (bias-free, as a batch norm follows in practice).
    Each is a spec in specs/compare/ for `summary` and `compare`.

    \b
    Examples:
      cnncalc kernels --size 7 --channels 64
      cnncalc kernels --size 5 --channels 64 --out 128      # where a stack is not cheaper
      cnncalc kernels --size 7 --device a100 --dtype float16  # estimated time beside the MACs
    """
    profile = load_profile(device)
    if profile is not None:
        profile.peak_for(dtype)
    result = compare_kernels(size, channels, out, size_in, stride, mid, batch=batch, dtype=dtype, device=profile)
    title = (f"Alternatives to one {size}×{size} conv, {channels} → {channels if out is None else out} channels "
             f"on {size_in}×{size_in}" + (f", stride {stride}" if stride > 1 else "")
             + (f", batch {batch}" if batch > 1 else "") + (f", {dtype}" if dtype != "float32" else "")
             + (f", on {profile.name}" if profile else ""))
    keys = KEYS + (("bytes_moved", "time", "memory_bound_share") if profile else ())
    grid = rows_grid(result, keys, title, ["Alternative"], lambda item: [item.label], claims(result, size))
    emit(result, grid, fmt)
