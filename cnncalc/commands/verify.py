"""`cnncalc verify`: run the network in NumPy and check every analysed shape and count against the computation."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import click

from ..analysis import Analysis
from ..errors import SpecError
from ._common import Failure, console, load_network, reports_errors, spec_options

SCHEMA_VERSION = 1


class ByteSize(click.ParamType):
    """A memory size, read as lint's budgets are: 2GiB, 512MiB (powers of 1024), 100MB (powers of 1000), 4096."""

    name = "size"

    def convert(self, value, param, ctx):
        from ..quantity import parse_quantity

        if isinstance(value, int):
            return value
        try:
            return parse_quantity(value, "bytes")
        except ValueError as e:
            self.fail(str(e), param, ctx)


def default_max_memory() -> int:
    """Half the machine's physical memory (2 GiB where the platform cannot tell)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (AttributeError, OSError, ValueError):
        return 2 * 2**30


@dataclass
class LayerCheck:
    """One layer's verdict: the analysed and the computed tensor shape (batch first), its time, any error."""

    name: str
    type: str
    expected: Tuple[int, ...]
    actual: Optional[Tuple[int, ...]] = None
    seconds: float = 0.0
    error: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.actual == self.expected


@dataclass
class Report:
    """Everything one verify run measured (seconds, bytes) beside what the analysis predicted."""

    analysis: Analysis
    seed: int
    layers: List[LayerCheck] = field(default_factory=list)
    errors: List[str] = field(default_factory=list)  # located messages, one per failed check
    params_allocated: int = 0
    buffers_allocated: int = 0
    init_seconds: float = 0.0
    forward_seconds: float = 0.0
    peak_measured: int = 0
    matmul_gflops: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def weights_ok(self) -> bool:
        t = self.analysis.totals
        return (self.params_allocated, self.buffers_allocated) == (t.params, t.buffers)

    @property
    def peak_predicted(self) -> int:
        t = self.analysis.totals
        return t.peak_activation_bytes + t.param_bytes + t.buffer_bytes

    @property
    def gflops(self) -> float:
        """Achieved conv/dense throughput: 2 × MACs per forward second."""
        return 2 * self.analysis.totals.macs / self.forward_seconds / 1e9 if self.forward_seconds else 0.0


def run(analysis, seed: int = 0, weights_path: Optional[str] = None, progress=None) -> Report:
    """Allocate the weights, run the forward pass layer by layer and record what the computation produced.

    Peak memory is NumPy's allocations as tracemalloc sees them (weights included) during the forward pass.
    `progress(done, next_name)` is told after each step.
    """
    import time
    import tracemalloc

    from .. import runtime as fw
    from .. import ops  # noqa: F401  (imported before tracing: module objects are not the pass's memory)

    report = Report(analysis, seed)
    batch = analysis.batch
    progress = progress or (lambda done, name: None)
    progress(0, "measuring a 2048³ matmul")
    report.matmul_gflops = fw.matmul_gflops()  # first, so BLAS has started its threads before layer 1 is timed
    tracemalloc.start()
    try:
        start = time.perf_counter()
        progress(0, "initialising weights")
        if weights_path:  # cast once to the run's dtype, not in every layer call
            weights = {k: w.astype(analysis.dtype, copy=False) for k, w in fw.load_weights(weights_path).items()}
        else:
            weights = fw.init_weights(analysis, seed, analysis.dtype)
        report.init_seconds = time.perf_counter() - start
        report.params_allocated, report.buffers_allocated = fw.weight_counts(analysis, weights)
        problems = fw.check_weights(analysis, weights)
        if problems or not report.weights_ok:
            t = analysis.totals
            report.errors += [f"error: weights: {p}" for p in problems] or [
                f"error: weights: {report.params_allocated:,} params and {report.buffers_allocated:,} buffers allocated, "
                f"{t.params:,} and {t.buffers:,} counted"]
            return report
        names = [info.name for info in analysis.layers] + [""]

        def on_layer(info, y, seconds):
            check = LayerCheck(info.name, info.type, (batch, *info.output), tuple(y.shape), seconds)
            report.layers.append(check)
            if not check.ok:
                report.errors.append(SpecError(f"{info.name} ({info.type}) computed {list(check.actual)}, "
                                               f"the analysis says {list(check.expected)}", info.node.loc).format())
            progress(len(report.layers), names[len(report.layers)])

        tracemalloc.reset_peak()  # the weights stay counted: they are part of the prediction
        start = time.perf_counter()
        try:
            fw.execute(analysis, fw.random_input(analysis.network, batch, seed, analysis.dtype), weights, on_layer)
        except fw.ForwardError as e:
            info = e.layer
            report.layers.append(LayerCheck(info.name, info.type, (batch, *info.output), error=str(e)))
            report.errors.append(SpecError(str(e), info.node.loc).format())
        report.forward_seconds = time.perf_counter() - start
        report.peak_measured = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return report


@click.command()
@click.argument("spec")
@spec_options(batch=2)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random weights and input.")
@click.option("--weights", "weights_path", type=click.Path(exists=True, dir_okay=False),
              help="Run these weights (.npz keyed '<layer name>.<weight name>') instead of random ones.")
@click.option("--max-memory", type=ByteSize(), default=default_max_memory(),
              help="Refuse to start when the predicted memory exceeds this (2GiB, 512MiB…).  [default: half the RAM]")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Output format.")
