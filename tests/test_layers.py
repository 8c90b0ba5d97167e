"""Every layer type and option, computed by hand: output shape, params, buffers, MACs and FLOPs.

Conventions (README, "What is counted"): params are PyTorch's numel of the module's parameters; MACs count conv,
conv_transpose and dense only (bias excluded); FLOPs are 2·MACs + one per output element for a bias, and the
per-element rules of the README's table for every other layer. Shapes exclude the batch; costs are per sample.
"""
import pytest

from cnncalc.errors import Location
from cnncalc.layers import REGISTRY


def make(kind, **args):
    """The layer itself (its arguments), where the `layer` fixture gives its facts on an input."""
    return REGISTRY[kind].create(args or None, {}, Location("<test>", 1, 1))


def params(layer):
    return sum(w.size for w in layer.weights.values() if w.learnable)


def buffers(layer):
    return sum(w.size for w in layer.weights.values() if not w.learnable)


# --- conv -----------------------------------------------------------------------------------------

def test_seed_notes_5x5_input_3x3_filter_gives_3x3(layer):
    # seed notes: output = (N + 2P − F)/S + 1 = (5 + 0 − 3)/1 + 1 = 3
    conv = layer("conv", (1, 5, 5), out=1, kernel=3)
    assert conv.output == (1, 3, 3)
    assert params(conv) == 1 * 1 * 3 * 3 + 1  # weight (1, 1, 3, 3) + bias (1,) = 10
    assert conv.macs == 9 * 1 * 9  # 9 outputs × C_in 1 × 3·3 = 81
    assert conv.flops == 2 * 81 + 9  # 2·MACs + one bias add per output = 171
    assert conv.dropped is None  # (5 − 3) % 1 == 0


def test_seed_notes_3x3_input_2x2_kernel_gives_2x2(layer):
    # seed notes: a 3×3 map and a 2×2 kernel at stride 1 → (3 − 2)/1 + 1 = 2
    assert layer("conv", (1, 3, 3), out=1, kernel=2, bias=False).output == (1, 2, 2)


def test_alexnet_conv1_227_to_55(layer):
    # (227 + 0 − 11)/4 + 1 = 216/4 + 1 = 55
    conv = layer("conv", (3, 227, 227), out=96, kernel=11, stride=4)
    assert conv.output == (96, 55, 55)
    assert params(conv) == 96 * 3 * 11 * 11 + 96 == 34_944  # torchvision alexnet features[0]: 34,944
    assert conv.macs == 96 * 55 * 55 * 3 * 121 == 105_415_200  # the 105.4M usually quoted for AlexNet conv1
    assert conv.flops == 2 * 105_415_200 + 96 * 55 * 55 == 211_120_800
    assert conv.dropped is None  # 216 % 4 == 0: every input column is read


def test_vgg_3x3_pad_1_keeps_size(layer):
    # (224 + 2·1 − 3)/1 + 1 = 224; VGG-16 conv1_2: 36,928 params, 1.85 GMACs
    conv = layer("conv", (64, 224, 224), out=64, kernel=3, padding=1)
    assert conv.output == (64, 224, 224)
    assert params(conv) == 64 * 64 * 9 + 64 == 36_928
    assert conv.macs == 64 * 224 * 224 * 64 * 9 == 1_849_688_064


def test_conv_basic_counts(layer):
    # (32 − 3)/1 + 1 = 30; weight 16·3·3·3 = 432 + bias 16 = 448
    conv = layer("conv", (3, 32, 32), out=16, kernel=3)
    assert conv.output == (16, 30, 30)
    assert {k: w.shape for k, w in conv.weights.items()} == {"weight": (16, 3, 3, 3), "bias": (16,)}
    assert params(conv) == 448
    assert conv.macs == 16 * 30 * 30 * 3 * 9 == 388_800
    assert conv.flops == 2 * 388_800 + 16 * 30 * 30 == 792_000


def test_conv_without_bias_has_no_bias_flops(layer):
    conv = layer("conv", (3, 32, 32), out=16, kernel=3, bias=False)
    assert params(conv) == 432 and "bias" not in conv.weights
    assert conv.flops == 2 * conv.macs == 777_600


def test_conv_per_axis_kernel_and_padding(layer):
    # Inception's 1×7: H (17 + 0 − 1)/1 + 1 = 17, W (17 + 2·3 − 7)/1 + 1 = 17
    conv = layer("conv", (8, 17, 17), out=8, kernel=[1, 7], padding=[0, 3])
    assert conv.output == (8, 17, 17)
    assert conv.geometry.kernel == (1, 7) and list(conv.geometry.pads) == [(0, 0), (3, 3)]
    assert params(conv) == 8 * 8 * 1 * 7 + 8 == 456
    assert conv.macs == 8 * 17 * 17 * 8 * 7 == 129_472


