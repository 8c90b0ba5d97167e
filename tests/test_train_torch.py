"""Training facts against PyTorch autograd, per layer, on the modules `cnncalc.torch.build` makes.

* Saved bytes: every tensor autograd packs while a module runs (`torch.autograd.graph.saved_tensors_hooks`),
  each storage once, parameters and buffers left out, equals the layer's `saved_bytes`; the union over the
  network equals `saved_bytes` of the totals. Zoo networks at batch 1 and 8 (fp32), random specs.
* Backward FLOPs: `torch.utils.flop_counter.FlopCounterMode` counts 2 per multiply-add for the convolution and
  matmul gradients; for every non-grouped conv, conv_transpose and dense its backward count equals our input-gradient
  plus weight-gradient FLOPs less the bias gradient (which it does not count). For grouped convolutions its
  weight-gradient term is `groups` times too large (it leaves groups out), checked against hand counts instead.
"""
from __future__ import annotations

from math import prod

import pytest

torch = pytest.importorskip("torch")
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import cnncalc  # noqa: E402
from cnncalc import torch as ct  # noqa: E402
from cnncalc.core.train import train  # noqa: E402
from cnncalc.errors import ShapeError  # noqa: E402
from cnncalc.spec.graph import INPUT  # noqa: E402
from crosscheck import SMALL_SIZES, distinct_zoo_names, small_input  # noqa: E402
from test_torch import random_specs  # noqa: E402


def torch_saved(network, batch):
    """({layer name: bytes of the storages autograd saved while its module ran}, bytes of all of them once)."""
    torch.manual_seed(0)
    model = ct.build(network).train()
    paths = ct.module_paths(network)
    for node in network.nodes:
        if not node.trainable:
            model.get_submodule(paths[node.name]).requires_grad_(False)
    state = {t.untyped_storage().data_ptr() for t in [*model.parameters(), *model.buffers()]}
    names = {model.get_submodule(paths[n.name]): n.name for n in network.nodes}
    current, per, everything, keep = [None], {}, {}, []

    def pack(t):
        keep.append(t)  # held, so no storage is freed and reused under another module's name
        ptr = t.untyped_storage().data_ptr()
        if ptr not in state and current[0] is not None:
            size = t.untyped_storage().nbytes()
            per.setdefault(current[0], {})[ptr] = size
            everything[ptr] = size
        return t

    hooks = []
    for module, name in names.items():
        hooks.append(module.register_forward_pre_hook(lambda m, a, name=name: current.__setitem__(0, name)))
        hooks.append(module.register_forward_hook(lambda m, a, y: current.__setitem__(0, None)))
    x = torch.randn(batch, *network.input)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(x)
    for h in hooks:
        h.remove()
    return {name: sum(p.values()) for name, p in per.items()}, sum(everything.values())


def check_saved(network, batch):
    t = train(network, batch, device="cpu")  # PyTorch on the CPU: dropout keeps a float mask
    theirs, total = torch_saved(network, batch)
    for row in t.layers:
        assert row.saved_bytes == theirs.get(row.name, 0), \
            f"{network.name} batch {batch}: {row.name} ({row.type}) saves {row.saved} = {row.saved_bytes}, torch {theirs.get(row.name, 0)}"
    assert t.totals.saved_bytes == total


def trainable_input(network, batch):
    """The smallest input of crosscheck's sizes at which the network trains at this batch (batch norm in training
    needs more than one value per channel: DenseNet's last norm is 1×1 at 32×32, batch 1)."""
    for size in SMALL_SIZES:
        shape = (network.input[0], *(min(n, size) for n in network.input[1:]))
        if network.analyze(input=shape).error is None:
            try:
                train(network.with_input(shape), batch)
            except ShapeError:
                continue
            return network.with_input(shape)
    return network


@pytest.mark.parametrize("batch", [1, 8])
@pytest.mark.parametrize("name", distinct_zoo_names())
def test_zoo_saved_bytes_match_autograd(name, batch):
    check_saved(trainable_input(cnncalc.load(name), batch), batch)


def test_frozen_layers_save_what_autograd_saves():
    # a frozen stem: nothing below the first trainable layer records anything; the frozen dense keeps no input
    spec = """
input: [3, 16, 16]
layers:
  - conv: {out: 4, kernel: 3, trainable: false}
  - relu
  - conv: {out: 4, kernel: 3}
  - relu
  - maxpool: 2
  - flatten
  - dense: {out: 5, trainable: false}
  - sigmoid
"""
    net = cnncalc.load(spec)
    check_saved(net, 2)
    rows = {r.name: r for r in train(net, 2).layers}
    assert rows["conv1"].saved_bytes == 0 and rows["relu1"].saved_bytes == 0
    assert rows["dense1"].saved_bytes == 0 and rows["dense1"].weight_grad_flops == 0
    assert rows["conv2"].input_grad_flops == 0  # its input needs no gradient


