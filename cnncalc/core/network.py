"""The network: an expanded spec graph with its schedule, which any number of analyses can read at once."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Optional, Sequence

from ..spec.expand import check_input
from ..spec.graph import INPUT, Graph, Group, LayerNode  # noqa: F401  (re-exported: the network's parts)
from .schedule import Schedule


@dataclass(frozen=True)
class Network(Graph):
    """A spec after expansion: what `analyze()` walks and `cnncalc.forward()` runs. Immutable."""

    schedule: Schedule = field(init=False, repr=False, compare=False, default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        object.__setattr__(self, "schedule", Schedule.of([n.inputs for n in self.nodes], self.output))

    @classmethod
    def of(cls, graph: Graph) -> "Network":
        """The network of an expanded graph."""
        return cls(graph.name, graph.source, graph.input, graph.input_loc, graph.nodes, graph.output, graph.groups,
                   graph.vars, graph.lint, graph.description, graph.rebuild)

    def analyze(self, batch: int = 1, dtype: str = "float32", input: Optional[Sequence[int]] = None):
        """Shapes, parameters, MACs, FLOPs, memory and receptive fields of every layer: an `Analysis`."""
        from .analysis import analyze

        return analyze(self if input is None else self.with_input(input), batch=batch, dtype=dtype)

    def with_input(self, shape: Sequence[int]) -> "Network":
        """The same network at another input shape (nothing is copied: layers never change), or, for a spec whose
        layers read their input's shape (`in.channels`), the spec expanded again at that shape."""
        shape = tuple(shape)
        check_input(shape, self.input_loc)
        if self.rebuild is not None and shape != self.input:
            return replace(Network.of(self.rebuild(shape)), name=self.name)
        return replace(self, input=shape)