def test_conv_per_axis_stride_and_dropped_units(layer):
    # H: (8 − 3)/2 → 2 r 1, out 3; windows start 0, 2, 4 and reach row 6: row 7 is never read
    # W: (8 − 3)/3 → 1 r 2, out 2; windows start 0, 3 and reach column 5: columns 6 and 7 are never read
    conv = layer("conv", (1, 8, 8), out=1, kernel=3, stride=[2, 3])
    assert conv.output == (1, 3, 2)
    assert conv.dropped == (1, 2)


def test_conv_before_after_padding_pairs(layer):
    # H: (5 + 1 + 2 − 3)/1 + 1 = 6; W: (5 + 0 + 0 − 3)/1 + 1 = 3
    conv = layer("conv", (1, 5, 5), out=2, kernel=3, padding=[[1, 2], [0, 0]])
    assert conv.output == (2, 6, 3)
    assert list(conv.geometry.pads) == [(1, 2), (0, 0)]


@pytest.mark.parametrize("n, k, s, d, pads, out", [
    (7, 3, 2, 1, (1, 1), 4),    # out = ceil(7/2) = 4; total = (4 − 1)·2 + 3 − 7 = 2 → 1 + 1
    (8, 3, 2, 1, (0, 1), 4),    # out = ceil(8/2) = 4; total = 3·2 + 3 − 8 = 1, odd: the unit goes at the end
    (224, 3, 2, 1, (0, 1), 112),  # TensorFlow's 'SAME' for a stride-2 3×3 on 224: (0, 1)
    (5, 4, 1, 1, (1, 2), 5),    # even kernel: total = 4·1 + 4 − 5 = 3 → 1 before, 2 after
    (10, 3, 2, 2, (1, 2), 5),   # dilated: F = 2·2 + 1 = 5; total = 4·2 + 5 − 10 = 3 → (1, 2)
    (5, 1, 2, 1, (0, 0), 3),    # stride > kernel: total = 2·2 + 1 − 5 = 0
])
def test_conv_same_padding(layer, n, k, s, d, pads, out):
    conv = layer("conv", (1, n), out=1, kernel=k, stride=s, dilation=d, padding="same")
    assert list(conv.geometry.pads) == [pads]
    assert conv.output == (1, out)


def test_conv_valid_padding(layer):
    conv = layer("conv", (1, 5, 5), out=1, kernel=3, padding="valid")
    assert list(conv.geometry.pads) == [(0, 0), (0, 0)] and conv.output == (1, 3, 3)  # (5 − 3)/1 + 1


def test_conv_dilation(layer):
    # effective F = D·(F − 1) + 1 = 2·2 + 1 = 5: (7 − 5)/1 + 1 = 3; MACs use the 3×3 taps, not the 5×5 span
    conv = layer("conv", (1, 7, 7), out=1, kernel=3, dilation=2, bias=False)
    assert conv.output == (1, 3, 3)
    assert conv.macs == 9 * 1 * 9


def test_conv_groups(layer):
    # weight (16, 8/4, 3, 3) = 288 + bias 16; each output reads C_in/groups = 2 channels
    conv = layer("conv", (8, 10, 10), out=16, kernel=3, padding=1, groups=4)
    assert conv.weights["weight"].shape == (16, 2, 3, 3)
    assert params(conv) == 304
    assert conv.macs == 16 * 10 * 10 * 2 * 9 == 28_800


def test_depthwise_conv(layer):
    # MobileNet v1's first depthwise conv: weight (32, 1, 3, 3); 112·112·32 outputs × 9 = 3.61M MACs
    conv = layer("conv", (32, 112, 112), out=32, kernel=3, padding=1, groups=32, bias=False)
    assert params(conv) == 288
    assert conv.macs == 32 * 112 * 112 * 9 == 3_612_672
    assert conv.flops == 2 * 3_612_672


def test_conv_1d(layer):
    # (100 + 2·2 − 5)/2 + 1 = 99 // 2 + 1 = 50; 99 % 2 = 1, but the unread unit is right padding, not input
    conv = layer("conv", (4, 100), out=8, kernel=5, stride=2, padding=2)
    assert conv.output == (8, 50)
    assert params(conv) == 8 * 4 * 5 + 8 == 168
    assert conv.macs == 8 * 50 * 4 * 5 == 8_000
    assert conv.flops == 16_000 + 8 * 50
    assert conv.dropped is None


