"""A cnncalc network as an `nn.Module`, and weights both ways.

Every layer becomes exactly one module, found at its row name: layer "layer1.2.basic1.residual1.body.conv1" is
`model.get_submodule("layer1.2.basic1.residual1.body.conv1")` and its weight is the state_dict key
"layer1.2.basic1.residual1.body.conv1.weight", the key of cnncalc's .npz (a name segment that is an nn.Module
attribute or a Python keyword gets a trailing '_'). The modules come from `calls.CALLS`; the module runs them in
the network's schedule, freeing each activation after its last reader.
"""
from __future__ import annotations

import keyword
from typing import Dict

import numpy as np
import torch
from torch import nn

from ..core.network import Network
from ..runtime.weights import WeightError
from ..spec.graph import INPUT
from .calls import UnsupportedError, module_call

BN_COUNTER = "num_batches_tracked"  # PyTorch's batch norm step counter: not a cnncalc weight (README, "What is counted")

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


class Graph(nn.Module):
    """A cnncalc network as a module: one submodule per layer at its row name, run in the network's schedule."""

    def __init__(self, network: Network):
        super().__init__()
        analysis = network.analyze().complete()
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
            container.add_module(leaf, module_call(info.layer, info.facts).module())
            steps.append(container._modules[leaf])
        self.output = network.output
        # (module, its inputs, the activations freed after it): a plain list, so the modules are registered once
        schedule = network.schedule
        self.steps = [(m, node.inputs, schedule.frees[i]) for i, (m, node) in enumerate(zip(steps, network.nodes))]

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


def to_state_dict(network: Network, weights: Dict[str, np.ndarray]) -> Dict[str, torch.Tensor]:
    """cnncalc weights ({"<layer>.<weight>": array}, as `cnncalc.forward` uses) as a state_dict for `build(network)`
    or the exported module; load it with `strict=False` (batch norm's num_batches_tracked is not a cnncalc weight)."""
    paths = module_paths(network)
    out = {}
    for key, array in weights.items():
        layer, _, weight = key.rpartition(".")
        if layer not in paths:
            raise WeightError(f"{key}: no layer named {layer!r} in {network.name}")
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
            raise WeightError(f"{key}: no layer of {network.name} at {path!r}")
        out[f"{layers[path]}.{weight}"] = tensor.detach().cpu().numpy()
    return out
