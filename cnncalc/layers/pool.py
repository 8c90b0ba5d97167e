"""Pooling: windowed max/avg/median, global pooling and PyTorch's adaptive pooling."""
from __future__ import annotations

from fractions import Fraction
from math import ceil, floor, log2, prod

from .base import GLOBAL, Arg, Layer, Window, per_axis, register, spatial_rank
from .window import WindowGeometry

_WINDOW = (
    Arg("kernel", "axes", doc="window size: an int or one per spatial axis"),
    Arg("stride", "axes", None, "stride per axis (default: the kernel size)"),
    Arg("padding", "padding", 0, "padding per axis (at most half the kernel), 'same' or 'valid'"),
    Arg("ceil_mode", "bool", False, "count a last partial window (PyTorch's ceil_mode)"),
)


class _Pool(WindowGeometry):
    """Windowed pooling over each channel separately."""

    shorthand = "kernel"

    def output_shape(self, ins):
        sizes = self.spatial_out(ins[0])
        for (lo, hi), k in zip(self.pads_, self.kernel_):
            if max(lo, hi) > k // 2:  # PyTorch's rule: half the kernel, whatever the dilation
                raise self.error(f"'{self.type}' padding {max(lo, hi)} is more than half the window {k}", "padding",
                                 hint="PyTorch refuses this: pad at most kernel // 2")
        return (ins[0][0], *sizes)

    def window_volume(self) -> int:
        return prod(self.kernel_)


@register
class MaxPool(_Pool):
    """Maximum over each window (padding counts as −∞)."""

    type = "maxpool"
    aliases = ("max_pool",)
    doc = "max pooling"
    args = _WINDOW + (Arg("dilation", "axes", 1, "dilation per axis"),)

    def flops(self):
        return (self.window_volume() - 1) * prod(self.shape)  # K − 1 comparisons per output

    def forward(self, xs, w):
        from .. import ops
        return ops.max_pool(xs[0], self.kernel_, self.stride_, self.pads_, self.dilation_, self.ceil_mode)


@register
class AvgPool(_Pool):
    """Mean over each window; padding zeros count in the divisor unless count_include_pad is false."""

    type = "avgpool"
    aliases = ("avg_pool",)
    doc = "average pooling"
    has_dilation = False
    args = _WINDOW + (Arg("count_include_pad", "bool", True, "divide by the full window, padding included"),)

    def flops(self):
        return self.window_volume() * prod(self.shape)  # K − 1 adds and one divide per output

    def forward(self, xs, w):
        from .. import ops
        return ops.avg_pool(xs[0], self.kernel_, self.stride_, self.pads_, self.ceil_mode, self.count_include_pad)


@register
class MedianPool(_Pool):
    """Median of each window's in-bounds values (a denoising filter; the seed notes name it)."""

    type = "medianpool"
    aliases = ("median_pool",)
    doc = "median pooling"
    has_dilation = False
    args = _WINDOW

    def flops(self):
        k = self.window_volume()
        return k * ceil(log2(k)) * prod(self.shape)  # a comparison sort of the window: K·⌈log2 K⌉

    def forward(self, xs, w):
        from .. import ops
        return ops.median_pool(xs[0], self.kernel_, self.stride_, self.pads_, self.ceil_mode)


class _GlobalPool(Layer):
    """Pools each channel's whole spatial extent to one value: [C, *S] → [C, 1, …]."""

    def output_shape(self, ins):
        rank = spatial_rank(self, ins[0])
        return (ins[0][0],) + (1,) * rank

    def window(self):
        return GLOBAL


@register
class GlobalAvgPool(_GlobalPool):
    type = "global_avgpool"
    aliases = ("global_avg_pool", "gap")
    doc = "mean over all spatial positions → [C, 1, …]"

    def flops(self):
        return prod(self.ins[0])  # N − 1 adds and one divide per channel

    def forward(self, xs, w):
        return xs[0].mean(axis=tuple(range(2, xs[0].ndim)), keepdims=True)


@register
class GlobalMaxPool(_GlobalPool):
    type = "global_maxpool"
    aliases = ("global_max_pool",)
    doc = "maximum over all spatial positions → [C, 1, …]"

    def flops(self):
        return prod(self.ins[0]) - self.ins[0][0]  # N − 1 comparisons per channel

    def forward(self, xs, w):
        return xs[0].max(axis=tuple(range(2, xs[0].ndim)), keepdims=True)


def adaptive_windows(n: int, o: int):
    """PyTorch's adaptive windows along one axis: [floor(i·n/o), ceil((i+1)·n/o))."""
    return [(i * n // o, -(-(i + 1) * n // o)) for i in range(o)]


class _AdaptivePool(Layer):
    """Pools to a fixed output size with PyTorch's (possibly overlapping) adaptive windows."""

    shorthand = "out"
    args = (Arg("out", "size", doc="output size: an int or one per spatial axis"),)

    def output_shape(self, ins):
        rank = spatial_rank(self, ins[0])
        self.out_ = per_axis(self, "out", rank)
        return (ins[0][0], *self.out_)

    def _window_sum(self) -> int:
        # elements read per channel: the product over axes of the summed window lengths
        return prod(sum(e - s for s, e in adaptive_windows(n, o)) for n, o in zip(self.ins[0][1:], self.out_))

    def window(self):
        sizes = self.ins[0][1:]
        if all(o == 1 for o in self.out_):
            return GLOBAL
        axes = []
        for n, o in zip(sizes, self.out_):
            longest = max(e - s for s, e in adaptive_windows(n, o))
            # window i spans [⌊i·n/o⌋, ⌈(i+1)·n/o⌉): centred near (i + ½)·n/o − ½, reading at most `longest` units
            axes.append(Window(Fraction(n, o), Fraction(n - o, 2 * o), longest - 1))
        return axes


@register
class AdaptiveAvgPool(_AdaptivePool):
    type = "adaptive_avgpool"
    aliases = ("adaptive_avg_pool",)
    doc = "average pooling to a given output size (PyTorch AdaptiveAvgPool)"

    def flops(self):
        return self.ins[0][0] * self._window_sum()

    def forward(self, xs, w):
        from .. import ops
        return ops.adaptive_avg_pool(xs[0], self.out_)


@register
class AdaptiveMaxPool(_AdaptivePool):
    type = "adaptive_maxpool"
    aliases = ("adaptive_max_pool",)
    doc = "max pooling to a given output size (PyTorch AdaptiveMaxPool)"

    def flops(self):
        return self.ins[0][0] * self._window_sum() - prod(self.shape)

    def forward(self, xs, w):
        from .. import ops
        return ops.adaptive_max_pool(xs[0], self.out_)
