"""Analysis: walk the expanded graph once; each layer answers its shape, weights, MACs, FLOPs and window.

Collects one `LayerInfo` row per layer and the `Totals`; formatting lives in `cnncalc.render`.
Conventions (FLOPs, buffers, memory) are documented in the README and must not vary silently.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from math import prod
from typing import Dict, List, Optional, Sequence, Tuple

from .errors import ShapeError
from .layers import GLOBAL, Shape
from .network import INPUT, LayerNode, Network

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}


@dataclass(frozen=True)
class ReceptiveField:
    """Receptive field per spatial axis: size r, effective stride S, effective padding P (Araujo et al. 2019).

    Output unit j of a tensor sees input units [j·S − P, j·S − P + r − 1]. `size` is None when every output
    unit sees the whole input (after global pooling, flatten or dense). `aligned` is False when paths of a
    merge disagree in stride or centre; the path with the largest r is reported then.
    """

    size: Optional[Tuple[Fraction, ...]]
    stride: Optional[Tuple[Fraction, ...]] = None
    padding: Optional[Tuple[Fraction, ...]] = None
    aligned: bool = True

    @property
    def is_global(self) -> bool:
        return self.size is None

    @classmethod
    def unit(cls, rank: int) -> "ReceptiveField":
        one = (Fraction(1),) * rank
        return cls(one, one, (Fraction(0),) * rank)

    def centres(self) -> Tuple[Fraction, ...]:
        return tuple((r - 1) / 2 - p for r, p in zip(self.size, self.padding))

    def through(self, windows) -> "ReceptiveField":
        """The field after one layer whose per-axis `Window`s map output units to input units."""
        if windows is GLOBAL or self.is_global:
            return GLOBAL_RF
        if windows is None:
            return self
        size, stride, pad = [], [], []
        for w, r, s, c in zip(windows, self.size, self.stride, self.centres()):
            r2 = r + w.span * s
            size.append(r2)
            stride.append(s * w.scale)
            pad.append((r2 - 1) / 2 - (c + s * w.offset))
        return ReceptiveField(tuple(size), tuple(stride), tuple(pad), self.aligned)

    @staticmethod
    def merge(fields: Sequence["ReceptiveField"]) -> "ReceptiveField":
        """Several paths meet: paths that saw the whole input (squeeze-excitation gates) are not spatial paths."""
        local = [f for f in fields if not f.is_global]
        if not local:
            return GLOBAL_RF
        aligned = all(f.aligned for f in local)
        size, stride, pad = [], [], []
        for axis in range(len(local[0].size)):
            keys = {(f.stride[axis], f.centres()[axis]) for f in local}
            aligned = aligned and len(keys) == 1
            best = max(local, key=lambda f: f.size[axis])
            size.append(best.size[axis])
            stride.append(best.stride[axis])
            pad.append(best.padding[axis])
        return ReceptiveField(tuple(size), tuple(stride), tuple(pad), aligned)


GLOBAL_RF = ReceptiveField(None)


@dataclass
class LayerInfo:
    """The facts of one layer (one row): per-sample costs times the batch, memory in bytes."""

    index: int
    name: str
    type: str
    node: LayerNode
    inputs: List[str]
    output: Shape
    params: int
    buffers: int
    macs: int
    flops: int
    receptive_field: ReceptiveField
    dropped: Optional[Tuple[int, ...]]  # input units lost per spatial axis at the far edge
    weights: Dict[str, Tuple[int, ...]]
    activation_bytes: int  # this output, batch included, at the analysis dtype

    @property
    def trainable(self) -> bool:
        return self.node.trainable

    @property
    def groups(self) -> Tuple[str, ...]:
        return self.node.groups


@dataclass
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


@dataclass
class Row:
    """A table row: one layer, or a folded group of layers (`--depth`)."""

    name: str
    type: str
    output: Shape
    params: int
    buffers: int
    macs: int
    flops: int
    receptive_field: ReceptiveField
    dropped: Optional[Tuple[int, ...]] = None
    activation_bytes: int = 0  # the outputs of the row's layers, batch included
    layers: int = 1
    level: int = 0


@dataclass
class Analysis:
    """Everything `summary` shows. `error` is set when a layer failed; `layers` then stops before it."""

    network: Network
    batch: int
    dtype: str
    layers: List[LayerInfo] = field(default_factory=list)
    totals: Optional[Totals] = None
    error: Optional[ShapeError] = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def rows(self, depth: Optional[int] = None) -> List[Row]:
        """Rows for display; with `depth` N, only N levels of containers show: deeper layers fold into one row.

        A top-level layer is at level 1; `depth=1` folds each top-level block, repeat or residual into one row.
        """
        rows: List[Row] = []
        open_group: Optional[str] = None
        for info in self.layers:
            groups = info.groups
            if depth is not None and len(groups) >= depth:
                key = groups[depth - 1]
                if key != open_group or not rows:
                    group = self.network.groups[key]
                    rows.append(Row(key, group.kind.split(":")[-1], info.output, 0, 0, 0, 0, info.receptive_field,
                                    layers=0, level=depth - 1))
                    open_group = key
                row = rows[-1]
                row.params += info.params
                row.buffers += info.buffers
                row.macs += info.macs
                row.flops += info.flops
                row.activation_bytes += info.activation_bytes
                row.output, row.receptive_field = info.output, info.receptive_field
                row.dropped = row.dropped or info.dropped
                row.layers += 1
                continue
            open_group = None
            rows.append(Row(info.name, info.type, info.output, info.params, info.buffers, info.macs, info.flops,
                            info.receptive_field, info.dropped, info.activation_bytes, level=len(groups)))
        return rows


def analyze(net: Network, batch: int = 1, dtype: str = "float32") -> Analysis:
    if dtype not in DTYPE_BYTES:
        raise ValueError(f"unknown dtype {dtype!r}; choose from {', '.join(DTYPE_BYTES)}")
    if batch < 1:
        raise ValueError(f"batch must be at least 1, got {batch}")
    result = Analysis(net, batch, dtype)
    shapes: Dict[int, Shape] = {INPUT: net.input}
    fields: Dict[int, ReceptiveField] = {INPUT: ReceptiveField.unit(len(net.input) - 1)}
    for i, node in enumerate(net.nodes):
        layer = node.layer
        ins = [shapes[j] for j in node.inputs]
        try:
            out = layer.bind(ins)
        except ShapeError as e:
            sources = ", ".join(f"{_name(net, j)} {list(shapes[j])}" for j in node.inputs)
            e.hint = (e.hint + "\n  " if e.hint else "") + f"input: {sources}"
            result.error = e
            return result
        weights = layer.weights()
        rf_in = [fields[j] for j in node.inputs]
        rf = (rf_in[0] if len(rf_in) == 1 else ReceptiveField.merge(rf_in)).through(layer.window())
        shapes[i], fields[i] = out, rf
        result.layers.append(LayerInfo(
            index=i, name=node.name, type=layer.type, node=node,
            inputs=[_name(net, j) for j in node.inputs], output=out,
            params=sum(w.size for w in weights.values() if w.learnable),
            buffers=sum(w.size for w in weights.values() if not w.learnable),
            macs=layer.macs() * batch, flops=layer.flops() * batch,
            receptive_field=rf, dropped=layer.dropped(),
            weights={k: w.shape for k, w in weights.items()},
            activation_bytes=prod(out) * batch * DTYPE_BYTES[dtype],
        ))
    result.totals = _totals(result, shapes, fields)
    return result


def _name(net: Network, index: int) -> str:
    return "input" if index == INPUT else net.nodes[index].name


def _totals(result: Analysis, shapes: Dict[int, Shape], fields: Dict[int, ReceptiveField]) -> Totals:
    net, size = result.network, DTYPE_BYTES[result.dtype]
    layers = result.layers
    params = sum(r.params for r in layers)
    buffers = sum(r.buffers for r in layers)
    tensor_bytes = {INPUT: prod(net.input) * result.batch * size, **{r.index: r.activation_bytes for r in layers}}
    return Totals(
        params=params,
        trainable_params=sum(r.params for r in layers if r.trainable),
        buffers=buffers,
        macs=sum(r.macs for r in layers),
        flops=sum(r.flops for r in layers),
        param_bytes=params * size,
        buffer_bytes=buffers * size,
        input_bytes=tensor_bytes[INPUT],
        activation_bytes=sum(b for i, b in tensor_bytes.items() if i != INPUT),
        peak_activation_bytes=peak_live_bytes(net, tensor_bytes),
        output=shapes[net.output],
        receptive_field=fields[net.output],
        layers=len(layers),
    )


def peak_live_bytes(net: Network, tensor_bytes: Dict[int, int]) -> int:
    """Peak of live activations in an inference pass in graph order that frees each tensor after its last reader.

    While a layer runs, its inputs and its new output are live; the network input counts until its last reader,
    the network output is never freed. Every output is counted as a new buffer (no in-place ops, no views).
    """
    return live_at_peak(net, tensor_bytes)[0]


def live_at_peak(net: Network, tensor_bytes: Dict[int, int]) -> Tuple[int, List[int]]:
    """(peak bytes, the tensors live at the peak: INPUT or node indices), by the rules of `peak_live_bytes`."""
    last_use: Dict[int, int] = {}
    for i, node in enumerate(net.nodes):
        for j in node.inputs:
            last_use[j] = i
    live, tensors = tensor_bytes[INPUT], {INPUT}
    peak, at_peak = live, [INPUT]
    for i, node in enumerate(net.nodes):
        live += tensor_bytes[i]
        tensors.add(i)
        if live > peak:
            peak, at_peak = live, sorted(tensors)
        for j in set(node.inputs):
            if last_use.get(j) == i and j != net.output:
                live -= tensor_bytes[j]
                tensors.discard(j)
        if i not in last_use and i != net.output:  # a dead end: nothing reads it
            live -= tensor_bytes[i]
            tensors.discard(i)
    return peak, at_peak
