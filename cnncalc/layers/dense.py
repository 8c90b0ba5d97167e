"""Fully connected layers."""
from __future__ import annotations

from .base import GLOBAL, Arg, Layer, Weight, register


@register
class Dense(Layer):
    """y = W·x + b on a flat input (PyTorch Linear)."""

    type = "dense"
    aliases = ("linear", "fc")
    doc = "fully connected layer on a flat input"
    shorthand = "out"
    args = (Arg("out", "int", doc="output features"), Arg("bias", "bool", True, "learned bias"))

    def output_shape(self, ins):
        if len(ins[0]) != 1:
            raise self.error(f"'dense' needs a flat input, got {list(ins[0])}",
                             hint="add `- flatten` before it (or `- global_avgpool` then `- flatten`)")
        return (self.out,)

    def weights(self):
        w = {"weight": Weight((self.out, self.ins[0][0]))}
        return {**w, "bias": Weight((self.out,))} if self.bias else w

    def macs(self):
        return self.ins[0][0] * self.out

    def flops(self):
        return 2 * self.macs() + (self.out if self.bias else 0)

    def window(self):
        return GLOBAL

    def forward(self, xs, w):
        from .. import ops
        return ops.dense(xs[0], w["weight"], w.get("bias"))
