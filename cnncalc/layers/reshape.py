"""Layers that move or resample data without weights: flatten, identity and upsample."""
from __future__ import annotations

from fractions import Fraction
from math import prod

from .base import GLOBAL, Arg, Layer, Window, per_axis, register, spatial_rank


@register
class Flatten(Layer):
    """[C, *spatial] → [C·prod(spatial)], as PyTorch Flatten(start_dim=1)."""

    type = "flatten"
    doc = "flatten to a vector"

    def output_shape(self, ins):
        return (prod(ins[0]),)

    def window(self):
        return GLOBAL if len(self.ins[0]) > 1 else None

    def forward(self, xs, w):
        return xs[0].reshape(xs[0].shape[0], -1)


@register
class Identity(Layer):
    """Passes its input through unchanged (a named tap or a placeholder)."""

    type = "identity"
    doc = "pass-through"

    def forward(self, xs, w):
        return xs[0]


@register
class Upsample(Layer):
    """Resizes the spatial axes by an integer scale or to a given size (PyTorch Upsample / interpolate)."""

    type = "upsample"
    doc = "nearest or (bi/tri)linear resize"
    shorthand = "scale"
    args = (
        Arg("scale", "axes", None, "integer scale factor per axis"),
        Arg("size", "size", None, "output size per axis"),
        Arg("mode", "choice", "nearest", "interpolation", ("nearest", "linear", "bilinear", "trilinear")),
        Arg("align_corners", "bool", False, "linear modes: align corner pixels"),
    )

    def validate(self):
        if (self.scale is None) == (self.size is None):
            raise self.error("'upsample' needs exactly one of 'scale' or 'size'")

    def output_shape(self, ins):
        rank = spatial_rank(self, ins[0])
        if self.size is not None:
            self.size_ = per_axis(self, "size", rank)
        else:
            self.size_ = tuple(n * s for n, s in zip(ins[0][1:], per_axis(self, "scale", rank)))
        return (ins[0][0], *self.size_)

    @property
    def linear(self) -> bool:
        return self.mode != "nearest"

    def flops(self):
        # linear: 2^d weighted neighbours, 2^d multiplies and 2^d − 1 adds per output; nearest copies
        rank = len(self.shape) - 1
        return (2 * 2 ** rank - 1) * prod(self.shape) if self.linear else 0

    def window(self):
        # output j maps to input (j + ½)·n/o − ½ and reads 1 (nearest) or 2 (linear) neighbours; an axis
        # that keeps its size maps j to j exactly, so it reads one
        return [Window(Fraction(n, o), Fraction(n - o, 2 * o), 1 if self.linear and n != o else 0)
                for n, o in zip(self.ins[0][1:], self.size_)]

    def forward(self, xs, w):
        from .. import ops
        return ops.upsample(xs[0], self.size_, "linear" if self.linear else "nearest", self.align_corners)
