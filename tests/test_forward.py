"""cnncalc.forward (cnncalc.runtime): every layer type run through a spec against a reference written from its definition
(cnncalc.ops_ref's loops, or the formula in NumPy), the executor's bookkeeping, weights and .npz files, and a
hypothesis property: for random valid specs every analysed shape is the computed shape and the weight arrays
hold exactly the counted parameters and buffers.
"""
from __future__ import annotations

import math
import subprocess
import sys
import weakref

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import cnncalc
import ops_ref as ref
from cnncalc.runtime import (ForwardError, WeightError, check_weights, execute, init_weights, load_weights,
                             save_weights, weight_counts)


def random_weights(net, seed=0):
    """Every analysed weight random in float64 (variances positive), so nothing hides behind 0 and 1."""
    rng = np.random.default_rng(seed)
    shapes = {k: v.shape for k, v in init_weights(net).items()}
    return {k: rng.uniform(0.5, 1.5, s) if k.endswith("running_var") else rng.standard_normal(s)
            for k, s in shapes.items()}


def run_one(entry: str, shape, batch=2, seed=0):
    """Run a one-layer spec on a random float64 batch: (x, that layer's weights by short name, output).

    x is 4·N(0, 1), so both clips of relu6 (6) and the hard activations (±3) are reached.
    """
    net = cnncalc.load(f"input: {list(shape)}\nlayers:\n  - {entry}\n")
    x = 4 * np.random.default_rng(seed + 1).standard_normal((batch, *shape))
    weights = random_weights(net, seed)
    y = cnncalc.forward(net, x, weights)
    prefix = net.nodes[0].name + "."
    return x, {k[len(prefix):]: v for k, v in weights.items()}, y


def sym(*pads):
    return tuple((p, p) for p in pads)