def test_conv_3d(layer):
    # C3D conv1a: 3×3×3, padding 1 keeps 16×112×112; weight 64·3·27 = 5,184 + 64
    conv = layer("conv", (3, 16, 112, 112), out=64, kernel=3, padding=1)
    assert conv.output == (64, 16, 112, 112)
    assert params(conv) == 5_248
    assert conv.macs == 64 * 16 * 112 * 112 * 3 * 27 == 1_040_449_536


# --- conv_transpose -----------------------------------------------------------------------------------

def test_conv_transpose_output_padding(layer):
    # out = (N − 1)·S − 2P + D·(F − 1) + output_padding + 1 = 6·2 − 2 + 2 + 1 + 1 = 14
    up = layer("conv_transpose", (16, 7, 7), out=8, kernel=3, stride=2, padding=1, output_padding=1)
    assert up.output == (8, 14, 14)
    assert up.weights["weight"].shape == (16, 8, 3, 3)  # PyTorch layout (C_in, C_out/groups, *k)
    assert params(up) == 16 * 8 * 9 + 8 == 1_160
    assert up.macs == 16 * 7 * 7 * 8 * 9 == 56_448  # input elements × C_out/groups × kernel volume
    assert up.flops == 2 * 56_448 + 8 * 14 * 14 == 114_464


def test_conv_transpose_without_output_padding(layer):
    # 6·2 − 2 + 2 + 0 + 1 = 13; DCGAN's 4×4/2 pad 1 doubles: (8 − 1)·2 − 2 + 3 + 1 = 16
    assert layer("conv_transpose", (16, 7, 7), out=8, kernel=3, stride=2, padding=1).output == (8, 13, 13)
    assert layer("conv_transpose", (64, 8, 8), out=32, kernel=4, stride=2, padding=1).output == (32, 16, 16)


def test_conv_transpose_groups_and_dilation_1d(layer):
    # groups 2: weight (8, 4/2, 3) = 48 + bias 4; out (5 − 1)·1 + 1·2 + 1 = 7; MACs 8·5 inputs × 2 × 3
    up = layer("conv_transpose", (8, 5), out=4, kernel=3, groups=2)
    assert up.output == (4, 7)
    assert params(up) == 52
    assert up.macs == 8 * 5 * 2 * 3 == 240
    # dilation 2: (4 − 1)·1 + 2·(3 − 1) + 1 = 8
    assert layer("conv_transpose", (1, 4), out=1, kernel=3, dilation=2).output == (1, 8)


# --- dense ---------------------------------------------------------------------------------------

def test_dense(layer):
    fc = layer("dense", (512,), out=10)
    assert fc.output == (10,)
    assert fc.weights["weight"].shape == (10, 512)  # PyTorch Linear layout (out, in)
    assert params(fc) == 512 * 10 + 10 == 5_130
    assert fc.macs == 5_120
    assert fc.flops == 2 * 5_120 + 10


def test_dense_without_bias(layer):
    fc = layer("dense", (512,), out=10, bias=False)
    assert params(fc) == 5_120 and fc.flops == 10_240


# --- pooling -------------------------------------------------------------------------------------

def test_2x2_stride_2_pooling_halves(layer):
    # (224 − 2)/2 + 1 = 112; K − 1 = 3 comparisons per output
    pool = layer("maxpool", (64, 224, 224), kernel=2, stride=2)
    assert pool.output == (64, 112, 112)
    assert pool.flops == 3 * 64 * 112 * 112 == 2_408_448
    assert params(pool) == 0 and pool.macs == 0


def test_pool_stride_defaults_to_kernel(layer):
    assert layer("maxpool", (1, 6, 6), kernel=3).output == (1, 2, 2)  # (6 − 3)/3 + 1 = 2


@pytest.mark.parametrize("n, k, s, p, floor_out, ceil_out", [
    (112, 3, 2, 0, 55, 56),  # 109/2: floor 54 + 1 = 55, ceil 55 + 1 = 56 (GoogLeNet's 112 → 56)
    (28, 3, 2, 0, 13, 14),   # 25/2: 12 + 1 = 13, 13 + 1 = 14 (GoogLeNet's 28 → 14)
    (5, 2, 2, 1, 3, 3),      # 5/2: ceil gives 4 windows, but the 4th starts at 6 ≥ N + P = 6 (in the right padding): dropped
    (6, 2, 2, 0, 3, 3),      # 4/2 divides: ceil mode changes nothing
])
def test_pool_ceil_mode(layer, n, k, s, p, floor_out, ceil_out):
    assert layer("maxpool", (1, n), kernel=k, stride=s, padding=p).output == (1, floor_out)
    assert layer("maxpool", (1, n), kernel=k, stride=s, padding=p, ceil_mode=True).output == (1, ceil_out)


