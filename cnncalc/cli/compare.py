"""`cnncalc compare`: specs (or variants of one) side by side, block by block, or over a sweep grid.

Also the output option and printing that `cnncalc kernels` shares.
"""
from __future__ import annotations

import json
from math import prod
from typing import Optional, Sequence

import click

from ..compare import DEVICE_METRICS, TRAIN_METRICS, Comparison, Stage, collect, parse_sweep, parse_variant, setting_text, stages, sweep_variants
from ..core.load import open_spec
from ..render.compare import (Grid, columns_grid, comparison_dict, render_csv, render_markdown, render_table,
                              rows_grid, stages_grid)
from ..spec.options import parse_sets, parse_shape
from .device import device_option, load_profile
from .options import Failure, console, spec_options

FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "markdown"]), default="table",
                      show_default=True, help="Output format; json/csv give exact integers.")
COMPARE_KEYS = ("output", "params", "macs", "flops", "param_bytes", "peak_activation_bytes", "receptive_field",
                "local_receptive_field", "depth", "weighted_layers")
SWEEP_KEYS = ("output", "params", "macs", "flops", "param_bytes", "peak_activation_bytes")
MAX_POINTS = 1024  # of a sweep grid


def emit(comparison: Comparison, grid: Grid, fmt: str, matched: Optional[Sequence[Stage]] = None,
         extra: Optional[dict] = None) -> None:
    """Print in the chosen format (JSON includes the `matched` stages, if any, and the `extra` keys), then fail with
    every located error (exit 2)."""
    if comparison.items or fmt == "json":  # JSON says what failed even when nothing could be compared
        if fmt == "table":
            console().print(render_table(grid))
        elif fmt == "markdown":
            click.echo(render_markdown(grid), nl=False)
        elif fmt == "json":
            click.echo(json.dumps({**comparison_dict(comparison, matched), **(extra or {})}, indent=2))
        else:
            click.echo(render_csv(comparison), nl=False)
    if comparison.errors:
        raise Failure("\n".join(e.format() for e in comparison.errors), 2)


@click.command()
@click.argument("specs", nargs=-1, required=True, metavar="SPEC[@NAME=VALUE,...]...")
@spec_options
@click.option("--by-stage", is_flag=True, help="Compare top-level blocks and layers, matched by name.")
@click.option("--sweep", "sweeps", multiple=True, metavar="NAME=V1,V2,...",
              help="Analyse one SPEC over a grid of values (repeatable; input=160 sets every spatial size).")
@FORMAT
@device_option
@click.option("--report", "report_path", type=click.Path(dir_okay=False, writable=True), metavar="FILE",
              help="Also write the networks side by side as one interactive HTML report (see `cnncalc report`).")
@click.option("--convention", metavar="NAME", help="Params, MACs and FLOPs as this tool counts them (fvcore, "
              "ptflops, thop, torchinfo, torchscan, calflops, keras, …); a figure the tool lacks stays cnncalc's.")
@click.option("--train", "train_", is_flag=True, help="Add one training step's cost at --batch: its FLOPs, the "
              "bytes saved for backward, weights + gradients + optimizer state, and the training peak (see `cnncalc "
              "train`).")
@click.option("--optimizer", type=click.Choice(["sgd", "momentum", "adam", "adamw", "rmsprop"]), default="adam",
              show_default=True, help="With --train: the optimizer.")
@click.option("--precision", type=click.Choice(["fp32", "fp16-mixed", "bf16-mixed"]), default="fp32",
              show_default=True, help="With --train: fp32, or half-precision activations with fp32 master weights.")