# -- every layer type against a reference ------------------------------------------------------------
# (spec entry, input shape, reference(x, w)); the reference's geometry is written out by hand from the spec,
# so a layer that normalises its arguments wrongly (padding 'same', per-axis lists, default stride) fails.
CASES = {
    "conv 2-D stride 2, padding 1": ("conv: {out: 4, kernel: 3, stride: 2, padding: 1}", (3, 7, 7),
                                     lambda x, w: ref.conv(x, w["weight"], w["bias"], (2, 2), sym(1, 1), (1, 1), 1)),
    # same, N = 8, K = 3, S = 2: out = ceil(8/2) = 4, total pad (4 − 1)·2 + 3 − 8 = 1 → (0 before, 1 after)
    "conv 2-D padding same (asymmetric)": ("conv: {out: 3, kernel: 3, stride: 2, padding: same, bias: false}", (2, 8, 8),
                                           lambda x, w: ref.conv(x, w["weight"], None, (2, 2), ((0, 1), (0, 1)), (1, 1), 1)),
    "conv 2-D per-axis kernel, dilation": ("conv: {out: 2, kernel: [1, 3], dilation: [1, 2], padding: [0, 2]}", (2, 5, 9),
                                           lambda x, w: ref.conv(x, w["weight"], w["bias"], (1, 1), sym(0, 2), (1, 2), 1)),
    "conv 2-D grouped": ("conv: {out: 6, kernel: 3, groups: 2}", (4, 6, 6),
                         lambda x, w: ref.conv(x, w["weight"], w["bias"], (1, 1), sym(0, 0), (1, 1), 2)),
    "conv 2-D depthwise": ("conv: {out: 4, kernel: 3, padding: 1, groups: 4}", (4, 5, 5),
                           lambda x, w: ref.conv(x, w["weight"], w["bias"], (1, 1), sym(1, 1), (1, 1), 4)),
    "conv 1-D odd size, stride 3": ("conv: {out: 3, kernel: 4, stride: 3}", (2, 11),
                                    lambda x, w: ref.conv(x, w["weight"], w["bias"], (3,), sym(0), (1,), 1)),
    "conv 3-D [before, after] pads": ("conv: {out: 2, kernel: 2, padding: [[1, 0], [0, 1], [1, 1]]}", (2, 3, 4, 4),
                                      lambda x, w: ref.conv(x, w["weight"], w["bias"], (1, 1, 1),
                                                            ((1, 0), (0, 1), (1, 1)), (1, 1, 1), 1)),
    "conv_transpose 2-D stride 2": ("conv_transpose: {out: 3, kernel: 3, stride: 2, padding: 1, output_padding: 1}",
                                    (2, 4, 4), lambda x, w: ref.conv_transpose(x, w["weight"], w["bias"], (2, 2), (1, 1),
                                                                               (1, 1), (1, 1), 1)),
    "conv_transpose 1-D grouped, dilated": ("conv_transpose: {out: 4, kernel: 3, groups: 2, dilation: 2, bias: false}",
                                            (4, 5), lambda x, w: ref.conv_transpose(x, w["weight"], None, (1,), (0,),
                                                                                    (0,), (2,), 2)),
    "dense": ("dense: 5", (7,), lambda x, w: np.einsum("bi,oi->bo", x, w["weight"]) + w["bias"]),
    "maxpool 2-D default stride": ("maxpool: 2", (2, 5, 5),
                                   lambda x, w: ref.max_pool(x, (2, 2), (2, 2), sym(0, 0), (1, 1), False)),
    "maxpool 2-D padding, ceil mode": ("maxpool: {kernel: 3, stride: 2, padding: 1, ceil_mode: true}", (2, 6, 6),
                                       lambda x, w: ref.max_pool(x, (3, 3), (2, 2), sym(1, 1), (1, 1), True)),
    "maxpool 1-D dilated": ("maxpool: {kernel: 2, stride: 1, dilation: 2}", (2, 7),
                            lambda x, w: ref.max_pool(x, (2,), (1,), sym(0), (2,), False)),
    "avgpool 2-D count_include_pad": ("avgpool: {kernel: 3, stride: 2, padding: 1}", (2, 5, 5),
                                      lambda x, w: ref.avg_pool(x, (3, 3), (2, 2), sym(1, 1), False, True)),
    "avgpool 3-D excluding pad, ceil mode": ("avgpool: {kernel: 2, padding: 1, count_include_pad: false, ceil_mode: true}",
                                             (1, 3, 4, 5), lambda x, w: ref.avg_pool(x, (2, 2, 2), (2, 2, 2),
                                                                                     sym(1, 1, 1), True, False)),
    "medianpool 2-D": ("medianpool: {kernel: 3, stride: 1, padding: 1}", (2, 4, 4),
                       lambda x, w: ref.median_pool(x, (3, 3), (1, 1), sym(1, 1), False)),
    "global_avgpool 3-D": ("global_avgpool", (3, 2, 3, 4), lambda x, w: x.mean(axis=(2, 3, 4), keepdims=True)),
    "global_maxpool 1-D": ("global_maxpool", (3, 6), lambda x, w: x.max(axis=2, keepdims=True)),
    "adaptive_avgpool 2-D overlapping windows": ("adaptive_avgpool: [3, 2]", (2, 7, 5),
                                                 lambda x, w: ref.adaptive_avg_pool(x, (3, 2))),
    "adaptive_maxpool 1-D": ("adaptive_maxpool: 4", (2, 9), lambda x, w: ref.adaptive_max_pool(x, (4,))),
    "bn": ("bn: {eps: 0.001}", (3, 4, 4), lambda x, w: (x - w["running_mean"][:, None, None])
           / np.sqrt(w["running_var"][:, None, None] + 1e-3) * w["weight"][:, None, None] + w["bias"][:, None, None]),
    "bn without affine 1-D": ("bn: {affine: false}", (3, 5), lambda x, w: (x - w["running_mean"][:, None])
                              / np.sqrt(w["running_var"][:, None] + 1e-5)),
    "lrn": ("lrn: {size: 3, alpha: 0.5, beta: 0.75, k: 2}", (5, 3, 3), lambda x, w: ref.lrn(x, 3, 0.5, 0.75, 2)),
    "relu": ("relu", (3, 4), lambda x, w: np.where(x > 0, x, 0)),
    "relu6": ("relu6", (3, 4), lambda x, w: np.minimum(np.maximum(x, 0), 6)),
    "leaky_relu": ("leaky_relu: 0.2", (3, 4), lambda x, w: np.where(x >= 0, x, 0.2 * x)),
    "scale": ("scale: 0.17", (3, 4), lambda x, w: 0.17 * x),
    "sigmoid": ("sigmoid", (3, 4), lambda x, w: 1 / (1 + np.exp(-x))),
    "tanh": ("tanh", (3, 4), lambda x, w: (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))),
    "silu": ("silu", (3, 4), lambda x, w: x / (1 + np.exp(-x))),
    "hardsigmoid": ("hardsigmoid", (3, 4), lambda x, w: np.clip(x / 6 + 0.5, 0, 1)),
    "hardswish": ("hardswish", (3, 4), lambda x, w: x * np.clip(x / 6 + 0.5, 0, 1)),
    "gelu": ("gelu", (3, 4), lambda x, w: x * 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))),
    "gelu tanh": ("gelu: {approximate: tanh}", (3, 4),
                  lambda x, w: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))),
    "softmax over channels": ("softmax", (4, 3), lambda x, w: np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)),
    "dropout is the identity": ("dropout: 0.3", (3, 4), lambda x, w: x),
    "identity": ("identity", (3, 4), lambda x, w: x),
    "flatten": ("flatten", (2, 3, 4), lambda x, w: x.reshape(len(x), 24)),
    "upsample nearest 2-D": ("upsample: 2", (2, 3, 3), lambda x, w: x.repeat(2, axis=2).repeat(2, axis=3)),
    "upsample bilinear to size": ("upsample: {size: [5, 7], mode: bilinear}", (2, 3, 4),
                                  lambda x, w: ref.upsample(x, (5, 7), "linear", False)),
    "upsample trilinear align_corners": ("upsample: {scale: 2, mode: trilinear, align_corners: true}", (1, 2, 3, 2),
                                         lambda x, w: ref.upsample(x, (4, 6, 4), "linear", True)),
}


