"""What each layer type costs in a training step: backward FLOPs and what PyTorch autograd saves for backward.

One rule per layer type, in a table (`RULES`), all with one signature: `(layer, facts, grads) -> Rule`, where
`grads` says which of the layer's inputs require a gradient and whether its own weights are trained. Everything is
per sample, like `Facts`; the training analysis multiplies by the batch. A test fails when a registered layer type
has no rule here, and the README's table of saved tensors is this table written out.

Conventions (the README's "Training" section states them for users):

* FLOPs as in the inference count: one scalar add, multiply, compare or elementary function is 1; a
  multiply-accumulate is 2. The input gradient of conv, conv_transpose and dense is 2 × MACs (a transposed
  convolution / matmul of the output gradient with the weights), the weight gradient 2 × MACs (a correlation of the
  input with the output gradient: grouped convolutions correlate each group with its own channels, so groups divide
  it, unlike `torch.utils.flop_counter`), the bias gradient one add per output element.
* What is saved follows PyTorch 2.x autograd on the modules `cnncalc.torch.build` makes, op by op: a tensor is
  kept only when the op's output requires a gradient, parameters and buffers (running statistics) are model state
  and not counted. `Save.ref` names what is kept: ("in", k) the k-th input tensor, ("out",) the layer's own output,
  or a name for a tensor the op makes itself (indices, masks, statistics, padded copies).
"""
from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Callable, Dict, Optional, Tuple, Union

from ...layers import Facts, Layer

# bytes per element of each kind of saved tensor; "act" is the activation dtype of the chosen precision
ITEM_BYTES = {"i64": 8, "f32": 4, "bool": 1}
Ref = Union[Tuple[str, int], Tuple[str], str]


@dataclass(frozen=True, slots=True)
class Save:
    """One tensor autograd keeps for a layer's backward: which one, its size and element kind, and why."""

    ref: Ref  # ("in", k), ("out",) or the name of a tensor the op makes
    elements: int = 0  # for made tensors: elements (per sample when `per_sample`)
    kind: str = "act"  # "act" (activation dtype), "i64", "f32", "bool"
    per_sample: bool = True
    why: str = ""


@dataclass(frozen=True, slots=True)
class Grads:
    """Which gradients a layer's backward computes: per input whether it requires one, and whether the weights do."""

    inputs: Tuple[bool, ...]
    weights: bool

    @property
    def output(self) -> bool:  # the output requires a gradient (else the op records nothing)
        return any(self.inputs) or self.weights


@dataclass(frozen=True, slots=True)
class Rule:
    """A layer's training facts per sample: FLOPs of its forward in training mode, of its input gradients (all
    inputs together) and of its weight gradients; what autograd saves; whether the input gradient is the output
    gradient itself (add, flatten, identity: no new tensor)."""

    forward_flops: int
    input_flops: int
    weight_flops: int
    saves: Tuple[Save, ...]
    passes_grad: bool = False


Backward = Callable[[Layer, Facts, Grads], Rule]

# -- the rules -----------------------------------------------------------------------------------------------------

_INPUT = Save(("in", 0), why="input")
_OUTPUT = Save(("out",), why="output")


def _n(shape) -> int:
    return prod(shape)


def _weighted(layer, f: Facts, g: Grads) -> Rule:
    out = _n(f.output)
    bias = out if getattr(layer, "bias", False) else 0
    input_flops = 2 * f.macs if g.inputs[0] else 0
    weight_flops = 2 * f.macs + bias if g.weights else 0
    saves = ()
    if g.output:
        if layer.type == "dense":  # addmm keeps the input only for the weight gradient (the weight is a parameter)
            saves = (_INPUT,) if g.weights else ()
        elif f.geometry is not None and not f.geometry.symmetric:  # F.pad first: the conv keeps the padded copy
            padded = f.inputs[0][0] * prod(n + lo + hi for n, (lo, hi) in zip(f.inputs[0][1:], f.geometry.pads))
            saves = (Save("padded input", padded, why="zero-padded input (asymmetric padding)"),)
        else:  # convolution keeps input and weight whatever needs a gradient
            saves = (_INPUT,)
    return Rule(f.flops, input_flops, weight_flops, saves)


def _pointwise(saves: Tuple[Save, ...], per_element: int) -> Backward:
    """An element-wise op whose gradient costs `per_element` FLOPs per element and keeps `saves`."""
    def rule(layer, f: Facts, g: Grads) -> Rule:
        return Rule(f.flops, per_element * _n(f.output) if g.inputs[0] else 0, 0, saves if g.output else ())
    return rule


def _view(layer, f: Facts, g: Grads) -> Rule:  # flatten, identity: a view; its gradient is a view of the output's
    return Rule(f.flops, 0, 0, (), passes_grad=True)