def torch_backward_flops(network, batch):
    """{layer name: FlopCounterMode's backward FLOPs} for each conv, conv_transpose and dense, run on its own."""
    a = network.analyze(batch=batch)
    t = train(network, batch)
    requires = {INPUT: False, **{r.index: r.needs_grad for r in t.layers}}
    paths = ct.module_paths(network)
    model = ct.build(network).train()
    out = {}
    for info in a.layers:
        if not info.layer.weighted:
            continue
        module = model.get_submodule(paths[info.name])
        module.requires_grad_(info.node.trainable)
        x = torch.randn(batch, *info.facts.inputs[0], requires_grad=requires[info.node.inputs[0]])
        y = module(x)
        if not y.requires_grad:
            out[info.name] = 0
            continue
        g = torch.randn_like(y)
        with FlopCounterMode(display=False) as counter:
            y.backward(g)
        out[info.name] = counter.get_total_flops()
    return out


def check_flops(network, batch=2):
    theirs = torch_backward_flops(network, batch)
    t = train(network, batch)
    by_name = {r.name: r for r in network.analyze(batch=batch).layers}
    for row in t.layers:
        if row.name not in theirs:
            continue
        info = by_name[row.name]
        bias = prod(info.output) * batch if info.layer.bias and row.weight_grad_flops else 0
        ours = row.input_grad_flops + row.weight_grad_flops - bias
        groups = getattr(info.layer, "groups", 1)
        if groups == 1:
            assert ours == theirs[row.name], f"{network.name}: {row.name} {ours} vs FlopCounterMode {theirs[row.name]}"
        else:  # FlopCounterMode's weight-gradient term is groups × the true count
            assert theirs[row.name] == row.input_grad_flops + groups * (row.weight_grad_flops - bias)


@pytest.mark.parametrize("name", distinct_zoo_names())
def test_zoo_backward_flops_match_flop_counter(name):
    check_flops(small_input(cnncalc.load(name)))


def test_depthwise_flop_counter_ignores_groups():
    # the example: 32→32 depthwise 3×3 on 56×56, batch 1. Forward 2·MACs = 2·56·56·32·9 = 1,806,336.
    # FlopCounterMode's backward: input gradient 1,806,336 + weight gradient 2·9·3136·32·32 = 57,802,752.
    # (a 1×1 conv first, so the depthwise conv's input needs a gradient as inside a network)
    net = cnncalc.load("input: [32, 56, 56]\nlayers:\n  - conv: {out: 32, kernel: 1}\n"
                       "  - conv: {out: 32, kernel: 3, padding: 1, groups: 32, bias: false}")
    conv = torch.nn.Conv2d(32, 32, 3, padding=1, groups=32, bias=False)
    y = conv(torch.randn(1, 32, 56, 56, requires_grad=True))
    with FlopCounterMode(display=False) as counter:
        y.backward(torch.ones_like(y))
    assert counter.get_total_flops() == 59_609_088
    row = train(net, 1).layers[1]
    assert row.forward_flops == 1_806_336
    assert row.input_grad_flops == 1_806_336 and row.weight_grad_flops == 1_806_336  # 2·MACs each: 2× forward


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_specs())
def test_random_specs_saved_bytes_and_flops_match_pytorch(spec):
    net = cnncalc.load(spec)
    assume(net.analyze().error is None)
    check_saved(net, 2)
    check_flops(net)


# -- gradients: cnncalc's NumPy step against torch autograd ----------------------------------------------------------

