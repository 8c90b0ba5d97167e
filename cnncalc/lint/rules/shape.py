"""The shape rules (CNN1xx): the network loses information, or cannot hold it at all."""
from __future__ import annotations

from math import prod
from typing import List, Optional

from ...units import shape as fmt_shape
from ..core import Finding, Option, Rule, Severity, register
from .common import alternative, arg, args_of, change, dims, effect, lost, source, spatial_axes


@register
class InvalidShape(Rule):
    """A layer cannot be built on its input: most often the spatial size collapses below one unit,
    (N + 2P − F) / S + 1 < 1, or merged shapes disagree. Reported even when not selected or ignored.

    Why: the network cannot run on this input at all; every figure after this layer is undefined.

    Bad:
        input: [3, 8, 8]
        layers:
          - conv: {out: 16, kernel: 4, stride: 2}
          - conv: {out: 32, kernel: 5}
    Good:
        input: [3, 8, 8]
        layers:
          - conv: {out: 16, kernel: 4, stride: 2, padding: 1}
          - conv: {out: 32, kernel: 3, padding: 1}
    """

    code, name, severity, always = "CNN101", "invalid-shape", Severity.ERROR, True

    def check(self, ctx, opts):
        e = ctx.analysis.error
        if e is not None:
            node = ctx.net.nodes[len(ctx.layers)]  # analysis stops at the failing layer
            fix = "; ".join(line.strip() for line in e.hint.splitlines()) if e.hint else None
            yield Finding(self.code, self.severity, e.message, e.loc or node.loc, node.name, fix)


@register
class DroppedPixels(Rule):
    """A conv or pool whose windows never reach the last rows or columns of its input: (N + 2P − F) / S
    leaves a remainder that covers real pixels, not only padding.

    Why: those input pixels influence nothing downstream; usually a padding or input size that is off by one.

    Bad:
        input: [3, 32, 32]
        layers:
          - conv: {out: 16, kernel: 3, stride: 2}
    Good:
        input: [3, 32, 32]
        layers:
          - conv: {out: 16, kernel: 3, stride: 2, padding: 1}
    """

    code, name, severity = "CNN102", "dropped-pixels", Severity.WARNING

    def check(self, ctx, opts):
        for info in ctx.layers:
            if not info.dropped:
                continue
            ins = info.facts.inputs[0]
            msg = (f"'{info.type}' never reads the last {lost(spatial_axes(info), info.dropped)} of its "
                   f"{fmt_shape(ins[1:])} input: the last window ends before the input does")
            yield self.finding(info, msg, self._fix(info, ins))

    def _fix(self, info, ins) -> Optional[str]:
        layer, g = info.layer, info.facts.geometry
        if any(d != 1 for d in g.dilation):
            return None
        before = alternative(ins, [(info.type, args_of(layer))])
        if info.type == "conv" and set(g.kernel) == {1}:
            return self._pool_first(info, ins, before)
        # a kernel longer by the lost units ends on the last pixel and keeps the output size (floor division)
        kernel = [k + d for k, d in zip(g.kernel, info.dropped)]
        after = alternative(ins, [(info.type, {**args_of(layer), "kernel": kernel})])
        if before is None or after is None or after.layers[0].dropped or after.totals.output != info.output:
            return "change the input size or the padding"
        cost = f": {change(before.totals.params, after.totals.params, 'params')}" if before.totals.params else ""
        return f"kernel: {arg(kernel)} reads every pixel with the same {fmt_shape(info.output[1:])} output{cost}; or change the input size"

    def _pool_first(self, info, ins, before) -> Optional[str]:
        # a strided 1×1 conv (a ResNet downsampling shortcut) skips pixels; ResNet-D averages each S×S cell first
        s = arg(info.facts.geometry.stride)
        pool = {"kernel": s, "stride": s, "ceil_mode": True, "count_include_pad": False}
        after = alternative(ins, [("avgpool", pool), ("conv", {**args_of(info.layer), "stride": 1})])
        if before is None or after is None or any(r.dropped for r in after.layers) or after.totals.output != info.output:
            return "change the input size or the stride"
        return (f"avgpool: {{kernel: {s}, stride: {s}, ceil_mode: true, count_include_pad: false}} before it and "
                f"stride 1 here (ResNet-D) reads every pixel with the same {fmt_shape(info.output[1:])} output: "
                f"{change(before.totals.params, after.totals.params, 'params')}, "
                f"{change(before.totals.macs, after.totals.macs, 'MACs')}")