@pytest.mark.parametrize("entry, shape, reference", CASES.values(), ids=CASES.keys())
def test_layer_matches_reference(entry, shape, reference):
    x, w, y = run_one(entry, shape)
    # float64 throughout; 1e-6 leaves room for the erf approximation in gelu (error < 1.2e-7)
    np.testing.assert_allclose(y, reference(x, w), rtol=1e-6, atol=1e-6)


def test_every_layer_type_has_a_case():
    from cnncalc.layers import REGISTRY

    covered = {entry.split(":")[0] for entry, _, _ in CASES.values()} | {"add", "mul", "concat"}  # merges: below
    assert {cls.type for cls in REGISTRY.values()} <= covered


MERGES = """
input: [4, 3, 3]
layers:
  - parallel:
      branches:
        - [conv: {out: 4, kernel: 1}]
        - [identity]
        - [relu]
      merge: {merge}
  - residual:
      body: [global_avgpool, sigmoid]
      merge: mul
"""


@pytest.mark.parametrize("merge, combine", [("add", lambda a, b, c: a + b + c), ("concat", lambda a, b, c: np.concatenate(
    [a, b, c], axis=1)), ("mul", lambda a, b, c: a * b * c)])
def test_merges_and_squeeze_excitation_broadcast(merge, combine):
    net = cnncalc.load(MERGES.replace("{merge}", merge))
    x = np.random.default_rng(0).standard_normal((2, 4, 3, 3))
    w = random_weights(net)
    y, outs = cnncalc.forward(net, x, w, return_all=True)
    branch = ref.conv(x, w["parallel1.branch1.conv1.weight"], w["parallel1.branch1.conv1.bias"], (1, 1), sym(0, 0),
                      (1, 1), 1)
    merged = combine(branch, x, np.maximum(x, 0))
    np.testing.assert_allclose(outs[net.nodes[3].name], merged, rtol=1e-12)
    gate = 1 / (1 + np.exp(-merged.mean(axis=(2, 3), keepdims=True)))  # (2, C, 1, 1) against (2, C, 3, 3)
    np.testing.assert_allclose(y, merged * gate, rtol=1e-12)


