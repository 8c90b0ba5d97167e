"""The NumPy executor: run an analysed network layer by layer, freeing each tensor when the schedule says so.

The order and the frees are the network's `Schedule`, the same one the peak-memory prediction walks, so the run
holds exactly the tensors the prediction counts (a test checks it with weak references). Each layer's kernel is
`backend.FORWARD[type]`. A kernel that raises is a bug in cnncalc (an `InternalError` naming the layer), not a
failed check; a layer that computes another shape than the analysis says is a `ForwardError` (exit 1).
"""
from __future__ import annotations

import weakref
from collections import OrderedDict
from time import perf_counter
from typing import Callable, Optional

import numpy as np

from ..core.analysis import Analysis, LayerInfo
from ..core.network import Network
from ..errors import CnncalcError, InternalError, OptionError
from ..spec.graph import INPUT
from . import machine, ops
from .backend import FORWARD
from .fuse import IN_PLACE, Plan, fold_weights
from .fuse import plan as fused_plan
from .machine import default_threads
from .weights import WeightError, Weights, analysed, check_weights, init_weights, key

OnLayer = Callable[[LayerInfo, np.ndarray, float], None]


class ForwardError(CnncalcError):
    """A layer computed a shape other than the analysed one: the check failed (exit 1)."""

    exit_code = 1

    def __init__(self, message: str, layer: Optional[LayerInfo] = None):
        super().__init__(message)
        self.layer = layer


class OutOfMemory(CnncalcError):
    """NumPy could not allocate a layer's output or temporaries (exit 2: a smaller batch or input may fit)."""


def execute(analysis: Analysis, x: np.ndarray, weights: Weights, on_layer: Optional[OnLayer] = None,
            plan: Optional[Plan] = None) -> np.ndarray:
    """Run an analysed network on x (batch, C, *spatial) in schedule order; return the network's output.

    Each activation is dropped after its last reader (the output is kept), as `peak_activation_bytes` assumes;
    the caller should hold no other reference to `x`. `on_layer(info, output, seconds)` sees each layer's output
    as it is made. With a `fuse.Plan` (and `fuse.fold_weights`' weights) it runs the fused path: folded batch
    norms pass their conv's output on, in-place layers overwrite their input (never `x`).
    """
    analysis = analysed(analysis)
    frees = analysis.network.schedule.frees
    in_place = plan.in_place if plan is not None else {}
    folded = plan.folded if plan is not None else {}  # bn → conv: the bn's weights are in the conv's
    folded_convs = set(folded.values())
    live = {INPUT: x}
    del x
    t = analysis.totals
    # A conv's im2col buffer is the one transient the prediction leaves out: keep it to an eighth of the
    # predicted peak (LeNet's first conv stays small; ResNet-50's and VGG's get the full budget).
    # and its copy goes in as many threads as BLAS has for the matmul after it
    with ops.column_budget((t.peak_activation_bytes + t.param_bytes + t.buffer_bytes) // 8), \
            ops.copy_threads(machine.blas_threads() or 1):
        for info in analysis.layers:
            i = info.index
            xs = [live[j] for j in info.node.inputs]
            names = ("weight", "bias") if i in folded_convs else () if i in folded else info.facts.weights
            w = {name: weights[key(info, name)] for name in names}
            start = perf_counter()
            try:
                if i in in_place:  # a folded bn passes its conv's output on; the others overwrite their input
                    y = xs[0] if i in folded else IN_PLACE[info.type](info.layer, xs[0], w)
                else:
                    y = FORWARD[info.type](info.layer, info.facts, xs, w)
            except MemoryError:
                raise OutOfMemory(f"out of memory running {info.name} ({info.type}) on a {list(info.output)} output "
                                  f"at batch {analysis.batch}; try a smaller --batch or --input") from None
            except Exception as e:  # a kernel's failure on checked input is cnncalc's bug: say where it happened
                raise InternalError(f"{info.name} ({info.type}) failed: {type(e).__name__}: {e}") from e
            seconds = perf_counter() - start
            del xs, w
            live[i] = y
            for j in frees[i]:
                del live[j]
            if on_layer is not None:
                on_layer(info, y, seconds)
            del y
        return live[analysis.network.output]


def random_input(network: Network, batch: int, seed: int = 0, dtype="float32") -> np.ndarray:
    """A standard-normal input (batch, C, *spatial); its stream is independent of `init_weights(seed)`'s."""
    rng = np.random.default_rng([seed, 1])
    return rng.standard_normal((batch, *network.input), dtype=np.float32).astype(dtype, copy=False)


# Analyses `forward` has made, newest last: (id of the network, input shape, batch) → (the network, weakly, its
# analysis). A network is immutable, so its analysis at one input and batch never changes; repeated calls reuse it.
_ANALYSES: "OrderedDict[tuple, tuple]" = OrderedDict()
ANALYSES_KEPT = 16


def _analysis(network: Network, shape: tuple, batch: int) -> Analysis:
    key = (id(network), shape, batch)
    hit = _ANALYSES.get(key)
    if hit is not None and hit[0]() is network:  # (an id can be reused once its network is gone)
        _ANALYSES.move_to_end(key)
        return hit[1]
    a = analysed(network if shape == network.input else network.with_input(shape), batch=batch)
    _ANALYSES[key] = (weakref.ref(network), a)
    while len(_ANALYSES) > ANALYSES_KEPT:
        _ANALYSES.popitem(last=False)
    return a


def forward(network: Network, x, weights: Optional[Weights] = None, return_all: bool = False, seed: int = 0,
            threads: Optional[int] = None, fused: bool = False):
    """Run `network` on x (batch, C, *spatial); return the output, or (output, {layer name: output}).

    The input's shape may differ from the spec's (as `--input` would). Without `weights`, `init_weights(seed)`
    makes them in x's dtype. The analysis of the network at x's shape is made once and reused by later calls.
    The pass runs with `threads` BLAS threads (None: `machine.default_threads()`; the count before is restored
    after). `fused=True` runs the fused inference path (`cnncalc.runtime.fuse`: batch norm folded into convs,
    activations in place), whose results agree with the reference path's to float rounding. Raises `WeightError`
    when given weights do not fit, `ForwardError` when a layer computes a shape other than the analysed one.
    """
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float32)
    if x.ndim != len(network.input) + 1:
        raise OptionError(f"x must be shaped (batch, {', '.join(map(str, network.input))}), got {list(x.shape)}")
    a = _analysis(network, tuple(x.shape[1:]), x.shape[0])
    if weights is None:
        weights = init_weights(a, seed, x.dtype)
    problems = check_weights(a, weights)
    if problems:
        raise WeightError("weights do not fit the network: " + "; ".join(problems[:5])
                          + (f"; and {len(problems) - 5} more" if len(problems) > 5 else ""))
    outputs = {}

    def check(info: LayerInfo, y: np.ndarray, seconds: float) -> None:
        expected = (a.batch, *info.output)
        if y.shape != expected:
            raise ForwardError(f"{info.name} ({info.type}) computed {list(y.shape)}, the analysis says {list(expected)}", info)
        if return_all:  # (on the fused path a later layer may overwrite this buffer: keep a copy)
            outputs[info.name] = y.copy() if fused else y

    p = None
    if fused:
        p = fused_plan(a)
        weights = fold_weights(a, p, weights)
    with machine.threads(default_threads() if threads is None else threads):
        y = execute(a, x, weights, check, p)
    return (y, outputs) if return_all else y