@register
class EvenKernel(Rule):
    """A stride-1 conv with an even kernel that is meant to keep the size: that takes asymmetric padding
    (one more row on one side), or symmetric padding grows or shrinks the map by one.

    Why: even kernels have no centre pixel; 'same' output shifts features by half a pixel and compounds across layers.

    Bad:
        input: [16, 32, 32]
        layers:
          - conv: {out: 16, kernel: 4, padding: same}
    Good:
        input: [16, 32, 32]
        layers:
          - conv: {out: 16, kernel: 3, padding: same}
    """

    code, name, severity = "CNN103", "even-kernel", Severity.WARNING

    def check(self, ctx, opts):
        for info in ctx.layers:
            if info.type != "conv":
                continue
            g, ins = info.facts.geometry, info.facts.inputs[0]
            even = [s == 1 and d * (k - 1) % 2 == 1 and (lo != hi or lo > 0 and abs(o - n) == 1)
                    for k, s, d, (lo, hi), n, o in zip(g.kernel, g.stride, g.dilation, g.pads, ins[1:], info.output[1:])]
            if not any(even):
                continue
            k = dims(g.kernel)
            if info.output[1:] == ins[1:]:
                how = f"keeps {fmt_shape(ins[1:])} only with asymmetric padding {[list(p) for p in g.pads]}"
            else:
                how = f"turns {fmt_shape(ins[1:])} into {fmt_shape(info.output[1:])} with symmetric padding"
            yield self.finding(info, f"even kernel {k} at stride 1 {how}", self._fix(info, ins, even))

    def _fix(self, info, ins, even) -> Optional[str]:
        layer, g = info.layer, info.facts.geometry
        if any(d != 1 for d in g.dilation):
            return None
        kernel = [k - 1 if e else k for k, e in zip(g.kernel, even)]  # the odd kernel just below
        pads = [[(k - 1) // 2] * 2 if e else list(p) for k, e, p in zip(kernel, even, g.pads)]
        args = {**args_of(layer), "kernel": kernel, "padding": pads, "dilation": 1}
        before, after = alternative(ins, [("conv", args_of(layer))]), alternative(ins, [("conv", args)])
        if before is None or after is None or after.totals.output[1:] != ins[1:]:
            return None
        return f"kernel: {arg(kernel)}, padding: {arg([p[0] for p in pads])} keeps {fmt_shape(ins[1:])} symmetrically: {effect(before, after)}"


@register
class PoolGap(Rule):
    """A pooling window smaller than its stride: between two windows some input rows or columns are never seen.

    Why: the skipped pixels are discarded without ever being looked at; a window at least as large as the stride reads them all.

    Bad:
        input: [16, 30]
        layers:
          - maxpool: {kernel: 2, stride: 3, padding: 1}
    Good:
        input: [16, 30]
        layers:
          - maxpool: {kernel: 3, stride: 3}
    """

    code, name, severity = "CNN104", "pool-gap", Severity.WARNING

    def check(self, ctx, opts):
        for info in ctx.layers:
            if not info.layer.pooling:
                continue
            g = info.facts.geometry
            gaps = [max(s - e, 0) for s, e in zip(g.stride, g.extent)]
            if not any(gaps):
                continue
            msg = (f"window {dims(g.extent)} is smaller than the stride {dims(g.stride)}: "
                   f"{lost(spatial_axes(info), gaps)} in every {dims(g.stride)} never read")
            kernel = [max(e, s) for e, s in zip(g.extent, g.stride)]
            args = {**args_of(info.layer), "kernel": kernel}
            if "dilation" in args:  # the wider window replaces the dilated one
                args["dilation"] = 1
            fixed = alternative(info.facts.inputs[0], [(info.type, args)])
            fix = None if fixed is None else (f"kernel: {arg(kernel)} leaves no gaps between windows (output {fmt_shape(info.output[1:])}"
                                              f" → {fmt_shape(fixed.totals.output[1:])})")
            yield self.finding(info, msg, fix)


@register
class InputStride(Rule):
    """The input size is not a multiple of the network's total stride (the largest effective stride of any layer),
    so used fully convolutionally the last rows or columns fall off somewhere on the way down.

    Why: feature maps stop lining up with input pixels, and the remainder rows are silently discarded.

    Bad:
        input: [3, 30, 30]
        layers:
          - conv: {out: 16, kernel: 3, stride: 2, padding: 1}
          - conv: {out: 32, kernel: 3, stride: 2, padding: 1}
    Good:
        input: [3, 32, 32]
        layers:
          - conv: {out: 16, kernel: 3, stride: 2, padding: 1}
          - conv: {out: 32, kernel: 3, stride: 2, padding: 1}
    """

    code, name, severity = "CNN105", "input-stride", Severity.WARNING

    def check(self, ctx, opts):
        net = ctx.net
        spatial = [i for i in ctx.layers if not i.receptive_field.is_global and len(i.output) == len(net.input)]
        if not spatial or len(net.input) < 2:
            return
        deepest = max(spatial, key=lambda i: i.receptive_field.stride)  # per axis, H first
        stride = deepest.receptive_field.stride
        sizes = net.input[1:]
        if all(s.denominator != 1 or n % s == 0 for n, s in zip(sizes, stride)):
            return
        whole = [int(s) if s.denominator == 1 else 1 for s in stride]
        down = [n - n % s for n, s in zip(sizes, whole)]
        up = [d + s if n % s else n for n, d, s in zip(sizes, down, whole)]
        msg = (f"input {fmt_shape(sizes)} is not a multiple of the total stride {dims(whole)} "
               f"(reached at {deepest.name}): {lost(spatial_axes(deepest), [n % s for n, s in zip(sizes, whole)])} left over")
        alts = " or ".join(fmt_shape(s) for s in (down, up) if all(d > 0 for d in s))
        yield self.finding(None, msg, f"use an input of {alts}", loc=net.input_loc)


def choke_points(ctx) -> List[int]:
    """Layers whose output every path from the input to the output passes through: the network's representation.

    A layer is one when, right after it runs, its output is the only tensor a later layer still reads (inside a
    residual block or between parallel branches two tensors are pending, so those layers are not).
    """
    return [i for i, pending in ctx.net.schedule.pending_after() if i < len(ctx.layers) and pending == {i}]


@register
class Bottleneck(Rule):
    """A representational bottleneck: early in the network, the tensor that every path passes through
    (C×H×W values) becomes more than `factor` times smaller than the smallest one before it.

    Why: Inception v3's first principle: squeezing the representation early loses information later layers cannot recover.

    Bad:
        input: [3, 224, 224]
        layers:
          - conv: {out: 8, kernel: 7, stride: 4, padding: 3}
          - relu
          - global_avgpool
    Good:
        input: [3, 224, 224]
        layers:
          - conv: {out: 32, kernel: 7, stride: 4, padding: 3}
          - relu
          - global_avgpool
    """

    code, name, severity = "CNN106", "bottleneck", Severity.WARNING
    options = {"factor": Option(4, "number", "largest allowed shrink of the representation"),
               "early": Option(0.5, "number", "the fraction of the network's layers, from the input, that counts as early")}

    def check(self, ctx, opts):
        smallest = prod(ctx.net.input)
        early = opts["early"] * len(ctx.net.nodes)
        for i in choke_points(ctx):
            info = ctx.layers[i]
            if i >= early or info.receptive_field.is_global or len(info.output) < 2:
                continue
            size = prod(info.output)
            if smallest > opts["factor"] * size:
                msg = (f"the representation shrinks {smallest / size:.3g}× below anything before it ({smallest:,} → "
                       f"{size:,} values, {fmt_shape(info.output)}) in the first {opts['early']:.0%} of the network")
                yield self.finding(info, msg, self._fix(info, info.facts.inputs[0], smallest, opts["factor"]))
            smallest = min(smallest, size)

    def _fix(self, info, ins, before, factor) -> Optional[str]:
        if info.type != "conv":
            return None
        layer = info.layer
        spatial = prod(info.output[1:])
        out = -(-before // int(factor * spatial))  # the fewest channels that keep the shrink within the factor
        out += -out % layer.groups
        old, new = alternative(ins, [("conv", args_of(layer))]), alternative(ins, [("conv", {**args_of(layer), "out": out})])
        if old is None or new is None:
            return None
        return f"out: {out} keeps the shrink within {factor}×: {change(old.totals.params, new.totals.params, 'params')}"


@register
class StackedActivations(Rule):
    """Two activations in a row, or an activation directly before softmax.

    Why: the second nonlinearity adds cost and distorts the first (relu before softmax clips every negative logit to 0).

    Bad:
        input: [64]
        layers:
          - dense: 10
          - relu
          - softmax
    Good:
        input: [64]
        layers:
          - dense: 10
          - softmax
    """

    code, name, severity = "CNN107", "stacked-activations", Severity.WARNING

    def check(self, ctx, opts):
        for info in ctx.layers:
            src = source(ctx, info) if len(info.node.inputs) == 1 else None
            if src is None or not info.layer.nonlinear or not src.layer.nonlinear:
                continue
            if info.type == "softmax":
                msg, fix = f"'{src.type}' ({src.name}) directly before softmax", f"remove the {src.type}: softmax takes raw logits"
            else:
                msg, fix = f"'{info.type}' directly after '{src.type}' ({src.name})", "keep one of the two activations"
            yield self.finding(info, msg, fix)
