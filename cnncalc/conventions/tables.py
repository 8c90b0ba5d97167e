"""The counting conventions of other tools, as data: one table of rules per tool, each rule with its source.

A table maps a cnncalc layer type to {metric: Rule}; `default` covers the types a tool has no rule for (usually
"unknown module: 0"). Each rule reproduces the tool run on the PyTorch module cnncalc's bridge builds for that layer
(`cnncalc.torch.calls`: nn.Conv2d, nn.BatchNorm2d, … and the helpers Add, Mul, Concat, Scale, PaddedConv2d,
WindowPool), in eval mode, batch N — the modules torchvision builds too, so the figures are the ones users see.
Sources are files and lines of the named release of each tool. `tests/test_conventions_tools.py` runs the real tools
on every zoo network and fails when a release counts differently.

Notation in the texts: "input"/"output" elements include the batch; M is cnncalc's MACs (bias excluded).
"""
from __future__ import annotations

from math import prod
from typing import Dict, Mapping

from .rules import Rule, Site, macs, macs_plus_bias, params, per_input, per_output, zero
from .model import Convention, Metric

# -- helpers shared by several tables ---------------------------------------------------------------------------------


def native_pool(s: Site) -> bool:
    """Whether the torch bridge builds nn.MaxPoolNd/AvgPoolNd (else its WindowPool helper, which no tool knows)."""
    layer = s.layer
    if layer.type == "medianpool" or not s.symmetric:
        return False
    return not (layer.type == "avgpool" and s.rank == 3 and any(n < k for n, k in zip(s.in_spatial, s.kernel)))


def stored_kernel(s: Site) -> int:
    """The pool's kernel_size as torchscan reads it: the bridge passes one int when every axis is equal, and
    torchscan then takes that int as the window size (3, not 3×3 = 9) — its flops.py:169-176, macs.py:101-108."""
    k = s.kernel
    return k[0] if len(set(k)) == 1 else prod(k)


