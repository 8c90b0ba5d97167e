"""Element-wise activations, softmax and dropout: no weights, one output element per input element."""
from __future__ import annotations

from .base import Arg, Layer, register


class Activation(Layer):
    """An element-wise nonlinearity; `flops_per_element` is its cost in the README's FLOP rules."""

    nonlinear = True
    op = ""  # the function name in cnncalc.ops

    def forward(self, xs, w):
        from .. import ops
        return getattr(ops, self.op or self.type)(xs[0])


def _activation(name: str, flops: int, doc: str, *aliases: str) -> type:
    cls = type(name.title().replace("_", ""), (Activation,),
               {"type": name, "aliases": aliases, "flops_per_element": flops, "doc": doc, "__doc__": doc})
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
    args = (Arg("slope", "float", 0.01, "negative slope"),)
    flops_per_element = 2

    def forward(self, xs, w):
        from .. import ops
        return ops.leaky_relu(xs[0], self.slope)


@register
class GELU(Activation):
    """Gaussian error linear unit, x · Φ(x) (exact erf form, or PyTorch's tanh approximation)."""

    type = "gelu"
    doc = "x · Φ(x)"
    args = (Arg("approximate", "choice", "none", "'none' (erf) or 'tanh'", ("none", "tanh")),)
    flops_per_element = 5

    def forward(self, xs, w):
        from .. import ops
        return ops.gelu(xs[0], self.approximate)


@register
class Softmax(Activation):
    """exp(x) normalised over the channel axis, computed stably (max subtracted first)."""

    type = "softmax"
    doc = "softmax over channels"
    flops_per_element = 5  # max, subtract, exp, sum, divide

    def forward(self, xs, w):
        from .. import ops
        return ops.softmax(xs[0], axis=1)


@register
class Scale(Layer):
    """Multiplies by a constant: Inception-ResNet scales each residual branch (by 0.1 to 0.2) before the sum."""

    type = "scale"
    doc = "multiply by a constant factor"
    shorthand = "factor"
    args = (Arg("factor", "float", doc="the constant"),)
    flops_per_element = 1

    def forward(self, xs, w):
        return xs[0] * xs[0].dtype.type(self.factor)  # keeps float32 float32


@register
class Dropout(Layer):
    """Zeroes a fraction p of elements in training; the identity at inference."""

    type = "dropout"
    doc = "dropout (identity at inference)"
    shorthand = "p"
    args = (Arg("p", "float0", 0.5, "drop probability"),)

    def validate(self):
        if self.p > 1:
            raise self.error(f"dropout probability must be between 0 and 1, got {self.p}", "p")

    def forward(self, xs, w):
        return xs[0]
