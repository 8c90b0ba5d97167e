"""The design rules. CNN1xx: the shape loses or cannot hold information; CNN2xx: cost without benefit.

Where a rule proposes a change, the change is built as real layers and analysed by the core (`alternative`),
so its effect on parameters, MACs and receptive field is the core's arithmetic, never a formula repeated here.
"""
from __future__ import annotations

from math import prod
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..errors import Location, SpecError
from ..layers import REGISTRY as LAYERS
from ..layers.activation import Activation
from ..layers.base import AXIS_NAMES
from ..network import INPUT, LayerNode, Network
from ..render.units import human, shape as fmt_shape
from .core import Finding, Option, Rule, Severity, register

_HERE = Location("<lint>", 1, 1)
_UNITS = {"L": ("unit", "units"), "D": ("slice", "slices"), "H": ("row", "rows"), "W": ("column", "columns")}
_SPELLED = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}
_PASS_THROUGH = ("dropout", "identity")  # layers that change nothing a rule looks at


# -- building and comparing alternatives with the core -------------------------------------------------
_ALTERNATIVES: Dict[str, Any] = {}  # the same block used many times proposes the same change: analyse it once
_MAX_CACHED = 4096


def alternative(in_shape: Sequence[int], layers: Sequence[Tuple[str, Dict[str, Any]]]):
    """Analyse a chain of layers (spec type, arguments) on one input: an `Analysis` at batch 1, or None if invalid."""
    key = repr((tuple(in_shape), layers))
    if key not in _ALTERNATIVES:
        if len(_ALTERNATIVES) >= _MAX_CACHED:
            _ALTERNATIVES.clear()
        _ALTERNATIVES[key] = _analyse_chain(in_shape, layers)
    return _ALTERNATIVES[key]


def _analyse_chain(in_shape, layers):
    try:
        nodes = [LayerNode(f"{kind}{i + 1}", LAYERS[kind].create(dict(args), {}, _HERE), [i - 1], _HERE)
                 for i, (kind, args) in enumerate(layers)]
    except SpecError:
        return None
    a = Network("alternative", "<lint>", tuple(in_shape), _HERE, nodes, len(nodes) - 1).analyze()
    return a if a.ok else None


def args_of(layer) -> Dict[str, Any]:
    """A layer's spec arguments, ready to build a copy (unset optional ones left out)."""
    return {k: v for k, v in layer.values.items() if v is not None}


def change(before: int, after: int, what: str) -> str:
    """'−45% params' (rounded to a whole percent; 'same MACs' when equal)."""
    if before == after:
        return f"same {what}"
    pct = round((after - before) * 100 / before) if before else 100
    return f"{pct:+d}% {what}".replace("-", "−")


def effect(before, after) -> str:
    """Params, MACs and receptive field of a replacement against the original (both `alternative` analyses)."""
    b, a = before.totals, after.totals
    rf = ("same receptive field" if a.receptive_field.size == b.receptive_field.size
          else f"receptive field {_axes(b.receptive_field.size)} → {_axes(a.receptive_field.size)}")
    return f"{change(b.params, a.params, 'params')} ({b.params:,} → {a.params:,}), {change(b.macs, a.macs, 'MACs')}, {rf}"


def _axes(values) -> str:
    return "global" if values is None else "×".join(str(v) for v in values)


def _arg(values: Sequence[int]):
    """A per-axis argument as a spec would write it: one int when every axis agrees."""
    return values[0] if len(set(values)) == 1 else list(values)


def _lost(axes: Sequence[str], counts: Sequence[int]) -> str:
    """'1 row and 1 column' for the axes where count > 0."""
    parts = [f"{n} {_UNITS[ax][n != 1]}" for ax, n in zip(axes, counts) if n]
    return " and ".join(parts)


def _source(ctx, info):
    """The layer feeding `info`, looking through layers that change nothing (dropout, identity); None: the input."""
    src = ctx.producer(info)
    while src is not None and src.type in _PASS_THROUGH:
        src = ctx.producer(src)
    return src


def _spatial_axes(info) -> Tuple[str, ...]:
    return AXIS_NAMES[len(info.output) - 1]


