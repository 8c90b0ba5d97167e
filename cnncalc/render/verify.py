"""A verify run's report for people (a rich table) and for programs (the documented JSON object)."""
from __future__ import annotations

from .. import units
from ..runtime.verify import Report

SCHEMA_VERSION = 1


def report_dict(r: Report) -> dict:
    """The documented JSON object of one verify run (README: `cnncalc verify`)."""
    a, t = r.analysis, r.analysis.totals
    net = a.network
    return {
        "schema_version": SCHEMA_VERSION, "name": net.name, "source": net.source, "input": list(net.input),
        "batch": a.batch, "dtype": a.dtype, "seed": r.seed, "path": r.path,
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
            "matmul_cached": r.matmul_cached, "threads": r.threads,
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
    grid.add_row("Path", "reference: every layer its own kernel and output buffer" if r.plan is None else
                 f"fused: {len(r.plan.folded)} batch norms folded into their convs, "
                 f"{len(r.plan.in_place) - len(r.plan.folded)} layers in place")
    if r.forward_seconds:
        grid.add_row("Forward", f"{r.forward_seconds:.3f} s for {units.human(2 * t.macs)} FLOP (2 × MACs): "
                                f"{r.gflops:.1f} GFLOP/s, {r.gflops / r.matmul_gflops:.0%} of a 2048³ float32 matmul "
                                f"({r.matmul_gflops:.1f} GFLOP/s{', cached' if r.matmul_cached else ''}), "
                                f"{r.threads or '?'} BLAS thread{'' if r.threads == 1 else 's'}")
        grid.add_row("Peak memory", f"{units.human_bytes(r.peak_measured)} measured (tracemalloc), "
                                    f"{units.human_bytes(r.peak_predicted)} predicted (peak activations "
                                    f"{units.human_bytes(r.peak_activation_predicted)} + weights "
                                    f"{units.human_bytes(r.weight_bytes_predicted)}): "
                                    f"×{r.peak_measured / r.peak_predicted:.2f}")
    verdict = (f"✓ all {len(a.layers)} layers computed their analysed shapes" if r.ok else
               f"✗ {len(r.errors)} check{'s' if len(r.errors) != 1 else ''} failed "
               f"({sum(c.actual is not None for c in r.layers)} of {len(a.layers)} layers ran)")
    grid.add_row("Result", Text(verdict, style="green" if r.ok else "bold red"))
    return Group(table, Panel(grid, title="Verify", title_align="left", expand=False))
