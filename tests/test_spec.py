"""The spec language: vars and overrides, expressions, blocks, repeats, residuals, parallel branches, `from:`
DAGs, id scopes, row names, `trainable`, and meta keys inside argument mappings."""
from pathlib import Path

import pytest

import cnncalc

README = Path(__file__).parents[1] / "README.md"


def names(net):
    return [n.name for n in net.nodes]


def shapes(a):
    return {i.name: i.output for i in a.layers}


def test_readme_example(analyze):
    text = README.read_text().split("```yaml\n", 1)[1].split("```", 1)[0]
    t = analyze(text).totals
    # conv1 64·3·49 = 9,408; bn 128; basic(64) = 2·(64·64·9) + 64·64 (shortcut) + 3 bn·128 = 78,208, twice;
    # basic(128, stride 2) = 128·64·9 + 128·128·9 + 128·64 + 3·256 = 230,144; dense 128·1000 + 1000 = 129,000
    assert t.params == 9_408 + 128 + 2 * 78_208 + 230_144 + 129_000 == 525_096
    assert t.output == (1000,)


# --- vars and expressions ----------------------------------------------------------------------------

VARS = """
input: [3, $size, $size]
vars: {size: 32, width: 8, wide: '${width * 2}', alpha: 0.75}
layers:
  - conv: {out: $wide, kernel: 3}
  - conv: {out: '${max(8, int(width * alpha + 4) // 8 * 8)}', kernel: 1}
"""


def test_vars_and_expressions(analyze):
    a = analyze(VARS)
    assert a.network.input == (3, 32, 32)
    assert a.network.vars == {"size": 32, "width": 8, "wide": 16, "alpha": 0.75}
    # wide = 8·2 = 16; MobileNet rounding: max(8, int(8·0.75 + 4) // 8 · 8) = max(8, 10 // 8 · 8) = 8
    assert [i.output[0] for i in a.layers] == [16, 8]


def test_overrides_flow_into_vars_that_use_them(analyze):
    # --set width=32: wide = 64 is recomputed from the override; int(32·0.75 + 4) // 8 · 8 = 28 // 8 · 8 = 24
    a = analyze(VARS, vars={"width": 32, "size": 16})
    assert a.network.input == (3, 16, 16)
    assert [i.output for i in a.layers] == [(64, 14, 14), (24, 14, 14)]


def test_override_of_a_derived_var_wins(analyze):
    assert analyze(VARS, vars={"wide": 5}).layers[0].output[0] == 5


def test_string_interpolation_in_names(analyze):
    a = analyze("""
input: [1, 8]
layers:
  - repeat: 2
    as: i
    layers:
      - conv: {out: '${4 * (i + 1)}', kernel: 1}
        name: 'stage${i}'
""")
    # `as: i` is the 0-based iteration: widths 4, 8
    assert shapes(a) == {"repeat1.1.stage0": (4, 8), "repeat1.2.stage1": (8, 8)}


# --- entries and shorthand ---------------------------------------------------------------------------

def test_shorthand_scalars_bare_names_and_null_args(analyze):
    a = analyze("""
input: [3, 64, 64]
layers:
  - conv: {out: 8, kernel: 3}
  - relu
  - bn:
  - lrn: 3
  - leaky_relu: 0.2
  - maxpool: 2
  - upsample: 2
  - adaptive_avgpool: 7
  - dropout: 0.25
  - flatten
  - dense: 10
""")
    layers = {i.name: i.node.layer for i in a.layers}
    assert layers["lrn1"].size == 3 and layers["leaky_relu1"].slope == 0.2 and layers["dropout1"].p == 0.25
    # 64 − 3 + 1 = 62; pool 2 → 31; ×2 → 62; adaptive → 7×7; 8·49 = 392 features; dense 10
    assert [i.output for i in a.layers][-6:] == [(8, 31, 31), (8, 62, 62), (8, 7, 7), (8, 7, 7), (392,), (10,)]


def test_aliases(analyze):
    a = analyze("""
input: [4, 8, 8]
layers:
  - deconv: {out: 4, kernel: 2, stride: 2}
  - max_pool: 2
  - gap
  - flatten
  - linear: 3
  - fc: 2
""")
    assert [i.type for i in a.layers] == ["conv_transpose", "maxpool", "global_avgpool", "flatten", "dense", "dense"]
    assert [i.name for i in a.layers][:2] == ["deconv1", "max_pool1"]  # rows keep the name the spec used