def check_gradients(network, batch=2, seed=0, dtype="float64", rtol=1e-4):
    """The NumPy step's weight gradients equal torch autograd's for the same weights, input and loss Σ y·r (rtol,
    and an atol of rtol × the layer's largest gradient, for elements that are nearly zero). Dropout is the
    identity on both sides (their random masks differ); batch norm uses batch statistics on both.

    float64 for the zoo and random specs: on a small input, a batch norm whose channel is nearly constant over the
    batch (a ReLU'd DenseNet channel on a 2×2 map) divides float32 rounding noise by √ε, and the two frameworks'
    float32 gradients then differ in sign; float32 at rtol 1e-4 is checked where the statistics are well conditioned.
    Even in float64 the deep Inceptions at 75×75 and batch 2 (norms over two values per channel) amplify rounding
    to 6e-5 relative in the classifier's gradient, so rtol stays 1e-4 there too; a wrong kernel is off by O(1)."""
    import numpy as np

    from cnncalc.runtime import backward as bw
    from cnncalc.runtime.train_step import run_step
    from cnncalc.runtime.weights import init_weights

    t = train(network, batch)
    weights = init_weights(t.analysis, seed, dtype)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, *network.input)).astype(dtype)
    out = t.analysis.layers[network.output].output
    r = rng.standard_normal((batch, *out)).astype(dtype)
    model = ct.build(network).train().to(getattr(torch, dtype))
    model.load_state_dict(ct.to_state_dict(network, {k: v.copy() for k, v in weights.items()}), strict=False)
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.eval()
    paths = ct.module_paths(network)
    for node in network.nodes:
        if not node.trainable:
            model.get_submodule(paths[node.name]).requires_grad_(False)
    y = model(torch.from_numpy(x.copy()))
    loss = (y * torch.from_numpy(r)).sum()
    if loss.requires_grad:  # else the network has no (trainable) parameters: no gradients on either side
        loss.backward()
    identity = bw.Kernels(lambda layer, f, xs, w, rng: (xs[0], {}), lambda layer, f, saved, dy, w, need: ([dy], {}))
    original = bw.BACKWARD["dropout"]
    bw.BACKWARD["dropout"] = identity
    try:
        _, ours = run_step(t, x, weights, r, seed, update=False)
    finally:
        bw.BACKWARD["dropout"] = original
    theirs = {}
    for node in network.nodes:
        for name, p in model.get_submodule(paths[node.name]).named_parameters(recurse=False):
            if p.grad is not None:
                theirs[f"{node.name}.{name}"] = p.grad.numpy()
    assert set(ours) == set(theirs)
    scale = {}  # per layer, its largest gradient: a bias before a batch norm has a true gradient of 0 (rounding noise)
    for k, g in theirs.items():
        layer = k.rpartition(".")[0]
        scale[layer] = max(scale.get(layer, 0.0), float(np.abs(g).max()))
    for k, g in ours.items():
        atol = rtol * (scale[k.rpartition(".")[0]] or 1.0)
        np.testing.assert_allclose(g, theirs[k], rtol=rtol, atol=atol, err_msg=f"{network.name}: {k}")


@pytest.mark.parametrize("name", distinct_zoo_names())
def test_zoo_gradients_match_autograd(name):
    check_gradients(trainable_input(cnncalc.load(name), 2))


# Only where float32 is well conditioned: on mobilenet_v2 and vgg11_bn (64×64, batch 4) a few batch-norm parameters'
# gradients differ by 30-70 % between the frameworks in float32, on one machine and not another (BLAS blocking and
# threads change the rounding; an activation that rounds to the other side of a ReLU's 0 flips a mask). Their float64
# gradients agree (test_zoo_gradients_match_autograd); a float32 criterion that survives this is open work.
@pytest.mark.parametrize("name", ["resnet18"])
def test_float32_gradients_match_autograd(name):
    check_gradients(cnncalc.load(name).with_input((3, 64, 64)), batch=4, dtype="float32", rtol=1e-4)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_specs())
def test_random_spec_gradients_match_autograd(spec):
    net = cnncalc.load(spec)
    assume(net.analyze().error is None)
    try:
        train(net, 2)
    except ShapeError:
        assume(False)
    check_gradients(net)


@pytest.mark.parametrize("spec", [
    # found by the random specs: 1-D, dilated, asymmetric padding (the WindowPool bridge); torch's amax keeps the padded
    # input (its windows are a view of it, 6 floats: the unit no window reads is not padded) and the output
    "input: [1, 3]\nlayers:\n- bn\n- maxpool: {dilation: 2, kernel: 2, padding: [[0, 1]]}\n",
    "input: [2, 7, 6]\nlayers:\n- bn\n- maxpool: {kernel: [1, 3], stride: [2, 1], padding: [[0, 0], [1, 0]]}\n",  # a view
    "input: [2, 7, 6]\nlayers:\n- bn\n- maxpool: {kernel: [2, 3], padding: [[0, 1], [1, 0]], ceil_mode: true}\n",  # a copy
    "input: [2, 9]\nlayers:\n- maxpool: {kernel: 3, stride: 2, padding: [[1, 0]], ceil_mode: true}\n",
])
def test_asymmetric_max_pools_save_what_torch_saves(spec):
    check_saved(cnncalc.load(spec), 2)
