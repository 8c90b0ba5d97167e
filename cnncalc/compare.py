"""Comparisons: the same totals for several specs, or variants of one (`mobilenet_v2@alpha=0.5,input=160`).

Collects numbers only (formatting lives in `cnncalc.commands.compare`). Every figure comes from the core
analysis; this module only picks totals, counts layers along the graph and divides by the first column.

Variant syntax, parsed here and nowhere else: `SPEC[@NAME=VALUE,...]`. NAME is a spec variable (like `--set`)
or `input`, which takes a full shape (`input=3,160,160`, or `3x160x160`) or one number that sets every spatial
size and keeps the channels (`input=160`). A value runs until the next `,NAME=`, so lists need no quoting.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .analysis import Analysis
from .errors import SpecError
from .network import INPUT, Network

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Metric:
    """One compared quantity: its key (JSON/CSV), its label, and its kind: count and bytes (with a ratio to the
    first item), layers (a layer count, no ratio), shape, rf."""

    key: str
    label: str
    kind: str


# The rows of `compare`, in order. Param memory counts params and buffers, as `summary`'s totals do.
METRICS = (
    Metric("output", "Output", "shape"),
    Metric("params", "Params", "count"),
    Metric("macs", "MACs", "count"),
    Metric("flops", "FLOPs", "count"),
    Metric("param_bytes", "Param memory", "bytes"),
    Metric("peak_activation_bytes", "Peak activations", "bytes"),
    Metric("receptive_field", "Receptive field", "rf"),
    Metric("local_receptive_field", "RF before global", "rf"),
    Metric("depth", "Depth", "layers"),
    Metric("weighted_layers", "Weighted layers", "layers"),
    Metric("nonlinearities", "Nonlinearities", "layers"),
)
BY_KEY = {m.key: m for m in METRICS}
RATIO_KINDS = ("count", "bytes")  # metrics a ratio to the first column makes sense for


@dataclass(frozen=True)
class Variant:
    """One column: a spec argument (path, zoo name or '-') with variable overrides and an input shape.

    `input` is as written: a full shape, or a 1-tuple meaning "every spatial size" (resolved by `network_input`).
    """

    spec: str
    vars: Tuple[Tuple[str, Any], ...] = ()
    input: Optional[Tuple[int, ...]] = None
    label: str = ""

    def over(self, vars: Mapping[str, Any], input: Optional[Tuple[int, ...]]) -> "Variant":
        """This variant on top of defaults for every spec (`--set`, `--input`): its own settings win."""
        return replace(self, vars=tuple({**vars, **dict(self.vars)}.items()),
                       input=self.input if self.input is not None else input)

    @property
    def settings(self) -> Dict[str, Any]:
        """The overrides as one mapping (`input` included), for JSON and sweep tables."""
        out = dict(self.vars)
        if self.input is not None:
            out["input"] = list(self.input) if len(self.input) > 1 else self.input[0]
        return out


class VariantError(SpecError):
    """A malformed variant argument, shown with a caret under the offending column."""

    def __init__(self, message: str, text: str, col: int, width: int = 1):
        super().__init__(message)
        self.text, self.col, self.width = text, col, max(width, 1)

    def format(self) -> str:
        return f"error: {self.message}\n  {self.text}\n  {' ' * self.col}{'^' * self.width}"


def parse_variant(arg: str) -> Variant:
    """`SPEC[@NAME=VALUE,...]` → a Variant. The last '@' separates the spec (paths may contain '@')."""
    spec, at, rest = arg.rpartition("@")
    if not at:
        return Variant(arg, label=arg)
    if not spec:
        raise VariantError("a variant needs a spec before '@'", arg, 0)
    settings = dict(_settings(arg, len(spec) + 1))
    shape = settings.pop("input", None)
    return Variant(spec, tuple(settings.items()), shape, arg)


def _settings(text: str, start: int) -> List[Tuple[str, Any]]:
    """NAME=VALUE items of `text[start:]`; a comma-separated piece without '=' continues the previous value."""
    items: List[Tuple[str, str, int]] = []  # (name, raw value, column of the name)
    col = start
    for piece in text[start:].split(","):
        name, eq, raw = piece.partition("=")
        if eq and _KEY.match(name.strip()):
            items.append((name.strip(), raw, col))
        elif items and not eq:
            name0, raw0, col0 = items[-1]
            items[-1] = (name0, f"{raw0},{piece}", col0)
        else:
            raise VariantError(f"expected NAME=VALUE in {text!r}", text, col, len(piece))
        col += len(piece) + 1
    out, seen = [], set()
    for name, raw, col in items:
        if name in seen:
            raise VariantError(f"'{name}' is set twice", text, col, len(name))
        seen.add(name)
        value_col = col + len(name) + 1
        out.append((name, parse_shape(raw, text, value_col) if name == "input" else _scalar(raw, text, value_col)))
    return out


def _scalar(raw: str, text: str, col: int) -> Any:
    """A value as YAML reads it (64, 0.5, true, [1, 2], text), as `--set` does."""
    import yaml

    if not raw.strip():
        raise VariantError("empty value", text, col)
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw
    if isinstance(value, dict):
        raise VariantError("a value must be a number, a string or a list", text, col, len(raw))
    return value


def parse_shape(raw: str, text: str, col: int) -> Tuple[int, ...]:
    """`3,160,160`, `3x160x160` or `160` (every spatial size) → a tuple of positive ints."""
    parts = raw.replace("×", "x").replace("x", ",").split(",")
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        shape = ()
    if not shape or min(shape) < 1:
        raise VariantError(f"input must be positive integers like 3,160,160 or one spatial size like 160, got {raw!r}",
                           text, col, len(raw))
    return shape


def network_input(given: Tuple[int, ...], current: Tuple[int, ...], label: str) -> Tuple[int, ...]:
    """A full shape as is; one number replaces every spatial size of `current`, keeping its channels."""
    if len(given) > 1:
        return given
    if len(current) < 2:
        raise SpecError(f"{label}: input={given[0]} sets every spatial size, but the input {list(current)} has none",
                        hint="give the full shape, e.g. input=3,224,224")
    return (current[0],) + given * (len(current) - 1)


def parse_sweep(text: str) -> Tuple[str, List[Any]]:
    """`--sweep alpha=0.25,0.5` → ('alpha', [0.25, 0.5]); `input=128,160` gives spatial sizes; `3x96x96` a shape."""
    name, eq, raw = text.partition("=")
    name = name.strip()
    if not eq or not _KEY.match(name):
        raise VariantError(f"--sweep expects NAME=V1,V2,..., got {text!r}", text, 0, len(name) or 1)
    values, col = [], len(name) + 1
    for piece in raw.split(","):
        if name == "input":
            values.append(parse_shape(piece, text, col))
        else:
            values.append(_scalar(piece, text, col))
        col += len(piece) + 1
    return name, values


def sweep_variants(base: Variant, sweeps: Sequence[Tuple[str, List[Any]]]) -> List[Variant]:
    """The grid (first sweep outermost), each point the base variant with the swept settings on top."""
    names = [n for n, _ in sweeps]
    if len(set(names)) != len(names):
        raise SpecError(f"--sweep: each name once, got {', '.join(names)}")
    out = []
    for point in itertools.product(*(values for _, values in sweeps)):
        settings = dict(base.vars)
        shape = base.input
        for name, value in zip(names, point):
            if name == "input":
                shape = value
            else:
                settings[name] = value
        label = " ".join(f"{n}={setting_text(v)}" for n, v in zip(names, point))
        out.append(Variant(base.spec, tuple(settings.items()), shape, label))
    return out


def setting_text(value: Any, sep: str = "x") -> str:
    """A setting as written on one line: shapes as 3x160x160 (or with `sep`), everything else as str()."""
    return sep.join(map(str, value)) if isinstance(value, (tuple, list)) else str(value)


# -- collecting ----------------------------------------------------------------------------------------
@dataclass
class Item:
    """One compared network: its variant, analysis, metric values and ratios to the first item."""

    variant: Variant
    analysis: Analysis
    values: Dict[str, Any]
    ratios: Dict[str, Optional[float]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.variant.label or self.analysis.network.name


@dataclass
class Comparison:
    """Items that analysed cleanly, in order, and the located errors of the ones that did not."""

    items: List[Item]
    errors: List[SpecError]


def load_variant(v: Variant, texts: Mapping[str, str] = {}) -> Network:
    """Load a variant's network; `texts` supplies spec text for arguments read elsewhere (stdin '-')."""
    from . import load

    source = texts.get(v.spec)
    net = load(source if source is not None else v.spec, vars=dict(v.vars),
               filename="<stdin>" if v.spec == "-" else None)
    return net if v.input is None else net.with_input(network_input(v.input, net.input, v.label or v.spec))