def _dropout(layer, f: Facts, g: Grads) -> Rule:
    n = _n(f.output)
    if layer.p == 0:  # returns its input itself
        return Rule(0, 0, 0, (), passes_grad=True)
    if layer.p == 1:  # input × a zero scalar: keeps the scalar
        saves = (Save("zero", 1, per_sample=False, why="zero scalar"),)
    else:  # CUDA's fused dropout keeps a bool mask; on the CPU `input * noise` keeps a float noise tensor
        saves = (Save("mask", n, "mask", why="mask"),)
    return Rule(n, n if g.inputs[0] else 0, 0, saves if g.output else ())


def _batch_norm(layer, f: Facts, g: Grads) -> Rule:
    n, c = _n(f.inputs[0]), f.inputs[0][0]
    # training forward: mean (1), variance (subtract, square, add: 3), normalise (2), scale and shift (2) per element
    forward = (8 if layer.affine else 6) * n
    # dγ = Σ dy·x̂, dβ = Σ dy: x̂ (2), multiply (1), two sums (2) = 5 per element; dx from those sums: 5 more
    # (N·dy − Σdy − x̂·Σdy·x̂, times γ·invstd/N); without a weight gradient dx computes the sums itself
    weights = 5 * n if g.weights and layer.affine else 0
    inputs = (10 * n - weights) if g.inputs[0] else 0
    saves = (_INPUT, Save("mean and invstd", 2 * c, "f32", per_sample=False, why="per-channel batch statistics"))
    return Rule(forward, inputs, weights, saves if g.output else ())


def _lrn(layer, f: Facts, g: Grads) -> Rule:
    n, c = _n(f.inputs[0]), f.inputs[0][0]
    spatial = n // c
    # F.local_response_norm: x·x → pad channels → avg_pool (keeps the padded squares) → ·α + k → pow β (keeps its
    # base and its result) → x / that (keeps x and the divisor)
    saves = (_INPUT, Save("padded squares", (c + layer.size - 1) * spatial, why="padded squares"),
             Save("pow base", n, why="k + α·mean"), Save("divisor", n, why="(k + α·mean)^β"))
    # dx = dy/d − 2αβ/n · x · Σ_window(dy·x·d^(−β−1)·…): size adds for the window sum + 7 per element
    return Rule(f.flops, (layer.size + 7) * n if g.inputs[0] else 0, 0, saves if g.output else ())


