"""Training budgets (CNN307, CNN308): the peak memory and the FLOPs of one training step, as `cnncalc train` counts
them at lint's `--batch`, with Adam and fp32 (the usual worst case of the common settings: two fp32 states per
parameter, full-precision activations)."""
from __future__ import annotations

from ..units import human, human_bytes
from .budgets import TOP, Budget
from .config import BUDGETS
from .core import Finding, register

OPTIMIZER, PRECISION = "adam", "fp32"


class TrainBudget(Budget):
    """A budget on a training-step total: `value(totals)` reads it, `parts(step)` says what makes it up."""

    def check(self, ctx, opts):
        from ..core.train import train
        from ..errors import ShapeError

        limit = ctx.settings.budgets.get(self.budget)
        a = ctx.analysis
        if limit is None or a.totals is None:
            return
        try:
            step = train(a.network, a.batch, OPTIMIZER, PRECISION)
        except ShapeError as e:  # batch statistics of one value: not trainable at this batch
            yield Finding(self.code, self.severity, f"cannot count a training step: {e.message}", e.loc)
            return
        value = self.value(step.totals)
        if value <= limit:
            return
        fmt = human if BUDGETS[self.budget].kind == "count" else human_bytes
        over = f"{(value - limit) / limit:.0%} over" if limit else "the budget is 0"
        parts = ", ".join(f"{what} {fmt(v)} ({v / value:.0%})" for what, v in self.parts(step)[:TOP] if v)
        msg = (f"{self.label} {fmt(value)} ({value:,}) at batch {a.batch} with {OPTIMIZER}, {PRECISION} exceed the "
               f"budget of {fmt(limit)} ({limit:,}): {over}; {self.top_label}: {parts}")
        heaviest = max(a.layers, key=lambda info: info.macs + info.params, default=None)
        yield Finding(self.code, self.severity, msg, heaviest.node.loc if heaviest else a.network.input_loc)


@register
class TrainMemoryBudget(TrainBudget):
    """The peak memory of a training step exceeds the `train-memory` budget (`--max-train-memory`), at `--batch`,
    with Adam and fp32.

    Why: training holds what autograd saves, gradients and optimizer state besides the weights: it decides the
    largest batch a GPU takes (`cnncalc train --fit` finds it).

    Bad:
        input: [512]
        lint: {budgets: {train-memory: 1MiB}}
        layers:
          - dense: 256
    Good:
        input: [512]
        lint: {budgets: {train-memory: 4MiB}}
        layers:
          - dense: 256
    """

    code, name, budget, label, top_label = "CNN307", "max-train-memory", "train-memory", "training peak", "made of"

    def value(self, totals):
        return totals.peak_bytes

    def parts(self, step):
        return list(step.totals.peak_parts)


@register
class TrainFlopsBudget(TrainBudget):
    """The FLOPs of one training step (forward, backward, update) exceed the `train-flops` budget
    (`--max-train-flops`), at `--batch`, with Adam and fp32.

    Why: a step costs about three forward passes; the budget bounds the time and energy of every epoch.

    Bad:
        input: [512]
        lint: {budgets: {train-flops: 1M}}
        layers:
          - dense: 256
    Good:
        input: [512]
        lint: {budgets: {train-flops: 4M}}
        layers:
          - dense: 256
    """

    code, name, budget, label, top_label = "CNN308", "max-train-flops", "train-flops", "training-step FLOPs", "made of"

    def value(self, totals):
        return totals.step_flops

    def parts(self, step):
        t = step.totals
        return sorted([("forward", t.forward_flops), ("backward", t.backward_flops), ("update", t.optimizer_flops),
                       ("recomputation", t.recompute_flops)], key=lambda kv: -kv[1])
