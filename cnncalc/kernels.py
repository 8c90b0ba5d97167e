"""The alternatives to one F×F convolution with the same receptive field, as specs, compared by the core analysis.

Each alternative is a bundled spec in `cnncalc/specs/compare/` (so `summary` and `compare` run it too) with the
variables `channels`, `out`, `kernel` and `stride`; nothing here counts parameters or MACs itself.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from .compare import Comparison, Item, Variant, collect
from .errors import SpecError
from .zoo import ZOO_DIR

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
        raise SpecError(f"kernel size must be odd and at least 3 (a 3×3 stack grows the field by 2 per conv), got {size}")
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
                    mid: Optional[int] = None, batch: int = 1, dtype: str = "float32") -> Comparison:
    """The alternatives analysed; the first item is the single F×F conv, so ratios are to it."""
    return collect(variants(size, channels, out, input, stride, mid), batch=batch, dtype=dtype)


def same_field(item: Item, base: Item) -> bool:
    """True when the alternative sees exactly the single conv's receptive field (size, stride and padding)."""
    return item.values["receptive_field"] == base.values["receptive_field"]
