"""Weights for the NumPy runtime: seeded initialisation, checks against the analysis, and .npz files.

Weights are a dict of arrays keyed "<layer name>.<weight name>" with PyTorch's weight names and layouts
("conv1.weight", "layer1.1.basic1.residual1.body.bn1.running_var"); conv (C_out, C_in/groups, *k),
conv_transpose (C_in, C_out/groups, *k), dense (out, in).
"""
from __future__ import annotations

from math import prod, sqrt
from typing import Dict, List, Tuple, Union

import numpy as np

from ..core.analysis import Analysis, LayerInfo
from ..core.network import Network
from ..errors import SpecError

Weights = Dict[str, np.ndarray]


class WeightError(SpecError, KeyError):
    """Weight arrays that do not fit the network (missing, unexpected, misshapen) or cannot be read (exit 2).
    It is also a KeyError, as the torch bridge raised for a weight of no layer. Its text is the message alone."""

    def __str__(self) -> str:
        return self.message


def analysed(network: Union[Network, Analysis], batch: int = 1) -> Analysis:
    """A complete analysis of `network` (or the analysis itself); a partial one raises its ShapeError."""
    return (network if isinstance(network, Analysis) else network.analyze(batch=batch)).complete()


def key(info: LayerInfo, weight: str) -> str:
    return f"{info.name}.{weight}"


def init_weights(network: Union[Network, Analysis], seed: int = 0, dtype="float32") -> Weights:
    """Fresh weights of exactly the analysed shapes, reproducible from `seed`.

    Conv kernels He-uniform (U(±√(6/fan_in)), for ReLU networks), dense matrices Glorot-uniform
    (U(±√(6/(fan_in + fan_out)))), biases PyTorch's U(±1/√fan_in); batch norm starts as PyTorch's does
    (scale 1, shift 0, running mean 0, running variance 1). fan_in = C_in/groups × kernel volume, as PyTorch.
    """
    a = analysed(network)
    dtype = np.dtype(dtype)
    plan = []  # (key, shape, bound of U(−bound, bound), or the constant 1 or 0)
    for info in a.layers:
        shapes = info.weights
        kernel = shapes.get("weight", ())
        fan_in = fan_out = 0
        if len(kernel) >= 2:  # (out, in, *k); conv_transpose (in, out/groups, *k) is read the same way
            fan_in, fan_out = kernel[1] * prod(kernel[2:]), kernel[0] * prod(kernel[2:])
        for name, shape in shapes.items():
            if name == "weight" and fan_in:
                fill = ("uniform", sqrt(6 / (fan_in + fan_out)) if info.type == "dense" else sqrt(6 / fan_in))
            elif name == "bias" and fan_in:
                fill = ("uniform", 1 / sqrt(fan_in))
            elif name in ("weight", "running_var"):  # a normalisation's scale and variance
                fill = ("constant", 1)
            else:  # a normalisation's shift and mean
                fill = ("constant", 0)
            plan.append((key(info, name), tuple(shape), fill))
    # every uniform array in one draw (NumPy draws float32 and float64 only), then scaled in place per array
    draw = np.float64 if dtype == np.float64 else np.float32
    total = sum(prod(shape) for _, shape, (kind, _) in plan if kind == "uniform")
    u = np.random.default_rng(seed).random(total, dtype=draw)
    weights: Weights = {}
    at = 0
    for k, shape, (kind, value) in plan:
        if kind == "constant":
            weights[k] = np.full(shape, value, dtype)
            continue
        n = prod(shape)
        part = u[at:at + n].reshape(shape)
        at += n
        part *= 2 * value
        part -= value
        weights[k] = part.astype(dtype, copy=False)
    return weights


def check_weights(network: Union[Network, Analysis], weights: Weights) -> List[str]:
    """What keeps `weights` from fitting the network: missing, unexpected or misshapen arrays (empty: they fit)."""
    a = analysed(network)
    expected = {key(info, name): shape for info in a.layers for name, shape in info.weights.items()}
    problems = [f"missing {k} {list(shape)}" for k, shape in expected.items() if k not in weights]
    problems += [f"unexpected {k}: no such layer weight" for k in weights if k not in expected]
    problems += [f"{k}: expected {list(shape)}, got {list(np.shape(weights[k]))}"
                 for k, shape in expected.items() if k in weights and tuple(np.shape(weights[k])) != tuple(shape)]
    return problems


def weight_counts(network: Union[Network, Analysis], weights: Weights) -> Tuple[int, int]:
    """(learnable, buffer) elements actually held in `weights`, split by each layer's own declaration."""
    a = analysed(network)
    params = buffers = 0
    for info in a.layers:
        for name, declared in info.facts.weights.items():
            size = np.size(weights.get(key(info, name), ()))
            if declared.learnable:
                params += size
            else:
                buffers += size
    return params, buffers


def save_weights(path, weights: Weights) -> None:
    """Write `weights` to an uncompressed .npz keyed "<layer name>.<weight name>" (NumPy adds .npz if missing)."""
    np.savez(path, **{k: np.asarray(array) for k, array in weights.items()})


def load_weights(path) -> Weights:
    """Read an .npz written by `save_weights` (or any .npz with the same keys); never unpickles."""
    import zipfile

    try:
        data = np.load(path, allow_pickle=False)
        if isinstance(data, np.ndarray):
            raise ValueError("it holds one array (.npy), not an .npz archive of named arrays")
        with data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise WeightError(f"cannot read weights from {path}: {e}") from None