@reports_errors
def verify(spec, input_shape, batch, sets, dtype, seed, weights_path, max_memory, fmt):
    """Run the network in NumPy and check every layer's shape and the weight counts against the analysis.

    Builds seeded He/Glorot weights (or loads --weights), pushes a random batch through the graph, compares
    each layer's computed shape with the analysed one and measures time, throughput and peak memory.
    Exit status: 0 all match, 1 a mismatch, 2 a bad spec or usage.

    \b
    Examples:
      cnncalc verify resnet50
      cnncalc verify net.yaml --batch 8 --set width=32 --format json
    """
    from ..render.units import human_bytes

    if dtype not in ("float32", "float16"):
        raise click.BadParameter(f"NumPy computes in float32 or float16, not {dtype}", param_hint="--dtype")
    a = load_network(spec, sets, input_shape).analyze(batch=batch, dtype=dtype)
    if a.error is not None:
        raise Failure(a.error.format(), 2)
    t = a.totals
    needed = t.peak_activation_bytes + t.param_bytes + t.buffer_bytes
    if needed > max_memory:
        raise Failure(f"error: verifying {a.network.name} at batch {batch} needs about {human_bytes(needed)} "
                      f"({human_bytes(t.peak_activation_bytes)} peak activations + "
                      f"{human_bytes(t.param_bytes + t.buffer_bytes)} weights), more than --max-memory {human_bytes(max_memory)}"
                      "\n  hint: lower --batch or --input, or raise --max-memory", 2)
    report = _run_with_progress(a, seed, weights_path)
    if fmt == "json":
        import json

        click.echo(json.dumps(report_dict(report), indent=2))
    else:
        console().print(report_table(report))
    if not report.ok:
        raise Failure("\n".join(report.errors), 1)


def _run_with_progress(a, seed, weights_path) -> Report:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    err = console(stderr=True)
    columns = (TextColumn("verify"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("{task.fields[layer]}"))
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("verify", total=len(a.layers), layer="")
        return run(a, seed, weights_path, lambda done, name: bar.update(task, completed=done, layer=name))


def report_dict(r: Report) -> dict:
    """The documented JSON object of one verify run (README: `cnncalc verify`)."""
    a, t = r.analysis, r.analysis.totals
    net = a.network
    return {
        "schema_version": SCHEMA_VERSION, "name": net.name, "source": net.source, "input": list(net.input),
        "batch": a.batch, "dtype": a.dtype, "seed": r.seed,
        "layers": [{"name": c.name, "type": c.type, "expected": list(c.expected),
                    "actual": None if c.actual is None else list(c.actual), "ok": c.ok, "seconds": c.seconds,
                    "error": c.error} for c in r.layers],
        "totals": {
            "ok": r.ok, "layers": len(a.layers), "mismatches": sum(not c.ok for c in r.layers),
            "params": t.params, "params_allocated": r.params_allocated,
            "buffers": t.buffers, "buffers_allocated": r.buffers_allocated,
            "init_seconds": r.init_seconds, "forward_seconds": r.forward_seconds,
            "macs": t.macs, "gflops": r.gflops, "matmul_gflops": r.matmul_gflops,
            "efficiency": r.gflops / r.matmul_gflops if r.matmul_gflops else None,
            "peak_bytes_measured": r.peak_measured, "peak_bytes_predicted": r.peak_predicted,
            "peak_ratio": r.peak_measured / r.peak_predicted,
        },
        "errors": r.errors,
    }


def report_table(r: Report):
    """The terminal view: one row per layer that ran, then the totals."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    from ..render import units

    a, t = r.analysis, r.analysis.totals
    table = Table(title=f"{a.network.name} — verify at batch {a.batch}, {a.dtype}, seed {r.seed}",
                  title_justify="left", header_style="bold", pad_edge=False)
    for name, justify in (("Layer", "left"), ("Expected", "right"), ("Actual", "right"), ("", "center"),
                          ("Time", "right"), ("Share", "right")):
        table.add_column(name, justify=justify, overflow="fold" if name == "Layer" else "ellipsis")
    total = sum(c.seconds for c in r.layers) or 1.0
    for c in r.layers:
        actual = units.shape(c.actual) if c.actual is not None else "failed"
        table.add_row(c.name, units.shape(c.expected), actual, Text("✓", "green") if c.ok else Text("✗", "bold red"),
                      f"{c.seconds * 1e3:.2f} ms", f"{c.seconds / total:.1%}", style=None if c.ok else "red")
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    mark = "✓" if r.weights_ok else "✗"
    grid.add_row("Weights", f"{mark} {r.params_allocated:,} params and {r.buffers_allocated:,} buffers allocated; "
                            f"{t.params:,} and {t.buffers:,} counted (init {r.init_seconds:.2f} s)")
    if r.forward_seconds:
        grid.add_row("Forward", f"{r.forward_seconds:.3f} s for {units.human(2 * t.macs)} FLOP (2 × MACs): "
                                f"{r.gflops:.1f} GFLOP/s, {r.gflops / r.matmul_gflops:.0%} of a 2048³ float32 matmul "
                                f"({r.matmul_gflops:.1f} GFLOP/s)")
        grid.add_row("Peak memory", f"{units.human_bytes(r.peak_measured)} measured (tracemalloc), "
                                    f"{units.human_bytes(r.peak_predicted)} predicted (peak activations "
                                    f"{units.human_bytes(t.peak_activation_bytes)} + weights "
                                    f"{units.human_bytes(t.param_bytes + t.buffer_bytes)}): "
                                    f"×{r.peak_measured / r.peak_predicted:.2f}")
    verdict = (f"✓ all {len(a.layers)} layers computed their analysed shapes" if r.ok else
               f"✗ {len(r.errors)} check{'s' if len(r.errors) != 1 else ''} failed "
               f"({sum(c.actual is not None for c in r.layers)} of {len(a.layers)} layers ran)")
    grid.add_row("Result", Text(verdict, style="green" if r.ok else "bold red"))
    return Group(table, Panel(grid, title="Verify", title_align="left", expand=False))
