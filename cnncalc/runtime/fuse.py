"""The fused inference path: batch norm folded into the conv before it, activations computed in place.

The un-fused path (`execute` without a plan) is the reference: every layer its own kernel and its own output
buffer. A `Plan` changes two things and nothing else:

* **Folding.** A `bn` whose only input is a `conv` that nothing else reads becomes part of that conv:
  scale = γ / √(var + ε), W' = W · scale (per output channel), b' = (b − mean) · scale + β. The conv computes
  the bn's output directly; the bn's output is the conv's buffer.
* **In place.** A `relu`, `relu6`, `leaky_relu` or `bn` (not folded) whose input buffer nothing reads later —
  not the network's input, not its output, not a view shared with a tensor read later — overwrites that buffer.

`Plan.in_place` maps each such node to the tensor whose buffer it reuses; `Schedule.peak(sizes, plan.in_place)`
is then the fused pass's peak, and the executor holds exactly those buffers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Mapping

import numpy as np

from ..core.analysis import Analysis, tensor_bytes
from ..spec.graph import INPUT
from .weights import Weights, key

def _bn_in_place(layer, x, w):
    shape = (-1,) + (1,) * (x.ndim - 2)
    scale = 1 / np.sqrt(w["running_var"].astype(np.float64) + layer.eps)
    if "weight" in w:
        scale = scale * w["weight"]
    shift = -w["running_mean"] * scale + (w["bias"] if "bias" in w else 0)
    x *= scale.astype(x.dtype).reshape(shape)
    x += shift.astype(x.dtype).reshape(shape)
    return x


# Kernels that overwrite their input and return it: (layer, x, weights by name) -> x.
IN_PLACE = {
    "relu": lambda layer, x, w: np.maximum(x, 0, out=x),
    "relu6": lambda layer, x, w: np.clip(x, 0, 6, out=x),
    "leaky_relu": lambda layer, x, w: np.multiply(x, x.dtype.type(layer.slope), out=x, where=x < 0),
    "bn": _bn_in_place,
}
# Layers whose output is a view of their input (the un-fused kernels return it, or reshape it).
VIEWS = ("identity", "dropout", "flatten")


@dataclass(frozen=True)
class Plan:
    """Which nodes the fused path folds (bn node → its conv node) and which reuse a buffer (node → tensor)."""

    folded: Mapping[int, int]
    in_place: Mapping[int, int]

    def __repr__(self) -> str:
        return f"Plan({len(self.folded)} bn folded into convs, {len(self.in_place) - len(self.folded)} in place)"

    def peak_activation_bytes(self, analysis: Analysis) -> int:
        """The fused pass's peak of live activations (the un-fused one is `totals.peak_activation_bytes`)."""
        return analysis.network.schedule.peak(tensor_bytes(analysis), self.in_place)[0]

    def weight_bytes(self, analysis: Analysis) -> int:
        """Bytes of the fused weights: the counted params and buffers, less the folded batch norms' arrays, plus
        a bias for each folded conv that had none."""
        t, layers = analysis.totals, analysis.layers
        size = t.param_bytes // t.params if t.params else 0
        n = t.params + t.buffers
        for bn, conv in self.folded.items():
            n -= layers[bn].params + layers[bn].buffers
            n += 0 if "bias" in layers[conv].weights else layers[conv].output[0]
        return n * size


def plan(analysis: Analysis) -> Plan:
    """The fused path for an analysed network."""
    net = analysis.network
    sched = net.schedule
    layers = analysis.layers
    owner: Dict[int, int] = {INPUT: INPUT}  # tensor → the tensor whose buffer holds it
    last_read: Dict[int, int] = {}  # buffer → the last node reading any tensor in it
    folded: Dict[int, int] = {}
    in_place: Dict[int, int] = {}

    def read_until(t: int) -> int:
        return sched.last_reader(t) if t != net.output else len(layers)  # the output is read "after the end"

    for info in layers:
        i, ins = info.index, info.node.inputs
        src = ins[0] if len(ins) == 1 else None
        if src is not None and src != INPUT and sched.readers_of(src) == (i,) and src != net.output:
            buf = owner[src]
            free = buf != INPUT and last_read.get(buf, -1) <= i
            if info.type == "bn" and layers[src].type == "conv" and src not in in_place:
                folded[i] = src
                in_place[i] = src
            elif free and info.type in IN_PLACE:
                in_place[i] = src
        if i in in_place:
            owner[i] = owner[in_place[i]]
        elif info.type in VIEWS and src is not None:
            owner[i] = owner[src]
        else:
            owner[i] = i
        for t in (i, *ins):
            b = owner[t]
            last_read[b] = max(last_read.get(b, -1), read_until(t))
    return Plan(folded, in_place)


def fold_weights(analysis: Analysis, p: Plan, weights: Weights) -> Weights:
    """The fused path's weights: each folded conv's W' and b' (a bias even where the conv had none), the folded
    batch norms' arrays left out, every other array the same object as in `weights`."""
    layers = analysis.layers
    out = dict(weights)
    for bn, conv in p.folded.items():
        b, c = layers[bn], layers[conv]
        w = weights[key(c, "weight")]
        dtype = w.dtype
        var = weights[key(b, "running_var")].astype(np.float64)
        scale = 1 / np.sqrt(var + b.layer.eps)
        if key(b, "weight") in weights:
            scale = scale * weights[key(b, "weight")]
        shift = -weights[key(b, "running_mean")].astype(np.float64) * scale
        if key(b, "bias") in weights:
            shift = shift + weights[key(b, "bias")]
        if key(c, "bias") in weights:
            shift = shift + weights[key(c, "bias")] * scale
        # conv (C_out, C_in/g, *k) scales by output channel; conv_transpose is not folded
        out[key(c, "weight")] = (w * scale.reshape((-1,) + (1,) * (w.ndim - 1))).astype(dtype)
        out[key(c, "bias")] = shift.astype(dtype)
        for name in b.facts.weights:
            out.pop(key(b, name), None)
    return out
