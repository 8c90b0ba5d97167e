"""Analysis: walk the network once, ask each layer `infer(input shapes)`, and keep its answers as frozen facts.

An `Analysis` holds one `LayerInfo` per layer (the layer's `Facts` with the batch, the receptive field and memory
applied) and the `Totals`. It never changes the network or its layers, so any number of analyses of one network
(at other inputs, batches, dtypes, in other threads) can exist side by side. Conventions (FLOPs, buffers,
memory) are documented in the README and must not vary silently; formatting lives in `cnncalc.render`.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Dict, List, Optional, Tuple

from ..errors import OptionError, ShapeError
from ..layers import Facts, Shape
from ..spec.graph import INPUT, LayerNode
from .receptive import ReceptiveField

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}
MAX_BATCH = 1 << 20


@dataclass(frozen=True, slots=True)
class LayerInfo:
    """One analysed layer: its node, its facts, and the figures of this analysis (costs times the batch)."""

    index: int
    node: LayerNode
    facts: Facts
    inputs: Tuple[str, ...]  # row names of the tensors it reads ("input" for the network input)
    macs: int
    flops: int
    receptive_field: ReceptiveField
    activation_bytes: int  # this output, batch included, at the analysis dtype

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def type(self) -> str:
        return self.node.layer.type

    @property
    def layer(self):
        return self.node.layer

    @property
    def output(self) -> Shape:
        return self.facts.output

    @property
    def params(self) -> int:
        return self.facts.params

    @property
    def buffers(self) -> int:
        return self.facts.buffers

    @property
    def dropped(self) -> Optional[Tuple[int, ...]]:
        """Input units lost per spatial axis at the far edge (None: every unit is read)."""
        return self.facts.dropped

    @property
    def weights(self) -> Dict[str, Tuple[int, ...]]:
        return {k: w.shape for k, w in self.facts.weights.items()}

    @property
    def trainable(self) -> bool:
        return self.node.trainable

    @property
    def groups(self) -> Tuple[str, ...]:
        return self.node.groups


@dataclass(frozen=True, slots=True)
class Totals:
    params: int
    trainable_params: int
    buffers: int
    macs: int
    flops: int
    param_bytes: int
    buffer_bytes: int
    input_bytes: int
    activation_bytes: int
    peak_activation_bytes: int
    output: Shape
    receptive_field: ReceptiveField
    layers: int


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything `summary` shows. `error` is set when a layer failed; `layers` then stops before it."""

    network: object  # the analysed `Network`
    batch: int
    dtype: str
    layers: Tuple[LayerInfo, ...]
    totals: Optional[Totals]
    error: Optional[ShapeError] = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def complete(self) -> "Analysis":
        """This analysis when every layer could be analysed; else its `ShapeError` is raised."""
        if self.error is not None:
            raise self.error
        return self

    def rows(self, depth: Optional[int] = None):
        """Rows for display, with containers nested deeper than `depth` folded (see `cnncalc.core.rows`)."""
        from .rows import rows

        return rows(self, depth)


def check_settings(batch: int, dtype: str) -> None:
    if dtype not in DTYPE_BYTES:
        raise OptionError(f"unknown dtype {dtype!r}; choose from {', '.join(DTYPE_BYTES)}", option="--dtype")
    if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= MAX_BATCH:
        lead = f"batch must be at least 1, got {batch}" if isinstance(batch, int) and batch < 1 else \
            f"batch must be a whole number from 1 to {MAX_BATCH:,}, got {batch!r}"
        raise OptionError(lead, option="--batch")


def analyze(net, batch: int = 1, dtype: str = "float32") -> Analysis:
    """Shapes, parameters, MACs, FLOPs, memory and receptive fields of every layer of `net` (a Network)."""
    check_settings(batch, dtype)
    size = DTYPE_BYTES[dtype]
    nodes = net.nodes
    shapes: List[Shape] = []  # by node index; the input is looked up apart
    fields: List[ReceptiveField] = []
    names = [node.name for node in nodes]
    rf_input = ReceptiveField.unit(len(net.input) - 1)
    infos: List[LayerInfo] = []
    # Facts depend only on the layer's class, its argument values and its input shapes. Identical layers share one
    # `values` object (see `Layer`), so the facts of a layer repeated on the same shapes are inferred once and shared.
    known: Dict[tuple, Facts] = {}
    for i, node in enumerate(nodes):
        sources = node.inputs
        ins = tuple(net.input if j == INPUT else shapes[j] for j in sources)
        layer = node.layer
        key = (type(layer), id(layer.values), ins)  # the layers outlive this call, so their ids stay theirs
        facts = known.get(key)
        if facts is None:
            try:
                facts = known[key] = layer.infer(ins)
            except ShapeError as e:
                given = ", ".join(f"{'input' if j == INPUT else names[j]} {list(s)}" for j, s in zip(sources, ins))
                error = type(e)(e.message, e.loc, (e.hint + "\n  " if e.hint else "") + f"input: {given}")
                return Analysis(net, batch, dtype, tuple(infos), None, error)
        rf_in = [rf_input if j == INPUT else fields[j] for j in sources]
        rf = (rf_in[0] if len(rf_in) == 1 else ReceptiveField.merge(rf_in)).through(facts.window)
        inputs = tuple("input" if j == INPUT else names[j] for j in sources)
        shapes.append(facts.output)
        fields.append(rf)
        infos.append(LayerInfo(i, node, facts, inputs, facts.macs * batch, facts.flops * batch, rf,
                               prod(facts.output) * batch * size))
    return Analysis(net, batch, dtype, tuple(infos), _totals(net, infos, batch, size, rf_input))


def _totals(net, layers: List[LayerInfo], batch: int, size: int, rf_input: ReceptiveField) -> Totals:
    params = buffers = trainable_params = macs = flops = activation_bytes = 0
    for r in layers:  # one pass (10,000 layers: several sums over them cost as much as the rest of the totals)
        p = r.params
        params += p
        buffers += r.buffers
        trainable_params += p if r.node.trainable else 0
        macs += r.macs
        flops += r.flops
        activation_bytes += r.activation_bytes
    input_bytes = prod(net.input) * batch * size
    out = layers[net.output] if net.output != INPUT else None
    return Totals(
        params=params,
        trainable_params=trainable_params,
        buffers=buffers,
        macs=macs,
        flops=flops,
        param_bytes=params * size,
        buffer_bytes=buffers * size,
        input_bytes=input_bytes,
        activation_bytes=activation_bytes,
        peak_activation_bytes=net.schedule.peak(_sizes(input_bytes, layers))[0],
        output=out.output if out else net.input,
        receptive_field=out.receptive_field if out else rf_input,
        layers=len(layers),
    )


def tensor_bytes(analysis: Analysis) -> Dict[int, int]:
    """Bytes of every tensor of a complete analysis: the input (INPUT) and each layer's output."""
    return _sizes(analysis.totals.input_bytes, analysis.layers)


def _sizes(input_bytes: int, layers) -> Dict[int, int]:
    return {INPUT: input_bytes, **{r.index: r.activation_bytes for r in layers}}
