"""Comparisons: the same totals for several specs, or variants of one (`mobilenet_v2@alpha=0.5,input=160`).

Every figure comes from the core analysis; this package picks totals, counts layers along the graph, matches
top-level stages by name and divides by the first item. Variants are parsed in `variants`, the alternatives to one
F×F conv built in `alternatives`; formatting lives in `cnncalc.render.compare`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from ..core.analysis import Analysis
from ..core.load import Source, load
from ..core.rows import Row
from ..errors import SpecError
from ..spec.graph import INPUT
from .variants import (Variant, VariantError, parse_sweep, parse_variant, setting_text,  # noqa: F401
                       sweep_variants)


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
# With a device (`--device`): the roofline estimate (cnncalc.core.roofline) of each item.
DEVICE_METRICS = (
    Metric("bytes_moved", "Memory traffic", "bytes"),
    Metric("time", "Est. time", "seconds"),
    Metric("memory_bound_share", "Memory-bound time", "share"),
)
# With a training step (`--train`): one step's cost (cnncalc.core.train) at the batch, optimizer and precision given.
TRAIN_METRICS = (
    Metric("train_step_flops", "Train step FLOPs", "count"),
    Metric("backward_flops", "Backward FLOPs", "count"),
    Metric("saved_bytes", "Saved for backward", "bytes"),
    Metric("train_state_bytes", "Weights+grads+state", "bytes"),
    Metric("train_peak_bytes", "Training peak", "bytes"),
)
BY_KEY = {m.key: m for m in METRICS + DEVICE_METRICS + TRAIN_METRICS}
RATIO_KINDS = ("count", "bytes", "seconds")  # metrics a ratio to the first item makes sense for


@dataclass(frozen=True)
class Item:
    """One compared network: its variant, analysis, metric values and ratios to the first item."""

    variant: Variant
    analysis: Analysis
    values: Dict[str, Any]
    ratios: Dict[str, Optional[float]]

    @property
    def label(self) -> str:
        return self.variant.label or self.analysis.network.name


@dataclass(frozen=True)
class Comparison:
    """Items that analysed cleanly, in order, and the located errors of the ones that did not."""

    items: List[Item]
    errors: List[SpecError]
    device: Optional[object] = None  # the `Device` the items were estimated on (`DEVICE_METRICS`), if any
    train: Optional[Tuple[str, str]] = None  # (optimizer, precision) of the training step (`TRAIN_METRICS`), if any


def collect(variants: Sequence[Variant], batch: int = 1, dtype: str = "float32",
            sources: Optional[Mapping[str, Source]] = None, device=None,
            train: Optional[Tuple[str, str]] = None) -> Comparison:
    """Load (through `cnncalc.core.load`) and analyse every variant; ratios are against the first item that analysed
    cleanly. `sources` maps spec arguments to specs already read (standard input, read once). With a `device` (a
    `cnncalc.core.device.Device`) the items also carry `DEVICE_METRICS`; with `train` (optimizer, precision),
    `TRAIN_METRICS`."""
    analysed, errors = [], []
    for v in variants:
        spec = (sources or {}).get(v.spec, v.spec)
        try:
            a = load(spec, vars=dict(v.vars), input=v.input).analyze(batch=batch, dtype=dtype)
        except SpecError as e:  # a sweep may repeat one error at every grid point: report it once
            if all(e.format() != seen.format() for seen in errors):
                errors.append(e)
            continue
        if a.error is not None:
            errors.append(a.error)
            continue
        values = metrics(a)
        if device is not None:
            values.update(device_metrics(a, device))
        if train is not None:
            values.update(train_metrics(a, *train))
        analysed.append((v, a, values))
    first = analysed[0][2] if analysed else {}
    keys = [m.key for m in METRICS + DEVICE_METRICS + TRAIN_METRICS if m.kind in RATIO_KINDS and m.key in first]
    return Comparison([Item(v, a, values, {k: ratio(values[k], first[k]) for k in keys})
                       for v, a, values in analysed], errors, device, train)


def ratio(value: int, base: int) -> Optional[float]:
    """value / base, or None when base is 0."""
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
        "depth": longest_path(a, lambda info: info.layer.weighted),
        "weighted_layers": sum(1 for info in a.layers if info.layer.weighted),
        "nonlinearities": sum(1 for info in a.layers if info.layer.nonlinear),
    }


def device_metrics(a: Analysis, device) -> Dict[str, Any]:
    """`DEVICE_METRICS` of one complete analysis on `device`."""
    from ..core.roofline import MEMORY, estimate

    r = estimate(a, device)
    return {"bytes_moved": r.traffic.bytes, "time": r.seconds,
            "memory_bound_share": r.seconds_by_bound(MEMORY) / r.seconds if r.seconds else 0.0}


def train_metrics(a: Analysis, optimizer: str, precision: str) -> Dict[str, Any]:
    """`TRAIN_METRICS` of one complete analysis: one training step at the analysis's batch (`cnncalc train`)."""
    from ..core.train.step import train

    t = train(a.network, a.batch, optimizer, precision).totals
    return {"train_step_flops": t.step_flops, "backward_flops": t.backward_flops, "saved_bytes": t.saved_bytes,
            "train_state_bytes": t.param_bytes + t.buffer_bytes + t.grad_bytes + t.optimizer_bytes
            + t.loss_scale_bytes,
            "train_peak_bytes": t.peak_bytes}


def shown_metrics(comparison: "Comparison") -> Tuple[Metric, ...]:
    """The metrics the items carry: `METRICS`, `DEVICE_METRICS` when they were estimated on a device and
    `TRAIN_METRICS` when a training step was worked out."""
    items = comparison.items
    return (METRICS + (DEVICE_METRICS if items and "time" in items[0].values else ())
            + (TRAIN_METRICS if items and "train_peak_bytes" in items[0].values else ()))


def longest_path(a: Analysis, counts: Callable) -> int:
    """The most layers that `counts` on any path from the input to the output.

    With `counts` = "is weighted" (conv, conv_transpose, dense) this is the depth papers quote: ResNet-50's 50
    (its projection shortcuts sit beside deeper paths), VGG-16's 16, MobileNet's 28.
    """
    best: Dict[int, int] = {INPUT: 0}
    for info in a.layers:
        best[info.index] = max(best[j] for j in info.node.inputs) + (1 if counts(info) else 0)
    return best[a.network.output]


@dataclass(frozen=True)
class Stage:
    """One top-level row name and, per item, its folded row (None where that spec has no such stage) and the ratios
    of its params and MACs to the first item's row (None where either row is missing)."""

    name: str
    rows: Tuple[Optional[Row], ...]
    ratios: Tuple[Optional[Dict[str, Optional[float]]], ...]


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
    out = []
    for name in order:
        rows = tuple(item_rows.get(name) for item_rows in per_item)
        base = rows[0]
        out.append(Stage(name, rows, tuple(
            None if r is None or base is None else {"params": ratio(r.params, base.params),
                                                     "macs": ratio(r.macs, base.macs)} for r in rows)))
    return out
