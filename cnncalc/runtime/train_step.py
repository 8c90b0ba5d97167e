"""One training step in NumPy, run the way `cnncalc.core.train` counts it, and measured against that count.

    from cnncalc.core.train import train
    report = check_step(train(cnncalc.load("lenet5"), batch=8, optimizer="adam"))
    report.ok, report.peak_measured / report.peak_predicted, report.backward_seconds_by_type

The loss is Σ y·r for the network output y and a fixed standard-normal r (seeded), so its gradient is r: every
output element matters (a plain Σ y would give a softmax output no gradient at all). The forward pass keeps for each
layer exactly what autograd keeps (`backward.BACKWARD[type].forward`), frees activations on the inference schedule,
and the backward pass walks the layers in reverse: a gradient appears at the backward of the tensor's last reader,
further contributions are added in place, and it is freed after the backward of the layer that made the tensor —
the model `cnncalc.core.train.step` walks to predict the peak. The update runs the chosen optimizer in place, in
chunks, so it adds no parameter-sized temporaries.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from time import perf_counter
from typing import Dict, List, Optional, Tuple

import numpy as np

from ..core.train import TrainAnalysis
from ..core.train.rules import Grads
from ..errors import InternalError, OptionError
from ..spec.graph import INPUT
from . import ops
from .backward import BACKWARD
from .weights import init_weights, key

CHUNK = 1 << 18  # elements per slice of the in-place optimizer update


@dataclass
class StepReport:
    """What one NumPy training step produced beside what the analysis predicted."""

    step: TrainAnalysis
    loss: float = 0.0
    peak_measured: int = 0
    forward_seconds: float = 0.0
    backward_seconds: float = 0.0
    update_seconds: float = 0.0
    backward_seconds_by_type: Dict[str, float] = field(default_factory=dict)
    gradients: int = 0  # weight gradients computed
    errors: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def peak_predicted(self) -> int:
        return self.step.totals.peak_bytes

    @property
    def peak_ratio(self) -> float:
        return self.peak_measured / self.peak_predicted if self.peak_predicted else 0.0


def run_step(step: TrainAnalysis, x: np.ndarray, weights: Dict[str, np.ndarray], r: np.ndarray, seed: int = 0,
             update: bool = True, times: Optional[Dict[str, float]] = None, state=None):
    """Forward, loss Σ y·r, backward and (optionally) the optimizer update; returns (loss, weight gradients by key).

    `x` is consumed (the caller should keep no reference: the step frees it after its last reader)."""
    if step.checkpoint:
        raise OptionError("the NumPy training step runs without checkpointing; leave out --checkpoint to run it",
                          option="--checkpoint")
    a = step.analysis
    net = a.network
    infos = a.layers
    rows = step.layers
    frees = net.schedule.frees
    rng = np.random.default_rng([seed, 2])
    requires = {INPUT: False, **{row.index: row.needs_grad for row in rows}}
    needs: List[Grads] = [Grads(tuple(requires[j] for j in info.node.inputs), row.trainable and info.params > 0)
                          for info, row in zip(infos, rows)]
    times = times if times is not None else {}
    live = {INPUT: x}
    del x
    saved: List[Optional[dict]] = [None] * len(infos)
    start = perf_counter()
    budget = ops.column_budget(step.totals.peak_bytes // 8)  # as the inference run: im2col kept to a share of the peak
    budget.__enter__()
    for info, need in zip(infos, needs):
        i = info.index
        xs = [live[j] for j in info.node.inputs]
        w = {name: weights[key(info, name)] for name in info.facts.weights}
        y, keep = _call(BACKWARD[info.type].forward, info, xs, w, rng)
        if need.output:
            if info.type == "dense" and not need.weights:
                keep = {}  # addmm keeps the input only for the weight gradient
            saved[i] = keep
        del xs, w, keep
        live[i] = y
        del y
        for j in frees[i]:
            del live[j]
    budget.__exit__(None, None, None)
    times["forward"] = perf_counter() - start
    out = net.output
    y = live.pop(out)
    live.clear()
    loss = float(np.vdot(y.astype(np.float64), r))
    del y
    grads: Dict[int, np.ndarray] = {out: r}
    wgrads: Dict[str, np.ndarray] = {}
    by_type: Dict[str, float] = defaultdict(float)
    start = perf_counter()
    for info, need, row in zip(reversed(infos), reversed(needs), reversed(rows)):
        i = info.index
        if row.needs_grad and i in grads:
            dy = grads.pop(i)
            w = {name: weights[key(info, name)] for name in info.facts.weights}
            t0 = perf_counter()
            dxs, dws = _call(BACKWARD[info.type].backward, info, saved[i], dy, w, need)
            by_type[info.type] += perf_counter() - t0
            handed = False
            passes = info.type in ("add", "flatten", "identity") or (info.type == "dropout" and info.layer.p == 0)
            for j, dx in _contributions(info.node.inputs, dxs):
                if j == INPUT or not requires[j] or dx is None:
                    continue
                if j in grads:
                    grads[j] += dx
                elif passes and not handed:  # the output gradient itself (or a view of it) becomes this input's
                    grads[j] = dx
                    handed = True
                else:
                    grads[j] = dx if not np.shares_memory(dx, dy) else dx.copy()
            for name, g in dws.items():
                wgrads[key(info, name)] = g
            del dy, dxs, dws, w
        saved[i] = None
    times["backward"] = perf_counter() - start
    times.update({f"backward {t}": s for t, s in by_type.items()})
    if update:
        start = perf_counter()
        _update(step, weights, wgrads, state if state is not None else optimizer_state(step, weights))
        times["update"] = perf_counter() - start
    return loss, wgrads


def _contributions(inputs, dxs):
    """(input tensor, its gradient), an input read twice (add(x, x)) getting the sum of its parts."""
    merged: Dict[int, Optional[np.ndarray]] = {}
    for j, dx in zip(inputs, dxs):
        if j in merged and dx is not None and merged[j] is not None:
            merged[j] = merged[j] + dx
        elif merged.get(j) is None:
            merged[j] = dx
    return merged.items()


def _call(kernel, info, *args):
    try:
        return kernel(info.layer, info.facts, *args)
    except MemoryError:
        raise OptionError(f"out of memory in the training step at {info.name} ({info.type}); try a smaller --batch") from None
    except Exception as e:  # a kernel failing on checked input is cnncalc's bug: say where
        raise InternalError(f"{info.name} ({info.type}) training kernel failed: {type(e).__name__}: {e}") from e


def optimizer_state(step: TrainAnalysis, weights: Dict[str, np.ndarray]) -> Dict[str, List[np.ndarray]]:
    """Zeroed state arrays per trainable weight key (as many as the optimizer keeps: 0, 1 or 2)."""
    from ..core.train import OPTIMIZERS

    n = OPTIMIZERS[step.optimizer].states
    state = {}
    for info in step.analysis.layers:
        if info.node.trainable:
            for name, wt in info.facts.weights.items():
                if wt.learnable:
                    k = key(info, name)
                    state[k] = [np.zeros_like(weights[k]) for _ in range(n)]
    return state


def _update(step: TrainAnalysis, weights, wgrads, state, lr=1e-3) -> None:
    """One in-place update of every trained weight (sgd, momentum, adam, adamw, rmsprop; PyTorch's defaults)."""
    for k, g in wgrads.items():
        p = weights[k].reshape(-1)
        g = g.reshape(-1)
        s = [a.reshape(-1) for a in state.get(k, [])]
        for lo in range(0, p.size, CHUNK):
            part = slice(lo, lo + CHUNK)
            _apply(step.optimizer, p[part], g[part], [a[part] for a in s], lr)


def _apply(name, p, g, s, lr, b1=0.9, b2=0.999, eps=1e-8, mu=0.9, alpha=0.99, decay=1e-2):
    if name == "sgd":
        p -= lr * g
    elif name == "momentum":
        s[0] *= mu
        s[0] += g
        p -= lr * s[0]
    elif name in ("adam", "adamw"):
        if name == "adamw":
            p *= 1 - lr * decay
        s[0] *= b1
        s[0] += (1 - b1) * g
        s[1] *= b2
        s[1] += (1 - b2) * g * g
        p -= lr * (s[0] / (1 - b1)) / (np.sqrt(s[1] / (1 - b2)) + eps)  # step 1's bias correction
    else:  # rmsprop
        s[0] *= alpha
        s[0] += (1 - alpha) * g * g
        p -= lr * g / (np.sqrt(s[0]) + eps)


def check_step(step: TrainAnalysis, seed: int = 0) -> StepReport:
    """Run one step on seeded weights and data under tracemalloc; check every gradient's shape against its weight."""
    import tracemalloc

    from ..core.train import OPTIMIZERS  # noqa: F401  (imported before tracing)

    if step.precision != "fp32":
        raise OptionError(f"the NumPy training step runs in fp32 only (NumPy has no bfloat16 and no float16 matmul); "
                          f"{step.precision} is for the analysis", option="--precision")
    a = step.analysis
    report = StepReport(step)
    tracemalloc.start()
    try:
        weights = init_weights(a, seed, "float32")
        state = optimizer_state(step, weights)
        rng = np.random.default_rng([seed, 1])
        x = rng.standard_normal((a.batch, *a.network.input), dtype=np.float32)
        r = rng.standard_normal((a.batch, *a.layers[a.network.output].output), dtype=np.float32) \
            if a.network.output != INPUT else np.zeros_like(x)
        tracemalloc.reset_peak()
        times: Dict[str, float] = {}
        report.loss, wgrads = run_step(step, x, weights, r, seed, times=times, state=state)
        del x, r
        report.peak_measured = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    report.forward_seconds = times.get("forward", 0.0)
    report.backward_seconds = times.get("backward", 0.0)
    report.update_seconds = times.get("update", 0.0)
    report.backward_seconds_by_type = {k[len("backward "):]: v for k, v in times.items() if k.startswith("backward ")}
    report.gradients = len(wgrads)
    for info in a.layers:
        trained = info.node.trainable and info.params > 0 and step.layers[info.index].needs_grad
        for name, wt in info.facts.weights.items():
            if not wt.learnable:
                continue
            k = key(info, name)
            if trained and k not in wgrads and step.layers[info.index].needs_grad:
                report.errors.append(f"error: {info.name}: no gradient for {name}")
            elif k in wgrads and tuple(wgrads[k].shape) != wt.shape:
                report.errors.append(f"error: {info.name}: gradient of {name} is {list(wgrads[k].shape)}, "
                                     f"the weight is {list(wt.shape)}")
            elif k in wgrads and not trained:
                report.errors.append(f"error: {info.name}: a gradient for frozen {name}")
    return report
