"""Fully connected layers."""
from __future__ import annotations

from .args import BOOL, INT, Arg
from .base import GLOBAL, Layer, Weight, register


@register
class Dense(Layer):
    """y = W·x + b on a flat input (PyTorch Linear)."""

    type = "dense"
    aliases = ("linear", "fc")
    doc = "fully connected layer on a flat input"
    flops_rule = "2 × MACs, + one add per output element when `bias`"
    weighted = True
    shorthand = "out"
    args = (Arg("out", INT, doc="output features"), Arg("bias", BOOL, True, "learned bias"))

    def _infer(self, ins):
        if len(ins[0]) != 1:
            raise self.error(f"'dense' needs a flat input, got {list(ins[0])}",
                             hint="add `- flatten` before it (or `- global_avgpool` then `- flatten`)")
        n = ins[0][0]
        weights = {"weight": Weight((self.out, n))}
        if self.bias:
            weights["bias"] = Weight((self.out,))
        macs = n * self.out
        return self.facts(ins, (self.out,), weights, macs, 2 * macs + (self.out if self.bias else 0), GLOBAL)