# -- CNN1xx: shapes that lose information -------------------------------------------------------------
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
            layer = info.node.layer
            ins = ctx.input_shape(info)
            msg = (f"'{info.type}' never reads the last {_lost(_spatial_axes(info), info.dropped)} of its "
                   f"{fmt_shape(ins[1:])} input: the last window ends before the input does")
            yield self.finding(info, msg, self._fix(info, ins))

    def _fix(self, info, ins) -> Optional[str]:
        layer = info.node.layer
        if any(d != 1 for d in getattr(layer, "dilation_", ())):
            return None
        before = alternative(ins, [(info.type, args_of(layer))])
        if info.type == "conv" and set(layer.kernel_) == {1}:
            return self._pool_first(info, ins, layer, before)
        # a kernel longer by the lost units ends on the last pixel and keeps the output size (floor division)
        kernel = [k + d for k, d in zip(layer.kernel_, info.dropped)]
        after = alternative(ins, [(info.type, {**args_of(layer), "kernel": kernel})])
        if before is None or after is None or after.layers[0].dropped or after.totals.output != info.output:
            return "change the input size or the padding"
        cost = f": {change(before.totals.params, after.totals.params, 'params')}" if before.totals.params else ""
        return f"kernel: {_arg(kernel)} reads every pixel with the same {fmt_shape(info.output[1:])} output{cost}; or change the input size"

    def _pool_first(self, info, ins, layer, before) -> Optional[str]:
        # a strided 1×1 conv (a ResNet downsampling shortcut) skips pixels; ResNet-D averages each S×S cell first
        s = _arg(layer.stride_)
        pool = {"kernel": s, "stride": s, "ceil_mode": True, "count_include_pad": False}
        after = alternative(ins, [("avgpool", pool), ("conv", {**args_of(layer), "stride": 1})])
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
            layer = info.node.layer
            ins = ctx.input_shape(info)
            even = [s == 1 and d * (k - 1) % 2 == 1 and (lo != hi or lo > 0 and abs(o - n) == 1)
                    for k, s, d, (lo, hi), n, o in zip(layer.kernel_, layer.stride_, layer.dilation_, layer.pads_,
                                                       ins[1:], info.output[1:])]
            if not any(even):
                continue
            k = _axes(layer.kernel_)
            if info.output[1:] == ins[1:]:
                how = f"keeps {fmt_shape(ins[1:])} only with asymmetric padding {[list(p) for p in layer.pads_]}"
            else:
                how = f"turns {fmt_shape(ins[1:])} into {fmt_shape(info.output[1:])} with symmetric padding"
            yield self.finding(info, f"even kernel {k} at stride 1 {how}", self._fix(info, ins, even))

    def _fix(self, info, ins, even) -> Optional[str]:
        layer = info.node.layer
        kernel = [k - 1 if e else k for k, e in zip(layer.kernel_, even)]  # the odd kernel just below
        pads = [[(k - 1) // 2] * 2 if e else list(p) for k, e, p in zip(kernel, even, layer.pads_)]
        args = {**args_of(layer), "kernel": kernel, "padding": pads, "dilation": 1}
        if any(d != 1 for d in layer.dilation_):
            return None
        before, after = alternative(ins, [("conv", args_of(layer))]), alternative(ins, [("conv", args)])
        if before is None or after is None or after.totals.output[1:] != ins[1:]:
            return None
        return f"kernel: {_arg(kernel)}, padding: {_arg([p[0] for p in pads])} keeps {fmt_shape(ins[1:])} symmetrically: {effect(before, after)}"


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
            if info.type not in ("maxpool", "avgpool", "medianpool"):
                continue
            layer = info.node.layer
            extent = [d * (k - 1) + 1 for k, d in zip(layer.kernel_, layer.dilation_)]
            gaps = [max(s - e, 0) for s, e in zip(layer.stride_, extent)]
            if not any(gaps):
                continue
            axes = _spatial_axes(info)
            msg = (f"window {_axes(extent)} is smaller than the stride {_axes(layer.stride_)}: "
                   f"{_lost(axes, gaps)} in every {_axes(layer.stride_)} never read")
            kernel = [max(e, s) for e, s in zip(extent, layer.stride_)]
            fixed = alternative(ctx.input_shape(info), [(info.type, {**args_of(layer), "kernel": kernel, "dilation": 1}
                                                         if info.type == "maxpool" else {**args_of(layer), "kernel": kernel})])
            fix = None if fixed is None else (f"kernel: {_arg(kernel)} leaves no gaps between windows (output {fmt_shape(info.output[1:])}"
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
        msg = (f"input {fmt_shape(sizes)} is not a multiple of the total stride {_axes(whole)} "
               f"(reached at {deepest.name}): {_lost(_spatial_axes(deepest), [n % s for n, s in zip(sizes, whole)])} left over")
        alts = " or ".join(fmt_shape(s) for s in (down, up) if all(d > 0 for d in s))
        yield self.finding(None, msg, f"use an input of {alts}", loc=net.input_loc)


def choke_points(ctx) -> List[int]:
    """Layers whose output every path from the input to the output passes through: the network's representation.

    In graph order, a layer is one when, right after it runs, its output is the only tensor still to be read
    (inside a residual block or between parallel branches two tensors are live, so those layers are not).
    """
    last = {j: max(readers) for j, readers in ctx.consumers.items() if readers}
    live = {INPUT} if INPUT in last else set()
    out = []
    for info in ctx.layers:
        i = info.index
        live = {j for j in live if last.get(j, -1) > i} | ({i} if i in last else set())
        if live == {i}:
            out.append(i)
    return out


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
                yield self.finding(info, msg, self._fix(info, ctx.input_shape(info), smallest, opts["factor"]))
            smallest = min(smallest, size)

    def _fix(self, info, ins, before, factor) -> Optional[str]:
        if info.type != "conv":
            return None
        layer = info.node.layer
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
            src = _source(ctx, info) if len(info.node.inputs) == 1 else None
            if src is None or not isinstance(info.node.layer, Activation) or not isinstance(src.node.layer, Activation):
                continue
            if info.type == "softmax":
                msg, fix = f"'{src.type}' ({src.name}) directly before softmax", f"remove the {src.type}: softmax takes raw logits"
            else:
                msg, fix = f"'{info.type}' directly after '{src.type}' ({src.name})", f"keep one of the two activations"
            yield self.finding(info, msg, fix)


# -- CNN2xx: cost without benefit ------------------------------------------------------------------
def _saves(before, after, fraction: float) -> bool:
    """Whether a valid replacement with the same output saves at least `fraction` of the parameters."""
    return (before is not None and after is not None and after.totals.output == before.totals.output
            and after.totals.params <= (1 - fraction) * before.totals.params)


def _plain_conv(info) -> bool:
    layer = info.node.layer
    return info.type == "conv" and layer.groups == 1 and all(d == 1 for d in layer.dilation_)


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
            layer = info.node.layer
            if not _plain_conv(info) or len(set(layer.kernel_)) != 1 or layer.kernel_[0] < 5 or layer.kernel_[0] % 2 == 0:
                continue
            k, n = layer.kernel_[0], (layer.kernel_[0] - 1) // 2
            if any(max(p) > n for p in layer.pads_):
                continue
            rank = len(layer.kernel_)
            stack = []
            for i in range(n):  # padding spread one unit per conv; the stride on the last conv keeps the field k
                pads = [[int(i < lo), int(i < hi)] for lo, hi in layer.pads_]
                stride = list(layer.stride_) if i == n - 1 else 1
                stack.append(("conv", {"out": layer.out, "kernel": 3, "stride": stride, "padding": pads, "bias": layer.bias}))
            ins = ctx.input_shape(info)
            before, after = alternative(ins, [("conv", args_of(layer))]), alternative(ins, stack)
            if not _saves(before, after, opts["min_saving"]):
                continue
            three = "×".join(["3"] * rank)
            msg = f"{_axes(layer.kernel_)} conv (out {layer.out}): {_SPELLED.get(n, n)} stacked {three} convs see the same field"
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
            layer = info.node.layer
            if not _plain_conv(info) or len(layer.kernel_) != 2 or len(set(layer.kernel_)) != 1 or layer.kernel_[0] < opts["min_kernel"]:
                continue
            n = layer.kernel_[0]
            (ph, pw), (sh, sw) = layer.pads_, layer.stride_
            common = {"out": layer.out, "bias": layer.bias}
            pair = [("conv", {**common, "kernel": [1, n], "stride": [1, sw], "padding": [[0, 0], list(pw)]}),
                    ("conv", {**common, "kernel": [n, 1], "stride": [sh, 1], "padding": [list(ph), [0, 0]]})]
            ins = ctx.input_shape(info)
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
            flat = _source(ctx, info) if info.type == "dense" else None
            if flat is None or flat.type != "flatten" or info.params <= opts["share"] * totals.params:
                continue
            fmap = ctx.input_shape(flat)
            if prod(fmap[1:]) <= 1:
                continue
            layer = info.node.layer
            dense = ("dense", {"out": layer.out, "bias": layer.bias})
            before = alternative(fmap, [("flatten", {}), dense])
            after = alternative(fmap, [("global_avgpool", {}), ("flatten", {}), dense])
            saved = before.totals.params - after.totals.params
            msg = (f"holds {info.params / totals.params:.0%} of the network's parameters ({human(info.params)} of "
                   f"{human(totals.params)}) on a flattened {fmt_shape(fmap)} map")
            fix = (f"global_avgpool before {flat.name}: dense input {fmt_shape(before.layers[0].output)} → "
                   f"{fmt_shape(after.layers[1].output)}, −{human(saved)} params (−{saved / totals.params:.0%} of the network)")
            yield self.finding(info, msg, fix)


def _classifier(ctx) -> Optional[int]:
    """The conv/dense layer that produces the network output (its width is the task's, not a design choice)."""
    i = ctx.net.output
    while i != INPUT and i < len(ctx.layers) and ctx.layers[i].type not in ("conv", "conv_transpose", "dense"):
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
            if info.type not in ("conv", "conv_transpose", "dense") or info.index == last:
                continue
            out = info.node.layer.out
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
            if info.type not in ("conv", "conv_transpose", "dense") or not info.node.layer.bias:
                continue
            readers = ctx.readers(info)
            if len(readers) == 1 and readers[0].type == "bn":
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
