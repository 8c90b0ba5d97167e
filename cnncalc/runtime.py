"""Run a network in NumPy: seeded weights, a graph executor that frees each activation early, .npz weight files.

    import numpy as np, cnncalc
    net = cnncalc.load("resnet50")
    y = cnncalc.forward(net, np.zeros((1, 3, 224, 224), np.float32))   # seeded He/Glorot weights
    y, every = cnncalc.forward(net, x, weights=cnncalc.runtime.load_weights("resnet50.npz"), return_all=True)

Weights are a dict of arrays keyed "<layer name>.<weight name>" with PyTorch's weight names and layouts
("conv1.weight", "layer1.1.basic1.residual1.body.bn1.running_var"); conv (C_out, C_in/groups, *k),
conv_transpose (C_in, C_out/groups, *k), dense (out, in). `save_weights` / `load_weights` keep them in an
uncompressed .npz file under the same keys, so weights trained elsewhere can be run.
`cnncalc.forward` is this module's `forward`, imported on first use so that `import cnncalc` needs no NumPy.
"""
from __future__ import annotations

from math import prod, sqrt
from time import perf_counter
from typing import Callable, Dict, List, Optional, Tuple, Union

import numpy as np

from .analysis import Analysis, LayerInfo
from .errors import CnncalcError
from .network import INPUT, Network

__all__ = ["forward", "execute", "init_weights", "random_input", "check_weights", "weight_counts",
           "save_weights", "load_weights", "matmul_gflops", "WeightError", "ForwardError"]

Weights = Dict[str, np.ndarray]


class WeightError(CnncalcError):
    """Weight arrays that do not fit the network: missing, unexpected, or of the wrong shape."""


class ForwardError(CnncalcError):
    """A layer failed to run, or computed a shape other than the analysed one."""

    exit_code = 1

    def __init__(self, message: str, layer: Optional[LayerInfo] = None):
        super().__init__(message)
        self.layer = layer


def _analysed(network: Union[Network, Analysis], batch: int = 1) -> Analysis:
    a = network if isinstance(network, Analysis) else network.analyze(batch=batch)
    if a.error is not None:
        raise a.error
    return a


def _key(info: LayerInfo, weight: str) -> str:
    return f"{info.name}.{weight}"


# -- weights ------------------------------------------------------------------------------------------
def init_weights(network: Union[Network, Analysis], seed: int = 0, dtype="float32") -> Weights:
    """Fresh weights of exactly the analysed shapes, reproducible from `seed`.

    Conv kernels He-uniform (U(±√(6/fan_in)), for ReLU networks), dense matrices Glorot-uniform
    (U(±√(6/(fan_in + fan_out)))), biases PyTorch's U(±1/√fan_in); batch norm starts as PyTorch's does
    (scale 1, shift 0, running mean 0, running variance 1). fan_in = C_in/groups × kernel volume, as PyTorch.
    """
    a = _analysed(network)
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    weights: Weights = {}
    for info in a.layers:
        kernel = info.weights.get("weight", ())
        fan_in = fan_out = 0
        if len(kernel) >= 2:  # (out, in, *k); conv_transpose (in, out/groups, *k) is read the same way
            fan_in, fan_out = kernel[1] * prod(kernel[2:]), kernel[0] * prod(kernel[2:])
        for name, shape in info.weights.items():
            if name == "weight" and fan_in:
                bound = sqrt(6 / (fan_in + fan_out)) if info.type == "dense" else sqrt(6 / fan_in)
                array = _uniform(rng, shape, bound, dtype)
            elif name == "bias" and fan_in:
                array = _uniform(rng, shape, 1 / sqrt(fan_in), dtype)
            elif name in ("weight", "running_var"):  # a normalisation's scale and variance
                array = np.ones(shape, dtype)
            else:  # a normalisation's shift and mean
                array = np.zeros(shape, dtype)
            weights[_key(info, name)] = array
    return weights


def _uniform(rng: np.random.Generator, shape, bound: float, dtype: np.dtype) -> np.ndarray:
    """U(−bound, bound), generated in place (NumPy draws float32 and float64 only)."""
    u = rng.random(shape, dtype=np.float64 if dtype == np.float64 else np.float32)
    u *= 2 * bound
    u -= bound
    return u.astype(dtype, copy=False)


def random_input(network: Network, batch: int, seed: int = 0, dtype="float32") -> np.ndarray:
    """A standard-normal input (batch, C, *spatial); its stream is independent of `init_weights(seed)`'s."""
    rng = np.random.default_rng([seed, 1])
    return rng.standard_normal((batch, *network.input), dtype=np.float32).astype(dtype, copy=False)


def check_weights(network: Union[Network, Analysis], weights: Weights) -> List[str]:
    """What keeps `weights` from fitting the network: missing, unexpected or misshapen arrays (empty: they fit)."""
    a = _analysed(network)
    expected = {_key(info, name): shape for info in a.layers for name, shape in info.weights.items()}
    problems = [f"missing {key} {list(shape)}" for key, shape in expected.items() if key not in weights]
    problems += [f"unexpected {key}: no such layer weight" for key in weights if key not in expected]
    problems += [f"{key}: expected {list(shape)}, got {list(np.shape(weights[key]))}"
                 for key, shape in expected.items() if key in weights and tuple(np.shape(weights[key])) != tuple(shape)]
    return problems