def adaptive_window(s: Site):
    """torchscan's approximation of an adaptive pool's window (torchscan/modules/_pooling.py:9-14)."""
    return tuple(i // o if i % o == 0 else i % o + 1 for i, o in zip(s.in_spatial, s.out_spatial))


def lrn_functionals(s: Site) -> int:
    """F.local_response_norm as patched functionals see it (torch/nn/functional.py): input.mul(input) (input
    elements), avg_pool over the channel-padded squares (batch × (C + size − 1) × spatial), .mul(alpha) and .add(k)
    (input elements each); the final division uses `/`, which no tool patches."""
    return 3 * s.inp + s.batch * (s.channels + s.layer.size - 1) * prod(s.in_spatial)


def only_if(test, count):
    return lambda s: count(s) if test(s) else 0


def sym(count):
    """The count when the bridge builds a plain nn.ConvNd; 0 for PaddedConvNd (asymmetric padding), a subclass
    that tools matching `type(module)` exactly do not recognise."""
    return only_if(lambda s: s.symmetric, count)


def trainable_params(s: Site) -> int:
    return s.params if s.trainable else 0


# -- fvcore ----------------------------------------------------------------------------------------------------------
FV = "fvcore 0.1.5.post20221221 fvcore/nn/"
_fv_macs = Rule(macs, "M: one 'flop' per multiply-add, bias not counted", FV + "jit_handles.py:127-151 conv_flop_count")

FVCORE = Convention(
    name="fvcore", tool="fvcore", version="0.1.5.post20221221", url="https://github.com/facebookresearch/fvcore",
    about="FlopCountAnalysis traces the model (torch.jit) and counts only the aten ops it has a handle for; "
          "its 'flop' is one fused multiply-add.",
    metrics=(Metric("flops", "flop", "macs", True, (None, "", 3)), Metric("params", "params", "params", True, (None, "", 3))),
    rules={
        "conv": {"flops": _fv_macs},
        "conv_transpose": {"flops": Rule(macs, "M (input positions × C_out/groups × kernel), bias not counted",
                                         FV + "jit_handles.py:127-151")},
        "dense": {"flops": Rule(macs, "M (aten::linear/addmm), bias not counted", FV + "jit_handles.py:99-124")},
        "bn": {"flops": Rule(lambda s: s.inp * (2 if s.affine else 1),
                             "1 per input element, 2 with the affine scale and shift (eval mode)",
                             FV + "jit_handles.py:251-258 batchnorm_flop_jit")},
        "global_avgpool": {"flops": Rule(only_if(lambda s: s.rank == 2, per_input(1)),
                                         "1 per input element (2-D only: aten::adaptive_avg_pool2d)",
                                         FV + "flop_count.py:42")},
        "adaptive_avgpool": {"flops": Rule(only_if(lambda s: s.rank == 2, per_input(1)),
                                           "1 per input element (2-D only: aten::adaptive_avg_pool2d)",
                                           FV + "flop_count.py:42")},
        "upsample": {"flops": Rule(lambda s: (s.out if s.layer.mode == "nearest" else 4 * s.out) if s.rank == 2 else 0,
                                   "2-D only: nearest 1, bilinear 4 per output element",
                                   FV + "flop_count.py:40-41")},
    },
    default={"flops": Rule(zero, "no handle: ignored (relu, cat, dropout, flatten) or unsupported (add, mul, pooling, "
                                 "other activations) and counted 0", FV + "jit_analysis.py:28-90, flop_count.py:26-44"),
             "params": Rule(params, "every parameter", FV + "parameter_count.py:10-31")},
)

# -- ptflops ---------------------------------------------------------------------------------------------------------
PT = "ptflops 0.7.5 ptflops/"
def _ptflops_rules(total: bool) -> Dict[str, Dict[str, Rule]]:
    """ptflops' pytorch backend: forward hooks on known module types, whose sum it divides by the batch it saw
    (`module_macs`, also what its per-layer table shows: per sample), plus — in the total only — what patched torch
    functionals and tensor methods collect, NOT divided by the batch (`macs`). pytorch_engine.py:23-93,180-199."""
    key = "macs" if total else "module_macs"

    def rule(hook, functional, text, source):
        if total and functional is not None:
            return Rule(lambda s: hook(s) // s.batch + functional(s), text + " + the patched functional it calls "
                        "(whole batch)", source)
        return Rule(lambda s: hook(s) // s.batch, text, source)

    pool = rule(only_if(native_pool, per_input(1)), only_if(native_pool, per_input(1)),
                "1 per input element per sample (module hook; 0 for cnncalc's WindowPool)",
                PT + "pytorch_ops.py:46-48, pytorch_engine.py:357-383")
    rules = {
        "conv": {key: rule(sym(macs_plus_bias), None, "M + 1 per output element with bias, per sample (0 for a "
                           "PaddedConv subclass)", PT + "pytorch_ops.py:60-92, pytorch_engine.py:311-314")},
        "conv_transpose": {key: rule(macs_plus_bias, None, "M (input positions) + 1 per output element with bias, "
                                     "per sample", PT + "pytorch_ops.py:60-92,307-309")},
        "dense": {key: rule(macs_plus_bias, None, "M + 1 per output element with bias, per sample",
                            PT + "pytorch_ops.py:35-43")},
        "bn": {key: rule(lambda s: s.inp * (2 if s.affine else 1), None,
                         "1 per input element, 2 when affine, per sample", PT + "pytorch_ops.py:51-57")},
        "relu": {key: rule(per_output(1), per_input(1), "1 per output element per sample (module hook)",
                           PT + "pytorch_ops.py:30-32, pytorch_engine.py:351 (F.relu)")},
        "gelu": {key: rule(per_output(1), per_input(1), "1 per output element per sample (module hook)",
                           PT + "pytorch_ops.py:30-32,325-326, pytorch_engine.py:355 (F.gelu)")},
        "relu6": {key: rule(per_output(1), None, "1 per output element per sample (module hook; nn.ReLU6 calls "
                            "F.hardtanh, which is not patched)", PT + "pytorch_ops.py:30-32,281")},
        "leaky_relu": {key: rule(per_output(1), None, "1 per output element per sample (module hook; F.leaky_relu "
                                 "is not patched)", PT + "pytorch_ops.py:30-32,279")},
        "maxpool": {key: pool}, "avgpool": {key: pool},
        "global_avgpool": {key: pool}, "adaptive_avgpool": {key: pool},
        "global_maxpool": {key: pool}, "adaptive_maxpool": {key: pool},
        # the hook reads output[0] — one sample — as if it were the batch: one sample's elements, then divided again
        "upsample": {key: rule(lambda s: prod(s.facts.output), per_output(1),
                               "one sample's output elements divided by the batch (the hook reads output[0]; "
                               "cnncalc floors what ptflops leaves fractional)", PT + "pytorch_ops.py:21-27,336-365")},
    }
    if total:
        rules["silu"] = {key: Rule(per_input(1), "1 per input element (patched F.silu; no module hook)",
                                   PT + "pytorch_ops.py:407-408, pytorch_engine.py:390-391")}
        rules["softmax"] = {key: Rule(per_input(1), "1 per input element (patched F.softmax; no module hook)",
                                      PT + "pytorch_ops.py:399, pytorch_engine.py:382-383")}
        rules["lrn"] = {key: Rule(lrn_functionals, "no module hook; its patched functionals: 3 per input element + "
                                                   "the channel-padded squares' average pool",
                                  PT + "pytorch_engine.py:363-366,434-456")}
    return rules


_pt_rules = _ptflops_rules(True)
for _type, _rule in _ptflops_rules(False).items():
    _pt_rules.setdefault(_type, {}).update(_rule)

PTFLOPS = Convention(
    name="ptflops", tool="ptflops", version="0.7.5", url="https://github.com/sovrasov/flops-counter.pytorch",
    about="get_model_complexity_info(backend='pytorch'): forward hooks on known module types, plus patched torch "
          "functionals and tensor methods whose counts go into the total only. Reports 'MACs' (GMac) that include "
          "batch norm, activations and pooling — and counts ReLU and pooling twice (the hook and the functional "
          "the module calls).",
    metrics=(Metric("macs", "MACs", "macs", False, (None, "Mac", 2)),
             Metric("module_macs", "MACs (per-layer table)", "macs", True, (None, "Mac", 2)),
             Metric("params", "params", "trainable_params", True, (None, "", 2))),
    rules=_pt_rules,
    default={"macs": Rule(zero, "no module hook and no patched functional", PT + "pytorch_ops.py:271-322"),
             "module_macs": Rule(zero, "no module hook", PT + "pytorch_ops.py:271-322, pytorch_engine.py:96-103"),
             "params": Rule(trainable_params, "parameters with requires_grad", PT + "pytorch_engine.py:161-163")},
)

PTFLOPS_ATEN = Convention(
    name="ptflops-aten", tool="ptflops", version="0.7.5", url="https://github.com/sovrasov/flops-counter.pytorch",
    about="get_model_complexity_info(backend='aten'): a TorchDispatchMode that counts only convolutions and matrix "
          "products (MACs, bias included).",
    metrics=(Metric("macs", "MACs", "macs", False, (None, "Mac", 2)),
             Metric("params", "params", "trainable_params", False, (None, "", 2))),
    rules={
        "conv": {"macs": Rule(macs_plus_bias, "M + 1 per output element with bias", PT + "aten_ops.py:75-104")},
        "conv_transpose": {"macs": Rule(macs_plus_bias, "M (input positions) + 1 per output element with bias",
                                        PT + "aten_ops.py:75-104")},
        "dense": {"macs": Rule(macs_plus_bias, "M + 1 per output element with bias (aten.addmm)",
                               PT + "aten_ops.py:33-52")},
    },
    default={"macs": Rule(zero, "not one of aten.mm/matmul/addmm/bmm/convolution", PT + "aten_ops.py:107-114"),
             "params": Rule(trainable_params, "parameters with requires_grad", PT + "pytorch_engine.py:161-163")},
)

# -- thop ------------------------------------------------------------------------------------------------------------
TH = "thop 0.1.1.post2209072238 thop/"


def _thop_adaptive_avg(s: Site) -> int:
    window = 1.0
    for i, o in zip(s.in_spatial, s.out_spatial):  # float64, as thop's DoubleTensor arithmetic
        window *= i / o
    return int((window + 1) * s.out)


def _thop_upsample(s: Site) -> int:
    mode = "nearest" if s.layer.mode == "nearest" else ("linear", "bilinear", "trilinear")[s.rank - 1]
    return s.out * {"nearest": 1, "linear": 5, "bilinear": 11, "trilinear": 0}[mode]


THOP = Convention(
    name="thop", tool="thop (pytorch-OpCounter)", version="0.1.1.post2209072238",
    url="https://github.com/Lyken17/pytorch-OpCounter",
    about="profile() registers a hook per module type it knows (exact type match); unknown modules count 0 ops and "
          "0 params. Returns 'MACs'; clever_format writes G = 10⁹ (releases before 2020 used 1024³).",
    metrics=(Metric("macs", "MACs", "macs", True, (None, "", 3)), Metric("params", "params", "params", True, (None, "", 3))),
    rules={
        "conv": {"macs": Rule(sym(macs), "M, bias not counted (0 for a PaddedConv subclass)",
                              TH + "vision/calc_func.py:28-35, vision/basic_hooks.py:22-43"),
                 "params": Rule(sym(params), "its parameters (0 for a PaddedConv subclass: no hook)",
                                TH + "profile.py:186-201")},
        "conv_transpose": {"macs": Rule(lambda s: s.out * (s.channels // s.layer.groups) * prod(s.kernel),
                                        "output elements × C_in/groups × kernel — output positions, where a transposed "
                                        "conv's products are input positions × C_out/groups × kernel",
                                        TH + "vision/calc_func.py:28-35")},
        "dense": {"macs": Rule(macs, "M (in_features per output element), bias not counted",
                               TH + "vision/basic_hooks.py:140-147")},
        "bn": {"macs": Rule(lambda s: s.inp * (4 if s.affine else 2),
                            "2 per input element, doubled again when affine: 4",
                            TH + "vision/basic_hooks.py:60-70, vision/calc_func.py:43-45")},
        "softmax": {"macs": Rule(lambda s: 3 * s.out - s.out // s.channels,
                                 "exp, add, divide: 3·C − 1 per channel vector",
                                 TH + "vision/basic_hooks.py:98-103, vision/calc_func.py:51-56")},
        "avgpool": {"macs": Rule(only_if(native_pool, per_output(1)), "1 per output element",
                                 TH + "vision/basic_hooks.py:106-111")},
        "global_avgpool": {"macs": Rule(_thop_adaptive_avg, "(Π in/out + 1) per output element, in float64",
                                        TH + "vision/basic_hooks.py:114-121, vision/calc_func.py:69-72")},
        "adaptive_avgpool": {"macs": Rule(_thop_adaptive_avg, "(Π in/out + 1) per output element, in float64",
                                          TH + "vision/basic_hooks.py:114-121, vision/calc_func.py:69-72")},
        "upsample": {"macs": Rule(_thop_upsample, "per output element: nearest 1, linear 5, bilinear 11, trilinear 0",
                                  TH + "vision/basic_hooks.py:125-137, vision/calc_func.py:75-88")},
    },
    default={"macs": Rule(zero, "zero_ops (relu, relu6, leaky_relu, max pooling, dropout) or no rule (treated as 0)",
                          TH + "profile.py:21-67,186-201, vision/calc_func.py:47-49"),
             "params": Rule(params, "its parameters, summed over modules that have a rule", TH + "profile.py:186-201")},
)

# -- torchinfo -------------------------------------------------------------------------------------------------------
TI = "torchinfo 1.8.0 torchinfo/"


def _ti_weighted(s: Site) -> int:
    """(weight + bias elements) × batch × output spatial size: 'Conv' in the class name."""
    return s.params * s.batch * prod(s.out_spatial)


TORCHINFO = Convention(
    name="torchinfo", tool="torchinfo", version="1.8.0", url="https://github.com/TylerYep/torchinfo",
    about="summary() gives each leaf module's 'Mult-Adds' from its parameters alone: a conv's weights times the "
          "output positions, any other module's parameters times the batch. Memory in MB of 10⁶ bytes.",
    metrics=(Metric("mult_adds", "Mult-Adds", "macs", True, (None, "", 2)),
             Metric("params", "params", "params", True, (None, "", 2)),
             Metric("forward_backward_bytes", "Forward/backward pass size", "activation_bytes", False, (1e6, "MB", 2)),
             Metric("params_bytes", "Params size", "param_bytes", False, (1e6, "MB", 2))),
    rules={
        "conv": {"mult_adds": Rule(_ti_weighted, "(weights + biases) × output positions: M + 1 per output element "
                                                 "with bias", TI + "layer_info.py:233-240")},
        "conv_transpose": {"mult_adds": Rule(_ti_weighted, "(weights + biases) × OUTPUT positions, where a transposed "
                                                           "conv's products run over input positions",
                                             TI + "layer_info.py:233-240")},
        "dense": {"mult_adds": Rule(lambda s: s.batch * s.params, "parameters × batch: M + 1 per output with bias",
                                    TI + "layer_info.py:241-242")},
        "bn": {"mult_adds": Rule(lambda s: s.batch * s.params, "parameters × batch: 2·C per sample (affine)",
                                 TI + "layer_info.py:241-242")},
    },
    default={"mult_adds": Rule(zero, "a module without parameters has no Mult-Adds", TI + "layer_info.py:225-245"),
             "params": Rule(params, "every parameter", TI + "model_statistics.py:31-49"),
             "forward_backward_bytes": Rule(lambda s: 2 * s.out * s.itemsize if s.params else 0,
                                            "output bytes × 2 ('for gradients'), only for modules with parameters",
                                            TI + "model_statistics.py:33-36"),
             "params_bytes": Rule(lambda s: s.params * s.itemsize, "parameter bytes", TI + "layer_info.py:198")},
)

# -- torchscan -------------------------------------------------------------------------------------------------------
TS = "torchscan 0.2.0 torchscan/modules/"


def _ts_conv_flops(s: Site) -> int:
    terms = prod(s.kernel) * (s.channels // s.layer.groups)
    return s.out * (2 * terms - 1 + int(s.bias))


def _ts_conv_macs(s: Site) -> int:
    return s.out * (s.channels // s.layer.groups) * prod(s.kernel)


def _ts(flops_rule: Rule, macs_rule: Rule) -> Dict[str, Rule]:
    return {"flops": flops_rule, "macs": macs_rule}


_ts_no_macs = Rule(zero, "0 MACs for an activation", TS + "macs.py:37-38")
_ts_pool_max = Rule(only_if(native_pool, lambda s: s.out * (stored_kernel(s) - 1)),
                    "(k − 1) per output, k being kernel_size as stored: an int for a square window, so 3×3 counts as 3",
                    TS + "flops.py:169-176, macs.py:101-108")
_ts_pool_avg = Rule(only_if(native_pool, lambda s: s.out * (stored_kernel(s) - 1 + s.rank)),
                    "(k − 1 + spatial axes) per output, k as stored (3×3 counts as 3)",
                    TS + "flops.py:178-185, macs.py:110-117")
_ts_amax = Rule(lambda s: s.out * (prod(adaptive_window(s)) - 1), "(window − 1) per output (approximate window)",
                TS + "flops.py:187-194, _pooling.py:9-14")
_ts_aavg = Rule(lambda s: s.out * (prod(adaptive_window(s)) - 1 + s.rank),
                "(window − 1 + spatial axes) per output (approximate window)", TS + "flops.py:196-203, _pooling.py:9-14")

TORCHSCAN = Convention(
    name="torchscan", tool="torchscan", version="0.2.0", url="https://github.com/frgfm/torch-scan",
    about="crawl_module()/summary(): a formula per module type for FLOPs, MACs and DMAs; unknown types count 0. "
          "FLOPs count a dot product of n terms as 2n − 1.",
    metrics=(Metric("flops", "FLOPs", "flops", True, (None, "", 2)), Metric("macs", "MACs", "macs", True, (None, "", 2)),
             Metric("params", "params", "params", True, (None, "", 2))),
    rules={
        "conv": _ts(Rule(_ts_conv_flops, "(2·terms − 1 + bias) per output, terms = C_in/groups × kernel",
                         TS + "flops.py:135-139"),
                    Rule(_ts_conv_macs, "M", TS + "macs.py:68-71")),
        "conv_transpose": _ts(Rule(lambda s: 8 * s.rank + _ts_conv_flops(s), "8 per spatial axis + as conv, over "
                                   "OUTPUT positions", TS + "flops.py:128-139"),
                              Rule(lambda s: 4 * s.rank + _ts_conv_macs(s), "4 per spatial axis + output elements × "
                                   "C_in/groups × kernel", TS + "macs.py:61-71")),
        "dense": _ts(Rule(lambda s: s.out * (2 * s.channels - 1) + (s.out if s.bias else 0),
                          "(2·in − 1) per output, + 1 with bias", TS + "flops.py:74-81"),
                     Rule(macs, "M", TS + "macs.py:55-58")),
        "bn": _ts(Rule(lambda s: 2 * s.channels + 2 * s.inp + (2 * s.inp if s.affine else 0),
                       "2 per channel (not per sample) + 2 per input element, + 2 more when affine",
                       TS + "flops.py:142-166"),
                  Rule(lambda s: s.inp * (2 if s.affine else 1), "1 per input element, 2 when affine",
                       TS + "macs.py:74-98")),
        "relu": _ts(Rule(per_input(1), "1 per input element", TS + "flops.py:90-93"), _ts_no_macs),
        "relu6": _ts(Rule(per_input(2), "2 per input element", TS + "flops.py:108-111"), _ts_no_macs),
        "leaky_relu": _ts(Rule(per_input(4), "4 per input element", TS + "flops.py:102-105"), _ts_no_macs),
        "tanh": _ts(Rule(per_input(6), "6 per input element", TS + "flops.py:114-117"), _ts_no_macs),
        "sigmoid": _ts(Rule(per_input(4), "4 per input element", TS + "flops.py:84-87"), _ts_no_macs),
        "dropout": _ts(Rule(lambda s: s.inp if s.layer.p > 0 else 0,
                            "1 per input element when p > 0 — even in eval mode, where dropout does nothing",
                            TS + "flops.py:120-125"), Rule(zero, "0", TS + "macs.py:49-50")),
        "maxpool": _ts(_ts_pool_max, _ts_pool_max),
        "avgpool": _ts(_ts_pool_avg, _ts_pool_avg),
        "global_maxpool": _ts(_ts_amax, _ts_amax), "adaptive_maxpool": _ts(_ts_amax, _ts_amax),
        "global_avgpool": _ts(_ts_aavg, _ts_aavg), "adaptive_avgpool": _ts(_ts_aavg, _ts_aavg),
    },
    default={"flops": Rule(zero, "'Module type not supported': 0 (merges, scale, LRN, silu, gelu, softmax, "
                                 "upsample, flatten, identity)", TS + "flops.py:22-71"),
             "macs": Rule(zero, "not supported, or an op without products: 0", TS + "macs.py:21-52"),
             "params": Rule(params, "every parameter", "torchscan 0.2.0 torchscan/crawler.py")},
)

# -- calflops --------------------------------------------------------------------------------------------------------
CF = "calflops 0.3.2 calflops/"


def _cf_conv_transpose_flops(s: Site) -> int:
    """2M + bias × C_out × batch × Π((in + 2p − (d(k − 1) + 1)) // s + 1): the bias term uses the forward conv's
    output-size formula (pytorch_ops.py:128-171)."""
    g = s.facts.geometry
    dims = [(n + 2 * lo - (d * (k - 1) + 1)) // st + 1
            for n, (lo, _), d, k, st in zip(s.in_spatial, g.pads, g.dilation, g.kernel, g.stride)]
    return 2 * s.macs + (s.layer.out * s.batch * prod(dims) if s.bias else 0)


def _cf_upsample(s: Site) -> int:
    if s.layer.size is not None:  # the bridge passes size= (one int when the axes agree); calflops drops batch, C
        size = s.out_spatial
        return size[0] if len(set(size)) == 1 else prod(size)
    return s.inp  # scale_factor: its `flops * scale` products are computed and thrown away


_cf_fn = "the patched F.{} in the module's forward"
_cf_pool = Rule(only_if(native_pool, per_input(1)), "1 per input element (patched F.*pool*)", CF + "pytorch_ops.py:71-80")

CALFLOPS = Convention(
    name="calflops", tool="calflops", version="0.3.2", url="https://github.com/MrYxJ/calculate-flops.pytorch",
    about="calculate_flops() patches torch.nn.functional and a few tensor methods and charges what they count to "
          "the module that called them; FLOPs = 2 × MACs for products, activations and pooling count FLOPs only.",
    metrics=(Metric("flops", "FLOPs", "flops", True, (None, "FLOPS", 2)), Metric("macs", "MACs", "macs", True, (None, "MACs", 2)),
             Metric("params", "params", "trainable_params", True, (None, "", 2))),
    rules={
        "conv": {"flops": Rule(lambda s: 2 * s.macs + (s.out if s.bias else 0), "2M + 1 per output element with bias",
                               CF + "pytorch_ops.py:83-125"),
                 "macs": Rule(macs, "M", CF + "pytorch_ops.py:83-125")},
        "conv_transpose": {"flops": Rule(_cf_conv_transpose_flops, "2M + bias × the size a FORWARD conv would output",
                                         CF + "pytorch_ops.py:128-171"),
                           "macs": Rule(macs, "M", CF + "pytorch_ops.py:128-171")},
        "dense": {"flops": Rule(lambda s: 2 * s.macs, "2M, bias not counted", CF + "pytorch_ops.py:37-40"),
                  "macs": Rule(macs, "M", CF + "pytorch_ops.py:37-40")},
        "bn": {"flops": Rule(lambda s: s.inp * (2 if s.affine else 1), "1 per input element, 2 when affine",
                             CF + "pytorch_ops.py:174-189")},
        "relu": {"flops": Rule(per_input(1), "1 per input element (F.relu)", CF + "pytorch_ops.py:43-44")},
        "leaky_relu": {"flops": Rule(per_input(1), "1 per input element (F.leaky_relu)", CF + "pytorch_ops.py:55-56")},
        "silu": {"flops": Rule(per_input(1), "1 per input element (F.silu)", CF + "pytorch_ops.py:63-64")},
        "gelu": {"flops": Rule(per_input(1), "1 per input element (F.gelu)", CF + "pytorch_ops.py:67-68")},
        "softmax": {"flops": Rule(per_input(1), "1 per input element (F.softmax)", CF + "pytorch_ops.py:254-255")},
        "maxpool": {"flops": _cf_pool}, "avgpool": {"flops": _cf_pool},
        "global_avgpool": {"flops": _cf_pool}, "adaptive_avgpool": {"flops": _cf_pool},
        "global_maxpool": {"flops": _cf_pool}, "adaptive_maxpool": {"flops": _cf_pool},
        "lrn": {"flops": Rule(lrn_functionals, "3 per input element + the channel-padded squares' average pool "
                                               "(patched Tensor.mul/add and F.avg_pool)", CF + "pytorch_ops.py:320-350")},
        "upsample": {"flops": Rule(_cf_upsample, "size=: the spatial size alone (no batch, no channels; one int when "
                                                 "the axes agree); scale_factor=: the input elements",
                                   CF + "pytorch_ops.py:229-251")},
    },
    default={"flops": Rule(zero, "no patched functional (relu6 → F.hardtanh, sigmoid, tanh, hardswish, dropout, "
                                 "`+`, `*`, cat)", CF + "pytorch_ops.py:452-530"),
             "macs": Rule(zero, "no products", CF + "pytorch_ops.py:452-530"),
             "params": Rule(trainable_params, "parameters with requires_grad", CF + "calculate_pipline.py:135")},
)

# -- Keras, torchvision's metadata, papers ---------------------------------------------------------------------------
KERAS_BN = "https://keras.io/api/layers/normalization_layers/batch_normalization/"

KERAS = Convention(
    name="keras", tool="Keras model.summary()", version="3", url="https://keras.io/api/models/model/#summary-method",
    about="Keras lists batch norm's moving mean and variance as non-trainable weights, so 'Total params' is "
          "cnncalc's params + buffers and 'Non-trainable params' holds the statistics and frozen layers.",
    metrics=(Metric("total_params", "Total params", "params", True, (None, "", 2)),
             Metric("trainable_params", "Trainable params", "trainable_params", False, (None, "", 2)),
             Metric("non_trainable_params", "Non-trainable params", None, False, (None, "", 2))),
    rules={"bn": {"total_params": Rule(lambda s: s.params + s.facts.buffers, "γ, β + moving mean and variance: 4·C",
                                       KERAS_BN)}},
    default={"total_params": Rule(params, "its weights", "https://keras.io/api/models/model/#summary-method"),
             "trainable_params": Rule(trainable_params, "weights of trainable layers", "https://keras.io/guides/"
                                      "transfer_learning/#freezing-layers-understanding-the-trainable-attribute"),
             "non_trainable_params": Rule(lambda s: s.facts.buffers + (0 if s.trainable else s.params),
                                          "moving statistics, and the weights of frozen layers", KERAS_BN)},
)

TV = "torchvision 0.20 torchvision/models/"
TORCHVISION = Convention(
    name="torchvision-metadata", tool="torchvision weights metadata", version="0.20",
    url="https://pytorch.org/vision/stable/models.html",
    about="The 'GFLOPS' column of torchvision's model table (the weights' `_ops` meta) is multiply-adds of "
          "convolutions and linear layers, bias excluded, in units of 10⁹, rounded to 3 decimals.",
    metrics=(Metric("gflops", "GFLOPS", "macs", False, (1e9, "", 3)),
             Metric("num_params", "num_params", "params", False, (None, "", 1))),
    rules={t: {"gflops": Rule(macs, "M, bias excluded", TV + "resnet.py (ResNet50_Weights meta '_ops': 4.089)")}
           for t in ("conv", "conv_transpose", "dense")},
    default={"gflops": Rule(zero, "only convolutions and linear layers", TV + "resnet.py"),
             "num_params": Rule(params, "every parameter", TV + "resnet.py (meta 'num_params')")},
)

PAPER = Convention(
    name="paper", tool="the papers of the zoo networks", version="-",
    url="https://arxiv.org/abs/1512.03385",
    about="Papers' 'FLOPs' and 'mult-adds' (ResNet's 3.8 × 10⁹, MobileNet's 300 M) are multiply-adds of "
          "convolutions and fully connected layers — cnncalc's MACs. Differences from a paper's figure are "
          "differences of the network (ResNet-50 v1 vs v1.5: `--set v1=true`), not of counting.",
    metrics=(Metric("mult_adds", "mult-adds", "macs", False, (None, "", 2)),
             Metric("params", "params", "params", False, (None, "", 1))),
    rules={t: {"mult_adds": Rule(macs, "M, bias excluded", "He et al. 2016, Table 1; Sandler et al. 2018, Table 3")}
           for t in ("conv", "conv_transpose", "dense")},
    default={"mult_adds": Rule(zero, "only convolutions and fully connected layers",
                               "He et al. 2016, Table 1 (FLOPs = multiply-adds)"),
             "params": Rule(params, "every parameter", "He et al. 2016")},
)

CONVENTIONS: Mapping[str, Convention] = {c.name: c for c in (
    FVCORE, PTFLOPS, PTFLOPS_ATEN, THOP, TORCHINFO, TORCHSCAN, CALFLOPS, KERAS, TORCHVISION, PAPER)}
