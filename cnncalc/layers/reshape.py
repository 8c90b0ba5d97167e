"""Layers that move or resample data without weights: flatten, identity and upsample."""
from __future__ import annotations

from math import prod

from .args import AXES, BOOL, Arg, Choice
from .base import GLOBAL, Layer, register
from .geometry import Window, per_axis, ratio, spatial_rank


@register
class Flatten(Layer):
    """[C, *spatial] → [C·prod(spatial)], as PyTorch Flatten(start_dim=1)."""

    type = "flatten"
    doc = "flatten to a vector"

    def _infer(self, ins):
        return self.facts(ins, (prod(ins[0]),), window=GLOBAL if len(ins[0]) > 1 else None)


@register
class Identity(Layer):
    """Passes its input through unchanged (a named tap or a placeholder)."""

    type = "identity"
    doc = "pass-through"
    pass_through = True


@register
class Upsample(Layer):
    """Resizes the spatial axes by an integer scale or to a given size (PyTorch Upsample / interpolate)."""

    type = "upsample"
    doc = "nearest or (bi/tri)linear resize"
    flops_rule = "nearest 0; linear 2·2^d − 1 per output element (d spatial axes)"
    shorthand = "scale"
    args = (
        Arg("scale", AXES, None, "integer scale factor per axis"),
        Arg("size", AXES, None, "output size per axis"),
        Arg("mode", Choice(("nearest", "linear", "bilinear", "trilinear")), "nearest", "interpolation"),
        Arg("align_corners", BOOL, False, "linear modes: align corner pixels"),
    )

    def validate(self):
        if (self.scale is None) == (self.size is None):
            raise self.error("'upsample' needs exactly one of 'scale' or 'size'")

    @property
    def linear(self) -> bool:
        return self.mode != "nearest"

    def _infer(self, ins):
        rank = spatial_rank(self, ins[0])
        if self.size is not None:
            sizes = per_axis(self, "size", rank)
        else:
            sizes = tuple(n * s for n, s in zip(ins[0][1:], per_axis(self, "scale", rank)))
        out = (ins[0][0], *sizes)
        # linear: 2^d weighted neighbours, 2^d multiplies and 2^d − 1 adds per output; nearest copies
        flops = (2 * 2 ** rank - 1) * prod(out) if self.linear else 0
        # output j maps to input (j + ½)·n/o − ½ and reads 1 (nearest) or 2 (linear) neighbours; an axis
        # that keeps its size maps j to j exactly, so it reads one
        window = tuple(Window(ratio(n, o), ratio(n - o, 2 * o), 1 if self.linear and n != o else 0)
                       for n, o in zip(ins[0][1:], sizes))
        return self.facts(ins, out, flops=flops, window=window)
