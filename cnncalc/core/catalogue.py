"""The zoo catalogue: every bundled network loaded and analysed, for `cnncalc zoo` and the README's zoo table."""
from __future__ import annotations

from typing import List, NamedTuple, Tuple

from ..spec import zoo
from .load import load


class Entry(NamedTuple):
    """One line of the zoo catalogue: a network's headline figures at its default input (batch 1)."""

    name: str
    input: Tuple[int, ...]
    params: int
    macs: int
    output: Tuple[int, ...]
    source: str


def catalogue() -> List[Entry]:
    entries = []
    for name in zoo.names():
        net = load(name)
        totals = net.analyze().complete().totals
        entries.append(Entry(name, net.input, totals.params, totals.macs, totals.output, zoo.source(net)))
    return entries
