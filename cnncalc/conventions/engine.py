"""Apply a convention's table to an analysis: the tool's figures per layer and in total, and why they differ.

    counted = count(analysis, "ptflops")        # the tool's per-layer figures and totals, batch included
    for e in explain(analysis, "ptflops"):      # per metric: the gap to cnncalc, by layer type and rule
        assert sum(row.delta for row in e.rows) == e.gap

Everything here is a sum over layers of integers, so an explanation adds up to its gap exactly.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Tuple

from ..core.analysis import DTYPE_BYTES, Analysis, LayerInfo
from ..errors import OptionError, did_you_mean
from .model import Convention, Metric
from .rules import Rule, Site
from .tables import CONVENTIONS



def _macs_rule(r: LayerInfo) -> str:
    return "M, bias excluded" if r.layer.weighted else "0 MACs: not a conv or dense layer"


def _flops_rule(r: LayerInfo) -> str:
    cls = type(r.layer)
    return "FLOPs: " + (cls.flops_rule or (f"{cls.flops_per_element} per element" if cls.flops_per_element else "0"))


# cnncalc's own per-layer figure for each `Metric.ours`, and cnncalc's rule for it in words (README: What is counted)
OURS: Mapping[str, Tuple[Callable[[LayerInfo, int], int], Callable[[LayerInfo], str]]] = {
    "macs": (lambda r, size: r.macs, _macs_rule),
    "flops": (lambda r, size: r.flops, _flops_rule),
    "params": (lambda r, size: r.params, lambda r: "params: learnable elements"),
    "trainable_params": (lambda r, size: r.params if r.trainable else 0, lambda r: "trainable params"),
    "activation_bytes": (lambda r, size: r.activation_bytes, lambda r: "activation bytes: every layer's output"),
    "param_bytes": (lambda r, size: r.params * size, lambda r: "param bytes: params × dtype size"),
}


def convention(name: str, option: str = "--convention") -> Convention:
    """The convention called `name`, or an OptionError naming the choices."""
    found = CONVENTIONS.get(name)
    if found is None:
        hint = did_you_mean(name, CONVENTIONS) or f"choose from {', '.join(CONVENTIONS)}"
        raise OptionError(f"unknown convention {name!r}", hint=hint, option=option)
    return found


@dataclass(frozen=True, slots=True)
class LayerCount:
    """One layer's figures under a convention, by metric key."""

    name: str
    type: str
    values: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Counted:
    """A convention applied to an analysis: per-layer figures and totals by metric key, and cnncalc's own totals of
    the figures they are set against."""

    convention: Convention
    analysis: Analysis
    layers: Tuple[LayerCount, ...]
    totals: Mapping[str, int]
    ours: Mapping[str, int]  # by metric key: cnncalc's total of that metric's `ours` (absent when None)


def _sites(analysis: Analysis):
    size = DTYPE_BYTES[analysis.dtype]
    for r in analysis.complete().layers:
        yield r, Site(r.layer, r.facts, analysis.batch, r.trainable, size)


def count(analysis: Analysis, name) -> Counted:
    """The figures tool `name` (a name or a Convention) reports for this analysis."""
    conv = name if isinstance(name, Convention) else convention(name)
    size = DTYPE_BYTES[analysis.dtype]
    keys = [m.key for m in conv.metrics]
    totals: Dict[str, int] = dict.fromkeys(keys, 0)
    ours = {m.key: 0 for m in conv.metrics if m.ours}
    layers: List[LayerCount] = []
    for r, site in _sites(analysis):
        values = {k: conv.rule(r.type, k)(site) for k in keys}
        for k, v in values.items():
            totals[k] += v
        for m in conv.metrics:
            if m.ours:
                ours[m.key] += OURS[m.ours][0](r, size)
        layers.append(LayerCount(r.name, r.type, values))
    return Counted(conv, analysis, tuple(layers), totals, ours)


@dataclass(frozen=True, slots=True)
class Difference:
    """What one rule of the tool adds over (or takes from) cnncalc's figure, over the layers of one type."""

    layer_type: str
    rule: Rule
    ours_rule: str
    layers: int
    theirs: int
    ours: int

    @property
    def delta(self) -> int:
        return self.theirs - self.ours


@dataclass(frozen=True, slots=True)
class Explanation:
    """The gap between a tool's metric and cnncalc's, broken into rows that sum to it exactly."""

    convention: Convention
    metric: Metric
    theirs: int
    ours: int
    rows: Tuple[Difference, ...]  # only rows that differ, largest first

    @property
    def gap(self) -> int:
        return self.theirs - self.ours


def explain(analysis: Analysis, name) -> Tuple[Explanation, ...]:
    """For each metric of the convention that has a cnncalc counterpart: the gap, by layer type and rule."""
    conv = name if isinstance(name, Convention) else convention(name, option="--vs")
    size = DTYPE_BYTES[analysis.dtype]
    sites = list(_sites(analysis))
    out = []
    for m in conv.metrics:
        if not m.ours:
            continue
        ours_of, ours_text = OURS[m.ours]
        groups: Dict[tuple, list] = {}  # (type, rule) → [layers, theirs, ours, cnncalc's rule]
        theirs_total = ours_total = 0
        for r, site in sites:
            rule = conv.rule(r.type, m.key)
            theirs, ours = rule(site), ours_of(r, size)
            theirs_total += theirs
            ours_total += ours
            g = groups.setdefault((r.type, id(rule)), [rule, 0, 0, 0, ours_text(r)])
            g[1] += 1
            g[2] += theirs
            g[3] += ours
        rows = [Difference(t, rule, text, n, theirs, ours) for (t, _), (rule, n, theirs, ours, text) in groups.items()
                if theirs != ours]
        rows.sort(key=lambda d: (-abs(d.delta), d.layer_type))
        out.append(Explanation(conv, m, theirs_total, ours_total, tuple(rows)))
    return tuple(out)
