"""The engine of `cnncalc verify`: run the network in NumPy and record what the computation produced beside what the
analysis predicted (shapes, weight counts, time, peak memory). Rendering lives in `cnncalc.render.verify`."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from time import perf_counter
from typing import List, Optional, Tuple

import numpy as np

from ..core.analysis import Analysis
from ..errors import SpecError
from . import machine
from .fuse import Plan
from .machine import matmul_gflops  # noqa: F401  (looked up here at run time: tests replace it)


def default_max_memory() -> int:
    """Half the machine's physical memory (2 GiB where the platform cannot tell)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (AttributeError, OSError, ValueError):
        return 2 * 2**30


@dataclass
class LayerCheck:
    """One layer's verdict: the analysed and the computed tensor shape (batch first), its time."""

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
    matmul_cached: bool = False  # the rate came from the per-machine cache, not from this run
    plan: Optional[Plan] = None  # the fused path's plan, None on the reference path
    threads: Optional[int] = None  # BLAS threads in force (None: the BLAS would not say)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def weights_ok(self) -> bool:
        t = self.analysis.totals
        return (self.params_allocated, self.buffers_allocated) == (t.params, t.buffers)

    @property
    def path(self) -> str:
        return "reference" if self.plan is None else "fused"

    @property
    def peak_activation_predicted(self) -> int:
        """The peak of live activations on the path that ran."""
        a = self.analysis
        return a.totals.peak_activation_bytes if self.plan is None else self.plan.peak_activation_bytes(a)

    @property
    def weight_bytes_predicted(self) -> int:
        """The weights' bytes on the path that ran (the fused path's folded convs have W' and b', no bn arrays)."""
        t = self.analysis.totals
        return t.param_bytes + t.buffer_bytes if self.plan is None else self.plan.weight_bytes(self.analysis)

    @property
    def peak_predicted(self) -> int:
        return self.peak_activation_predicted + self.weight_bytes_predicted

    @property
    def gflops(self) -> float:
        """Achieved conv/dense throughput: 2 × MACs per forward second."""
        return 2 * self.analysis.totals.macs / self.forward_seconds / 1e9 if self.forward_seconds else 0.0


def run(analysis: Analysis, seed: int = 0, weights_path: Optional[str] = None, progress=None,
        threads: Optional[int] = None, remeasure: bool = False, fused: bool = False) -> Report:
    """Allocate the weights, run the forward pass layer by layer and record what the computation produced.

    The forward pass runs with `threads` BLAS threads (None: `machine.default_threads()`); the matmul rate it is
    compared with is this machine's at that count, from the per-machine cache unless `remeasure`. Peak memory is
    the weights' bytes plus NumPy's allocations during the forward pass as tracemalloc sees them (tracing covers
    the forward pass only). `fused` runs the fused inference path (`fuse`), predicted and measured as such.
    `progress(done, next_name)` is told after each step.
    """
    import tracemalloc

    from . import ops  # noqa: F401  (imported before tracing: module objects are not the pass's memory)
    from .executor import execute, random_input
    from .fuse import fold_weights, plan
    from .weights import check_weights, init_weights, load_weights, weight_counts

    analysis = analysis.complete()
    report = Report(analysis, seed)
    batch = analysis.batch
    progress = progress or (lambda done, name: None)
    with machine.threads(machine.default_threads() if threads is None else threads) as in_force:
        report.threads = in_force
        progress(0, "matmul baseline")
        report.matmul_gflops, report.matmul_cached = machine.cached_matmul_gflops(
            in_force, refresh=remeasure, measure=lambda: matmul_gflops())
        start = perf_counter()
        progress(0, "initialising weights")
        if weights_path:  # cast once to the run's dtype, not in every layer call
            weights = {k: w.astype(analysis.dtype, copy=False) for k, w in load_weights(weights_path).items()}
        else:
            weights = init_weights(analysis, seed, analysis.dtype)
        report.init_seconds = perf_counter() - start
        report.params_allocated, report.buffers_allocated = weight_counts(analysis, weights)
        problems = check_weights(analysis, weights)
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

        if fused:  # the originals go: the fused path holds the folded weights only
            report.plan = plan(analysis)
            weights = fold_weights(analysis, report.plan, weights)
        np.ones((64, 64), np.float32) @ np.ones((64, 64), np.float32)  # BLAS's threads up before layer 1 is timed
        weight_bytes = sum(np.asarray(w).nbytes for w in weights.values())
        tracemalloc.start()
        try:
            start = perf_counter()
            execute(analysis, random_input(analysis.network, batch, seed, analysis.dtype), weights, on_layer,
                    report.plan)
            report.forward_seconds = perf_counter() - start
            report.peak_measured = weight_bytes + tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    return report
