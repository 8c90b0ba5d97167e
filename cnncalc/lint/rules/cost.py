"""The cost rules (CNN2xx): parameters or operations spent without a benefit, each with the saving computed."""
from __future__ import annotations

from math import prod
from typing import Optional

from ...spec.graph import INPUT
from ...units import human, shape as fmt_shape
from ..core import Option, Rule, Severity, register
from .common import alternative, args_of, dims, effect, source

_SPELLED = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}


def _saves(before, after, fraction: float) -> bool:
    """Whether a valid replacement with the same output saves at least `fraction` of the parameters."""
    return (before is not None and after is not None and after.totals.output == before.totals.output
            and after.totals.params <= (1 - fraction) * before.totals.params)


def _plain_conv(info) -> bool:
    return info.type == "conv" and info.layer.groups == 1 and all(d == 1 for d in info.facts.geometry.dilation)


@register
class LargeKernel(Rule):
    """A conv with a large odd kernel (5×5 or more) that a stack of 3×3 convs would replace with the same
    receptive field and fewer parameters (VGG's argument: three 3×3 convs see 7×7).

    Why: stacked small kernels cost less for the same field and add nonlinearities between them (Simonyan & Zisserman 2015).

    Bad:
        input: [64, 56, 56]
        layers:
          - conv: {out: 64, kernel: 7, padding: 3}
    Good:
        input: [64, 56, 56]
        layers:
          - conv: {out: 64, kernel: 3, padding: 1}
          - relu
          - conv: {out: 64, kernel: 3, padding: 1}
          - relu
          - conv: {out: 64, kernel: 3, padding: 1}
    """

    code, name, severity = "CNN201", "large-kernel", Severity.INFO
    options = {"min_saving": Option(0.2, "number", "smallest fraction of the conv's parameters the stack must save")}

    def check(self, ctx, opts):
        for info in ctx.layers:
            if not _plain_conv(info):
                continue
            layer, g = info.layer, info.facts.geometry
            k = g.kernel[0]
            n = (k - 1) // 2
            if len(set(g.kernel)) != 1 or k < 5 or k % 2 == 0 or any(max(p) > n for p in g.pads):
                continue
            stack = []
            for i in range(n):  # padding spread one unit per conv; the stride on the last conv keeps the field k
                pads = [[int(i < lo), int(i < hi)] for lo, hi in g.pads]
                stride = list(g.stride) if i == n - 1 else 1
                stack.append(("conv", {"out": layer.out, "kernel": 3, "stride": stride, "padding": pads, "bias": layer.bias}))
            ins = info.facts.inputs[0]
            before, after = alternative(ins, [("conv", args_of(layer))]), alternative(ins, stack)
            if not _saves(before, after, opts["min_saving"]):
                continue
            three = "×".join(["3"] * len(g.kernel))
            msg = f"{dims(g.kernel)} conv (out {layer.out}): {_SPELLED.get(n, n)} stacked {three} convs see the same field"
            yield self.finding(info, msg, f"replace it with {_SPELLED.get(n, n)} {three} convs (out {layer.out}): {effect(before, after)}")


@register
class FactorizableKernel(Rule):
    """A 2-D conv with a square n×n kernel (n ≥ `min_kernel`) that a 1×n conv followed by an n×1 conv would
    replace with the same receptive field and fewer parameters (Inception v3's asymmetric factorisation).

    Why: 1×n then n×1 covers the n×n field at about 2/n of the cost (Szegedy et al. 2016, section 3.2).

    Bad:
        input: [128, 17, 17]
        layers:
          - conv: {out: 128, kernel: 7, padding: 3}
    Good:
        input: [128, 17, 17]
        layers:
          - conv: {out: 128, kernel: [1, 7], padding: [0, 3]}
          - conv: {out: 128, kernel: [7, 1], padding: [3, 0]}
    """

    code, name, severity = "CNN202", "factorizable-kernel", Severity.INFO
    options = {"min_kernel": Option(5, "int", "smallest n to report (3×3 → 1×3 + 3×1 saves 33%, rarely worth it early)"),
               "min_saving": Option(0.2, "number", "smallest fraction of the conv's parameters the pair must save")}

    def check(self, ctx, opts):
        for info in ctx.layers:
            if not _plain_conv(info):
                continue
            layer, g = info.layer, info.facts.geometry
            n = g.kernel[0]
            if len(g.kernel) != 2 or len(set(g.kernel)) != 1 or n < opts["min_kernel"]:
                continue
            (ph, pw), (sh, sw) = g.pads, g.stride
            common = {"out": layer.out, "bias": layer.bias}
            pair = [("conv", {**common, "kernel": [1, n], "stride": [1, sw], "padding": [[0, 0], list(pw)]}),
                    ("conv", {**common, "kernel": [n, 1], "stride": [sh, 1], "padding": [list(ph), [0, 0]]})]
            ins = info.facts.inputs[0]
            before, after = alternative(ins, [("conv", args_of(layer))]), alternative(ins, pair)
            if not _saves(before, after, opts["min_saving"]):
                continue
            yield self.finding(info, f"{n}×{n} conv (out {layer.out}) factorises into 1×{n} and {n}×1",
                               f"replace it with a 1×{n} conv then a {n}×1 conv (out {layer.out}): {effect(before, after)}")


