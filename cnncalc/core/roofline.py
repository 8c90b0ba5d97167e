"""The roofline estimate: a first-order time per layer on a device, and whether compute or memory bounds it.

time = max(FLOPs / peak FLOP/s, bytes moved / bandwidth), with bytes from `cnncalc.core.traffic` (each tensor
read or written once per layer, no cache reuse across layers) and the peak at the analysis dtype (Williams, Waterman
and Patterson, "Roofline: an insightful visual performance model for multicore architectures", CACM 52(4), 2009).
It is a lower bound on a device that reaches its peaks; real kernels fall short of both roofs (see the README).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from .analysis import Analysis
from .device import Device
from .traffic import Traffic, total, traffic

COMPUTE, MEMORY, NONE = "compute", "memory", "-"


@dataclass(frozen=True, slots=True)
class LayerTime:
    """One layer's estimate: its traffic, compute time, memory time, the larger (its time) and what bounds it."""

    traffic: Traffic
    compute_seconds: float
    memory_seconds: float

    @property
    def seconds(self) -> float:
        return max(self.compute_seconds, self.memory_seconds)

    @property
    def bound(self) -> str:
        if self.seconds == 0:
            return NONE
        return COMPUTE if self.compute_seconds >= self.memory_seconds else MEMORY

    @property
    def achieved(self) -> Optional[float]:
        """The FLOP/s the layer would reach at its estimated time (a point under the roof)."""
        return self.traffic.flops / self.seconds if self.seconds else None


def layer_time(t: Traffic, peak: float, bandwidth: float) -> LayerTime:
    return LayerTime(t, t.flops / peak, t.bytes / bandwidth)


@dataclass(frozen=True)
class Roofline:
    """The estimate of a whole analysis on one device: per layer (in analysis order) and totals."""

    device: Device
    dtype: str
    peak: float  # FLOP/s at dtype
    bandwidth: float  # bytes/s
    layers: Tuple[LayerTime, ...]
    traffic: Traffic  # the sum over layers

    @property
    def seconds(self) -> float:
        return sum(t.seconds for t in self.layers)

    @property
    def ridge(self) -> float:
        return self.peak / self.bandwidth

    def count(self, bound: str) -> int:
        return sum(1 for t in self.layers if t.bound == bound)

    def seconds_by_bound(self, bound: str) -> float:
        return sum(t.seconds for t in self.layers if t.bound == bound)

    def share_by_type(self, types) -> Dict[str, float]:
        """Share of the estimated time per layer type (`types` lists each layer's type in order), largest first."""
        by: Dict[str, float] = defaultdict(float)
        for kind, t in zip(types, self.layers):
            by[kind] += t.seconds
        whole = self.seconds
        return dict(sorted(((k, v / whole if whole else 0.0) for k, v in by.items()), key=lambda kv: -kv[1]))


def estimate(analysis: Analysis, device: Device) -> Roofline:
    """The roofline time of every layer of a complete analysis on `device` at the analysis dtype."""
    peak = device.peak_for(analysis.dtype)
    bandwidth = device.bandwidth.value
    per_layer = traffic(analysis)
    return Roofline(device, analysis.dtype, peak, bandwidth,
                    tuple(layer_time(t, peak, bandwidth) for t in per_layer), total(per_layer))


@dataclass(frozen=True, slots=True)
class RowTime:
    """The estimate of a display row (one layer, or a folded group): summed traffic and time, and the bound that
    holds most of its time."""

    traffic: Traffic
    seconds: float
    bound: str


def row_times(roofline: Roofline, rows) -> Tuple[RowTime, ...]:
    """Per display row of `analysis.rows(depth)`: rows cover consecutive layers (`row.layers` of them), in order."""
    out, at = [], 0
    for row in rows:
        part = roofline.layers[at:at + row.layers]
        at += row.layers
        seconds = sum(t.seconds for t in part)
        memory = sum(t.seconds for t in part if t.bound == MEMORY)
        bound = NONE if seconds == 0 else MEMORY if memory * 2 > seconds else COMPUTE
        out.append(RowTime(total(t.traffic for t in part), seconds, bound))
    return tuple(out)


def row_traffic(per_layer: Tuple[Traffic, ...], rows) -> Tuple[Traffic, ...]:
    """The traffic of each display row (no device needed)."""
    out, at = [], 0
    for row in rows:
        out.append(total(per_layer[at:at + row.layers]))
        at += row.layers
    return tuple(out)
