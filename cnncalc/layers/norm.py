"""Normalisation: batch norm and local response normalisation."""
from __future__ import annotations

from math import prod

from .args import BOOL, FLOAT0, INT, Arg
from .base import Layer, Weight, register


@register
class BatchNorm(Layer):
    """Per-channel normalisation with running statistics (inference form), optional scale and shift."""

    type = "bn"
    aliases = ("batchnorm", "batch_norm")
    doc = "batch norm: 2·C learnable (scale, shift), 2·C buffers (running mean, variance)"
    flops_rule = "2 per element (running statistics folded into one scale and one shift)"
    centres = True
    args = (
        Arg("eps", FLOAT0, 1e-5, "added to the variance"),
        Arg("momentum", FLOAT0, 0.1, "running-statistics momentum (training only)"),
        Arg("affine", BOOL, True, "learn a scale and a shift per channel"),
    )
    flops_per_element = 2  # running statistics folded into one multiply and one add per element

    def _infer(self, ins):
        c = ins[0][0]
        weights = {"weight": Weight((c,)), "bias": Weight((c,))} if self.affine else {}
        weights.update(running_mean=Weight((c,), False), running_var=Weight((c,), False))
        return self.facts(ins, ins[0], weights)


@register
class LocalResponseNorm(Layer):
    """AlexNet's local response normalisation across `size` neighbouring channels (PyTorch LocalResponseNorm)."""

    type = "lrn"
    aliases = ("local_response_norm",)
    doc = "local response normalisation: x / (k + α/n·Σx²)^β over n neighbouring channels"
    flops_rule = "2·size + 3 per element (squares, sums, scale and offset, power, divide)"
    shorthand = "size"
    args = (
        Arg("size", INT, 5, "channels in the window (n)"),
        Arg("alpha", FLOAT0, 1e-4, "α"),
        Arg("beta", FLOAT0, 0.75, "β"),
        Arg("k", FLOAT0, 1.0, "k (AlexNet uses 2)"),
    )

    def _infer(self, ins):
        # n squares, n − 1 adds, scale and offset (2), power (1), divide (1) per element
        return self.facts(ins, ins[0], flops=(2 * self.size + 3) * prod(ins[0]))