def _pool(layer, f: Facts, g: Grads) -> Rule:
    geo = f.geometry
    outs, k = _n(f.output), prod(geo.kernel)
    kind = layer.type[:-len("pool")]
    rank = len(geo.kernel)
    short = kind == "avg" and rank == 3 and any(n < kk for n, kk in zip(f.inputs[0][1:], geo.kernel))
    bridge = kind == "median" or not geo.symmetric or short  # cnncalc.torch.calls builds these from unfold
    if kind == "max":
        backward = outs  # route each output's gradient to its maximum: one add
        if not bridge:
            saves = (_INPUT, Save("indices", outs, "i64", why="argmax indices"))
        elif sum(kk > 1 for kk in geo.kernel) <= 1:  # the windows stay a view of the padded input: amax keeps it
            overhang = geo.overhang or (0,) * rank
            padded = f.inputs[0][0] * prod(n + lo + hi + over for n, (lo, hi), over
                                           in zip(f.inputs[0][1:], geo.pads, overhang))
            saves = (Save("padded input", padded, why="padded input (its windows are a view)"), _OUTPUT)
        else:  # flattening windows that span two or more axes copies them
            saves = (Save("window copy", outs * k, why="unfolded windows"), _OUTPUT)
    elif kind == "avg":
        backward = outs + outs * k  # a divide per output, an add per element read
        saves = (Save("counts", outs // f.output[0], per_sample=False, why="window counts"),) if bridge else (_INPUT,)
    else:  # median: the mean of the middle two of the sorted window (one value twice for an odd count)
        backward = 3 * outs
        saves = (Save("sort indices", outs * k, "i64", why="sort order"), Save("sorted", outs * k, why="sorted window"),
                 Save("lower index", outs, "i64", why="gather index"), Save("upper index", outs, "i64", why="gather index"))
    return Rule(f.flops, backward if g.inputs[0] else 0, 0, saves if g.output else ())


def _global_avg(layer, f: Facts, g: Grads) -> Rule:  # a mean: backward needs only the shape
    return Rule(f.flops, (_n(f.inputs[0]) + _n(f.output)) if g.inputs[0] else 0, 0, ())


def _adaptive_avg(layer, f: Facts, g: Grads) -> Rule:
    if all(o == 1 for o in f.output[1:]):
        return _global_avg(layer, f, g)
    read = f.flops  # the forward reads each window element once: an add per element read, a divide per output
    return Rule(f.flops, (read + _n(f.output)) if g.inputs[0] else 0, 0, (_INPUT,) if g.output else ())


def _max_indices(layer, f: Facts, g: Grads) -> Rule:  # global and adaptive max: input and int64 argmax indices
    outs = _n(f.output)
    saves = (_INPUT, Save("indices", outs, "i64", why="argmax indices"))
    return Rule(f.flops, outs if g.inputs[0] else 0, 0, saves if g.output else ())


def _upsample(layer, f: Facts, g: Grads) -> Rule:
    outs = _n(f.output)
    rank = len(f.output) - 1
    per = 2 * 2 ** rank if layer.linear else 1  # linear: 2^d weights × 2^d adds into the sources; nearest: one add
    return Rule(f.flops, per * outs if g.inputs[0] else 0, 0, ())


def _add(layer, f: Facts, g: Grads) -> Rule:  # each input's gradient is the output's gradient
    return Rule(f.flops, 0, 0, (), passes_grad=True)


def _concat(layer, f: Facts, g: Grads) -> Rule:  # slices of the output gradient, copied
    return Rule(f.flops, 0, 0, ())


def _broadcast(a, b):
    return tuple(max(x, y) for x, y in zip(a, b))


def _mul(layer, f: Facts, g: Grads) -> Rule:
    """x0·x1·…, left to right: each product keeps one factor for the other's gradient (only if that one needs it)."""
    saves = []
    flops = 0
    left, left_grad = f.inputs[0], g.inputs[0]
    for k in range(1, len(f.inputs)):
        right, right_grad = f.inputs[k], g.inputs[k]
        out = _broadcast(left, right)
        if right_grad:  # d(right) = dy · left (+ a sum over broadcast axes)
            saves.append(Save(("in", 0)) if k == 1 else Save(f"product {k}", _n(left), why="partial product"))
            flops += 2 * _n(out) - _n(right)
        if left_grad:  # d(left) = dy · right
            saves.append(Save(("in", k), why=f"input {k}"))
            flops += 2 * _n(out) - _n(left)
        left, left_grad = out, left_grad or right_grad
    return Rule(f.flops, flops, 0, tuple(saves))


_NO_SAVE: Tuple[Save, ...] = ()

RULES: Dict[str, Backward] = {
    "conv": _weighted,
    "conv_transpose": _weighted,
    "dense": _weighted,
    "maxpool": _pool,
    "avgpool": _pool,
    "medianpool": _pool,
    "global_avgpool": _global_avg,
    "global_maxpool": _max_indices,
    "adaptive_avgpool": _adaptive_avg,
    "adaptive_maxpool": _max_indices,
    "bn": _batch_norm,
    "lrn": _lrn,
    # activations: dy times the derivative, from what each keeps (its output or its input)
    "relu": _pointwise((_OUTPUT,), 1),  # dy · [y > 0]
    "relu6": _pointwise((_INPUT,), 2),  # dy · [0 < x < 6]: two compares
    "leaky_relu": _pointwise((_INPUT,), 2),  # compare, multiply
    "sigmoid": _pointwise((_OUTPUT,), 3),  # dy · y · (1 − y)
    "tanh": _pointwise((_OUTPUT,), 3),  # dy · (1 − y²)
    "silu": _pointwise((_INPUT,), 8),  # s = σ(x) (4), dy · s · (1 + x·(1 − s)) (4)
    "hardsigmoid": _pointwise((_INPUT,), 3),  # two compares, dy / 6
    "hardswish": _pointwise((_INPUT,), 5),  # two compares, dy · (2x + 3) / 6
    "gelu": lambda layer, f, g: _pointwise((_INPUT,), 18 if layer.approximate == "tanh" else 11)(layer, f, g),
    "softmax": _pointwise((_OUTPUT,), 4),  # y · (dy − Σ dy·y)
    "scale": _pointwise(_NO_SAVE, 1),  # dy · factor
    "dropout": _dropout,
    "flatten": _view,
    "identity": _view,
    "upsample": _upsample,
    "add": _add,
    "mul": _mul,
    "concat": _concat,
}
# gelu: Φ(x) + x·φ(x): φ (square, multiply, exp, multiply: 4), Φ (multiply, erf, add, multiply: 4), x·φ, add, ·dy
# gelu tanh: inner polynomial (5), tanh (1), 0.5·(1 + t) (2), the sech² term (8), add and ·dy (2)


def rule(layer: Layer, facts: Facts, grads: Grads) -> Rule:
    """The training facts of one layer on its inputs (per sample)."""
    return RULES[layer.type](layer, facts, grads)


def aliases_input(layer: Layer) -> Optional[int]:
    """The input whose storage a layer's output shares (a view or the tensor itself), or None for a new tensor."""
    if layer.type in ("flatten", "identity") or (layer.type == "dropout" and layer.p == 0):
        return 0
    return None
