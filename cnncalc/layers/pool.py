"""Pooling: windowed max/avg/median, global pooling and PyTorch's adaptive pooling."""
from __future__ import annotations

from math import ceil, log2, prod

from .args import AXES, BOOL, PADDING, Arg
from .base import GLOBAL, Layer, register
from .geometry import Window, adaptive_windows, per_axis, ratio, slide, spatial_rank

_WINDOW = (
    Arg("kernel", AXES, doc="window size: an int or one per spatial axis"),
    Arg("stride", AXES, None, "stride per axis (default: the kernel size)"),
    Arg("padding", PADDING, 0, "padding per axis (at most half the kernel), 'same' or 'valid'"),
    Arg("ceil_mode", BOOL, False, "count a last partial window (PyTorch's ceil_mode)"),
)
_AVERAGE_RULE = "one per element read: K − 1 adds and a divide per output"
_MAX_READ_RULE = "elements read − outputs (comparisons)"


class _Pool(Layer):
    """Windowed pooling over each channel separately; `per_output(K)` is its FLOPs per output for a window of K."""

    pooling = True
    shorthand = "kernel"
    dilated = False

    def _infer(self, ins):
        sizes, g, dropped = slide(self, ins[0], self.dilated, self.ceil_mode)
        for (lo, hi), k in zip(g.pads, g.kernel):
            if max(lo, hi) > k // 2:  # PyTorch's rule: half the kernel, whatever the dilation
                raise self.error(f"'{self.type}' padding {max(lo, hi)} is more than half the window {k}", "padding",
                                 hint="PyTorch refuses this: pad at most kernel // 2")
        out = (ins[0][0], *sizes)
        return self.facts(ins, out, flops=self.per_output(prod(g.kernel)) * prod(out), window=g.windows(),
                          geometry=g, dropped=dropped)

    def per_output(self, k: int) -> int:
        raise NotImplementedError


@register
class MaxPool(_Pool):
    """Maximum over each window (padding counts as −∞)."""

    type = "maxpool"
    aliases = ("max_pool",)
    doc = "max pooling"
    flops_rule = "K − 1 comparisons per output (K = window volume)"
    dilated = True
    args = _WINDOW + (Arg("dilation", AXES, 1, "dilation per axis"),)

    def per_output(self, k):
        return k - 1


@register
class AvgPool(_Pool):
    """Mean over each window; padding zeros count in the divisor unless count_include_pad is false."""

    type = "avgpool"
    aliases = ("avg_pool",)
    doc = "average pooling"
    flops_rule = _AVERAGE_RULE
    args = _WINDOW + (Arg("count_include_pad", BOOL, True, "divide by the full window, padding included"),)

    def per_output(self, k):
        return k  # K − 1 adds and one divide


@register
class MedianPool(_Pool):
    """Median of each window's in-bounds values (a denoising filter; the seed notes name it)."""

    type = "medianpool"
    aliases = ("median_pool",)
    doc = "median pooling"
    flops_rule = "K·⌈log2 K⌉ per output (a comparison sort of the window)"
    args = _WINDOW

    def per_output(self, k):
        return k * ceil(log2(k))


class _GlobalPool(Layer):
    """Pools each channel's whole spatial extent to one value: [C, *S] → [C, 1, …]."""

    def _infer(self, ins):
        rank = spatial_rank(self, ins[0])
        return self.facts(ins, (ins[0][0],) + (1,) * rank, flops=self.read_flops(ins[0]), window=GLOBAL)


@register
class GlobalAvgPool(_GlobalPool):
    type = "global_avgpool"
    aliases = ("global_avg_pool", "gap")
    doc = "mean over all spatial positions → [C, 1, …]"
    flops_rule = _AVERAGE_RULE

    def read_flops(self, shape):
        return prod(shape)  # N − 1 adds and one divide per channel


@register
class GlobalMaxPool(_GlobalPool):
    type = "global_maxpool"
    aliases = ("global_max_pool",)
    doc = "maximum over all spatial positions → [C, 1, …]"
    flops_rule = _MAX_READ_RULE

    def read_flops(self, shape):
        return prod(shape) - shape[0]  # N − 1 comparisons per channel


class _AdaptivePool(Layer):
    """Pools to a fixed output size with PyTorch's (possibly overlapping) adaptive windows."""

    shorthand = "out"
    args = (Arg("out", AXES, doc="output size: an int or one per spatial axis"),)

    def _infer(self, ins):
        rank = spatial_rank(self, ins[0])
        sizes = per_axis(self, "out", rank)
        windows = [adaptive_windows(n, o) for n, o in zip(ins[0][1:], sizes)]
        read = ins[0][0] * prod(sum(e - s for s, e in w) for w in windows)  # elements read: summed window lengths
        out = (ins[0][0], *sizes)
        if all(o == 1 for o in sizes):
            window = GLOBAL
        else:  # window i spans [⌊i·n/o⌋, ⌈(i+1)·n/o⌉): centred near (i + ½)·n/o − ½, reading at most its longest
            window = tuple(Window(ratio(n, o), ratio(n - o, 2 * o), max(e - s for s, e in w) - 1)
                           for n, o, w in zip(ins[0][1:], sizes, windows))
        return self.facts(ins, out, flops=self.read_flops(read, prod(out)), window=window)


@register
class AdaptiveAvgPool(_AdaptivePool):
    type = "adaptive_avgpool"
    aliases = ("adaptive_avg_pool",)
    doc = "average pooling to a given output size (PyTorch AdaptiveAvgPool)"
    flops_rule = _AVERAGE_RULE

    def read_flops(self, read, outputs):
        return read


@register
class AdaptiveMaxPool(_AdaptivePool):
    type = "adaptive_maxpool"
    aliases = ("adaptive_max_pool",)
    doc = "max pooling to a given output size (PyTorch AdaptiveMaxPool)"
    flops_rule = _MAX_READ_RULE

    def read_flops(self, read, outputs):
        return read - outputs
