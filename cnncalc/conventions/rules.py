"""What a counting rule is: one pure function of one layer's facts, with the words and the source that justify it.

    Rule(per_input(2), "2 per input element (x̂ and the affine scale)", "fvcore/nn/jit_handles.py:251-258")

A rule's function takes a `Site` (the layer, its `Facts`, the batch) and returns that tool's integer count for the
layer, batch included, exactly as the tool computes it (its rounding, its shortcuts and its mistakes too). Families
of rules are made by the small factories below, as fvcore's `elementwise_flop_counter` makes its handles.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Callable, Tuple

from ..layers import Facts, Layer


@dataclass(frozen=True, slots=True)
class Site:
    """One layer as a rule sees it: its configuration, its facts on this input, and the batch."""

    layer: Layer
    facts: Facts
    batch: int
    trainable: bool = True
    itemsize: int = 4  # bytes per element at the analysis dtype

    @property
    def inp(self) -> int:
        """Elements of the first input, batch included."""
        return self.batch * prod(self.facts.inputs[0])

    @property
    def out(self) -> int:
        """Elements of the output, batch included."""
        return self.batch * prod(self.facts.output)

    @property
    def macs(self) -> int:
        """cnncalc's MACs (conv, conv_transpose, dense; bias excluded), batch included."""
        return self.batch * self.facts.macs

    @property
    def rank(self) -> int:
        """Spatial axes (0 for a flat vector)."""
        return len(self.facts.inputs[0]) - 1

    @property
    def channels(self) -> int:
        return self.facts.inputs[0][0]

    @property
    def in_spatial(self) -> Tuple[int, ...]:
        return tuple(self.facts.inputs[0][1:])

    @property
    def out_spatial(self) -> Tuple[int, ...]:
        return tuple(self.facts.output[1:])

    @property
    def bias(self) -> bool:
        return bool(self.layer.values.get("bias", False))

    @property
    def affine(self) -> bool:
        return bool(self.layer.values.get("affine", False))

    @property
    def params(self) -> int:
        return self.facts.params

    @property
    def kernel(self) -> Tuple[int, ...]:
        """The window of a sliding-window layer, per spatial axis."""
        return tuple(self.facts.geometry.kernel)

    @property
    def symmetric(self) -> bool:
        """Whether the padding is the same before and after on every axis (else the torch bridge builds a helper)."""
        g = self.facts.geometry
        return g is None or g.symmetric


Count = Callable[[Site], int]


@dataclass(frozen=True, slots=True)
class Rule:
    """How one tool counts one metric of one layer type: the count, in words, and where the tool says so."""

    count: Count
    text: str  # "1 per output element", written as the tool's own comment or code would say it
    source: str  # file:lines in the tool's release (or a documentation URL)

    def __call__(self, site: Site) -> int:
        return int(self.count(site))


# -- factories ----------------------------------------------------------------------------------------------------------
def zero(_: Site) -> int:
    return 0


def per_input(k: int) -> Count:
    return lambda s: k * s.inp


def per_output(k: int) -> Count:
    return lambda s: k * s.out


def macs_plus_bias(s: Site) -> int:
    """MACs, plus one add per output element when the layer has a bias."""
    return s.macs + (s.out if s.bias else 0)


def macs(s: Site) -> int:
    return s.macs


def params(s: Site) -> int:
    return s.params
