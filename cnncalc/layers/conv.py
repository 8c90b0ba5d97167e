"""Convolutions: `conv` (1-D/2-D/3-D, strided, padded, dilated, grouped) and `conv_transpose`."""
from __future__ import annotations

from fractions import Fraction
from math import prod

from .base import Arg, Layer, Weight, Window, per_axis, register, spatial_rank
from .window import WindowGeometry

_COMMON = (
    Arg("out", "int", doc="output channels"),
    Arg("kernel", "axes", doc="kernel size: an int or one per spatial axis"),
    Arg("stride", "axes", 1, "stride per axis"),
)


class _Grouped(Layer):
    """Channel checks and weights shared by both convolutions."""

    def _check_groups(self, c_in: int) -> None:
        for what, c in (("input", c_in), ("output", self.out)):
            if c % self.groups:
                raise self.error(f"'{self.type}' {what} channels ({c}) are not divisible by groups ({self.groups})", "groups",
                                 hint="for a depthwise conv set groups to the input channel count and out to a multiple of it")

    def _bias(self):
        return {"bias": Weight((self.out,))} if self.bias else {}


@register
class Conv(WindowGeometry, _Grouped):
    """Cross-correlation of the input with `out` learned kernels (PyTorch ConvNd)."""

    type = "conv"
    doc = "convolution; 1-D/2-D/3-D from the input's rank"
    args = _COMMON + (
        Arg("padding", "padding", 0, "int, per-axis list, [before, after] pairs, 'same' (out = ceil(N/S)) or 'valid'"),
        Arg("dilation", "axes", 1, "dilation per axis"),
        Arg("groups", "int", 1, "channel groups (groups = input channels: depthwise)"),
        Arg("bias", "bool", True, "learned bias per output channel"),
    )

    def output_shape(self, ins):
        c_in = ins[0][0]
        sizes = self.spatial_out(ins[0])
        self._check_groups(c_in)
        return (self.out, *sizes)

    def weights(self):
        return {"weight": Weight((self.out, self.ins[0][0] // self.groups, *self.kernel_)), **self._bias()}

    def macs(self):
        # each output element: (C_in / groups) × kernel volume multiply-accumulates
        return prod(self.shape) * (self.ins[0][0] // self.groups) * prod(self.kernel_)

    def flops(self):
        return 2 * self.macs() + (prod(self.shape) if self.bias else 0)

    def forward(self, xs, w):
        from .. import ops
        return ops.conv(xs[0], w["weight"], w.get("bias"), self.stride_, self.pads_, self.dilation_, self.groups)


@register
class ConvTranspose(_Grouped):
    """Transposed convolution, the adjoint of `conv` (PyTorch ConvTransposeNd): upsamples by the stride."""

    type = "conv_transpose"
    aliases = ("deconv",)
    doc = "transposed convolution: out = (N − 1)·S − 2P + D·(F − 1) + output_padding + 1"
    args = _COMMON + (
        Arg("padding", "axes0", 0, "padding per axis (symmetric, removed from the output)"),
        Arg("output_padding", "axes0", 0, "extra size added at the end of each axis (< stride or < dilation)"),
        Arg("dilation", "axes", 1, "dilation per axis"),
        Arg("groups", "int", 1, "channel groups"),
        Arg("bias", "bool", True, "learned bias per output channel"),
    )

    def output_shape(self, ins):
        rank = spatial_rank(self, ins[0])
        k, s, p = per_axis(self, "kernel", rank), per_axis(self, "stride", rank), per_axis(self, "padding", rank)
        op, d = per_axis(self, "output_padding", rank), per_axis(self, "dilation", rank)
        self._check_groups(ins[0][0])
        for o, ss, dd in zip(op, s, d):
            if o >= ss and o >= dd:
                raise self.error(f"'{self.type}' output_padding ({o}) must be smaller than the stride or the dilation", "output_padding")
        sizes = [(n - 1) * ss - 2 * pp + dd * (kk - 1) + o + 1 for n, kk, ss, pp, o, dd in zip(ins[0][1:], k, s, p, op, d)]
        if min(sizes) < 1:
            raise self.error(f"'{self.type}' output would be empty: (N − 1)·S − 2P + D·(F − 1) + output_padding + 1 = {sizes}",
                             "padding", hint="reduce the padding")
        self.kernel_, self.stride_, self.padding_, self.output_padding_, self.dilation_ = k, s, p, op, d
        return (self.out, *sizes)

    def weights(self):
        return {"weight": Weight((self.ins[0][0], self.out // self.groups, *self.kernel_)), **self._bias()}

    def macs(self):
        # each input element is scattered into (C_out / groups) × kernel volume outputs
        return prod(self.ins[0]) * (self.out // self.groups) * prod(self.kernel_)

    def flops(self):
        return 2 * self.macs() + (prod(self.shape) if self.bias else 0)

    def window(self):
        # output j gathers inputs i with i·S − P + t·D = j: centre (j + P − D(F−1)/2) / S, at most ⌊D(F−1)/S⌋ + 1 of them
        return [Window(Fraction(1, s), Fraction(2 * p - d * (k - 1), 2 * s), d * (k - 1) // s)
                for k, s, p, d in zip(self.kernel_, self.stride_, self.padding_, self.dilation_)]

    def forward(self, xs, w):
        from .. import ops
        return ops.conv_transpose(xs[0], w["weight"], w.get("bias"), self.stride_, self.padding_,
                                  self.output_padding_, self.dilation_, self.groups)
