"""Receptive fields per spatial axis, after Araujo et al., "Computing Receptive Fields of Convolutional Neural
Networks" (Distill, 2019): size r, effective stride S and effective padding P, so that output unit j of a tensor
sees input units j·S − P … j·S − P + r − 1.

Values are exact: ints where they are whole (almost always, and much faster), Fractions where transposed
convolutions, upsampling or even kernels make them fractional.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Optional, Sequence, Tuple, Union

from ..layers import GLOBAL

Number = Union[int, Fraction]


def _exact(x: Number) -> Number:
    """A whole Fraction as an int (keeps later arithmetic on the fast path)."""
    return int(x) if isinstance(x, Fraction) and x.denominator == 1 else x


def _half(x: Number) -> Number:
    return _exact(Fraction(x) / 2) if not isinstance(x, int) or x % 2 else x // 2


@dataclass(frozen=True, slots=True)
class ReceptiveField:
    """Receptive field per spatial axis: size r, effective stride S, effective padding P (Araujo et al. 2019).

    `size` is None when every output unit sees the whole input (after global pooling, flatten or dense).
    `aligned` is False when paths of a merge disagree in stride or centre; the path with the largest r is
    reported then.
    """

    size: Optional[Tuple[Number, ...]]
    stride: Optional[Tuple[Number, ...]] = None
    padding: Optional[Tuple[Number, ...]] = None
    aligned: bool = True

    @property
    def is_global(self) -> bool:
        return self.size is None

    @classmethod
    def unit(cls, rank: int) -> "ReceptiveField":
        return cls((1,) * rank, (1,) * rank, (0,) * rank)

    def centres(self) -> Tuple[Number, ...]:
        return tuple(_half(r - 1) - p for r, p in zip(self.size, self.padding))

    def through(self, windows) -> "ReceptiveField":
        """The field after one layer whose per-axis `Window`s map output units to input units."""
        if windows is GLOBAL or self.is_global:
            return GLOBAL_RF
        if windows is None:
            return self
        size, stride, pad = [], [], []
        for w, r, s, p in zip(windows, self.size, self.stride, self.padding):
            if type(r) is int and type(s) is int and type(p) is int and type(w.scale) is int and type(w.offset) is int \
                    and r % 2 and w.span * s % 2 == 0:
                # the usual case, all ints: an odd size stays odd, so both halves below are whole
                r2 = r + w.span * s
                size.append(r2)
                stride.append(s * w.scale)
                pad.append((r2 - 1) // 2 - ((r - 1) // 2 - p + s * w.offset))
                continue
            c = _half(r - 1) - p  # this axis's entry of `centres()`
            r2 = _exact(r + w.span * s)
            size.append(r2)
            stride.append(_exact(s * w.scale))
            pad.append(_exact(_half(r2 - 1) - (c + s * w.offset)))
        return ReceptiveField(tuple(size), tuple(stride), tuple(pad), self.aligned)

    @staticmethod
    def merge(fields: Sequence["ReceptiveField"]) -> "ReceptiveField":
        """Several paths meet: paths that saw the whole input (squeeze-excitation gates) are not spatial paths."""
        local = [f for f in fields if not f.is_global]
        if not local:
            return GLOBAL_RF
        aligned = all(f.aligned for f in local)
        size, stride, pad = [], [], []
        centres = [f.centres() for f in local]
        for axis in range(len(local[0].size)):
            keys = {(f.stride[axis], c[axis]) for f, c in zip(local, centres)}
            aligned = aligned and len(keys) == 1
            best = max(local, key=lambda f: f.size[axis])
            size.append(best.size[axis])
            stride.append(best.stride[axis])
            pad.append(best.padding[axis])
        return ReceptiveField(tuple(size), tuple(stride), tuple(pad), aligned)


GLOBAL_RF = ReceptiveField(None)