def test_meta_keys_inside_the_argument_mapping(analyze):
    a = analyze("""
input: [1, 8, 8]
layers:
  - conv: {out: 2, kernel: 3, name: first, id: f, trainable: false}
  - relu: {name: act, id: act}
  - conv: {out: 2, kernel: 1, from: f, name: side, id: side}
  - add: {from: [act, side]}
""")
    info = {i.name: i for i in a.layers}
    assert set(info) == {"first", "act", "side", "add1"}
    assert info["first"].trainable is False and info["side"].inputs == ("first",)
    assert info["add1"].inputs == ("act", "side")


WHEN = """
input: [3, 8, 8]
vars: {bn: false}
blocks:
  cbr:
    args: {out: null, name: x}      # a block argument called `name` stays an argument
    layers: [conv: {out: $out, kernel: 3, padding: 1}, relu]
layers:
  - conv: {out: 8, kernel: 3}
  - bn: {when: $bn}
  - relu
  - {name: pool, when: '${not bn}', maxpool: 2}
  - cbr: {out: 4, name: stem, id: s}
  - cbr: {out: 4, id: t, when: false}
  - relu: {from: s}
"""


def test_when_includes_an_entry_only_when_true_and_keeps_names_stable(analyze):
    off = analyze(WHEN)
    # conv1 8×6×6, relu1, pool 8×3×3, cbr1 (its own `name` argument stays an argument: the row is cbr1), relu2
    assert [i.name for i in off.layers] == ["conv1", "relu1", "pool", "cbr1.conv1", "cbr1.relu1", "relu2"]
    assert shapes(off)["pool"] == (8, 3, 3) and shapes(off)["relu2"] == (4, 3, 3)
    on = analyze(WHEN, vars={"bn": True})
    # bn1 appears, the pool leaves; relu1 keeps its name because bn1 was counted either way
    assert [i.name for i in on.layers][:3] == ["conv1", "bn1", "relu1"] and "pool" not in shapes(on)


def test_when_must_be_a_boolean():
    with pytest.raises(cnncalc.SpecError) as e:
        cnncalc.load("input: [3, 8, 8]\nlayers:\n  - relu: {when: 1}\n")
    assert str(e.value.loc) == "<string>:3:18" and "`when` must be true or false, got 1" in e.value.message


def test_meta_keys_inside_a_block_argument_mapping(analyze):
    a = analyze("""
input: [3, 8, 8]
blocks:
  unit: {args: {out: null}, layers: [conv: {out: $out, kernel: 1}]}
layers:
  - unit: {out: 4, name: stem, id: s}
  - unit: {out: 4, from: input, id: unit2}
  - add: {from: [s, unit2]}
""")
    assert [i.name for i in a.layers] == ["stem.conv1", "unit2.conv1", "add1"]
    assert a.layers[-1].inputs == ("stem.conv1", "unit2.conv1")


# --- blocks ---------------------------------------------------------------------------------------------

BLOCKS = """
input: [4, 16, 16]
blocks:
  unit:                         # one argument: `- unit: 8` works
    args: {out: null}
    layers:
      - conv: {out: $out, kernel: 3, padding: 1}
      - relu
  down:
    args: {out: null, stride: 2}
    layers:
      - unit: $out              # blocks use blocks
      - maxpool: $stride
  plain:                        # a block may be just a list of layers
    - bn
layers:
  - unit: 8
  - down: {out: 6}
  - down: {out: 5, stride: 4}
    name: deep
  - plain
"""


def test_blocks_args_defaults_shorthand_and_nesting(analyze):
    a = analyze(BLOCKS)
    assert shapes(a) == {
        "unit1.conv1": (8, 16, 16), "unit1.relu1": (8, 16, 16),
        "down1.unit1.conv1": (6, 16, 16), "down1.unit1.relu1": (6, 16, 16), "down1.maxpool1": (6, 8, 8),
        "deep.unit1.conv1": (5, 8, 8), "deep.unit1.relu1": (5, 8, 8), "deep.maxpool1": (5, 2, 2),  # 8 / 4
        "plain1.bn1": (5, 2, 2),
    }
    groups = a.network.groups
    assert (groups["down1"].kind, groups["down1"].block) == ("block", "down") and groups["down1.unit1"].label == "unit"
    assert a.layers[4].groups == ("down1",)
    assert a.layers[2].groups == ("down1", "down1.unit1")


