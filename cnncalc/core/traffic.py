"""Memory traffic: the bytes each layer moves between memory and the processor, and its arithmetic intensity.

The model, stated once (the README repeats it): at the analysis dtype and batch, a layer reads each of its input
tensors once and its weights (parameters and buffers) once, and writes its output once. Nothing stays in a cache from
one layer to the next, and nothing is read twice within a layer (an im2col copy, a tile reread, a spill are not
counted). Layers that only relabel a tensor move nothing: `flatten` is a reshape, `dropout` and `identity` hand their
input on at inference. Arithmetic intensity is the layer's FLOPs per byte moved.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from .analysis import DTYPE_BYTES, Analysis, LayerInfo, tensor_bytes


@dataclass(frozen=True, slots=True)
class Traffic:
    """One layer's (or a total's) memory traffic, batch included: bytes read (inputs, weights) and written."""

    input_bytes: int  # every input tensor, once
    weight_bytes: int  # parameters and buffers, once
    output_bytes: int  # the output, once
    flops: int

    @property
    def read(self) -> int:
        return self.input_bytes + self.weight_bytes

    @property
    def written(self) -> int:
        return self.output_bytes

    @property
    def bytes(self) -> int:
        return self.read + self.written

    @property
    def intensity(self) -> Optional[float]:
        """FLOPs per byte moved; None when the layer moves nothing."""
        return self.flops / self.bytes if self.bytes else None

    def __add__(self, other: "Traffic") -> "Traffic":
        return Traffic(self.input_bytes + other.input_bytes, self.weight_bytes + other.weight_bytes,
                       self.output_bytes + other.output_bytes, self.flops + other.flops)


NONE = Traffic(0, 0, 0, 0)


def moves_data(info: LayerInfo) -> bool:
    """False for layers that relabel their input without copying it: pass-through layers and flatten (a view)."""
    return not (info.layer.pass_through or info.type == "flatten")


def layer_traffic(info: LayerInfo, sizes: Dict[int, int], element: int) -> Traffic:
    """The traffic of one analysed layer; `sizes` are the bytes of every tensor (see `tensor_bytes`)."""
    if not moves_data(info):
        return Traffic(0, 0, 0, info.flops)
    inputs = sum(sizes[j] for j in info.node.inputs)
    return Traffic(inputs, (info.params + info.buffers) * element, info.activation_bytes, info.flops)


def traffic(analysis: Analysis) -> Tuple[Traffic, ...]:
    """Per layer of a complete analysis, in order."""
    sizes = tensor_bytes(analysis.complete())
    element = DTYPE_BYTES[analysis.dtype]
    return tuple(layer_traffic(info, sizes, element) for info in analysis.layers)


def total(per_layer) -> Traffic:
    out = NONE
    for t in per_layer:
        out = out + t
    return out

