"""The expanded network: a DAG of layer nodes in topological order, plus `load()`, the public entry point."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from .errors import Location, SpecError
from .layers import Layer, Shape
from .source import paused_gc

INPUT = -1  # the index that stands for the network input in `LayerNode.inputs`


@dataclass
class LayerNode:
    """One layer of the expanded graph: its row name, the layer, and where its inputs come from."""

    name: str
    layer: Layer
    inputs: List[int]
    loc: Location
    groups: Tuple[str, ...] = ()  # enclosing blocks/repeats/residuals/branches, outermost first
    trainable: bool = True
    ignore: frozenset = frozenset()  # lint codes silenced on this layer (`lint-ignore:`)

    @property
    def type(self) -> str:
        return self.layer.type


@dataclass(frozen=True)
class Group:
    """A named container in the spec (block instance, repeat, iteration, residual, parallel)."""

    name: str
    kind: str
    loc: Location


@dataclass
class Network:
    """A spec after expansion: what `analyze()` walks and `forward()` runs."""

    name: str
    source: str
    input: Shape
    input_loc: Location
    nodes: List[LayerNode]
    output: int
    groups: Dict[str, Group] = field(default_factory=dict)
    vars: Dict[str, Any] = field(default_factory=dict)
    lint: Any = None  # the spec's `lint:` section (a source Node), for `cnncalc lint`
    root: Any = None  # the spec's source Node

    @paused_gc()
    def analyze(self, batch: int = 1, dtype: str = "float32", input: Optional[Sequence[int]] = None):
        """Shapes, parameters, MACs, FLOPs, memory and receptive fields of every layer: an `Analysis`."""
        from .analysis import analyze

        net = self if input is None else self.with_input(input)
        return analyze(net, batch=batch, dtype=dtype)

    def with_input(self, shape: Sequence[int]) -> "Network":
        """The same network at another input shape, with its own layer objects: analysing one (which binds its
        layers to their input shapes) never changes what an analysis of the other reads from its layers."""
        shape = tuple(shape)
        check_input(shape, self.input_loc)
        nodes = [replace(n, layer=copy.copy(n.layer)) for n in self.nodes]
        return replace(self, input=shape, nodes=nodes)

    def consumers(self) -> Dict[int, List[int]]:
        """For each tensor (INPUT or a node index), the nodes that read it."""
        users: Dict[int, List[int]] = {INPUT: []}
        for i, node in enumerate(self.nodes):
            users.setdefault(i, [])
            for j in node.inputs:
                users[j].append(i)
        return users


def check_input(shape: Tuple, loc: Optional[Location]) -> None:
    from math import prod
    from .layers.base import MAX_DIM, MAX_ELEMENTS

    if not (1 <= len(shape) <= 4) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in shape):
        raise SpecError(f"input must be 1 to 4 positive integers ([C], [C, L], [C, H, W] or [C, D, H, W]), got {list(shape)}",
                        loc, hint="channels first, no batch: e.g. input: [3, 224, 224]")
    if max(shape) > MAX_DIM or prod(shape) > MAX_ELEMENTS:
        raise SpecError(f"input {list(shape)} is absurdly large (limit {MAX_ELEMENTS:,} elements)", loc)


def load(spec: Union[str, Path], vars: Optional[Mapping[str, Any]] = None, input: Optional[Sequence[int]] = None,
         filename: Optional[str] = None) -> Network:
    """Load a spec from a path, a zoo name, or YAML text, and expand it into a `Network`.

    `vars` overrides the spec's variables (like `--set`), `input` its input shape (like `--input`).
    """
    from .expand import expand
    from .source import parse_yaml, read_text
    from . import zoo

    if isinstance(spec, Path) or ("\n" not in spec and not spec.lstrip().startswith("{")):
        found = zoo.resolve(str(spec))
        text, filename = read_text(str(found.path)), filename or str(spec)
    else:
        text, filename, found = spec, filename or "<string>", zoo.Found(Path(), {})
    net = expand(parse_yaml(text, filename), filename, {**found.vars, **(vars or {})})
    net = replace(net, name=found.name) if found.name else net
    return net.with_input(input) if input is not None else net
