"""Growth against a baseline (CNN31x): a pull request that grows params, MACs or peak memory by more than an allowed
share of the base fails, and says by how much and in which stages.

The baseline of a spec is its figures at the base: read from a git revision (`--baseline main`: the same file
analysed as it was there, with the same settings) or from a committed file (`--baseline cnncalc-baseline.json`,
written by `--write-baseline`). Limits are shares (`5%`, `0.05`) per metric from `growth:` in the settings or
`--max-growth`. A spec the baseline does not have (a new file) has nothing to grow from and is not checked.

Metrics are a table, `METRICS`; a new one (latency on a device, once cnncalc estimates it) is one entry: a
name, a rule code, how to read it from an analysis, and how to write it — its rule, its `growth:` key and its
`--max-growth NAME=` follow.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from ..errors import Location, OptionError, SpecError, shown
from ..units import human, human_bytes
from .core import Finding, Rule, Severity, register

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Metric:
    """A figure whose growth can be limited: its `growth:` name, rule code and name, what it is called in messages,
    how to read it from a complete analysis (total and per stage; None: not per stage) and how to write it."""

    name: str
    code: str
    rule_name: str
    label: str
    total: Callable[[Any], int]
    per_layer: Optional[str]  # LayerInfo attribute summed per stage, or None
    fmt: Callable[[int], str]
    kind: str = "count"  # how a value is written in a `baseline:` section: "count" (25M) or "bytes" (512MiB)


METRICS: Dict[str, Metric] = {m.name: m for m in (
    Metric("params", "CNN311", "params-growth", "params", lambda a: a.totals.params, "params", human),
    Metric("macs", "CNN312", "macs-growth", "MACs", lambda a: a.totals.macs, "macs", human),
    Metric("peak-memory", "CNN314", "peak-memory-growth", "peak activations",
           lambda a: a.totals.peak_activation_bytes, None, human_bytes, "bytes"),
    # latency: waits for device estimates (another issue); add a Metric here and everything else follows
)}


@dataclass(frozen=True)
class Baseline:
    """One spec's figures at the base: `totals` per metric name, `stages` (top-level row → metric → value), and
    where they came from (`main:models/net.yaml`, or the baseline file)."""

    source: str
    totals: Mapping[str, int]
    stages: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    @classmethod
    def of(cls, analysis, source: str) -> "Baseline":
        """The baseline of a complete analysis."""
        a = analysis.complete()
        stages: Dict[str, Dict[str, int]] = {}
        for row in a.rows(1):
            stages[row.name] = {m.name: getattr(row, m.per_layer) for m in METRICS.values() if m.per_layer}
        return cls(source, {m.name: m.total(a) for m in METRICS.values()}, stages)

    def as_dict(self) -> Dict[str, Any]:
        return {**self.totals, "stages": {k: dict(v) for k, v in self.stages.items()}}


def write_file(baselines: Mapping[str, Baseline], batch: int, dtype: str) -> str:
    """The JSON of a baseline file: per spec path, its totals and stages."""
    return json.dumps({"schema_version": SCHEMA_VERSION, "batch": batch, "dtype": dtype,
                       "specs": {path: b.as_dict() for path, b in sorted(baselines.items())}}, indent=2) + "\n"


def read_file(text: str, filename: str) -> Tuple[Dict[str, Baseline], int, str]:
    """A baseline file → (baselines by spec path, batch, dtype); a malformed file is a SpecError naming it."""
    def bad(why: str) -> SpecError:
        return SpecError(f"not a cnncalc baseline file: {why}", Location(filename, 1, 1),
                         hint="write one with `cnncalc lint SPECS --write-baseline FILE`")

    try:
        data = json.loads(text)
    except ValueError as e:
        raise bad(f"JSON syntax ({e})") from None
    if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION \
            or not isinstance(data.get("specs"), dict):
        raise bad(f"expected an object with schema_version {SCHEMA_VERSION} and specs")
    out = {}
    for path, entry in data["specs"].items():
        if not isinstance(entry, dict):
            raise bad(f"the entry of {shown(path)} is not an object")
        totals = {k: v for k, v in entry.items() if k in METRICS}
        stages = entry.get("stages", {})
        if not all(_count(v) for v in totals.values()) or not isinstance(stages, dict) or not all(
                isinstance(s, dict) and all(k in METRICS and _count(v) for k, v in s.items()) for s in stages.values()):
            raise bad(f"the figures of {shown(path)} must be whole non-negative numbers")
        out[path] = Baseline(f"{filename}[{path}]", totals, stages)
    batch, dtype = data.get("batch", 1), data.get("dtype", "float32")
    return out, batch, dtype


def _count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


_SHARE = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(%?)\s*$")


def parse_share(value: Any) -> Fraction:
    """'5%' or 0.05 → Fraction(1, 20): the growth allowed, as a share of the base (exact, so 5% is 5%)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise OptionError(f"expected a share like 5% or 0.05, got {shown(value)}")
    if isinstance(value, str):
        m = _SHARE.match(value)
        if not m:
            raise OptionError(f"expected a share like 5% or 0.05, got {shown(value)}")
        share = Fraction(m.group(1)) / (100 if m.group(2) else 1)
    else:
        if value != value or value in (float("inf"), float("-inf")):
            raise OptionError(f"expected a share like 5% or 0.05, got {shown(value)}")
        share = Fraction(str(value)) if isinstance(value, float) else Fraction(value)
    if share < 0:
        raise OptionError(f"a growth limit cannot be negative, got {shown(value)}")
    return share


