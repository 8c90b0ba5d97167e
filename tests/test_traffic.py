"""Memory traffic per layer, worked out by hand for every layer type: bytes read (inputs + weights), bytes written
(the output), and arithmetic intensity (FLOPs per byte), under the README's model (each tensor read or written once
per layer, no cache reuse across layers; flatten, dropout and identity move nothing).

Unless a case says otherwise the input is [4, 8, 8] (256 elements), float32 (4 bytes), batch 1: an input of
1,024 bytes. Each expected figure is an element count times the element size, written out beside the case.
"""
from __future__ import annotations

import pytest

import cnncalc
from cnncalc.core.traffic import Traffic, total, traffic
from cnncalc.layers import types

# (layer entry or a list of entries, the input shape, the layer type checked,
#  expected (input bytes, weight bytes, output bytes), expected FLOPs of that layer)
E = 4  # float32
CASES = {
    # conv 4 → 6, 3×3, padding 1, bias: weights 6·4·9 + 6 = 222; output 6·8·8 = 384; MACs 64·6·36 = 13,824,
    # FLOPs 2·13,824 + 384 bias adds = 28,032
    "conv": ("{conv: {out: 6, kernel: 3, padding: 1}}", [4, 8, 8], "conv", (256 * E, 222 * E, 384 * E), 28_032),
    # depthwise: groups 4, weights 4·1·9 = 36, no bias; output 256; MACs 64·4·9 = 2,304 → 4,608 FLOPs
    "depthwise": ("{conv: {out: 4, kernel: 3, padding: 1, groups: 4, bias: false}}", [4, 8, 8], "conv",
                  (256 * E, 36 * E, 256 * E), 4_608),
    # conv_transpose 4 → 2, 2×2, stride 2, no bias: weights 4·2·4 = 32; output 2·16·16 = 512; MACs 256·2·4 = 2,048
    "conv_transpose": ("{conv_transpose: {out: 2, kernel: 2, stride: 2, bias: false}}", [4, 8, 8], "conv_transpose",
                       (256 * E, 32 * E, 512 * E), 4_096),
    # dense 10 → 5: weights 50 + 5 bias = 55; FLOPs 2·50 + 5 = 105
    "dense": ("{dense: 5}", [10], "dense", (10 * E, 55 * E, 5 * E), 105),
    # pools 2×2: output 4·4·4 = 64; max 3 comparisons per output, avg 3 adds + 1 divide per output
    "maxpool": ("{maxpool: 2}", [4, 8, 8], "maxpool", (256 * E, 0, 64 * E), 64 * 3),
    "avgpool": ("{avgpool: 2}", [4, 8, 8], "avgpool", (256 * E, 0, 64 * E), 64 * 4),
    # median 2×2: 4·⌈log2 4⌉ = 8 per output
    "medianpool": ("{medianpool: 2}", [4, 8, 8], "medianpool", (256 * E, 0, 64 * E), 64 * 8),
    # global: output 4·1·1; avg one FLOP per element read, max elements − outputs comparisons
    "global_avgpool": ("global_avgpool", [4, 8, 8], "global_avgpool", (256 * E, 0, 4 * E), 256),
    "global_maxpool": ("global_maxpool", [4, 8, 8], "global_maxpool", (256 * E, 0, 4 * E), 256 - 4),
    # adaptive to 2×2: output 16, windows of 4·4 = 16 elements
    "adaptive_avgpool": ("{adaptive_avgpool: 2}", [4, 8, 8], "adaptive_avgpool", (256 * E, 0, 16 * E), 256),
    "adaptive_maxpool": ("{adaptive_maxpool: 2}", [4, 8, 8], "adaptive_maxpool", (256 * E, 0, 16 * E), 256 - 16),
    # bn: weight and bias (8 params) and running mean and variance (8 buffers); 2 FLOPs per element
    "bn": ("bn", [4, 8, 8], "bn", (256 * E, 16 * E, 256 * E), 512),
    # lrn size 3: 2·3 + 3 = 9 FLOPs per element
    "lrn": ("{lrn: 3}", [4, 8, 8], "lrn", (256 * E, 0, 256 * E), 256 * 9),
    # upsample ×2 nearest: output 4·16·16 = 1,024 elements, no arithmetic
    "upsample": ("{upsample: {scale: 2}}", [4, 8, 8], "upsample", (256 * E, 0, 1024 * E), 0),
    # add: the residual reads the block's input and the body's output (two tensors of 256), writes one
    "add": ("{residual: {body: [relu]}}", [4, 8, 8], "add", (512 * E, 0, 256 * E), 256),
    "mul": ("{residual: {body: [relu], merge: mul}}", [4, 8, 8], "mul", (512 * E, 0, 256 * E), 256),
    # concat of two branches of 4 channels: reads 2·256, writes 8·64 = 512 elements
    "concat": ("{parallel: {branches: [[relu], [sigmoid]], merge: concat}}", [4, 8, 8], "concat",
               (512 * E, 0, 512 * E), 0),
    # views: nothing moves
    "flatten": ("flatten", [4, 8, 8], "flatten", (0, 0, 0), 0),
    "dropout": ("dropout", [4, 8, 8], "dropout", (0, 0, 0), 0),
    "identity": ("identity", [4, 8, 8], "identity", (0, 0, 0), 0),
}
# element-wise activations: read 256, write 256, their FLOPs per element from the README's table
for _name, _per in {"relu": 1, "relu6": 2, "leaky_relu": 2, "sigmoid": 4, "hardsigmoid": 4, "tanh": 5, "silu": 5,
                    "hardswish": 5, "gelu": 5, "softmax": 5}.items():
    CASES[_name] = (_name, [4, 8, 8], _name, (256 * E, 0, 256 * E), 256 * _per)