def collect(variants: Sequence[Variant], batch: int = 1, dtype: str = "float32",
            load: Callable[[Variant], Network] = load_variant) -> Comparison:
    """Analyse every variant; ratios are against the first item that analysed cleanly."""
    items, errors = [], []
    for v in variants:
        try:
            a = load(v).analyze(batch=batch, dtype=dtype)
        except SpecError as e:  # a sweep may repeat one error at every grid point: report it once
            if all(e.format() != seen.format() for seen in errors):
                errors.append(e)
            continue
        if a.error is not None:
            errors.append(a.error)
            continue
        items.append(Item(v, a, metrics(a)))
    if items:
        first = items[0].values
        for item in items:
            item.ratios = {m.key: ratio(item.values[m.key], first[m.key]) for m in METRICS if m.kind in RATIO_KINDS}
    return Comparison(items, errors)


def ratio(value: int, base: int) -> Optional[float]:
    return value / base if base else None


def metrics(a: Analysis) -> Dict[str, Any]:
    """Every metric of `METRICS` for one complete analysis.

    `local_receptive_field` is the field of the last layer that does not see the whole input (a classifier's
    last conv before global pooling), the figure Araujo et al. tabulate.
    """
    t = a.totals
    return {
        "output": t.output, "params": t.params, "macs": t.macs, "flops": t.flops,
        "param_bytes": t.param_bytes + t.buffer_bytes, "peak_activation_bytes": t.peak_activation_bytes,
        "receptive_field": t.receptive_field,
        "local_receptive_field": next((i.receptive_field for i in reversed(a.layers) if not i.receptive_field.is_global),
                                      t.receptive_field),
        "depth": longest_path(a, lambda info: info.macs > 0),
        "weighted_layers": sum(1 for info in a.layers if info.macs > 0),
        "nonlinearities": sum(1 for info in a.layers if getattr(info.node.layer, "nonlinear", False)),
    }


