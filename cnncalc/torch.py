"""The PyTorch bridge: a cnncalc network as an `nn.Module`, and weights both ways.

    import cnncalc, cnncalc.torch
    net = cnncalc.load("resnet50")
    model = cnncalc.torch.build(net).eval()              # submodules nested like the layer names
    model.load_state_dict(cnncalc.torch.to_state_dict(net, weights), strict=False)
    weights = cnncalc.torch.from_state_dict(net, model.state_dict())   # → cnncalc.forward's .npz keys

Every layer becomes exactly one module, found at its row name: layer "layer1.2.basic1.residual1.body.conv1" is
`model.get_submodule("layer1.2.basic1.residual1.body.conv1")` and its weight is the state_dict key
"layer1.2.basic1.residual1.body.conv1.weight", the key of cnncalc's .npz (a name segment that is an nn.Module
attribute or a Python keyword gets a trailing '_').
The one layer → module mapping lives in `module_call`; `cnncalc.export` renders the same calls as source code,
and copies the helper modules below (which use only torch) into the file it writes.

Only this module and `cnncalc.export` import torch; the core never does.
"""
from __future__ import annotations

import keyword
from dataclasses import dataclass, field
from typing import Any, Dict, List, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .errors import SpecError
from .network import INPUT, Network

INSTALL_HINT = "pip install 'cnncalc[torch]'"
BN_COUNTER = "num_batches_tracked"  # PyTorch's batch norm step counter: not a cnncalc weight (README, "What is counted")


# -- helper modules: layers PyTorch has no module for (exported code copies their source) -------------------------
class Add(nn.Module):
    """Element-wise sum of the inputs, left to right (a residual merge)."""

    def forward(self, *xs):
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class Scale(nn.Module):
    """Multiplies by a constant (Inception-ResNet's residual scaling)."""

    def __init__(self, factor: float):
        super().__init__()
        self.factor = factor

    def forward(self, x):
        return x * self.factor


class Mul(nn.Module):
    """Element-wise product of the inputs, broadcasting size-1 axes (a squeeze-excitation gate)."""

    def forward(self, *xs):
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out


class Concat(nn.Module):
    """Concatenation of the inputs along channels."""

    def forward(self, *xs):
        return torch.cat(xs, dim=1)


class Padded:
    """Zero-pads each spatial axis by (before, after) first: 'same' padding puts an odd unit at the end, which
    nn.ConvNd's symmetric `padding` cannot say (and its padding='same' allows stride 1 only)."""

    def __init__(self, *args, pads, **kwargs):
        super().__init__(*args, **kwargs)
        self.pads = list(pads)  # F.pad order: last axis first, (before, after) each

    def forward(self, x):
        return super().forward(F.pad(x, self.pads))

    def extra_repr(self):
        return f"{super().extra_repr()}, pads={self.pads}"


class PaddedConv1d(Padded, nn.Conv1d):
    """nn.Conv1d after explicit (before, after) zero padding."""


class PaddedConv2d(Padded, nn.Conv2d):
    """nn.Conv2d after explicit (before, after) zero padding."""


class PaddedConv3d(Padded, nn.Conv3d):
    """nn.Conv3d after explicit (before, after) zero padding."""


