"""What the design rules share: alternatives built as real layers and analysed by the core, and message helpers.

Where a rule proposes a change, the change is built as a `Network` of real layers and analysed (`alternative`), so
its effect on parameters, MACs and receptive field is the core's arithmetic, never a formula repeated in a rule.
"""
from __future__ import annotations

from typing import Any, Dict, Sequence, Tuple

from ...core.network import LayerNode, Network
from ...errors import Location, SpecError
from ...layers import REGISTRY as LAYERS
from ...layers.geometry import AXIS_NAMES

HERE = Location("<lint>", 1, 1)
_UNITS = {"L": ("unit", "units"), "D": ("slice", "slices"), "H": ("row", "rows"), "W": ("column", "columns")}

_ALTERNATIVES: Dict[str, Any] = {}  # the same block used many times proposes the same change: analyse it once
_MAX_CACHED = 4096


def alternative(in_shape: Sequence[int], layers: Sequence[Tuple[str, Dict[str, Any]]]):
    """Analyse a chain of layers (spec type, arguments) on one input: an `Analysis` at batch 1, or None if invalid."""
    key = repr((tuple(in_shape), layers))
    if key not in _ALTERNATIVES:
        if len(_ALTERNATIVES) >= _MAX_CACHED:
            _ALTERNATIVES.clear()
        _ALTERNATIVES[key] = _analyse_chain(in_shape, layers)
    return _ALTERNATIVES[key]


def _analyse_chain(in_shape, layers):
    try:
        nodes = tuple(LayerNode(f"{kind}{i + 1}", LAYERS[kind].create(dict(args), {}, HERE), (i - 1,), HERE)
                      for i, (kind, args) in enumerate(layers))
    except SpecError:
        return None
    a = Network("alternative", "<lint>", tuple(in_shape), HERE, nodes, len(nodes) - 1).analyze()
    return a if a.ok else None


def args_of(layer) -> Dict[str, Any]:
    """A layer's spec arguments, ready to build a copy (unset optional ones left out)."""
    return {k: v for k, v in layer.values.items() if v is not None}


def change(before: int, after: int, what: str) -> str:
    """'−45% params' (rounded to a whole percent; 'same MACs' when equal)."""
    if before == after:
        return f"same {what}"
    pct = round((after - before) * 100 / before) if before else 100
    return f"{pct:+d}% {what}".replace("-", "−")


def effect(before, after) -> str:
    """Params, MACs and receptive field of a replacement against the original (both `alternative` analyses)."""
    b, a = before.totals, after.totals
    rf = ("same receptive field" if a.receptive_field.size == b.receptive_field.size
          else f"receptive field {dims(b.receptive_field.size)} → {dims(a.receptive_field.size)}")
    return f"{change(b.params, a.params, 'params')} ({b.params:,} → {a.params:,}), {change(b.macs, a.macs, 'MACs')}, {rf}"


def dims(values) -> str:
    """Per-axis values joined with '×' even when they agree ('7×7'); 'global' for None."""
    return "global" if values is None else "×".join(str(v) for v in values)


def arg(values: Sequence[int]):
    """A per-axis argument as a spec would write it: one int when every axis agrees."""
    return values[0] if len(set(values)) == 1 else list(values)


def lost(axes: Sequence[str], counts: Sequence[int]) -> str:
    """'1 row and 1 column' for the axes where count > 0."""
    return " and ".join(f"{n} {_UNITS[ax][n != 1]}" for ax, n in zip(axes, counts) if n)


def source(ctx, info):
    """The layer feeding `info`, looking through pass-through layers (dropout, identity); None: the input."""
    src = ctx.producer(info)
    while src is not None and src.layer.pass_through:
        src = ctx.producer(src)
    return src


def spatial_axes(info) -> Tuple[str, ...]:
    return AXIS_NAMES[len(info.output) - 1]
