"""Merges of several inputs: element-wise `add` and `mul`, and channel `concat`."""
from __future__ import annotations

from math import prod

from .base import Layer, register


def _fmt(shapes) -> str:
    return ", ".join(str(list(s)) for s in shapes)


class Merge(Layer):
    """A layer that combines two or more inputs; `add` and `mul` cost (inputs − 1) FLOPs per output element."""

    inputs = (2, None)
    flops_rule = "(inputs − 1) per output element"

    def _infer(self, ins):
        out = self.merged(ins)
        return self.facts(ins, out, flops=(len(ins) - 1) * prod(out))

    def merged(self, ins):
        raise NotImplementedError


@register
class Add(Merge):
    """Element-wise sum of inputs of identical shape (a residual connection)."""

    type = "add"
    doc = "element-wise sum (shapes must match)"

    def merged(self, ins):
        if any(s != ins[0] for s in ins):
            raise self.error(f"'add' needs inputs of the same shape, got {_fmt(ins)}",
                             hint="a residual shortcut needs a 1×1 conv (with the block's stride) when the shape changes")
        return ins[0]


@register
class Mul(Merge):
    """Element-wise product with broadcasting ([C, 1, 1] against [C, H, W] gates channels, as in squeeze-excitation)."""

    type = "mul"
    doc = "element-wise product, broadcasting size-1 axes"

    def merged(self, ins):
        rank = max(len(s) for s in ins)
        if any(len(s) != rank for s in ins):
            raise self.error(f"'mul' needs inputs of the same rank, got {_fmt(ins)}")
        out = []
        for dims in zip(*ins):
            big = set(dims) - {1}
            if len(big) > 1:
                raise self.error(f"'mul' cannot broadcast {_fmt(ins)}", hint="sizes must match or be 1 on each axis")
            out.append(big.pop() if big else 1)
        return tuple(out)


@register
class Concat(Merge):
    """Stacks inputs along the channel axis; every other axis must match."""

    type = "concat"
    aliases = ("cat",)
    doc = "concatenation along channels"
    flops_rule = ""

    def _infer(self, ins):
        if any(s[1:] != ins[0][1:] for s in ins):
            raise self.error(f"'concat' needs inputs that differ only in channels, got {_fmt(ins)}",
                             hint="check the strides and paddings of the branches")
        return self.facts(ins, (sum(s[0] for s in ins), *ins[0][1:]))
