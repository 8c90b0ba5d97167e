"""Sliding-window geometry shared by convolution and pooling: the size formula applied per axis."""
from __future__ import annotations

from fractions import Fraction
from typing import List, Tuple

from .base import Layer, Shape, Window, per_axis, same_padding, spatial_rank, window_count, window_formula, AXIS_NAMES


class WindowGeometry(Layer):
    """Mixin for layers that slide a window: normalises kernel/stride/padding/dilation for the input's rank."""

    has_dilation = True

    def _stride_arg(self):
        return "stride"

    def spatial_out(self, shape: Shape) -> Tuple[int, ...]:
        rank = spatial_rank(self, shape)
        sizes = shape[1:]
        k = per_axis(self, "kernel", rank)
        s = per_axis(self, "stride", rank) if self.stride is not None else k
        d = per_axis(self, "dilation", rank) if self.has_dilation else (1,) * rank
        pads = self._pads(sizes, k, s, d)
        ceil_mode = getattr(self, "ceil_mode", False)
        outs, drops = [], []
        for axis, (n, kk, ss, (lo, hi), dd) in enumerate(zip(sizes, k, s, pads, d)):
            out, drop = window_count(n, kk, ss, lo, hi, dd, ceil_mode)
            if out < 1:
                raise self.error(
                    f"'{self.type}' output would be empty along {AXIS_NAMES[rank][axis]}: {window_formula(n, kk, ss, lo, hi, dd)}",
                    "kernel", hint="use a smaller kernel or stride, add padding, or feed a larger input")
            outs.append(out)
            drops.append(drop)
        self.kernel_, self.stride_, self.dilation_, self.pads_ = k, s, d, pads
        self.drops_ = tuple(drops)
        return tuple(outs)

    def _pads(self, sizes, k, s, d) -> List[Tuple[int, int]]:
        rank = len(sizes)
        p = self.padding
        if p == "same":
            return [same_padding(n, kk, ss, dd) for n, kk, ss, dd in zip(sizes, k, s, d)]
        if p == "valid":
            return [(0, 0)] * rank
        if isinstance(p, tuple) and p and isinstance(p[0], tuple):
            if len(p) != rank:
                raise self.error(f"'{self.type}' padding has {len(p)} [before, after] pairs but the input has {rank} spatial axes", "padding")
            return list(p)
        return [(v, v) for v in per_axis(self, "padding", rank)]

    def window(self):
        return [Window(Fraction(s), Fraction(d * (k - 1), 2) - lo, d * (k - 1))
                for k, s, d, (lo, _) in zip(self.kernel_, self.stride_, self.dilation_, self.pads_)]

    def dropped(self):
        return self.drops_ if any(self.drops_) else None
