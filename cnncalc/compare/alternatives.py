"""The alternatives to one F×F convolution with the same receptive field, as specs, compared by the core analysis.

Each alternative is a bundled spec in `cnncalc/specs/compare/` (so `summary` and `compare` run it too) with the
variables `channels`, `out`, `kernel` and `stride`; nothing here counts parameters or MACs itself. `claims` says in
words what the comparison shows.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from ..errors import OptionError
from ..spec.zoo import ZOO_DIR
from . import Comparison, Item, collect
from .variants import Variant

SPEC_DIR = ZOO_DIR / "compare"


@dataclass(frozen=True)
class Alternative:
    """One way to get an F×F receptive field: its spec file and how to describe it for a kernel size F."""

    spec: str  # file stem in SPEC_DIR
    describe: str  # a format string over f (kernel size), n ((F − 1) / 2) and mid

    def path(self) -> Path:
        return SPEC_DIR / f"{self.spec}.yaml"


ALTERNATIVES = (
    Alternative("single", "one {f}×{f}"),
    Alternative("stack3x3", "{n} stacked 3×3"),
    Alternative("factorized", "1×{f} then {f}×1"),
    Alternative("dilated", "3×3 dilated {n}"),
    Alternative("separable", "depthwise {f}×{f} + 1×1"),
    Alternative("bottleneck", "1×1 to {mid}, then {f}×{f}"),
)


def variants(size: int, channels: int, out: Optional[int] = None, input: int = 56, stride: int = 1,
             mid: Optional[int] = None) -> List[Variant]:
    """The alternatives for an F×F conv from `channels` to `out` channels on an input×input map."""
    if size < 3 or size % 2 == 0:
        raise OptionError(f"kernel size must be odd and at least 3 (a 3×3 stack grows the field by 2 per conv), got {size}")
    out = channels if out is None else out
    mid = max(channels // 4, 1) if mid is None else mid
    settings = (("channels", channels), ("out", out), ("kernel", size), ("stride", stride))
    result = []
    for alt in ALTERNATIVES:
        extra = (("mid", mid),) if alt.spec == "bottleneck" else ()
        label = alt.describe.format(f=size, n=(size - 1) // 2, mid=mid)
        result.append(Variant(str(alt.path()), settings + extra, (input,), label))
    return result


def compare_kernels(size: int, channels: int, out: Optional[int] = None, input: int = 56, stride: int = 1,
                    mid: Optional[int] = None, batch: int = 1, dtype: str = "float32", device=None) -> Comparison:
    """The alternatives analysed (and estimated on `device`, if given); the first item is the single F×F conv, so
    ratios are to it."""
    return collect(variants(size, channels, out, input, stride, mid), batch=batch, dtype=dtype, device=device)


def same_field(item: Item, base: Item) -> bool:
    """True when the alternative sees exactly the single conv's receptive field (size, stride and padding)."""
    return item.values["receptive_field"] == base.values["receptive_field"]


def claims(result: Comparison, size: int) -> List[str]:
    """What the comparison says in words: the stacking claim, every alternative that is not cheaper, the dilation
    gaps, and any alternative whose receptive field differs from the single conv's."""
    items = result.items
    if len(items) < 2:
        return []
    base, notes = items[0], []
    for item in items[1:]:
        r, v, spec = item.ratios, item.values, Path(item.variant.spec).stem
        if not same_field(item, base):
            notes.append(f"✗ {item.label} does not see the same receptive field")
        if spec == "stack3x3":
            notes.append(f"{item.label}: the same {size}×{size} receptive field as one {size}×{size} conv, "
                         f"{percent(r['params'])} parameters, {percent(r['macs'])} MACs, "
                         f"{v['nonlinearities']} nonlinearities instead of {base.values['nonlinearities']}")
        if r["params"] > 1 or r["macs"] > 1:
            notes.append(f"not cheaper: {item.label} has {percent(r['params'])} parameters and "
                         f"{percent(r['macs'])} MACs compared with one {size}×{size} conv")
        if r.get("time") is not None and r["macs"] and r["time"] > 1.5 * r["macs"]:
            notes.append(f"{item.label}: {percent(r['macs'])} MACs but {percent(r['time'])} estimated time on "
                         f"{result.device.name}, {v['memory_bound_share']:.0%} of it memory-bound: it moves "
                         f"{r['bytes_moved']:.2f}× the single conv's bytes")
        if spec == "dilated":
            notes.append(f"{item.label} reads 9 of the {size * size} positions of its {size}×{size} window per channel")
    return notes


def percent(r: float) -> str:
    """0.551 → '−45 %', 1.08 → '+8 %' (of the single conv's figure)."""
    change = round((r - 1) * 100)
    return f"{'+' if change > 0 else '−' if change < 0 else '±'}{abs(change)} %"
