"""Sliding-window geometry and receptive fields.

The output size along one axis is (N + 2P − F)/S + 1 with F = D·(F − 1) + 1 for a dilated window; it is checked
here against hand calculations and, by hypothesis, against a brute-force enumeration of window positions.
Receptive fields are checked against the closed forms of Araujo et al., "Computing Receptive Fields of
Convolutional Neural Networks" (Distill, 2019), eqs. (2) and (4)-(5), for a chain of layers l = 1..L:
    r = 1 + Σ_l (k_l − 1)·Π_{i<l} s_i        S = Π_l s_l        P = Σ_l p_l·Π_{i<l} s_i
"""
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings, strategies as st

from cnncalc.layers.geometry import same_padding, window_count, window_formula


def test_output_size_formula_examples():
    # (N + 2P − F)/S + 1 with the numbers of the seed notes and classic layers
    assert window_count(5, 3, 1, 0, 0) == (3, 0)      # (5 + 0 − 3)/1 + 1 = 3
    assert window_count(227, 11, 4, 0, 0) == (55, 0)  # (227 − 11)/4 + 1 = 55 (AlexNet conv1)
    assert window_count(224, 3, 1, 1, 1) == (224, 0)  # (224 + 2 − 3)/1 + 1 = 224 (VGG)
    assert window_count(224, 2, 2, 0, 0) == (112, 0)  # (224 − 2)/2 + 1 = 112 (2×2/2 pooling)
    assert window_count(7, 3, 1, 0, 0, d=2) == (3, 0)  # F = 2·2 + 1 = 5: (7 − 5)/1 + 1 = 3
    assert window_count(2, 3, 1, 0, 0) == (0, 0)      # (2 − 3)/1 + 1 = 0: no window fits


def test_dropped_counts_input_units_not_padding():
    # ResNet's stem 7×7/2 pad 3 on 224: (224 + 6 − 7) = 223 is odd, but the last window (start 222 in padded
    # coordinates 0..229) reaches 228, past the last input unit at 226: only right padding is left unread
    assert window_count(224, 7, 2, 3, 3) == (112, 0)
    # its 3×3/2 pad 1 max pool on 112: last window starts at 110, reaches 112 = the last input unit
    assert window_count(112, 3, 2, 1, 1) == (56, 0)
    # no padding: 3×3/2 on 8 → windows start 0, 2, 4 and reach 6; unit 7 is lost
    assert window_count(8, 3, 2, 0, 0) == (3, 1)
    # 1×1/2 (a ResNet downsampling shortcut) on 56: the last window reads unit 54, so unit 55 is lost
    assert window_count(56, 1, 2, 0, 0) == (28, 1)


def test_ceil_mode_pytorch_rule():
    # ceil((N + 2P − F)/S) + 1, minus one when the last window would start in the right padding
    assert window_count(112, 3, 2, 0, 0, ceil_mode=True) == (56, 0)  # ceil(109/2) + 1 = 56, starts at 110 < 112
    assert window_count(5, 2, 2, 1, 1, ceil_mode=True) == (3, 0)     # ceil(5/2) + 1 = 4, but start 6 ≥ 5 + 1
    # a window wider than the input still gives one (partial) window in ceil mode: PyTorch's
    # div_rtn(2 − 2 − 1 + (2 − 1), 2) + 1 = 1 for MaxPool1d(3, 2, ceil_mode=True) on length 2
    assert window_count(2, 3, 2, 0, 0, ceil_mode=True) == (1, 0)
    # k < s: windows start 0 and 3 (start 6 ≥ N = 5 is refused); unit 4 is never read
    assert window_count(5, 1, 3, 0, 0, ceil_mode=True) == (2, 1)