def test_block_args_see_vars_and_defaults_see_earlier_args(analyze):
    a = analyze("""
input: [2, 8]
vars: {base: 3}
blocks:
  b:
    args: {c: null, twice: '${c * 2}'}
    layers:
      - conv: {out: '${twice + base}', kernel: 1}
layers:
  - b: {c: 2}
""")
    assert a.layers[0].output == (2 * 2 + 3, 8)


# --- repeat, residual, parallel -----------------------------------------------------------------------

def test_repeat_names_and_zero_count(analyze):
    a = analyze("""
input: [2, 8]
layers:
  - repeat: 3
    name: stage
    layers:
      - conv: {out: 2, kernel: 1}
  - repeat: 0
    layers: [relu]
  - relu
""")
    assert [i.name for i in a.layers] == ["stage.1.conv1", "stage.2.conv1", "stage.3.conv1", "relu1"]


def test_residual_identity_conv_shortcut_and_concat(analyze):
    a = analyze("""
input: [4, 8, 8]
layers:
  - residual:
      body: [conv: {out: 4, kernel: 3, padding: 1}]
  - residual:
      body: [conv: {out: 8, kernel: 3, stride: 2, padding: 1}]
      shortcut: [conv: {out: 8, kernel: 1, stride: 2}]
  - residual:
      body: [conv: {out: 3, kernel: 1}]
      merge: concat
""")
    info = {i.name: i for i in a.layers}
    assert info["residual1.add"].inputs == ("residual1.body.conv1", "input")  # identity: the block's input itself
    assert info["residual2.add"].inputs == ("residual2.body.conv1", "residual2.shortcut.conv1")
    assert info["residual2.add"].output == (8, 4, 4)  # (8 + 2 − 3)/2 + 1 = 4
    assert info["residual3.concat"].output == (3 + 8, 4, 4)  # body 3 channels ++ identity 8


def test_parallel_named_and_positional_branches(analyze):
    a = analyze("""
input: [4, 8, 8]
layers:
  - parallel:
      branches:
        - name: wide
          layers: [conv: {out: 3, kernel: 1}]
        - [conv: {out: 2, kernel: 3, padding: 1}, relu]
        - []
""")
    assert shapes(a) == {"parallel1.wide.conv1": (3, 8, 8), "parallel1.branch2.conv1": (2, 8, 8),
                         "parallel1.branch2.relu1": (2, 8, 8), "parallel1.concat": (3 + 2 + 4, 8, 8)}
    assert a.layers[-1].inputs == ("parallel1.wide.conv1", "parallel1.branch2.relu1", "input")  # [] passes through


def test_parallel_add_merge(analyze):
    a = analyze("""
input: [4, 8, 8]
layers:
  - parallel:
      merge: add
      branches: [[conv: {out: 4, kernel: 1}], [conv: {out: 4, kernel: 3, padding: 1}]]
""")
    assert a.layers[-1].type == "add" and a.layers[-1].output == (4, 8, 8)


# --- from: DAGs and id scopes -------------------------------------------------------------------------------

def test_unet_skip(analyze):
    a = analyze("""
input: [1, 16, 16]
layers:
  - conv: {out: 4, kernel: 3, padding: 1, id: e1}
  - maxpool: 2
  - conv: {out: 8, kernel: 3, padding: 1}
  - conv_transpose: {out: 4, kernel: 2, stride: 2, id: up}
  - concat: {from: [up, e1]}
  - conv: {out: 1, kernel: 1}
""")
    assert shapes(a)["concat1"] == (8, 16, 16)  # up 4×16×16 ++ skip 4×16×16
    assert a.layers[4].inputs == ("conv_transpose1", "conv1")


