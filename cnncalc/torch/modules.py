"""Helper modules for what PyTorch has no module for: merges, constant scaling, asymmetric padding, median pooling.

`cnncalc export` copies their source into the file it writes, so they use nothing but torch.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Add(nn.Module):
    """Element-wise sum of the inputs, left to right (a residual merge)."""

    def forward(self, *xs):
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class Scale(nn.Module):
    """Multiplies by a constant (Inception-ResNet's residual scaling)."""

    def __init__(self, factor: float):
        super().__init__()
        self.factor = factor

    def forward(self, x):
        return x * self.factor


class Mul(nn.Module):
    """Element-wise product of the inputs, broadcasting size-1 axes (a squeeze-excitation gate)."""

    def forward(self, *xs):
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out


class Concat(nn.Module):
    """Concatenation of the inputs along channels."""

    def forward(self, *xs):
        return torch.cat(xs, dim=1)


class Padded:
    """Zero-pads each spatial axis by (before, after) first: 'same' padding puts an odd unit at the end, which
    nn.ConvNd's symmetric `padding` cannot say (and its padding='same' allows stride 1 only)."""

    def __init__(self, *args, pads, **kwargs):
        super().__init__(*args, **kwargs)
        self.pads = list(pads)  # F.pad order: last axis first, (before, after) each

    def forward(self, x):
        return super().forward(F.pad(x, self.pads))

    def extra_repr(self):
        return f"{super().extra_repr()}, pads={self.pads}"


class PaddedConv1d(Padded, nn.Conv1d):
    """nn.Conv1d after explicit (before, after) zero padding."""


class PaddedConv2d(Padded, nn.Conv2d):
    """nn.Conv2d after explicit (before, after) zero padding."""


class PaddedConv3d(Padded, nn.Conv3d):
    """nn.Conv3d after explicit (before, after) zero padding."""


class WindowPool(nn.Module):
    """Max, average or median over each window of an explicitly padded input, 1-D to 3-D.

    For what PyTorch's pooling modules cannot say: asymmetric (before, after) padding, and the median (no torch
    layer). `padding` is (before, after) per axis; `extra` the units past `after` that the windows reach (ceil
    mode, > 0) or that no window reads (< 0). Averages divide by the taps inside the padded input (or inside the
    input when count_include_pad is false); medians take the in-bounds taps only, the mean of the middle two for
    an even count.
    """

    def __init__(self, kind, kernel, stride, padding, extra, dilation=None, count_include_pad=True):
        super().__init__()
        self.kind, self.kernel, self.stride, self.padding, self.extra = kind, kernel, stride, padding, extra
        self.dilation = dilation or [1] * len(kernel)
        self.count_include_pad = count_include_pad

    def windows(self, x):  # (B, C, *n) → (B, C, *out, K)
        for axis, (k, s, d) in enumerate(zip(self.kernel, self.stride, self.dilation)):
            x = x.unfold(2 + axis, d * (k - 1) + 1, s)[..., ::d]
        return x.flatten(-len(self.kernel))

    def forward(self, x):
        around = [p for (lo, hi), e in zip(self.padding[::-1], self.extra[::-1]) for p in (lo, hi + e)]
        fill = {"max": float("-inf"), "avg": 0.0, "median": float("inf")}[self.kind]
        taps = self.windows(F.pad(x, around, value=fill))
        if self.kind == "max":
            return taps.amax(-1)
        # which taps count: 1 inside the input, and inside the padding too for count_include_pad averages
        mask = torch.ones((1, 1, *x.shape[2:]), dtype=x.dtype, device=x.device)
        mask = F.pad(mask, [p for lo_hi in self.padding[::-1] for p in lo_hi],
                     value=float(self.kind == "avg" and self.count_include_pad))
        count = self.windows(F.pad(mask, [p for e in self.extra[::-1] for p in (0, e)])).sum(-1)
        if self.kind == "avg":
            return taps.sum(-1) / count
        taps = taps.sort(-1).values  # padding is +inf, so the in-bounds taps come first
        n = count.long().unsqueeze(-1).expand(*taps.shape[:-1], 1)
        return (taps.gather(-1, (n - 1) // 2) + taps.gather(-1, n // 2)).squeeze(-1) / 2


HELPERS = (Add, Mul, Scale, Concat, Padded, PaddedConv1d, PaddedConv2d, PaddedConv3d, WindowPool)

HELPER_NAMES = {cls.__name__: cls for cls in HELPERS}