def test_window_formula_fills_in_the_numbers():
    assert window_formula(4, 5, 1, 0, 0) == "(N + 2P − F) / S + 1 = (4 + 2·0 − 5) / 1 + 1 = 0"
    assert window_formula(6, 3, 2, 0, 1, d=2) == \
        "(N + 2P − F) / S + 1 = (6 + 0 + 1 − 5) / 2 + 1 = 2 (F = 2·(3 − 1) + 1)"


def test_same_padding_makes_ceil_n_over_s():
    assert same_padding(7, 3, 2, 1) == (1, 1)
    assert same_padding(8, 3, 2, 1) == (0, 1)  # odd total: the extra unit at the end


def brute_force(n, k, s, lo, hi, d, ceil_mode):
    """Enumerate window starts over the padded input [0, lo + n + hi) one by one.

    A window starting at t reads t, t + d, …, t + d(k − 1). It counts when it lies inside the padded input. In
    ceil mode (PyTorch's rule) every window must start inside the input or its left padding (t < lo + n), and a
    partial window counts when the window before it (real or not) had not reached the padded end yet.
    Returns (count, input units at the far edge that no counted window reaches).
    """
    length, eff = lo + n + hi, d * (k - 1) + 1
    starts = []
    for t in range(0, length, s):
        whole = t + eff <= length
        if not ceil_mode and whole or ceil_mode and t < lo + n and (whole or t - s + eff < length):
            starts.append(t)
    if not starts:
        return 0, 0
    reach = starts[-1] + eff - 1
    return len(starts), max(0, lo + n - 1 - reach)


@settings(max_examples=2000, deadline=None)
@given(n=st.integers(1, 40), k=st.integers(1, 7), s=st.integers(1, 5), d=st.integers(1, 3),
       lo=st.integers(0, 4), hi=st.integers(0, 4), ceil_mode=st.booleans())