def parse_growth_flag(text: str) -> Dict[str, Fraction]:
    """`--max-growth params=5%` → {'params': 1/20}; `--max-growth 5%` sets every metric."""
    name, eq, value = text.partition("=")
    if not eq:
        share = parse_share(text)
        return {m: share for m in METRICS}
    key = name.strip().replace("_", "-")
    if key not in METRICS:
        from ..errors import did_you_mean

        raise OptionError(f"no growth metric '{name.strip()}'", hint=did_you_mean(key, METRICS) or
                          f"metrics: {', '.join(METRICS)}")
    return {key: parse_share(value)}


def percent(share: Fraction) -> str:
    """1/20 → '5%', 1/8 → '12.5%'."""
    return f"{float(share * 100):g}%"


class Growth(Rule):
    """Base of the growth rules; `metric` names an entry of METRICS."""

    severity = Severity.ERROR
    metric = ""
    TOP = 3

    def check(self, ctx, opts):
        base: Optional[Baseline] = getattr(ctx.settings, "baseline", None)
        limit = ctx.settings.growth.get(self.metric) if getattr(ctx.settings, "growth", None) else None
        a = ctx.analysis
        m = METRICS[self.metric]
        if base is None or limit is None or a.totals is None or m.name not in base.totals:
            return
        old, new = base.totals[m.name], m.total(a)
        if new - old <= limit * old and not (old == 0 and new > 0):
            return
        grew = f"+{(new - old) / old:.1%}" if old else "from nothing"
        msg = (f"{m.label} grew {grew} over the baseline ({base.source}): {m.fmt(old)} → {m.fmt(new)} "
               f"({new - old:+,}), more than the {percent(limit)} allowed")
        where, loc = self._where(ctx, base, m)
        if where:
            msg += f"; most growth in {where}"
        yield Finding(self.code, self.severity, msg, loc or a.network.input_loc)

    def _where(self, ctx, base: Baseline, m: Metric) -> Tuple[str, Optional[Location]]:
        """The stages that grew most (matched by name), and the spec line of the first layer of the largest."""
        if m.per_layer is None or not base.stages:  # an inline `baseline:` has totals only
            return "", None
        grown: List[Tuple[int, str, int]] = []
        for row in ctx.analysis.rows(1):
            before = base.stages.get(row.name, {}).get(m.name, 0)
            after = getattr(row, m.per_layer)
            if after > before:
                grown.append((after - before, row.name, before))
        grown.sort(key=lambda g: (-g[0], g[1]))
        parts = [f"{name} {'+' + m.fmt(d)}" + (f" (+{d / before:.0%})" if before else " (new)")
                 for d, name, before in grown[:self.TOP]]
        loc = None
        if grown:
            top = grown[0][1]
            loc = next((i.node.loc for i in ctx.layers if i.name == top or (i.groups and i.groups[0] == top)), None)
        return ", ".join(parts), loc


# the documented examples: a 3×3 conv on [3, 32, 32] with 8 outputs has 3·3·3·8 + 8 = 224 params and
# 32·32·8·27 = 221,184 MACs, and its peak is the input and output live together: (3 + 8)·32·32·4 B = 44 KiB;
# with 16 outputs all three grow by more than 10%
EXAMPLE_BASE = {"params": "224", "macs": "221184", "peak-memory": "44KiB"}


def _growth_rule(m: Metric) -> type:
    doc = f"""The network's {m.label} grew by more than the `{m.name}` share allowed over its baseline
    (`--baseline` a git revision or a baseline file, or `baseline:` in the settings; the share from
    `--max-growth {m.name}=SHARE` or `growth:`).

    Why: a budget that only grows by small accepted steps stays a budget; each pull request says what it costs.

    Bad:
        input: [3, 32, 32]
        lint: {{growth: {{{m.name}: 10%}}, baseline: {{{m.name}: {EXAMPLE_BASE[m.name]}}}}}
        layers:
          - conv: {{out: 16, kernel: 3, padding: 1}}
    Good:
        input: [3, 32, 32]
        lint: {{growth: {{{m.name}: 10%}}, baseline: {{{m.name}: {EXAMPLE_BASE[m.name]}}}}}
        layers:
          - conv: {{out: 8, kernel: 3, padding: 1}}
    """
    cls = type(f"{m.rule_name.title().replace('-', '')}", (Growth,), {
        "__doc__": doc, "code": m.code, "name": m.rule_name, "metric": m.name, "__module__": __name__})
    return register(cls)


for _metric in METRICS.values():
    _growth_rule(_metric)


def from_revision(rev: str, spec: str, vars: Mapping[str, Any], input, batch: int, dtype: str) -> Optional[Baseline]:
    """The baseline of the spec file `spec` as it was at git revision `rev`, analysed with the same settings; None
    when it did not exist there or could not be analysed then (nothing to grow from)."""
    import os
    from pathlib import Path

    from ..compare import revision
    from ..core.load import load

    if spec == "-" or not Path(spec).is_file():
        return None  # standard input or a zoo name: no history in this repository
    path = "./" + Path(os.path.relpath(spec)).as_posix()  # git's REV:./PATH is from the working directory
    try:
        source = revision.read(rev, path)
        a = load(source, vars=dict(vars), input=input).analyze(batch=batch, dtype=dtype)
    except SpecError:
        return None
    return Baseline.of(a, f"{rev}:{spec}") if a.ok else None