# -- the seed notes' worked examples, through specs ----------------------------------------------------
def test_seed_notes_3x3_filter_over_5x5_image():
    # UFLDL / CS231n (the figure the seed notes describe): the first output, 4, is the top-left 3×3 patch · filter
    net = cnncalc.load("input: [1, 5, 5]\nlayers:\n  - conv: {out: 1, kernel: 3, bias: false}\n")
    image = np.array([[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]], float)
    kernel = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], float)
    y = cnncalc.forward(net, image[None, None], {"conv1.weight": kernel[None, None]})
    np.testing.assert_array_equal(y[0, 0], [[4, 3, 4], [2, 4, 3], [2, 3, 4]])


def test_seed_notes_2x2_max_pool():
    # CS231n's max-pool figure: each 2×2 block of the 4×4 map keeps its largest value
    net = cnncalc.load("input: [1, 4, 4]\nlayers:\n  - maxpool: 2\n")
    m = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]], float)
    np.testing.assert_array_equal(cnncalc.forward(net, m[None, None])[0, 0], [[6, 8], [3, 4]])


# -- forward(): inputs, dtypes, errors -------------------------------------------------------------------
SMALL = """
name: small
input: [3, 12, 12]
layers:
  - conv: {out: 8, kernel: 3, padding: 1, bias: false}
  - bn
  - relu
  - maxpool: 2
  - flatten
  - dense: 10
"""


def test_forward_keeps_float32_and_follows_the_input_size():
    net = cnncalc.load(SMALL)
    y = cnncalc.forward(net, np.ones((3, 3, 12, 12), np.float32))
    assert (y.shape, y.dtype) == ((3, 10), np.float32)
    # a 16×16 input makes flatten 8·8·8 = 512 wide: the dense weights are allocated for that input
    y, outs = cnncalc.forward(net, np.ones((1, 3, 16, 16), np.float32), return_all=True)
    assert outs["flatten1"].shape == (1, 512) and y.shape == (1, 10)


def test_forward_is_seeded():
    net = cnncalc.load(SMALL)
    x = np.random.default_rng(0).standard_normal((2, 3, 12, 12)).astype(np.float32)
    np.testing.assert_array_equal(cnncalc.forward(net, x, seed=3), cnncalc.forward(net, x, seed=3))
    assert not np.array_equal(cnncalc.forward(net, x, seed=3), cnncalc.forward(net, x, seed=4))


def test_forward_analyses_a_network_once_per_input_shape_and_batch(monkeypatch):
    from cnncalc.core import analysis

    net = cnncalc.load(SMALL)
    x = np.ones((2, 3, 12, 12), np.float32)
    w = init_weights(net)
    calls = []
    real = analysis.analyze
    monkeypatch.setattr(analysis, "analyze", lambda *a, **k: calls.append(k.get("batch")) or real(*a, **k))
    first = cnncalc.forward(net, x, w)
    for _ in range(3):
        np.testing.assert_array_equal(cnncalc.forward(net, x, w), first)
    assert calls == [2]                                   # once, at batch 2
    cnncalc.forward(net, np.ones((1, 3, 12, 12), np.float32), w)
    cnncalc.forward(cnncalc.load(SMALL), x, w)            # an equal but new network object: analysed afresh
    assert calls == [2, 1, 2]