class WindowPool(nn.Module):
    """Max, average or median over each window of an explicitly padded input, 1-D to 3-D.

    For what PyTorch's pooling modules cannot say: asymmetric (before, after) padding, and the median (no torch
    layer). `padding` is (before, after) per axis; `extra` the units past `after` that the windows reach (ceil
    mode, > 0) or that no window reads (< 0). Averages divide by the taps inside the padded input (or inside the
    input when count_include_pad is false); medians take the in-bounds taps only, the mean of the middle two for
    an even count.
    """

    def __init__(self, kind, kernel, stride, padding, extra, dilation=None, count_include_pad=True):
        super().__init__()
        self.kind, self.kernel, self.stride, self.padding, self.extra = kind, kernel, stride, padding, extra
        self.dilation = dilation or [1] * len(kernel)
        self.count_include_pad = count_include_pad

    def windows(self, x):  # (B, C, *n) → (B, C, *out, K)
        for axis, (k, s, d) in enumerate(zip(self.kernel, self.stride, self.dilation)):
            x = x.unfold(2 + axis, d * (k - 1) + 1, s)[..., ::d]
        return x.flatten(-len(self.kernel))

    def forward(self, x):
        around = [p for (lo, hi), e in zip(self.padding[::-1], self.extra[::-1]) for p in (lo, hi + e)]
        fill = {"max": float("-inf"), "avg": 0.0, "median": float("inf")}[self.kind]
        taps = self.windows(F.pad(x, around, value=fill))
        if self.kind == "max":
            return taps.amax(-1)
        # which taps count: 1 inside the input, and inside the padding too for count_include_pad averages
        mask = torch.ones((1, 1, *x.shape[2:]), dtype=x.dtype, device=x.device)
        mask = F.pad(mask, [p for lo_hi in self.padding[::-1] for p in lo_hi],
                     value=float(self.kind == "avg" and self.count_include_pad))
        count = self.windows(F.pad(mask, [p for e in self.extra[::-1] for p in (0, e)])).sum(-1)
        if self.kind == "avg":
            return taps.sum(-1) / count
        taps = taps.sort(-1).values  # padding is +inf, so the in-bounds taps come first
        n = count.long().unsqueeze(-1).expand(*taps.shape[:-1], 1)
        return (taps.gather(-1, (n - 1) // 2) + taps.gather(-1, n // 2)).squeeze(-1) / 2


HELPERS = (Add, Mul, Scale, Concat, Padded, PaddedConv1d, PaddedConv2d, PaddedConv3d, WindowPool)


# -- one layer → one module call ---------------------------------------------------------------------------------
@dataclass
class Call:
    """A module constructor call: `cls(*args, **kwargs)`; `defaults` are the kwargs' default values (export leaves
    them out where every instance has them)."""

    cls: str  # "nn.Conv2d", or a helper module's name
    args: List[Any]
    kwargs: Dict[str, Any] = field(default_factory=dict)
    defaults: Dict[str, Any] = field(default_factory=dict)

    def module(self) -> nn.Module:
        factory = getattr(nn, self.cls[3:]) if self.cls.startswith("nn.") else HELPER_NAMES[self.cls]
        return factory(*self.args, **self.kwargs)


HELPER_NAMES = {cls.__name__: cls for cls in HELPERS}


def _axes(values) -> Any:
    """Per-axis values as one int when they are all equal (PyTorch accepts either)."""
    values = tuple(values)
    return values[0] if len(set(values)) == 1 else values


def _symmetric(pads) -> bool:
    return all(lo == hi for lo, hi in pads)


def _pool_extra(layer) -> List[int]:
    """Per axis, the units past the padding that cnncalc's windows reach (ceil mode) or leave unread (< 0)."""
    return [(o - 1) * s + d * (k - 1) + 1 - (n + lo + hi)
            for n, o, k, s, d, (lo, hi) in zip(layer.ins[0][1:], layer.shape[1:], layer.kernel_, layer.stride_,
                                               layer.dilation_, layer.pads_)]


def _conv(layer, rank, d):
    kw = {"stride": _axes(layer.stride_), "padding": _axes(lo for lo, _ in layer.pads_),
          "dilation": _axes(layer.dilation_), "groups": layer.groups, "bias": layer.bias}
    defaults = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1, "bias": True}
    args = [layer.ins[0][0], layer.out, _axes(layer.kernel_)]
    if _symmetric(layer.pads_):
        return Call(f"nn.Conv{d}", args, kw, defaults)
    kw["padding"] = 0
    kw["pads"] = [p for lo_hi in layer.pads_[::-1] for p in lo_hi]
    return Call(f"PaddedConv{d}", args, kw, defaults)


def _conv_transpose(layer, rank, d):
    kw = {"stride": _axes(layer.stride_), "padding": _axes(layer.padding_),
          "output_padding": _axes(layer.output_padding_), "groups": layer.groups, "bias": layer.bias,
          "dilation": _axes(layer.dilation_)}
    defaults = {"stride": 1, "padding": 0, "output_padding": 0, "groups": 1, "bias": True, "dilation": 1}
    return Call(f"nn.ConvTranspose{d}", [layer.ins[0][0], layer.out, _axes(layer.kernel_)], kw, defaults)


def _pool(layer, rank, d):
    kind = layer.type[:-len("pool")]
    extra = _pool_extra(layer)
    # avg_pool3d refuses an input axis shorter than the kernel, which ceil mode allows (its 1-D/2-D forms do not)
    short = kind == "avg" and rank == 3 and any(n < k for n, k in zip(layer.ins[0][1:], layer.kernel_))
    if kind == "median" or not _symmetric(layer.pads_) or short:
        kw = {"count_include_pad": layer.count_include_pad} if kind == "avg" else {}
        if kind == "max":
            kw["dilation"] = list(layer.dilation_)
        return Call("WindowPool", [kind, list(layer.kernel_), list(layer.stride_), [list(p) for p in layer.pads_],
                                   extra], kw, {"dilation": None, "count_include_pad": True})
    kw = {"stride": _axes(layer.stride_), "padding": _axes(lo for lo, _ in layer.pads_), "ceil_mode": layer.ceil_mode}
    defaults = {"stride": _axes(layer.kernel_), "padding": 0, "ceil_mode": False}
    if kind == "max":
        kw["dilation"], defaults["dilation"] = _axes(layer.dilation_), 1
    else:
        kw["count_include_pad"], defaults["count_include_pad"] = layer.count_include_pad, True
    return Call(f"nn.{kind.title()}Pool{d}", [_axes(layer.kernel_)], kw, defaults)


def _upsample(layer, rank, d):
    if layer.linear:
        mode = ("linear", "bilinear", "trilinear")[rank - 1]
        kw, defaults = {"mode": mode, "align_corners": layer.align_corners}, {"mode": "nearest"}
    else:
        kw, defaults = {}, {}
    if layer.scale is not None:  # an integer scale maps output i to input i / scale, the same as size does
        return Call("nn.Upsample", [], {"scale_factor": _axes(per_axis_tuple(layer.scale, rank)), **kw}, defaults)
    return Call("nn.Upsample", [], {"size": _axes(layer.size_), **kw}, defaults)


def per_axis_tuple(value, rank) -> Tuple[int, ...]:
    return tuple(value) if isinstance(value, tuple) else (value,) * rank


ACTIVATIONS = {"relu": "ReLU", "relu6": "ReLU6", "sigmoid": "Sigmoid", "tanh": "Tanh", "silu": "SiLU",
               "hardswish": "Hardswish", "hardsigmoid": "Hardsigmoid", "flatten": "Flatten", "identity": "Identity"}

CALLS = {
    "conv": _conv,
    "conv_transpose": _conv_transpose,
    "maxpool": _pool,
    "avgpool": _pool,
    "medianpool": _pool,
    "upsample": _upsample,
    "dense": lambda l, r, d: Call("nn.Linear", [l.ins[0][0], l.out], {"bias": l.bias}, {"bias": True}),
    "bn": lambda l, r, d: Call(f"nn.BatchNorm{max(r, 1)}d", [l.ins[0][0]],
                               {"eps": l.eps, "momentum": l.momentum, "affine": l.affine},
                               {"eps": 1e-5, "momentum": 0.1, "affine": True}),
    "lrn": lambda l, r, d: Call("nn.LocalResponseNorm", [l.size], {"alpha": l.alpha, "beta": l.beta, "k": l.k},
                                {"alpha": 1e-4, "beta": 0.75, "k": 1.0}),
    "global_avgpool": lambda l, r, d: Call(f"nn.AdaptiveAvgPool{d}", [1]),
    "global_maxpool": lambda l, r, d: Call(f"nn.AdaptiveMaxPool{d}", [1]),
    "adaptive_avgpool": lambda l, r, d: Call(f"nn.AdaptiveAvgPool{d}", [_axes(l.out_)]),
    "adaptive_maxpool": lambda l, r, d: Call(f"nn.AdaptiveMaxPool{d}", [_axes(l.out_)]),
    "leaky_relu": lambda l, r, d: Call("nn.LeakyReLU", [l.slope], {}, {}),
    "gelu": lambda l, r, d: Call("nn.GELU", [], {"approximate": l.approximate}, {"approximate": "none"}),
    "softmax": lambda l, r, d: Call("nn.Softmax", [], {"dim": 1}),
    "dropout": lambda l, r, d: Call("nn.Dropout", [l.p], {}, {}),
    "scale": lambda l, r, d: Call("Scale", [l.factor]),
    "add": lambda l, r, d: Call("Add", []),
    "mul": lambda l, r, d: Call("Mul", []),
    "concat": lambda l, r, d: Call("Concat", []),
    **{t: (lambda cls: lambda l, r, d: Call(f"nn.{cls}", []))(cls) for t, cls in ACTIVATIONS.items()},
}


def module_call(layer) -> Call:
    """The module that does what `layer` (bound to its input shapes by an analysis) does, as a constructor call."""
    rank = len(layer.ins[0]) - 1
    if layer.type == "lrn" and rank == 0:
        raise UnsupportedError("'lrn' on a flat input has no PyTorch equivalent", layer.loc,
                               hint="LocalResponseNorm needs [C, L] or more: put it before `flatten`")
    return CALLS[layer.type](layer, rank, f"{max(rank, 1)}d")


class UnsupportedError(SpecError):
    """A valid cnncalc network that PyTorch cannot express (exit code 2, located like a spec error)."""


# -- names: layer name ↔ module path -------------------------------------------------------------------------------
# attributes of the containers build() and export use, Graph's own, and Python keywords (for exported attribute access)
RESERVED = frozenset(dir(nn.Sequential)) | frozenset(dir(nn.ModuleDict)) | frozenset(keyword.kwlist) | {"steps", "output", "name"}


def segment(name: str) -> str:
    """A layer-name segment as a submodule name: unchanged unless it clashes with an nn.Module attribute."""
    while name in RESERVED:
        name += "_"
    return name


def module_paths(network: Network) -> Dict[str, str]:
    """{layer name: submodule path}; the paths are the names except for the rare clashing segment."""
    paths, owner = {}, {}
    for node in network.nodes:
        path = paths[node.name] = ".".join(segment(s) for s in node.name.split("."))
        if path in owner:
            raise UnsupportedError(f"layer names {owner[path].name}, {node.name} map to the same PyTorch submodule name "
                                   f"{path!r}", node.loc, hint="a name that is an nn.Module attribute gets a '_': rename one")
        owner[path] = node
    return paths


# -- the in-memory module ---------------------------------------------------------------------------------------------
class Graph(nn.Module):
    """A cnncalc network as a module: one submodule per layer at its row name, run in graph order."""

    def __init__(self, network: Network):
        super().__init__()
        analysis = network.analyze()
        if analysis.error is not None:
            raise analysis.error
        self.name = network.name
        paths = module_paths(network)
        steps = []
        for info in analysis.layers:
            parent, _, leaf = paths[info.name].rpartition(".")
            container = self
            for part in parent.split(".") if parent else ():
                if part not in container._modules:
                    container.add_module(part, nn.Module())
                container = container._modules[part]
            container.add_module(leaf, module_call(info.node.layer).module())
            steps.append((container._modules[leaf], tuple(info.node.inputs)))
        self.output = network.output
        last = {j: i for i, (_, inputs) in enumerate(steps) for j in inputs}
        # (module, its inputs, the activations it reads last): a plain list, so the modules are registered once
        self.steps = [(m, inputs, [j for j in set(inputs) if last[j] == i and j != self.output])
                      for i, (m, inputs) in enumerate(steps)]

    def forward(self, x):
        live = {INPUT: x}
        del x
        for i, (module, inputs, done) in enumerate(self.steps):
            live[i] = module(*[live[j] for j in inputs])
            for j in done:  # drop each activation after its last reader
                del live[j]
        return live[self.output]

    def extra_repr(self):
        return f"name={self.name!r}"


def build(network: Network) -> nn.Module:
    """The network as an `nn.Module` (in training mode, as PyTorch builds modules: call `.eval()` to infer)."""
    return Graph(network)


# -- weights both ways -------------------------------------------------------------------------------------------------
def to_state_dict(network: Network, weights: Dict[str, np.ndarray]) -> Dict[str, torch.Tensor]:
    """cnncalc weights ({"<layer>.<weight>": array}, as `cnncalc.forward` uses) as a state_dict for `build(network)`
    or the exported module; load it with `strict=False` (batch norm's num_batches_tracked is not a cnncalc weight)."""
    paths = module_paths(network)
    out = {}
    for key, array in weights.items():
        layer, _, weight = key.rpartition(".")
        if layer not in paths:
            raise KeyError(f"{key}: no layer named {layer!r} in {network.name}")
        out[f"{paths[layer]}.{weight}"] = torch.from_numpy(np.ascontiguousarray(array))
    return out


def from_state_dict(network: Network, state: Dict[str, torch.Tensor]) -> Dict[str, np.ndarray]:
    """A state_dict of `build(network)` (or of the exported module) as cnncalc weights, keyed "<layer>.<weight>"."""
    layers = {path: name for name, path in module_paths(network).items()}
    out = {}
    for key, tensor in state.items():
        path, _, weight = key.rpartition(".")
        if weight == BN_COUNTER:
            continue
        if path not in layers:
            raise KeyError(f"{key}: no layer of {network.name} at {path!r}")
        out[f"{layers[path]}.{weight}"] = tensor.detach().cpu().numpy()
    return out
