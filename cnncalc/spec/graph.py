"""What expansion produces: a frozen DAG of located layer nodes in topological order, and the containers around them.

Tensors are numbered by the node that makes them; `INPUT` (-1) is the network input. `cnncalc.core.Network` adds
the analysis to this structure; nothing here knows about shapes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from ..errors import Location
from ..layers import Layer, Shape

INPUT = -1  # the tensor index of the network input in `LayerNode.inputs`
CONTAINER_KINDS = ("block", "repeat", "iteration", "residual", "parallel", "group")


@dataclass(frozen=True, slots=True)
class LayerNode:
    """One layer of the expanded graph: its row name, the layer, and which tensors it reads."""

    name: str
    layer: Layer
    inputs: Tuple[int, ...]
    loc: Location
    groups: Tuple[str, ...] = ()  # enclosing blocks/repeats/residuals/branches, outermost first
    trainable: bool = True
    ignore: frozenset = frozenset()  # lint codes silenced on this layer (`lint-ignore:`)

    @property
    def type(self) -> str:
        return self.layer.type


@dataclass(frozen=True, slots=True)
class Group:
    """A named container in the spec: a block instance (`block` names the block), a repeat, one of its iterations,
    a residual, a parallel or a plain group."""

    name: str
    kind: str  # one of CONTAINER_KINDS
    loc: Location
    block: Optional[str] = None

    @property
    def label(self) -> str:
        """What a folded row shows as its type: the block's name, or the kind of container."""
        return self.block or self.kind


EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class Graph:
    """A spec after expansion."""

    name: str
    source: str  # where it was read from: a path, "<stdin>" or "<string>"
    input: Shape
    input_loc: Location
    nodes: Tuple[LayerNode, ...]
    output: int
    groups: Mapping[str, Group] = field(default_factory=lambda: EMPTY)
    vars: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    lint: Any = None  # the spec's `lint:` section (a source Node), for `cnncalc lint`
    description: str = ""  # the spec's `description:`, variables filled in
    # set when an expression read `in` (an input's shape): the graph at another input, expanded again from the spec
    rebuild: Optional[Callable[[Shape], "Graph"]] = field(default=None, repr=False, compare=False)


def readers(inputs: Sequence[Sequence[int]]) -> Dict[int, List[int]]:
    """For each tensor that is read (INPUT or a node index), the nodes that read it, in node order, each once."""
    out: Dict[int, List[int]] = {}
    for i, ins in enumerate(inputs):
        for j in dict.fromkeys(ins):
            out.setdefault(j, []).append(i)
    return out