def weight_counts(network: Union[Network, Analysis], weights: Weights) -> Tuple[int, int]:
    """(learnable, buffer) elements actually held in `weights`, split by each layer's own declaration."""
    a = _analysed(network)
    params = buffers = 0
    for info in a.layers:
        for name, declared in info.node.layer.weights().items():
            size = np.size(weights.get(_key(info, name), ()))
            if declared.learnable:
                params += size
            else:
                buffers += size
    return params, buffers


def save_weights(path, weights: Weights) -> None:
    """Write `weights` to an uncompressed .npz keyed "<layer name>.<weight name>" (NumPy adds .npz if missing)."""
    np.savez(path, **{key: np.asarray(array) for key, array in weights.items()})


def load_weights(path) -> Weights:
    """Read an .npz written by `save_weights` (or any .npz with the same keys); never unpickles."""
    import zipfile

    try:
        data = np.load(path, allow_pickle=False)
        if isinstance(data, np.ndarray):
            raise ValueError("it holds one array (.npy), not an .npz archive of named arrays")
        with data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise WeightError(f"cannot read weights from {path}: {e}") from None


# -- running ------------------------------------------------------------------------------------------
OnLayer = Callable[[LayerInfo, np.ndarray, float], None]


def execute(analysis: Analysis, x: np.ndarray, weights: Weights, on_layer: Optional[OnLayer] = None) -> np.ndarray:
    """Run an analysed network on x (batch, C, *spatial) in topological order; return the network's output.

    Each activation is dropped after its last reader (the output is kept), as `peak_activation_bytes` assumes;
    the caller should hold no other reference to `x`. `on_layer(info, output, seconds)` sees each layer's output
    as it is made. The layers must still be bound to this analysis: run it right after `analyze()`.
    """
    from . import ops

    net = analysis.network
    last_reader = {j: i for i, node in enumerate(net.nodes) for j in node.inputs}
    live = {INPUT: x}
    del x
    t = analysis.totals
    # A conv's im2col buffer is the one transient the prediction leaves out: keep it to an eighth of the
    # predicted peak (LeNet's first conv stays small; ResNet-50's and VGG's get the full budget).
    with ops.column_budget((t.peak_activation_bytes + t.param_bytes + t.buffer_bytes) // 8):
        return _run(analysis, live, weights, last_reader, on_layer)


def _run(analysis, live, weights, last_reader, on_layer):
    net = analysis.network
    for info in analysis.layers:
        node, i = info.node, info.index
        xs = [live[j] for j in node.inputs]
        w = {name: weights[_key(info, name)] for name in info.weights}
        start = perf_counter()
        try:
            y = node.layer.forward(xs, w)
        except Exception as e:  # a kernel's own complaint, shown with the layer that raised it
            raise ForwardError(f"{info.name} ({info.type}) failed: {type(e).__name__}: {e}", info) from e
        seconds = perf_counter() - start
        del xs, w
        for j in set(node.inputs):
            if last_reader[j] == i and j != net.output:
                del live[j]
        if i in last_reader or i == net.output:
            live[i] = y
        if on_layer is not None:
            on_layer(info, y, seconds)
        del y
    return live[net.output]


def forward(network: Network, x, weights: Optional[Weights] = None, return_all: bool = False, seed: int = 0):
    """Run `network` on x (batch, C, *spatial); return the output, or (output, {layer name: output}).

    The input's shape may differ from the spec's (as `--input` would). Without `weights`, `init_weights(seed)`
    makes them in x's dtype. Raises `WeightError` when given weights do not fit, `ForwardError` when a layer
    fails or computes a shape other than the analysed one.
    """
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float32)
    if x.ndim != len(network.input) + 1:
        raise ValueError(f"x must be shaped (batch, {', '.join(map(str, network.input))}), got {list(x.shape)}")
    net = network if x.shape[1:] == network.input else network.with_input(x.shape[1:])
    a = _analysed(net, batch=x.shape[0])
    if weights is None:
        weights = init_weights(a, seed, x.dtype)
    problems = check_weights(a, weights)
    if problems:
        raise WeightError("weights do not fit the network: " + "; ".join(problems[:5])
                          + (f"; and {len(problems) - 5} more" if len(problems) > 5 else ""))
    outputs = {}

    def check(info: LayerInfo, y: np.ndarray, seconds: float) -> None:
        expected = (a.batch, *info.output)
        if y.shape != expected:
            raise ForwardError(f"{info.name} ({info.type}) computed {list(y.shape)}, the analysis says {list(expected)}", info)
        if return_all:
            outputs[info.name] = y

    y = execute(a, x, weights, check)
    return (y, outputs) if return_all else y


def matmul_gflops(n: int = 2048, repeat: int = 3, clock: Callable[[], float] = perf_counter) -> float:
    """The machine's practical float32 limit: GFLOP/s of one n×n by n×n matmul (2n³ FLOPs), best of `repeat`."""
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    out = np.empty((n, n), np.float32)
    np.matmul(a, b, out=out)  # warm-up: BLAS threads, page faults
    best = float("inf")
    for _ in range(repeat):
        start = clock()
        np.matmul(a, b, out=out)
        best = min(best, clock() - start)
    return 2 * n ** 3 / best / 1e9