def test_maxpool_dilation(layer):
    # effective window 2·(3 − 1) + 1 = 5: (10 − 5)/1 + 1 = 6 outputs, each comparing the 9 taps: 8 FLOPs
    pool = layer("maxpool", (1, 10, 10), kernel=3, stride=1, dilation=2)
    assert pool.output == (1, 6, 6)
    assert pool.flops == 8 * 36


def test_avgpool(layer):
    # 2×2/2 on 4×4 → 2×2; K − 1 = 3 adds and one divide: 4 FLOPs per output
    pool = layer("avgpool", (3, 4, 4), kernel=2)
    assert pool.output == (3, 2, 2)
    assert pool.flops == 4 * 3 * 2 * 2


def test_avgpool_count_include_pad(layer):
    # 3×3/1 pad 1 on a 3×3 map of ones: a corner window holds 4 ones and 5 padding zeros
    np = pytest.importorskip("numpy")
    x = np.ones((1, 1, 3, 3))
    from cnncalc.runtime.backend import FORWARD

    def run(**args):
        pool = make("avgpool", kernel=3, stride=1, padding=1, **args)
        return FORWARD["avgpool"](pool, pool.infer([(1, 3, 3)]), [x], {})

    incl, excl = run(), run(count_include_pad=False)
    assert incl[0, 0, 0, 0] == pytest.approx(4 / 9) and incl[0, 0, 1, 1] == pytest.approx(1.0)  # centre: 9/9
    assert excl[0, 0, 0, 0] == pytest.approx(1.0)  # 4 / 4: the divisor counts input cells only


def test_medianpool(layer):
    # 3×3/3 on 9×9 → 3×3; a sort of 9 values: K·⌈log2 K⌉ = 9·4 = 36 comparisons per output
    pool = layer("medianpool", (2, 9, 9), kernel=3)
    assert pool.output == (2, 3, 3)
    assert pool.flops == 36 * 2 * 9
    # a 1×1 window needs no comparison: K·⌈log2 K⌉ = 1·0 = 0
    assert layer("medianpool", (2, 9, 9), kernel=1).flops == 0


def test_global_pools(layer):
    avg = layer("global_avgpool", (512, 7, 7))
    assert avg.output == (512, 1, 1)
    assert avg.flops == 512 * 49  # one per element read: 48 adds and one divide per channel
    mx = layer("global_maxpool", (512, 7, 7))
    assert mx.output == (512, 1, 1)
    assert mx.flops == 512 * 49 - 512  # 48 comparisons per channel
    assert layer("global_avgpool", (16, 4, 5, 6)).output == (16, 1, 1, 1)  # 3-D
    assert layer("global_maxpool", (16, 9)).output == (16, 1)  # 1-D


def test_adaptive_pools_non_divisible(layer):
    # PyTorch's windows [floor(i·n/o), ceil((i+1)·n/o)):
    #   n=5, o=3: [0,2) [1,4) [3,5) → lengths 2 + 3 + 2 = 7
    #   n=7, o=3: [0,3) [2,5) [4,7) → lengths 3 + 3 + 3 = 9
    # elements read per channel = 7·9 = 63 (windows overlap, so more than the 35 inputs)
    avg = layer("adaptive_avgpool", (2, 5, 7), out=3)
    assert avg.output == (2, 3, 3)
    assert avg.flops == 2 * 63  # one per element read
    mx = layer("adaptive_maxpool", (2, 5, 7), out=[3, 3])
    assert mx.flops == 2 * 63 - 2 * 9  # elements read − outputs


def test_adaptive_pool_per_axis_and_divisible(layer):
    # torchvision AlexNet's AdaptiveAvgPool2d((6, 6)) on 6×6 is one element per window
    assert layer("adaptive_avgpool", (256, 6, 6), out=6).flops == 256 * 36
    assert layer("adaptive_avgpool", (4, 10, 12), out=[5, 3]).output == (4, 5, 3)


# --- normalisation -------------------------------------------------------------------------------

def test_batch_norm(layer):
    bn = layer("bn", (64, 56, 56))
    assert bn.output == (64, 56, 56)
    assert params(bn) == 2 * 64  # weight, bias
    assert buffers(bn) == 2 * 64  # running_mean, running_var (num_batches_tracked is not counted)
    assert set(bn.weights) == {"weight", "bias", "running_mean", "running_var"}
    assert bn.flops == 2 * 64 * 56 * 56 == 401_408
    assert bn.macs == 0