def longest_path(a: Analysis, counts: Callable) -> int:
    """The most layers that `counts` on any path from the input to the output.

    With `counts` = "has MACs" (conv, conv_transpose, dense) this is the depth papers quote: ResNet-50's 50
    (its projection shortcuts sit beside deeper paths), VGG-16's 16, MobileNet's 28.
    """
    best: Dict[int, int] = {INPUT: 0}
    for info in a.layers:
        best[info.index] = max(best[j] for j in info.node.inputs) + (1 if counts(info) else 0)
    return best[a.network.output]


# -- by stage --------------------------------------------------------------------------------------------
@dataclass
class Stage:
    """One top-level row name and, per item, its folded row (None where that spec has no such stage)."""

    name: str
    rows: List[Any]


def stages(comparison: Comparison) -> List[Stage]:
    """Top-level blocks, repeats and layers (`rows(depth=1)`) matched by name across items, in spec order."""
    per_item = [{r.name: r for r in item.analysis.rows(1)} for item in comparison.items]
    order: List[str] = []
    for rows in per_item:
        pos = 0
        for name in rows:
            if name in order:
                pos = order.index(name) + 1
                continue
            while pos < len(order) and order[pos] not in rows:  # earlier items' own stages come first
                pos += 1
            order.insert(pos, name)
            pos += 1
    return [Stage(name, [rows.get(name) for rows in per_item]) for name in order]
