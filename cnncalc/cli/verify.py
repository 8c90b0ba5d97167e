"""`cnncalc verify`: run the network in NumPy and check every analysed shape and count against the computation."""
from __future__ import annotations

import click

from ..errors import OptionError, SpecError
from .options import ByteSize, Failure, console, load_network, spec_options


@click.command()
@click.argument("spec")
@spec_options(batch=2, dtypes=("float32", "float16"))  # what NumPy computes in
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the random weights and input (a non-negative integer).")
@click.option("--weights", "weights_path", type=click.Path(exists=True, dir_okay=False),
              help="Run these weights (.npz keyed '<layer name>.<weight name>') instead of random ones.")
@click.option("--max-memory", type=ByteSize(), default=None,
              help="Refuse to start when the predicted memory exceeds this (2GiB, 512MiB…).  [default: half the RAM]")
@click.option("--threads", type=click.IntRange(1, 1024), default=None,
              help="BLAS threads for the forward pass.  [default: $CNNCALC_THREADS, else the cores not busy]")
@click.option("--remeasure", is_flag=True,
              help="Measure the 2048³ matmul reference again instead of reading this machine's cached rate.")
@click.option("--fused", is_flag=True,
              help="Run the fused inference path (batch norm folded into convs, activations in place) instead of "
                   "the reference path.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Output format.")
def verify(spec, input_shape, batch, sets, dtype, seed, weights_path, max_memory, threads, remeasure, fused, fmt):
    """Run the network in NumPy and check every layer's shape and the weight counts against the analysis.

    Builds seeded He/Glorot weights (or loads --weights), pushes a random batch through the graph, compares
    each layer's computed shape with the analysed one and measures time, throughput and peak memory.
    Exit status: 0 all match, 1 a mismatch, 2 a bad spec or usage.

    \b
    Examples:
      cnncalc verify resnet50
      cnncalc verify net.yaml --batch 8 --set width=32 --format json
      cnncalc verify resnet50 --threads 1 --fused
    """
    from ..runtime.machine import default_threads
    from ..runtime.verify import default_max_memory
    from ..units import human_bytes

    if dtype not in ("float32", "float16"):
        raise click.BadParameter(f"NumPy computes in float32 or float16, not {dtype}", param_hint="--dtype")
    max_memory = default_max_memory() if max_memory is None else max_memory
    if threads is None:
        try:
            threads = default_threads()
        except ValueError as e:  # a bad CNNCALC_THREADS
            raise click.BadParameter(str(e), param_hint="--threads") from None
    try:
        a = load_network(spec, sets, input_shape).analyze(batch=batch, dtype=dtype).complete()
    except SpecError as e:  # with --format json, the documented `error` object too: never an empty stdout
        if fmt == "json" and not (isinstance(e, OptionError) and e.option):
            _echo_failure(spec, e, batch, dtype)
        raise
    t = a.totals
    needed = t.peak_activation_bytes + t.param_bytes + t.buffer_bytes
    if needed > max_memory:
        message = (f"verifying {a.network.name} at batch {batch} needs about {human_bytes(needed)} "
                   f"({human_bytes(t.peak_activation_bytes)} peak activations + "
                   f"{human_bytes(t.param_bytes + t.buffer_bytes)} weights), more than --max-memory "
                   f"{human_bytes(max_memory)}")
        hint = "lower --batch or --input, or raise --max-memory"
        if fmt == "json":
            _echo_failure(spec, SpecError(message, None, hint), batch, dtype)
        raise Failure(f"error: {message}\n  hint: {hint}", 2)
    report = _run_with_progress(a, seed, weights_path, threads, remeasure, fused)
    from ..render.verify import report_dict, report_table

    if fmt == "json":
        import json

        click.echo(json.dumps(report_dict(report), indent=2))
    else:
        console().print(report_table(report))
    if not report.ok:
        raise Failure("\n".join(report.errors), 1)


def _echo_failure(spec: str, error: SpecError, batch: int, dtype: str) -> None:
    from ..render.text import failure_dict
    from ..render.jsonout import dumps

    click.echo(dumps(failure_dict(spec, error, batch, dtype)))


def _run_with_progress(a, seed, weights_path, threads, remeasure, fused):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..runtime.verify import run

    err = console(stderr=True)
    columns = (TextColumn("verify"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.fields[layer]}"))
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("verify", total=len(a.layers), layer="")
        return run(a, seed, weights_path, lambda done, name: bar.update(task, completed=done, layer=name), threads,
                   remeasure, fused)