def test_window_count_matches_brute_force(n, k, s, d, lo, hi, ceil_mode):
    if ceil_mode:  # ceil mode is a pooling option, and pooling pads at most half the window (PyTorch refuses more)
        assume(max(lo, hi) <= (d * (k - 1) + 1) // 2)
    assert window_count(n, k, s, lo, hi, d, ceil_mode) == brute_force(n, k, s, lo, hi, d, ceil_mode)


# --- receptive fields --------------------------------------------------------------------------------

def rf(info):
    f = info.receptive_field
    return None if f.is_global else (f.size, f.stride, f.padding, f.aligned)


def fr(*values):
    return tuple(Fraction(v) for v in values)


def test_receptive_field_closed_form_chain(analyze):
    a = analyze("""
input: [3, 64, 64]
layers:
  - conv: {out: 8, kernel: 7, stride: 2, padding: 3}
  - maxpool: {kernel: 3, stride: 2, padding: 1}
  - relu
  - conv: {out: 8, kernel: 3, padding: 1}
  - conv: {out: 8, kernel: 3, padding: 2, dilation: 2}
""")
    conv1, pool, relu, conv2, conv3 = a.layers
    # conv1: r = 1 + 6 = 7, S = 2, P = 3
    assert rf(conv1) == (fr(7, 7), fr(2, 2), fr(3, 3), True)
    # pool: r = 7 + (3 − 1)·2 = 11, S = 4, P = 3 + 1·2 = 5 (ResNet's stem sees 11×11)
    assert rf(pool) == (fr(11, 11), fr(4, 4), fr(5, 5), True)
    assert rf(relu) == rf(pool)  # point-wise layers leave the field alone
    # conv2: r = 11 + 2·4 = 19, P = 5 + 1·4 = 9
    assert rf(conv2) == (fr(19, 19), fr(4, 4), fr(9, 9), True)
    # conv3, dilated: k_eff = 2·2 + 1 = 5: r = 19 + 4·4 = 35, P = 9 + 2·4 = 17
    assert rf(conv3) == (fr(35, 35), fr(4, 4), fr(17, 17), True)
    assert a.totals.receptive_field == conv3.receptive_field


def test_stacked_3x3_convs_see_5x5_and_7x7(analyze):
    # seed notes (VGG): two 3×3 convs see what one 5×5 sees, three see 7×7: r = 1 + 2 + 2 (+ 2)
    a = analyze("input: [1, 32, 32]\nlayers:\n" + "  - conv: {out: 1, kernel: 3}\n" * 3)
    assert [info.receptive_field.size for info in a.layers] == [fr(3, 3), fr(5, 5), fr(7, 7)]


def test_per_axis_receptive_field(analyze):
    # 1×7 then 7×1: H r = 1 + 0 + 6 = 7, W r = 1 + 6 + 0 = 7; stride [1, 2] makes the second W step count 2
    a = analyze("""
input: [1, 32, 32]
layers:
  - conv: {out: 1, kernel: [1, 7], stride: [1, 2], padding: [0, 3]}
  - conv: {out: 1, kernel: [7, 1], padding: [3, 0]}
  - conv: {out: 1, kernel: 3, padding: 1}
""")
    # third conv: H r = 7 + 2·1 = 9, W r = 7 + 2·2 = 11; P_H = 3 + 1 = 4, P_W = 3 + 1·2 = 5
    assert rf(a.layers[-1]) == (fr(9, 11), fr(1, 2), fr(4, 5), True)


def test_aligned_residual_merge(analyze):
    # body: two 3×3 pad 1: r = 5, P = 2, centre (5 − 1)/2 − 2 = 0; identity: r = 1, centre 0 → aligned
    a = analyze("""
input: [4, 16, 16]
layers:
  - residual:
      body:
        - conv: {out: 4, kernel: 3, padding: 1}
        - conv: {out: 4, kernel: 3, padding: 1}
""")
    add = a.layers[-1]
    assert add.type == "add"
    assert rf(add) == (fr(5, 5), fr(1, 1), fr(2, 2), True)


def test_misaligned_merge_is_flagged(analyze):
    # branch1: 3×3 pad 1, centre (3 − 1)/2 − 1 = 0; branch2: 2×2 padded [0, 1], centre (2 − 1)/2 − 0 = ½:
    # the outputs have the same size but their fields are offset by half a pixel
    a = analyze("""
input: [4, 16, 16]
layers:
  - parallel:
      branches:
        - [conv: {out: 4, kernel: 3, padding: 1}]
        - [conv: {out: 4, kernel: 2, padding: [[0, 1], [0, 1]]}]
""")
    cat = a.layers[-1]
    assert cat.output == (8, 16, 16)
    assert rf(cat) == (fr(3, 3), fr(1, 1), fr(1, 1), False)  # the larger field, marked misaligned
    assert a.totals.receptive_field.aligned is False


def test_merge_of_different_strides_is_misaligned(analyze):
    # both paths give 8 of 16: a 9-wide window at stride 1 (r 9, S 1) and a 2-wide one at stride 2 (r 2, S 2)
    a = analyze("""
input: [1, 16]
layers:
  - conv: {out: 1, kernel: 9, id: wide}
  - conv: {out: 1, kernel: 2, stride: 2, from: input, id: strided}
  - add: {from: [wide, strided]}
""")
    assert rf(a.layers[-1]) == (fr(9), fr(1), fr(0), False)


def test_upsampled_path_realigns_with_its_source(analyze):
    # conv 2×2/2: r 2, S 2, centre ½; nearest ×2 maps output j to input (j + ½)/2 − ½: S 1, centre ½ − ½ = 0,
    # which is the centre of the 3×3 pad 1 path: same stride, same centre, aligned; P = (2 − 1)/2 − 0 = ½
    a = analyze("""
input: [4, 16, 16]
layers:
  - conv: {out: 4, kernel: 3, padding: 1, id: a}
  - conv: {out: 4, kernel: 2, stride: 2, from: input}
  - upsample: 2
    id: up
  - add: {from: [a, up]}
""")
    assert rf(a.layers[-2]) == (fr(2, 2), fr(1, 1), (Fraction(1, 2),) * 2, True)
    assert rf(a.layers[-1]) == (fr(3, 3), fr(1, 1), fr(1, 1), True)


def test_fractional_stride_after_transposed_conv(analyze):
    # conv 3×3/2 pad 1: r 3, S 2, P 1. conv_transpose 2×2/2: each output reads one input (span 2·1//2 = 0),
    # stride ½: S = 2·½ = 1, r stays 3; its centre moves by S·(2·0 − 1)/(2·2) = −½ → P = 1 + ½
    a = analyze("""
input: [1, 16, 16]
layers:
  - conv: {out: 1, kernel: 3, stride: 2, padding: 1}
  - conv_transpose: {out: 1, kernel: 2, stride: 2}
""")
    assert rf(a.layers[-1]) == (fr(3, 3), fr(1, 1), (Fraction(3, 2),) * 2, True)


def test_global_after_global_pool_flatten_and_dense(analyze):
    a = analyze("""
input: [3, 8, 8]
layers:
  - conv: {out: 4, kernel: 3}
  - global_avgpool
  - flatten
  - dense: 2
""")
    assert [info.receptive_field.is_global for info in a.layers] == [False, True, True, True]
    assert a.totals.receptive_field.size is None


def test_flatten_alone_makes_the_field_global(analyze):
    a = analyze("input: [3, 4, 4]\nlayers:\n  - flatten\n  - dense: 2\n")
    assert a.layers[0].receptive_field.is_global


def test_squeeze_excitation_gate_does_not_count_as_a_spatial_path(analyze):
    # the gate path is global; the product's field is the spatial path's: one 3×3 conv, r 3, aligned
    a = analyze("""
input: [8, 16, 16]
layers:
  - conv: {out: 8, kernel: 3, padding: 1, id: x}
  - global_avgpool
  - conv: {out: 2, kernel: 1}
  - relu
  - conv: {out: 8, kernel: 1}
  - sigmoid: {id: gate}
  - mul: {from: [x, gate]}
""")
    gate = a.layers[-1]
    assert gate.output == (8, 16, 16)
    assert rf(gate) == (fr(3, 3), fr(1, 1), fr(1, 1), True)


def test_linear_upsample_reads_two_neighbours_only_where_it_resizes(analyze):
    # scale 2: output j samples input (j + ½)/2 − ½, between two units: r = 1 + 1·1 = 2 on W;
    # scale 1 on H samples exactly j: one unit, r stays 1. Stride ½ on W, 1 on H.
    a = analyze("input: [1, 8, 8]\nlayers:\n  - upsample: {scale: [1, 2], mode: bilinear}\n")
    f = a.layers[0].receptive_field
    assert (f.size, f.stride) == (fr(1, 2), (Fraction(1), Fraction(1, 2)))


def test_adaptive_pool_receptive_field(analyze):
    # 6 → 3: windows [0,2) [2,4) [4,6): r 2, S 2, centres ½ + 2j, so P = (2 − 1)/2 − ½ = 0 (exact)
    a = analyze("input: [1, 6]\nlayers:\n  - adaptive_avgpool: 3\n")
    assert rf(a.layers[0]) == (fr(2), fr(2), fr(0), True)
    # 5 → 3: windows [0,2) [1,4) [3,5): r = the longest, 3; S = 5/3. Their centres ½, 2, 3½ are symmetric about the
    # middle input 2, so the affine fit is centre 5/3·j + (5 − 3)/(2·3) = 1/3 + 5/3·j (middle output → input 2):
    # P = (3 − 1)/2 − 1/3 = 2/3
    a = analyze("input: [1, 5]\nlayers:\n  - adaptive_maxpool: 3\n")
    assert rf(a.layers[0]) == (fr(3), (Fraction(5, 3),), (Fraction(2, 3),), True)
    assert a.layers[0].receptive_field.centres() == (Fraction(1, 3),)