def compare(specs, input_shape, batch, sets, dtype, by_stage, sweeps, fmt, device, report_path, convention, train_,
            optimizer, precision):
    """Compare specs side by side: output, params, MACs, FLOPs, memory, receptive field and depth.

    A SPEC is a file, a zoo name or -, optionally with variable overrides after '@': NAME=VALUE pairs
    (like --set) and input=C,H,W, or input=N to set every spatial size and keep the channels; they
    take precedence over --set and --input, which apply to every SPEC. Ratios are against the first. Depth counts conv and dense layers on the longest path (ResNet-50: 50).

    \b
    Examples:
      cnncalc compare resnet34 resnet50
      cnncalc compare mobilenet_v2 mobilenet_v2@alpha=0.5 mobilenet_v2@input=3,160,160
      cnncalc compare resnet50 resnet50@input=160 --by-stage
      cnncalc compare mobilenet_v2 --sweep alpha=0.35,0.5,0.75,1.0 --sweep input=128,160,192,224
      cnncalc compare resnet50 mobilenet_v2 --device jetson-orin --dtype float16
      cnncalc compare resnet50 mobilenet_v2 --report side-by-side.html
      cnncalc compare resnet50 convnext_tiny --train --batch 64 --optimizer adamw --precision bf16-mixed
    """
    profile = load_profile(device)
    if profile is not None:
        profile.peak_for(dtype)
    base_vars = parse_sets(sets)
    base_input = parse_shape(input_shape, option="--input") if input_shape is not None else None
    variants = [parse_variant(s).over(base_vars, base_input) for s in specs]
    if sweeps:
        if len(variants) != 1 or by_stage:
            raise click.UsageError("--sweep takes exactly one SPEC and no --by-stage")
        grid_sweeps = [parse_sweep(s) for s in sweeps]
        points = prod(len(values) for _, values in grid_sweeps)  # counted before any point is made
        if points > MAX_POINTS:
            raise click.UsageError(f"--sweep grid has {points} points; at most {MAX_POINTS}")
        variants = sweep_variants(variants[0], grid_sweeps)
    sources = {"-": open_spec("-")} if any(v.spec == "-" for v in variants) else {}  # stdin, read once
    train = (optimizer, precision) if train_ else None
    result = collect(variants, batch=batch, dtype=dtype, sources=sources, device=profile, train=train)
    title = (f"batch {batch}, {dtype}" + (f", on {profile.name}" if profile else "")
             + (f"; training with {optimizer}, {precision}" if train else ""))
    extra = (tuple(m.key for m in DEVICE_METRICS) if profile else ()) + (
        tuple(m.key for m in TRAIN_METRICS) if train else ())
    extra_json = None
    if convention is not None:
        result, counted_as = _counted_as(result, convention)
        title += f"; {counted_as}"
        extra_json = {"convention": convention}
    matched = stages(result) if by_stage else None
    if sweeps:
        names = [name for name, _ in grid_sweeps]
        grid = rows_grid(result, SWEEP_KEYS + extra, f"{variants[0].spec} sweep — {title}", names,
                         lambda item: [setting_text(item.variant.settings[n], "×") for n in names])
    elif matched is not None:
        grid = stages_grid(result, matched, f"By stage — {title}")
    else:
        grid = columns_grid(result, COMPARE_KEYS + extra, f"Comparison — {title}")
    if report_path and result.items:
        from ..render.report import report_html

        with open(report_path, "w", encoding="utf-8") as f:
            f.write(report_html([item.analysis for item in result.items], labels=[item.label for item in result.items]))
    emit(result, grid, fmt, matched, extra_json)


def _counted_as(result: Comparison, name: str):
    """The comparison with params, MACs and FLOPs replaced by the tool's own figures (ratios recomputed), and a
    note saying which of the tool's metrics each row now holds."""
    from dataclasses import replace

    from ..compare import ratio
    from ..conventions import convention, count

    conv = convention(name)
    shown = {key: conv.headline(key) for key in ("params", "macs", "flops")}
    items = []
    for item in result.items:
        counted = count(item.analysis, conv)
        values = {**item.values, **{k: counted.totals[m.key] for k, m in shown.items() if m is not None}}
        items.append(replace(item, values=values))
    if items:
        first = items[0].values
        items = [replace(i, ratios={k: ratio(i.values[k], first[k]) for k in i.ratios}) for i in items]
    rows = ", ".join(f"{k} = {conv.name} '{m.label}'" if m else f"{k} = cnncalc's ({conv.name} has none)"
                     for k, m in shown.items())
    return replace(result, items=items), f"counted as {conv.tool} {conv.version}: {rows}"