def test_batch_norm_without_affine(layer):
    bn = layer("bn", (64, 8, 8), affine=False)
    assert params(bn) == 0 and buffers(bn) == 128


def test_lrn(layer):
    # AlexNet's LRN(size=5) after conv1: (2·5 + 3) = 13 FLOPs per element
    lrn = layer("lrn", (96, 55, 55), size=5, alpha=1e-4, beta=0.75, k=2)
    assert lrn.output == (96, 55, 55)
    assert lrn.flops == 13 * 96 * 55 * 55 == 3_775_200
    assert params(lrn) == 0


# --- element-wise --------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, per_element", [
    ("relu", 1), ("relu6", 2), ("leaky_relu", 2), ("sigmoid", 4), ("hardsigmoid", 4),
    ("tanh", 5), ("silu", 5), ("hardswish", 5), ("gelu", 5), ("softmax", 5),  # README's FLOP table
    ("dropout", 0), ("identity", 0),
])
def test_elementwise_flops(layer, kind, per_element):
    act = layer(kind, (4, 5, 5))
    assert act.output == (4, 5, 5)
    assert act.flops == per_element * 100  # 4·5·5 = 100 elements
    assert params(act) == 0 and act.macs == 0


def test_activation_arguments():
    assert make("leaky_relu", slope=0.2).slope == 0.2
    assert make("gelu", approximate="tanh").approximate == "tanh"
    assert make("dropout", p=0.1).p == 0.1


def test_scale(layer):
    # one multiply per element: 4·5·5 = 100 FLOPs; no weights, no MACs (MACs count conv/dense only)
    s = layer("scale", (4, 5, 5), factor=0.17)
    assert s.output == (4, 5, 5) and make("scale", factor=0.17).factor == 0.17
    assert s.flops == 100 and s.macs == 0 and params(s) == 0


def test_flatten(layer):
    flat = layer("flatten", (512, 7, 7))
    assert flat.output == (512 * 49,)
    assert flat.flops == 0


# --- upsample ------------------------------------------------------------------------------------

def test_upsample_scale_nearest(layer):
    up = layer("upsample", (8, 5, 5), scale=2)
    assert up.output == (8, 10, 10)
    assert up.flops == 0  # nearest copies


@pytest.mark.parametrize("mode, in_shape, per_element", [
    ("linear", (2, 6), 3),          # 2·2^1 − 1: two weights, two multiplies, one add
    ("bilinear", (2, 6, 6), 7),     # 2·2^2 − 1
    ("trilinear", (2, 6, 6, 6), 15),  # 2·2^3 − 1
])
def test_upsample_linear_modes(layer, mode, in_shape, per_element):
    up = layer("upsample", in_shape, scale=2, mode=mode)
    assert up.output == (2, *(12,) * (len(in_shape) - 1))
    assert up.flops == per_element * 2 * 12 ** (len(in_shape) - 1)


def test_upsample_size_and_per_axis_scale(layer):
    assert layer("upsample", (8, 5, 5), size=[7, 9]).output == (8, 7, 9)
    assert layer("upsample", (8, 5, 5), scale=[1, 2]).output == (8, 5, 10)


# --- merges --------------------------------------------------------------------------------------

def test_add(layer):
    add = layer("add", ins=[(4, 3, 3)] * 3)
    assert add.output == (4, 3, 3)
    assert add.flops == 2 * 36  # (inputs − 1) adds per output element


def test_mul_broadcasts_channel_gate(layer):
    mul = layer("mul", ins=[(4, 3, 3), (4, 1, 1)])  # squeeze-excitation: [C, 1, 1] gates [C, H, W]
    assert mul.output == (4, 3, 3)
    assert mul.flops == 36


def test_concat(layer):
    cat = layer("concat", ins=[(4, 3, 3), (6, 3, 3), (1, 3, 3)])
    assert cat.output == (11, 3, 3)
    assert cat.flops == 0


def test_every_registered_type_is_covered_here():
    # a new layer type needs its hand-computed test in this file
    covered = {"conv", "conv_transpose", "dense", "maxpool", "avgpool", "medianpool", "global_avgpool",
               "global_maxpool", "adaptive_avgpool", "adaptive_maxpool", "bn", "lrn", "relu", "relu6", "leaky_relu",
               "sigmoid", "hardsigmoid", "tanh", "silu", "hardswish", "gelu", "softmax", "dropout", "identity", "scale",
               "flatten", "upsample", "add", "mul", "concat"}
    assert {cls.type for cls in REGISTRY.values()} == covered
