"""Reference modules' own weights as cnncalc weights: the harness of the zoo's output-equality tests.

A zoo network is exact in its counts when its params and MACs equal the reference implementation's; it is the same
network when, given the reference module's own state_dict, cnncalc's NumPy forward gives the module's output. Equal
counts can hide a wrong concatenation order or a swapped activation; equal outputs cannot.

`weights_from(network, state_dict)` pairs the reference's tensors with cnncalc's weights in order: cnncalc's in
the network's layer order (each layer's weights in PyTorch's order: parameters, then buffers), the reference's in
state_dict order (module registration order), `num_batches_tracked` dropped. Each pair must have the same number of
elements; the array is reshaped to cnncalc's layout (a per-position Linear's (out, in) becomes a 1×1 conv's
(out, in, 1, 1)). Where the reference registers modules in another order than the data flows (torchvision's ResNet
registers `downsample` after the block's body), `order` gives each reference key a sort key. A mismatch names both
sides and the position, so a wrong mapping fails with a message, not with a silently wrong comparison.
"""
from __future__ import annotations

from typing import Callable, Dict, Optional

import numpy as np

import cnncalc
from cnncalc.runtime import init_weights


def weights_from(network, state_dict, order: Optional[Callable[[str], object]] = None) -> Dict[str, np.ndarray]:
    ours = init_weights(network)
    theirs = [(k, v) for k, v in state_dict.items() if not k.endswith("num_batches_tracked")]
    if order is not None:
        theirs = [kv for _, kv in sorted(enumerate(theirs), key=lambda item: (order(item[1][0]), item[0]))]
    if len(theirs) != len(ours):
        raise AssertionError(f"{len(theirs)} reference tensors for {len(ours)} cnncalc weights")
    out = {}
    for i, ((key, array), (ref_key, tensor)) in enumerate(zip(ours.items(), theirs)):
        value = tensor.detach().cpu().numpy().astype(np.float32)
        if value.size != array.size:
            raise AssertionError(f"#{i}: cnncalc {key} {list(array.shape)} vs reference {ref_key} {list(value.shape)}")
        out[key] = value.reshape(array.shape)
    return out


def assert_same_output(name: str, module, input_shape, order=None, rtol=1e-4, atol=None, seed=0, **load_args):
    """cnncalc.forward of zoo network `name` with `module`'s weights equals `module(x)` (float32, eval mode)."""
    import torch

    network = cnncalc.load(name, **load_args)
    x = np.random.default_rng(seed).standard_normal((1, *input_shape)).astype(np.float32)
    module = module.eval()
    with torch.no_grad():
        expected = module(torch.from_numpy(x)).numpy()
    network = network.with_input(tuple(input_shape))
    got = cnncalc.forward(network, x, weights=weights_from(network, module.state_dict(), order))
    scale = float(np.abs(expected).max())
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol if atol is not None else rtol * scale)
    return got, expected


def randomize_norms(module, seed: int = 0):
    """Give every norm layer random affine parameters and running statistics (in place; returns the module).

    A fresh module's batch norms are the identity at inference (scale 1, shift 0, mean 0, variance 1), so a
    mapping that swapped two of them, or dropped one, would still agree; random values make each one count."""
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            for name in ("weight", "bias", "running_mean", "running_var"):
                t = getattr(m, name, None)
                if t is None or not isinstance(m, torch.nn.modules.batchnorm._NormBase):
                    continue
                if name in ("weight", "running_var"):  # scales and variances: positive, U(0.5, 1.5)
                    t.copy_(torch.rand(t.shape, generator=g) + 0.5)
                else:  # shifts and means: N(0, 0.1²)
                    t.copy_(torch.randn(t.shape, generator=g) * 0.1)
    return module