def test_forward_rejects_an_input_of_the_wrong_rank():
    with pytest.raises(ValueError, match=r"x must be shaped \(batch, 3, 12, 12\), got \[3, 12, 12\]"):
        cnncalc.forward(cnncalc.load(SMALL), np.ones((3, 12, 12)))


def test_a_layer_computing_the_wrong_shape_is_named(monkeypatch):
    from cnncalc.runtime.backend import FORWARD

    monkeypatch.setitem(FORWARD, "maxpool", lambda layer, facts, xs, w: xs[0][:, :, ::2, :])  # H halved, W not
    with pytest.raises(ForwardError, match=r"maxpool1 \(maxpool\) computed \[1, 8, 6, 12\], "
                                           r"the analysis says \[1, 8, 6, 6\]") as e:
        cnncalc.forward(cnncalc.load(SMALL), np.ones((1, 3, 12, 12)))
    assert e.value.layer.name == "maxpool1" and e.value.exit_code == 1


def test_a_failing_kernel_is_reported_with_its_layer_as_a_bug(monkeypatch):
    # a kernel raising on analysed, checked input is cnncalc's bug (InternalError, exit 70), not a failed check
    from cnncalc.errors import InternalError
    from cnncalc.runtime.backend import FORWARD

    def broken(layer, facts, xs, w):
        raise FloatingPointError("overflow")

    monkeypatch.setitem(FORWARD, "bn", broken)
    with pytest.raises(InternalError, match=r"^bn1 \(bn\) failed: FloatingPointError: overflow$") as e:
        cnncalc.forward(cnncalc.load(SMALL), np.ones((1, 3, 12, 12)))
    assert isinstance(e.value.__cause__, FloatingPointError)


