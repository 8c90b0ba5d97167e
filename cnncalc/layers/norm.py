"""Normalisation: batch norm and local response normalisation."""
from __future__ import annotations

from math import prod

from .base import Arg, Layer, Weight, register


@register
class BatchNorm(Layer):
    """Per-channel normalisation with running statistics (inference form), optional scale and shift."""

    type = "bn"
    aliases = ("batchnorm", "batch_norm")
    doc = "batch norm: 2·C learnable (scale, shift), 2·C buffers (running mean, variance)"
    args = (
        Arg("eps", "float0", 1e-5, "added to the variance"),
        Arg("momentum", "float0", 0.1, "running-statistics momentum (training only)"),
        Arg("affine", "bool", True, "learn a scale and a shift per channel"),
    )
    flops_per_element = 2  # running statistics folded into one multiply and one add per element

    def weights(self):
        c = self.ins[0][0]
        w = {"running_mean": Weight((c,), False), "running_var": Weight((c,), False)}
        return {"weight": Weight((c,)), "bias": Weight((c,)), **w} if self.affine else w

    def forward(self, xs, w):
        from .. import ops
        return ops.batch_norm(xs[0], w.get("weight"), w.get("bias"), w["running_mean"], w["running_var"], self.eps)


@register
class LocalResponseNorm(Layer):
    """AlexNet's local response normalisation across `size` neighbouring channels (PyTorch LocalResponseNorm)."""

    type = "lrn"
    aliases = ("local_response_norm",)
    doc = "local response normalisation: x / (k + α/n·Σx²)^β over n neighbouring channels"
    shorthand = "size"
    args = (
        Arg("size", "int", 5, "channels in the window (n)"),
        Arg("alpha", "float0", 1e-4, "α"),
        Arg("beta", "float0", 0.75, "β"),
        Arg("k", "float0", 1.0, "k (AlexNet uses 2)"),
    )

    def flops(self):
        # n squares, n − 1 adds, scale and offset (2), power (1), divide (1) per element
        return (2 * self.size + 3) * prod(self.shape)

    def forward(self, xs, w):
        from .. import ops
        return ops.lrn(xs[0], self.size, self.alpha, self.beta, self.k)
