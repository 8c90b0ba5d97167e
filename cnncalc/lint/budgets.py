"""Budget rules (CNN3xx): a network total above its limit is an error, shown with the layers that contribute most.

Limits come from `Settings.budgets` (config file, `--max-*` flags, the spec's `lint: budgets:`); a budget that
is not set is not checked.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

from ..core.analysis import DTYPE_BYTES, LayerInfo, tensor_bytes
from ..spec.graph import INPUT
from ..units import human, human_bytes
from .config import BUDGETS
from .core import Finding, Rule, Severity, register

TOP = 3  # contributing layers shown


class Budget(Rule):
    """Base of the budget rules: `budget` names an entry of config.BUDGETS, `per_layer` the LayerInfo field."""

    severity = Severity.ERROR
    budget = ""
    per_layer = ""
    label = ""
    top_label = "largest layers"

    def contributors(self, ctx) -> List[Tuple[str, Optional[LayerInfo], int]]:
        """(name, layer or None for the input, amount) of what makes up the total, largest first."""
        return sorted(((i.name, i, getattr(i, self.per_layer)) for i in ctx.layers), key=lambda c: -c[2])

    def check(self, ctx, opts):
        limit = ctx.settings.budgets.get(self.budget)
        a = ctx.analysis
        if limit is None or a.totals is None:
            return
        budget = BUDGETS[self.budget]
        value = getattr(a.totals, budget.total)
        label, contributors = self.label, self.contributors
        measured = _by_convention(ctx, budget.total)
        if measured is not None:  # --convention: the budget holds the tool's figure, e.g. ptflops' "MACs"
            label, value, contributors = measured
        if value <= limit:
            return
        fmt = human if budget.kind == "count" else human_bytes
        top = [c for c in contributors(ctx)[:TOP] if c[2]]
        shares = ", ".join(f"{name} {fmt(v)} ({v / value:.0%})" for name, _, v in top)
        over = f"{(value - limit) / limit:.0%} over" if limit else "the budget is 0"
        msg = f"{label} {fmt(value)} ({value:,}) exceed the budget of {fmt(limit)} ({limit:,}): {over}"
        msg += f"; {self.top_label}: {shares}" if shares else ""
        # the finding points at the heaviest layer, where a reader starts cutting; it is about the whole network
        heaviest = next((info for _, info, _ in top if info is not None), None)
        yield Finding(self.code, self.severity, msg, heaviest.node.loc if heaviest else a.network.input_loc)


def _by_convention(ctx, total: str):
    """(label, the tool's total, contributors) for a budget on cnncalc's `total` under `settings.convention` — the
    tool's first metric set against that figure — or None (no convention, or the tool reports nothing like it)."""
    name = ctx.settings.convention
    if name is None:
        return None
    from ..conventions import count

    counted = count(ctx.analysis, name)
    metric = counted.convention.headline(total)
    if metric is None:
        return None
    by_name = {i.name: i for i in ctx.layers}

    def contributors(_):
        return sorted(((l.name, by_name.get(l.name), l.values[metric.key]) for l in counted.layers), key=lambda c: -c[2])

    return f"{counted.convention.name} {metric.label}", counted.totals[metric.key], contributors


@register
class ParamsBudget(Budget):
    """The network's parameter count exceeds the `params` budget (`--max-params`).

    Why: parameters set the model's download and storage size and, for many devices, whether it fits at all.

    Bad:
        input: [512]
        lint: {budgets: {params: 100K}}
        layers:
          - dense: 256
    Good:
        input: [512]
        lint: {budgets: {params: 200K}}
        layers:
          - dense: 256
    """

    code, name, budget, per_layer, label = "CNN301", "max-params", "params", "params", "params"


@register
class MacsBudget(Budget):
    """The network's multiply-accumulates per pass (times the batch) exceed the `macs` budget (`--max-macs`).

    Why: MACs are the compute cost papers quote; they bound latency and energy on every device.

    Bad:
        input: [512]
        lint: {budgets: {macs: 100K}}
        layers:
          - dense: 256
    Good:
        input: [512]
        lint: {budgets: {macs: 200K}}
        layers:
          - dense: 256
    """

    code, name, budget, per_layer, label = "CNN302", "max-macs", "macs", "macs", "MACs"


@register
class FlopsBudget(Budget):
    """The network's floating-point operations per pass (times the batch) exceed the `flops` budget (`--max-flops`).

    Why: FLOPs include the element-wise work MACs leave out (activations, norms, pooling).

    Bad:
        input: [512]
        lint: {budgets: {flops: 200K}}
        layers:
          - dense: 256
    Good:
        input: [512]
        lint: {budgets: {flops: 300K}}
        layers:
          - dense: 256
    """

    code, name, budget, per_layer, label = "CNN303", "max-flops", "flops", "flops", "FLOPs"


@register
class PeakMemoryBudget(Budget):
    """The peak of live activations in an inference pass exceeds the `peak-memory` budget (`--max-peak-memory`).

    Why: the peak of live tensors, not their sum, decides whether inference fits in a device's memory.

    Bad:
        input: [64, 128, 128]
        lint: {budgets: {peak-memory: 4MiB}}
        layers:
          - conv: {out: 64, kernel: 3, padding: 1}
    Good:
        input: [64, 128, 128]
        lint: {budgets: {peak-memory: 8MiB}}
        layers:
          - conv: {out: 64, kernel: 3, padding: 1}
    """

    code, name, budget, label = "CNN304", "max-peak-memory", "peak-memory", "peak activations"
    top_label = "live at the peak"

    def contributors(self, ctx):
        """The tensors live at the peak, from the network's schedule: the input, or a layer's output."""
        sizes = tensor_bytes(ctx.analysis)
        _, live = ctx.net.schedule.peak(sizes)
        return sorted((("input", None, sizes[j]) if j == INPUT else (ctx.layers[j].name, ctx.layers[j], sizes[j])
                       for j in live), key=lambda c: -c[2])


@register
class ParamMemoryBudget(Budget):
    """The parameters' memory at the chosen dtype exceeds the `param-memory` budget (`--max-param-memory`).

    Why: weights must fit in the target's memory (flash, SRAM, a GPU share) at the dtype it runs.

    Bad:
        input: [512]
        lint: {budgets: {param-memory: 256KiB}}
        layers:
          - dense: 256
    Good:
        input: [512]
        lint: {budgets: {param-memory: 1MiB}}
        layers:
          - dense: 256
    """

    code, name, budget, per_layer, label = "CNN305", "max-param-memory", "param-memory", "params", "parameter memory"

    def contributors(self, ctx):
        size = DTYPE_BYTES[ctx.analysis.dtype]
        return [(name, info, n * size) for name, info, n in super().contributors(ctx)]


@register
class LatencyBudget(Budget):
    """The roofline time estimated on a device exceeds the `latency` budget (`--max-latency 20ms@raspberry-pi-5`).

    Why: MACs are not time: memory-bound layers (depthwise convs, norms, activations) take longer than their MACs
    suggest; the estimate is max(FLOPs / peak, bytes / bandwidth) per layer on the named device (README: Roofline).

    Bad:
        input: [512]
        lint: {budgets: {latency: 10us@raspberry-pi-5}}
        layers:
          - dense: 256
    Good:
        input: [512]
        lint: {budgets: {latency: 100us@raspberry-pi-5}}
        layers:
          - dense: 256
    """

    code, name, budget, label = "CNN306", "max-latency", "latency", "estimated time"
    top_label = "slowest layers"

    def check(self, ctx, opts):
        from ..core.device import load_device
        from ..core.roofline import estimate
        from ..units import seconds as seconds_text

        limit = ctx.settings.budgets.get(self.budget)
        a = ctx.analysis
        if limit is None or a.totals is None:
            return
        r = estimate(a, load_device(limit.device))
        value = r.seconds
        if value <= limit.seconds:
            return
        top = sorted(zip(a.layers, r.layers), key=lambda p: -p[1].seconds)[:TOP]
        shares = ", ".join(f"{info.name} {seconds_text(t.seconds)} ({t.seconds / value:.0%}, {t.bound}-bound)"
                           for info, t in top if t.seconds)
        msg = (f"{self.label} on {r.device.name} {seconds_text(value)} exceeds the budget of "
               f"{seconds_text(limit.seconds)}: {(value - limit.seconds) / limit.seconds:.0%} over "
               f"({human(a.totals.flops)} FLOPs, {human_bytes(r.traffic.bytes)} moved at {a.dtype}); "
               f"{self.top_label}: {shares}")
        yield Finding(self.code, self.severity, msg, top[0][0].node.loc if top else a.network.input_loc)