def test_import_cnncalc_does_not_import_numpy_and_forward_stays_callable():
    code = ("import sys, cnncalc; assert 'numpy' not in sys.modules\n"
            "from cnncalc.runtime import init_weights\n"  # importing the module first changes nothing
            "import numpy as np\n"
            "print(cnncalc.forward(cnncalc.load('input: [2]\\nlayers: [dense: 3]'), np.ones((1, 2))).shape)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "(1, 3)"


# -- the executor frees what it no longer needs ---------------------------------------------------------
def test_each_activation_is_released_after_its_last_reader():
    net = cnncalc.load("""
input: [2, 4, 4]
layers:
  - relu
  - sigmoid: {id: a}
  - tanh
  - silu
  - add: {from: [a, input]}
""")
    a = net.analyze(batch=1)
    outputs, alive_at = [], {}

    def on_layer(info, y, seconds):
        alive_at[info.name] = [r() is not None for r in outputs]  # the earlier outputs still held
        outputs.append(weakref.ref(y))

    y = execute(a, np.ones((1, 2, 4, 4)), init_weights(a), on_layer)
    # relu1 is read only by sigmoid1; sigmoid1 (id a) waits for the add; tanh1 is dropped once silu1 read it
    assert alive_at == {"relu1": [], "sigmoid1": [False], "tanh1": [False, True], "silu1": [False, True, False],
                        "add1": [False, False, False, False]}
    assert outputs[-1]() is y


# -- weights ---------------------------------------------------------------------------------------------
def test_init_weights_allocates_exactly_the_counted_params_and_buffers():
    net = cnncalc.load(SMALL)
    totals = net.analyze().totals
    w = init_weights(net, seed=0)
    # conv 8·3·3·3 = 216; bn 8 + 8 learnable, 8 + 8 running; dense 10·(8·6·6) + 10 = 2890
    assert (totals.params, totals.buffers) == (216 + 16 + 2890, 16)
    assert weight_counts(net, w) == (totals.params, totals.buffers)
    assert sorted(w) == ["bn1.bias", "bn1.running_mean", "bn1.running_var", "bn1.weight", "conv1.weight",
                         "dense1.bias", "dense1.weight"]
    assert {k: v.dtype for k, v in w.items()} == dict.fromkeys(w, np.dtype(np.float32))


def test_init_weights_follows_he_and_glorot():
    w = init_weights(cnncalc.load("input: [64, 8, 8]\nlayers:\n  - conv: {out: 256, kernel: 3}\n  - bn\n"
                                  "  - flatten\n  - dense: 100\n"), seed=0)
    # He-uniform: bound √(6 / fan_in), fan_in = 64·3·3 = 576 → 0.1021; U(−b, b) has std b/√3
    conv = w["conv1.weight"]
    assert np.abs(conv).max() <= math.sqrt(6 / 576) and conv.std() == pytest.approx(math.sqrt(6 / 576) / math.sqrt(3), rel=0.01)
    assert np.abs(w["conv1.bias"]).max() <= 1 / math.sqrt(576)  # PyTorch's bias bound 1/√fan_in
    # Glorot-uniform: fan_in 256·6·6 = 9216 (the 3×3 conv makes 8×8 6×6), fan_out 100: bound √(6 / 9316) = 0.02538
    assert np.abs(w["dense1.weight"]).max() <= math.sqrt(6 / 9316)
    assert w["dense1.weight"].std() == pytest.approx(math.sqrt(6 / 9316) / math.sqrt(3), rel=0.01)
    assert (w["bn1.weight"] == 1).all() and (w["bn1.running_var"] == 1).all() and not w["bn1.running_mean"].any()


def test_npz_round_trip(tmp_path):
    net = cnncalc.load(SMALL)
    w = random_weights(net, seed=5)
    save_weights(tmp_path / "small.npz", w)
    back = load_weights(tmp_path / "small.npz")
    assert sorted(back) == sorted(w)
    assert all(back[k].dtype == np.float64 and np.array_equal(back[k], w[k]) for k in w)
    x = np.random.default_rng(1).standard_normal((2, 3, 12, 12))
    np.testing.assert_array_equal(cnncalc.forward(net, x, back), cnncalc.forward(net, x, w))


def test_weights_that_do_not_fit_are_listed():
    net = cnncalc.load(SMALL)
    w = init_weights(net)
    w["conv1.weight"] = np.zeros((8, 3, 5, 5), np.float32)
    w["conv1.bias"] = np.zeros(8, np.float32)
    del w["bn1.running_var"]
    assert check_weights(net, w) == ["missing bn1.running_var [8]", "unexpected conv1.bias: no such layer weight",
                                     "conv1.weight: expected [8, 3, 3, 3], got [8, 3, 5, 5]"]
    with pytest.raises(WeightError, match=r"^weights do not fit the network: missing bn1.running_var \[8\]; "):
        cnncalc.forward(net, np.ones((1, 3, 12, 12)), w)


# -- property: analysis and computation agree on random valid specs ---------------------------------------
@st.composite
def specs(draw):
    """A random valid spec: conv/pool/bn/activation stacks, residuals, concat branches and SE gates, 1-D to 3-D.

    Sizes are tracked only to keep every window inside its (padded) input; the test checks them, not this.
    """
    rank = draw(st.integers(1, 3))
    sizes = [draw(st.integers(3, 9)) for _ in range(rank)]
    channels = draw(st.integers(1, 4))
    lines = [f"input: {[channels, *sizes]}", "layers:"]

    def window(dilate: bool):
        k, s = draw(st.integers(1, min(3, *sizes))), draw(st.integers(1, 2))
        p = draw(st.integers(0, k // 2))
        d = draw(st.integers(1, 2)) if dilate and 2 * (k - 1) + 1 <= min(sizes) + 2 * p else 1
        return k, s, p, d

    def shrink(k, s, p, d, ceil=False):
        for i, n in enumerate(sizes):
            span = n + 2 * p - d * (k - 1) - 1
            out = (-(-span // s) if ceil else span // s) + 1
            sizes[i] = out - 1 if ceil and (out - 1) * s >= n + p else out

    for _ in range(draw(st.integers(1, 6))):
        growing = ["up", "deconv"] if max(sizes) <= 6 else []  # both double every size
        kind = draw(st.sampled_from(["conv", "pool", "bn", "act", "residual", "concat", "se", *growing]))
        if kind == "conv":
            k, s, p, d = window(True)
            out = draw(st.integers(1, 6))
            g = draw(st.sampled_from([g for g in range(1, 5) if channels % g == 0 and out % g == 0]))
            same = s == 1 and draw(st.booleans())
            lines.append(f"  - conv: {{out: {out}, kernel: {k}, stride: {s}, padding: {'same' if same else p}, "
                         f"dilation: {d}, groups: {g}}}")
            channels = out
            if not same:
                shrink(k, s, p, d)
        elif kind == "pool":
            k, s, p, _ = window(False)
            pool, ceil = draw(st.sampled_from(["maxpool", "avgpool"])), draw(st.booleans())
            lines.append(f"  - {pool}: {{kernel: {k}, stride: {s}, padding: {p}, ceil_mode: {str(ceil).lower()}}}")
            shrink(k, s, p, 1, ceil)
        elif kind == "bn":
            lines.append("  - bn")
        elif kind == "act":
            lines.append("  - " + draw(st.sampled_from(["relu", "relu6", "sigmoid", "tanh", "silu", "hardswish", "gelu",
                                                          "leaky_relu", "softmax", "lrn: 3", "dropout"])))
        elif kind == "residual":
            lines.append(f"  - residual:\n      body: [conv: {{out: {channels}, kernel: 3, padding: 1}}, bn, relu]")
        elif kind == "concat":
            a, b = draw(st.integers(1, 3)), draw(st.integers(1, 3))
            lines.append(f"  - parallel:\n      branches: [[conv: {{out: {a}, kernel: 1}}], [conv: {{out: {b}, kernel: 1}}, relu]]"
                         "\n      merge: concat")
            channels = a + b
        elif kind == "se":
            lines.append(f"  - residual:\n      body: [global_avgpool, conv: {{out: {channels}, kernel: 1}}, sigmoid]"
                         "\n      merge: mul")
        elif kind == "up":
            mode = draw(st.sampled_from(["nearest", {1: "linear", 2: "bilinear", 3: "trilinear"}[rank]]))
            lines.append(f"  - upsample: {{scale: 2, mode: {mode}}}")
            sizes = [2 * n for n in sizes]
        else:
            lines.append("  - conv_transpose: {out: 2, kernel: 2, stride: 2}")
            channels, sizes = 2, [2 * n for n in sizes]
    if draw(st.booleans()):
        lines += ["  - global_avgpool", "  - flatten", f"  - dense: {draw(st.integers(1, 5))}"]
    return "\n".join(lines) + "\n"


@settings(max_examples=80, deadline=None)
@given(specs(), st.integers(1, 2))
def test_random_specs_compute_their_analysed_shapes_and_counts(spec, batch):
    net = cnncalc.load(spec)
    a = net.analyze(batch=batch)
    assert a.error is None, a.error.format()
    weights = init_weights(a, seed=0)
    assert weight_counts(a, weights) == (a.totals.params, a.totals.buffers)
    assert sum(w.size for w in weights.values()) == a.totals.params + a.totals.buffers
    x = np.random.default_rng(0).standard_normal((batch, *net.input)).astype(np.float32)
    y, outputs = cnncalc.forward(net, x, weights, return_all=True)
    assert {name: y.shape for name, y in outputs.items()} == {r.name: (batch, *r.output) for r in a.layers}
    assert y.shape == (batch, *a.totals.output) and np.isfinite(y).all()