CASES["scale"] = ("{scale: 0.5}", [4, 8, 8], "scale", (256 * E, 0, 256 * E), 256)


def layer_traffic(entry: str, shape, kind: str, batch: int = 1, dtype: str = "float32") -> Traffic:
    net = cnncalc.load(f"input: {shape}\nlayers:\n  - {entry}\n")
    a = net.analyze(batch=batch, dtype=dtype)
    found = [t for info, t in zip(a.layers, traffic(a)) if info.type == kind]
    assert len(found) == 1
    return found[0]


def test_every_layer_type_has_a_hand_worked_case():
    assert set(types()) - {case[2] for case in CASES.values()} == set()


@pytest.mark.parametrize("name", sorted(CASES))
def test_traffic_by_hand(name):
    entry, shape, kind, (inputs, weights, output), flops = CASES[name]
    t = layer_traffic(entry, shape, kind)
    assert (t.input_bytes, t.weight_bytes, t.output_bytes) == (inputs, weights, output)
    assert (t.read, t.written, t.bytes) == (inputs + weights, output, inputs + weights + output)
    assert t.flops == flops
    moved = inputs + weights + output
    assert t.intensity == (flops / moved if moved else None)


def test_batch_scales_tensors_not_weights_and_dtype_scales_everything():
    # the conv case at batch 2 and float16 (2 bytes): tensors 2·256·2 and 2·384·2; weights 222·2 once
    t = layer_traffic(*CASES["conv"][:3], batch=2, dtype="float16")
    assert (t.input_bytes, t.weight_bytes, t.output_bytes) == (2 * 256 * 2, 222 * 2, 2 * 384 * 2)
    assert t.flops == 2 * 28_032


def test_int8_and_intensity_of_a_large_conv():
    # ResNet-50's stem conv at int8 (1 byte): reads 3·224·224 = 150,528 + 64·3·49 = 9,408 weights, writes
    # 64·112·112 = 802,816; FLOPs 2 · 802,816 · 147 = 236,027,904 (no bias) → 236,027,904 / 962,752 ≈ 245 FLOP/B
    t = layer_traffic("{conv: {out: 64, kernel: 7, stride: 2, padding: 3, bias: false}}", [3, 224, 224], "conv",
                      dtype="int8")
    assert (t.read, t.written) == (150_528 + 9_408, 802_816)
    assert t.flops == 236_027_904
    assert round(t.intensity, 1) == 245.2


def test_a_tensor_read_by_two_layers_is_counted_by_each():
    # the input of a residual block is read by the body's relu and by the add: no reuse across layers
    a = cnncalc.load("input: [4, 8, 8]\nlayers:\n  - {residual: {body: [relu]}}\n").analyze()
    per = traffic(a)
    assert [info.type for info in a.layers] == ["relu", "add"]
    assert per[0].input_bytes == 1024 and per[1].input_bytes == 2048  # 1,024 input + 1,024 relu output
    t = total(per)
    assert (t.read, t.written) == (3072, 2048)


def test_whole_network_total_is_the_sum_of_the_layers():
    # ResNet-50 weights are read once: the weight bytes total is param_bytes + buffer_bytes exactly
    a = cnncalc.load("resnet50").analyze()
    t = total(traffic(a))
    assert t.weight_bytes == a.totals.param_bytes + a.totals.buffer_bytes
    # every output except flatten's (a view) is written once: activation_bytes less flatten's 2048·4
    assert t.output_bytes == a.totals.activation_bytes - 2048 * 4
    assert t.flops == a.totals.flops
