"""A convention: which figures a tool reports (its metrics, in its own words and units) and its table of rules."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional, Tuple

from .rules import Rule


@dataclass(frozen=True, slots=True)
class Metric:
    """One figure a tool reports: its key, the tool's own name for it, the cnncalc figure it is set against
    (`explain` gives the gap to it; None: nothing comparable), whether the tool shows it per layer, and how the
    tool prints it (divisor, unit, decimals): fvcore's 4.112G "flop", ptflops' 4.13 GMac."""

    key: str
    label: str
    ours: Optional[str]
    per_layer: bool
    scale: Tuple[Optional[float], str, int]  # (divisor, or None for the prefix by magnitude; unit; decimals)

    def shown(self, value: int) -> str:
        """The value as the tool prints it: 4.13 GMac, 25.56 M, 177.83 MB."""
        divisor, unit, digits = self.scale
        prefix = ""
        if divisor is None:
            divisor = 1
            for prefix, divisor in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3), ("", 1)):
                if abs(value) >= divisor:
                    break
        return f"{value / divisor:.{digits}f} {prefix}{unit}".rstrip()


@dataclass(frozen=True, slots=True)
class Convention:
    """One tool's way of counting: its metrics and, per cnncalc layer type, a Rule for each metric (`default` for
    the types the tool has no rule for)."""

    name: str
    tool: str
    version: str
    url: str
    about: str
    metrics: Tuple[Metric, ...]
    rules: Mapping[str, Mapping[str, Rule]]
    default: Mapping[str, Rule]

    def rule(self, layer_type: str, metric: str) -> Rule:
        found = self.rules.get(layer_type, {}).get(metric)
        return found if found is not None else self.default[metric]

    def metric(self, key: str) -> Metric:
        return next(m for m in self.metrics if m.key == key)

    def headline(self, ours: str) -> Optional[Metric]:
        """The tool's figure for what cnncalc calls `ours` ("macs", "flops", "params"): its first metric set against
        it (a trainable-params count stands for params), or None when the tool reports nothing like it."""
        wanted = (ours, "trainable_params") if ours == "params" else (ours,)
        return next((m for m in self.metrics if m.ours in wanted), None)

    def __repr__(self) -> str:
        return f"Convention({self.name!r}, {self.tool} {self.version}, metrics={[m.key for m in self.metrics]})"