@register
class DenseHeavy(Rule):
    """A dense layer on a flattened feature map that holds more than `share` of the network's parameters,
    where global average pooling before the flatten would do (Network in Network, GoogLeNet).

    Why: the flattened map multiplies the dense weights by H×W; pooling first keeps accuracy with a fraction of the parameters.

    Bad:
        input: [3, 32, 32]
        layers:
          - conv: {out: 64, kernel: 3, padding: 1}
          - relu
          - flatten
          - dense: 100
    Good:
        input: [3, 32, 32]
        layers:
          - conv: {out: 64, kernel: 3, padding: 1}
          - relu
          - global_avgpool
          - flatten
          - dense: 100
    """

    code, name, severity = "CNN203", "dense-heavy", Severity.INFO
    options = {"share": Option(0.5, "number", "fraction of all parameters above which a dense layer is reported")}

    def check(self, ctx, opts):
        totals = ctx.analysis.totals
        if totals is None or not totals.params:
            return
        for info in ctx.layers:
            flat = source(ctx, info) if info.type == "dense" else None
            if flat is None or flat.type != "flatten" or info.params <= opts["share"] * totals.params:
                continue
            fmap = flat.facts.inputs[0]
            if prod(fmap[1:]) <= 1:
                continue
            dense = ("dense", {"out": info.layer.out, "bias": info.layer.bias})
            before = alternative(fmap, [("flatten", {}), dense])
            after = alternative(fmap, [("global_avgpool", {}), ("flatten", {}), dense])
            saved = before.totals.params - after.totals.params
            msg = (f"holds {info.params / totals.params:.0%} of the network's parameters ({human(info.params)} of "
                   f"{human(totals.params)}) on a flattened {fmt_shape(fmap)} map")
            fix = (f"global_avgpool before {flat.name}: dense input {fmt_shape(before.layers[0].output)} → "
                   f"{fmt_shape(after.layers[1].output)}, −{human(saved)} params (−{saved / totals.params:.0%} of the network)")
            yield self.finding(info, msg, fix)


def _classifier(ctx) -> Optional[int]:
    """The weighted layer that produces the network output (its width is the task's, not a design choice)."""
    i = ctx.net.output
    while i != INPUT and i < len(ctx.layers) and not ctx.layers[i].layer.weighted:
        node = ctx.net.nodes[i]
        if len(node.inputs) != 1 or ctx.layers[i].params:
            return None
        i = node.inputs[0]
    return i if i != INPUT and i < len(ctx.layers) else None


@register
class ChannelMultiple(Rule):
    """A conv or dense layer whose output channels are not a multiple of `multiple` (the classifier is exempt).

    Why: tensor cores and vector units work in blocks of 8 (fp16) or more; odd widths leave lanes idle or force padding.

    Bad:
        input: [3, 32, 32]
        layers:
          - conv: {out: 30, kernel: 3, padding: 1}
          - global_avgpool
          - flatten
          - dense: 10
    Good:
        input: [3, 32, 32]
        layers:
          - conv: {out: 32, kernel: 3, padding: 1}
          - global_avgpool
          - flatten
          - dense: 10
    """

    code, name, severity = "CNN204", "channel-multiple", Severity.INFO
    options = {"multiple": Option(8, "int", "the channel granularity of the target hardware")}

    def check(self, ctx, opts):
        m, last = opts["multiple"], _classifier(ctx)
        for info in ctx.layers:
            if not info.layer.weighted or info.index == last:
                continue
            out = info.layer.out
            if out % m:
                up = out + -out % m
                yield self.finding(info, f"{out} output channels are not a multiple of {m}", f"out: {up} (or {out - out % m})"
                                   if out > m else f"out: {up}")


@register
class BiasBeforeNorm(Rule):
    """A conv or dense layer with a bias whose only reader is a batch norm: the norm subtracts the mean, bias included.

    Why: the bias parameters are learned and stored but cancel out exactly; the norm's own shift does their job.

    Bad:
        input: [3, 32, 32]
        layers:
          - conv: {out: 16, kernel: 3, padding: 1}
          - bn
    Good:
        input: [3, 32, 32]
        layers:
          - conv: {out: 16, kernel: 3, padding: 1, bias: false}
          - bn
    """

    code, name, severity = "CNN205", "bias-before-norm", Severity.INFO

    def check(self, ctx, opts):
        for info in ctx.layers:
            if not info.layer.weighted or not info.layer.bias:
                continue
            readers = ctx.readers(info)
            if len(readers) == 1 and readers[0].layer.centres:
                n = prod(info.weights["bias"])
                yield self.finding(info, f"bias ({n:,} params) is cancelled by the batch norm that follows ({readers[0].name})",
                                   f"bias: false (−{n:,} params)")


@register
class LocalResponseNorm(Rule):
    """A local response normalisation layer.

    Why: VGG found LRN does not improve accuracy (Simonyan & Zisserman 2015, Table 3, A vs A-LRN) but costs time and memory.

    Bad:
        input: [3, 32, 32]
        layers:
          - conv: {out: 64, kernel: 3, padding: 1}
          - relu
          - lrn
    Good:
        input: [3, 32, 32]
        layers:
          - conv: {out: 64, kernel: 3, padding: 1}
          - relu
          - bn
    """

    code, name, severity = "CNN206", "lrn", Severity.INFO

    def check(self, ctx, opts):
        totals = ctx.analysis.totals
        for info in ctx.layers:
            if info.type == "lrn":
                share = f" ({info.flops / totals.flops:.1%} of the network's)" if totals and totals.flops else ""
                yield self.finding(info, f"LRN costs {human(info.flops)} FLOPs{share} and a {fmt_shape(info.output)} activation",
                                   f"remove it (−{info.flops:,} FLOPs), or use batch norm")
