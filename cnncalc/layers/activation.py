"""Element-wise activations, softmax, scaling and dropout: no weights, one output element per input element."""
from __future__ import annotations

from .args import FLOAT, FLOAT0, Arg, Choice
from .base import Layer, register


class Activation(Layer):
    """An element-wise nonlinearity; `flops_per_element` is its cost in the README's FLOP rules."""

    nonlinear = True


def _activation(name: str, flops: int, doc: str, *aliases: str) -> type:
    cls = type(name.title().replace("_", ""), (Activation,),
               {"type": name, "aliases": aliases, "flops_per_element": flops, "doc": doc, "__doc__": doc})
    globals()[cls.__name__] = cls  # importable by name, so layers pickle and copy
    return register(cls)


_activation("relu", 1, "max(x, 0)")
_activation("relu6", 2, "min(max(x, 0), 6)")
_activation("sigmoid", 4, "1 / (1 + exp(−x))")
_activation("tanh", 5, "hyperbolic tangent")
_activation("silu", 5, "x · sigmoid(x)", "swish")
_activation("hardsigmoid", 4, "relu6(x + 3) / 6", "hard_sigmoid")
_activation("hardswish", 5, "x · relu6(x + 3) / 6", "hard_swish")


@register
class LeakyReLU(Activation):
    """x for x ≥ 0, slope · x below."""

    type = "leaky_relu"
    doc = "x if x ≥ 0 else slope·x"
    shorthand = "slope"
    args = (Arg("slope", FLOAT, 0.01, "negative slope"),)
    flops_per_element = 2


@register
class GELU(Activation):
    """Gaussian error linear unit, x · Φ(x) (exact erf form, or PyTorch's tanh approximation)."""

    type = "gelu"
    doc = "x · Φ(x)"
    args = (Arg("approximate", Choice(("none", "tanh")), "none", "'none' (erf) or 'tanh'"),)
    flops_per_element = 5


@register
class Softmax(Activation):
    """exp(x) normalised over the channel axis, computed stably (max subtracted first)."""

    type = "softmax"
    doc = "softmax over channels"
    flops_rule = "5 per element (max, subtract, exp, sum, divide)"
    flops_per_element = 5


@register
class Scale(Layer):
    """Multiplies by a constant: Inception-ResNet scales each residual branch (by 0.1 to 0.2) before the sum."""

    type = "scale"
    doc = "multiply by a constant factor"
    shorthand = "factor"
    args = (Arg("factor", FLOAT, doc="the constant"),)
    flops_per_element = 1


@register
class Dropout(Layer):
    """Zeroes a fraction p of elements in training; the identity at inference."""

    type = "dropout"
    doc = "dropout (identity at inference)"
    pass_through = True
    shorthand = "p"
    args = (Arg("p", FLOAT0, 0.5, "drop probability"),)

    def validate(self):
        if self.p > 1:
            raise self.error(f"dropout probability must be between 0 and 1, got {self.p}", "p")