def test_densenet_concatenation(analyze):
    a = analyze("""
input: [3, 8, 8]
layers:
  - conv: {out: 4, kernel: 3, padding: 1, id: x0}
  - conv: {out: 2, kernel: 3, padding: 1, id: x1}
  - concat: {from: [x0, x1]}
  - conv: {out: 2, kernel: 3, padding: 1, id: x2}
  - concat: {from: [x0, x1, x2]}
""")
    assert [i.output[0] for i in a.layers] == [4, 2, 6, 2, 8]


def test_forward_reference_is_ordered_topologically(analyze):
    a = analyze("""
input: [1, 8]
layers:
  - relu: {from: later, name: reads_later}
  - conv: {out: 2, kernel: 1, from: input, id: later}
""")
    assert [i.name for i in a.layers] == ["conv1", "reads_later"]
    assert a.layers[1].inputs == ("conv1",)


SE = """
input: [8, 8, 8]
blocks:
  se:
    args: {c: null}
    layers:
      - identity: {id: x}
      - global_avgpool
      - conv: {out: 2, kernel: 1}
      - relu
      - conv: {out: $c, kernel: 1}
      - sigmoid: {id: g}
      - mul: {from: [x, g]}
  skip:
    layers:
      - conv: {out: 8, kernel: 1, id: x}
      - add: {from: [stem, x]}      # `stem` is an id of the enclosing scope
layers:
  - conv: {out: 8, kernel: 3, padding: 1, id: stem}
  - se: 8
  - se: 8
  - skip
  - repeat: 2
    layers:
      - conv: {out: 8, kernel: 1, id: t}
      - add: {from: [t, stem]}
"""


def test_ids_are_local_to_block_instances_and_iterations(analyze):
    a = analyze(SE)
    info = {i.name: i for i in a.layers}
    # each se instance's `x` and `g` are its own: the second reads the first one's product
    assert info["se1.mul1"].inputs == ("se1.identity1", "se1.sigmoid1")
    assert info["se2.mul1"].inputs == ("se2.identity1", "se2.sigmoid1")
    assert info["se2.identity1"].inputs == ("se1.mul1",)
    assert info["se1.mul1"].output == (8, 8, 8)  # [8, 1, 1] gate broadcast over [8, 8, 8]
    # blocks and iterations see the enclosing scope's ids
    assert info["skip1.add1"].inputs == ("conv1", "skip1.conv1")
    assert info["repeat1.1.add1"].inputs == ("repeat1.1.conv1", "conv1")
    assert info["repeat1.2.add1"].inputs == ("repeat1.2.conv1", "conv1")


# --- trainable ------------------------------------------------------------------------------------

def test_trainable_false_is_inherited(analyze):
    a = analyze("""
input: [2, 8]
blocks:
  pair: [conv: {out: 2, kernel: 1}, conv: {out: 2, kernel: 1, trainable: true}]
layers:
  - conv: {out: 2, kernel: 1}
  - pair: null
    trainable: false
  - repeat: 1
    trainable: false
    layers: [conv: {out: 2, kernel: 1}]
  - residual:
      body: [bn]
    trainable: false
  - parallel:
      branches: [[conv: {out: 2, kernel: 1}]]
    trainable: false
""")
    flags = {i.name: i.trainable for i in a.layers}
    # `trainable: true` inside a frozen container cannot unfreeze it
    assert flags == {"conv1": True, "pair1.conv1": False, "pair1.conv2": False, "repeat1.1.conv1": False,
                     "residual1.body.bn1": False, "residual1.add": False, "parallel1.branch1.conv1": False}
    assert a.totals.params == 5 * 6 + 4  # five 2·2 + 2 convs and one bn (2·2)
    assert a.totals.trainable_params == 6


def test_network_name_defaults_to_the_file_stem(tmp_path):
    spec = tmp_path / "my-net.yaml"
    spec.write_text("input: [1, 4]\nlayers: [relu]\n")
    assert cnncalc.load(str(spec)).name == "my-net"
    assert cnncalc.load("name: given\ninput: [1, 4]\nlayers: [relu]\n").name == "given"


@pytest.mark.parametrize("shape", [[8], [2, 8], [2, 8, 8], [2, 4, 8, 8]])
def test_input_ranks(analyze, shape):
    # [C] is a flat vector; [C, L], [C, H, W] and [C, D, H, W] are 1-, 2- and 3-D maps
    a = analyze(f"input: {shape}\nlayers: [relu]\n")
    assert a.totals.output == tuple(shape)
