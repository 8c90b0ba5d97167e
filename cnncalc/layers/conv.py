"""Convolutions: `conv` (1-D/2-D/3-D, strided, padded, dilated, grouped) and `conv_transpose`."""
from __future__ import annotations

from math import prod

from .args import AXES, AXES0, BOOL, INT, PADDING, Arg
from .base import Layer, Weight, register
from .geometry import Geometry, Window, per_axis, ratio, slide, spatial_rank, transposed_size

_COMMON = (
    Arg("out", INT, doc="output channels"),
    Arg("kernel", AXES, doc="kernel size: an int or one per spatial axis"),
    Arg("stride", AXES, 1, "stride per axis"),
)
_BIAS_RULE = "2 × MACs, + one add per output element when `bias`"


class _Grouped(Layer):
    """Channel checks and weights shared by both convolutions."""

    weighted = True
    flops_rule = _BIAS_RULE

    def _check_groups(self, c_in: int) -> None:
        for what, c in (("input", c_in), ("output", self.out)):
            if c % self.groups:
                raise self.error(f"'{self.type}' {what} channels ({c}) are not divisible by groups ({self.groups})", "groups",
                                 hint="for a depthwise conv set groups to the input channel count and out to a multiple of it")

    def _weights(self, kernel_shape):
        w = {"weight": Weight(kernel_shape)}
        return {**w, "bias": Weight((self.out,))} if self.bias else w

    def _flops(self, macs: int, out) -> int:
        return 2 * macs + (prod(out) if self.bias else 0)


@register
class Conv(_Grouped):
    """Cross-correlation of the input with `out` learned kernels (PyTorch ConvNd)."""

    type = "conv"
    doc = "convolution; 1-D/2-D/3-D from the input's rank"
    args = _COMMON + (
        Arg("padding", PADDING, 0, "int, per-axis list, [before, after] pairs, 'same' (out = ceil(N/S)) or 'valid'"),
        Arg("dilation", AXES, 1, "dilation per axis"),
        Arg("groups", INT, 1, "channel groups (groups = input channels: depthwise)"),
        Arg("bias", BOOL, True, "learned bias per output channel"),
    )

    def _infer(self, ins):
        c_in = ins[0][0]
        sizes, g, dropped = slide(self, ins[0])
        self._check_groups(c_in)
        out = (self.out, *sizes)
        macs = prod(out) * (c_in // self.groups) * prod(g.kernel)  # per output: (C_in / groups) × kernel volume
        return self.facts(ins, out, self._weights((self.out, c_in // self.groups, *g.kernel)), macs,
                          self._flops(macs, out), g.windows(), g, dropped)


@register
class ConvTranspose(_Grouped):
    """Transposed convolution, the adjoint of `conv` (PyTorch ConvTransposeNd): upsamples by the stride."""

    type = "conv_transpose"
    aliases = ("deconv",)
    doc = "transposed convolution: out = (N − 1)·S − 2P + D·(F − 1) + output_padding + 1"
    args = _COMMON + (
        Arg("padding", AXES0, 0, "padding per axis (symmetric, removed from the output)"),
        Arg("output_padding", AXES0, 0, "extra size added at the end of each axis (< stride or < dilation)"),
        Arg("dilation", AXES, 1, "dilation per axis"),
        Arg("groups", INT, 1, "channel groups"),
        Arg("bias", BOOL, True, "learned bias per output channel"),
    )

    def _infer(self, ins):
        rank = spatial_rank(self, ins[0])
        k, s, p = per_axis(self, "kernel", rank), per_axis(self, "stride", rank), per_axis(self, "padding", rank)
        op, d = per_axis(self, "output_padding", rank), per_axis(self, "dilation", rank)
        self._check_groups(ins[0][0])
        for o, ss, dd in zip(op, s, d):
            if o >= ss and o >= dd:
                raise self.error(f"'{self.type}' output_padding ({o}) must be smaller than the stride or the dilation", "output_padding")
        sizes = [transposed_size(n, kk, ss, pp, o, dd) for n, kk, ss, pp, o, dd in zip(ins[0][1:], k, s, p, op, d)]
        if min(sizes) < 1:
            raise self.error(f"'{self.type}' output would be empty: (N − 1)·S − 2P + D·(F − 1) + output_padding + 1 = {sizes}",
                             "padding", hint="reduce the padding")
        out = (self.out, *sizes)
        macs = prod(ins[0]) * (self.out // self.groups) * prod(k)  # each input element scattered to (C_out / groups) × k
        # output j gathers inputs i with i·S − P + t·D = j: centre (j + P − D(F−1)/2) / S, at most ⌊D(F−1)/S⌋ + 1 of them
        window = tuple(Window(ratio(1, ss), ratio(2 * pp - dd * (kk - 1), 2 * ss), dd * (kk - 1) // ss)
                       for kk, ss, pp, dd in zip(k, s, p, d))
        geometry = Geometry(k, s, tuple((pp, pp) for pp in p), d, output_padding=op)
        return self.facts(ins, out, self._weights((ins[0][0], self.out // self.groups, *k)), macs,
                          self._flops(macs, out), window, geometry)
