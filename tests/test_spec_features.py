"""The language features today's networks need (issue 12): a block reading its input's shape (`in`), list
indexing with `repeat … as: i`, a residual whose skip is conditional (`if:`), `when:` and the other meta keys inside
a residual's or parallel's mapping, the one-value shorthand for a block's only required argument, plain named groups,
name clashes refused where they start, the order of a residual's merge, and automatic names of types ending in a
digit (`relu6_1`). Every figure is worked out by hand in the comment beside it."""
import json

import pytest

import cnncalc


def names(net):
    return [n.name for n in net.nodes]


def shapes(a):
    return {i.name: i.output for i in a.layers}


def error_of(text, **kw):
    with pytest.raises(cnncalc.SpecError) as e:
        cnncalc.load(text, **kw).analyze()
    return e.value


# --- `in`: the shape of a block's input ----------------------------------------------------------------

SE = """
input: [3, 16, 16]
blocks:
  se:                              # squeeze-excitation that reads its channel count instead of taking `cin`
    args: {r: 4}
    layers:
      - identity: {id: x}
      - global_avgpool
      - conv: {out: '${in.channels // r}', kernel: 1}
      - relu
      - conv: {out: '${in.channels}', kernel: 1}
      - sigmoid: {id: g}
      - mul: {from: [x, g]}
layers:
  - conv: {out: 8, kernel: 3, padding: 1}
  - se
  - conv: {out: 16, kernel: 3, stride: 2, padding: 1}
  - se: 2                          # one value: the block's only argument
"""


def test_a_block_reads_its_input_channels(analyze):
    a = analyze(SE)
    s = shapes(a)
    # se1 sees 8 channels: 8 // 4 = 2 then back to 8; se2 sees 16: 16 // 2 = 8 then 16
    assert (s["se1.conv1"], s["se1.conv2"], s["se1.mul1"]) == ((2, 1, 1), (8, 1, 1), (8, 16, 16))
    assert (s["se2.conv1"], s["se2.conv2"], s["se2.mul1"]) == ((8, 1, 1), (16, 1, 1), (16, 8, 8))  # (16+2−3)//2+1 = 8
    # conv1 3·8·9 + 8 = 224; se1 8·2 + 2 + 2·8 + 8 = 42; conv2 8·16·9 + 16 = 1,168; se2 16·8 + 8 + 8·16 + 16 = 280
    assert a.totals.params == 224 + 42 + 1_168 + 280 == 1_714


FOLLOWS_INPUT = """
input: [3, 32, 32]
layers:
  - conv: {out: 4, kernel: 3, stride: 2, padding: 1}
  - upsample: {size: '${in.size}', mode: bilinear}   # back to the network input's size, whatever it is
"""


def test_in_follows_the_input_wherever_it_is_set(cli):
    net = cnncalc.load(FOLLOWS_INPUT)
    assert net.analyze().totals.output == (4, 32, 32)
    # --input 3,48,40: the conv gives (48 + 2 − 3)//2 + 1 = 24 by (40 + 2 − 3)//2 + 1 = 20; the upsample goes back
    assert cnncalc.load(FOLLOWS_INPUT, input=(3, 48, 40)).analyze().totals.output == (4, 48, 40)
    assert net.analyze(input=(3, 48, 40)).layers[0].output == (4, 24, 20)
    assert net.analyze(input=(3, 48, 40)).totals.output == (4, 48, 40)
    for option, out in (("3,48,40", [4, 48, 40]), ("64", [4, 64, 64])):  # one number: every spatial size
        result = cli("summary", "-", "--input", option, "--format", "json", input=FOLLOWS_INPUT)
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout)["totals"]["output"] == out
    # a spec that never reads `in` is expanded once and only re-shaped
    assert net.rebuild is not None and cnncalc.load("input: [1, 4]\nlayers: [relu]\n").rebuild is None


def test_in_record_fields_on_a_1d_input(analyze):
    a = analyze("""
input: [2, 10]
blocks:
  b:
    layers:
      - conv: {out: '${in.size[0]}', kernel: 1}                    # 10 channels: the length
      - conv: {out: '${len(in.shape) + in.shape[0]}', kernel: 1}   # in.shape is still the block's input: 2 + 2
layers:
  - b
""")
    assert [i.output for i in a.layers] == [(10, 10), (4, 10)]


def test_block_defaults_and_repeats_see_the_instance_input(analyze):
    a = analyze("""
input: [6, 8, 8]
blocks:
  keep:                              # a default computed from the input: the block keeps the width it is given
    args: {out: '${in.channels}'}
    layers: [conv: {out: $out, kernel: 1}]
  stack:
    layers:
      - repeat: 2                     # inside a repeat `in` is still the block's input, not the iteration's
        layers: [conv: {out: '${in.channels + 1}', kernel: 1}]
layers:
  - keep
  - conv: {out: 3, kernel: 1}
  - keep
  - stack
""")
    assert [i.output[0] for i in a.layers] == [6, 3, 3, 4, 4]


@pytest.mark.parametrize("spec, message", [
    ("input: [3, 8, 8]\nblocks:\n  b: [conv: {out: '${in.channels}', kernel: 1}]\nlayers:\n  - b: {from: later}\n"
     "  - relu: {from: input, id: later}\n",
     "<string>:3:22: error: the shape of `in` is not known here: it depends on `from: later` (line 5), an id defined "
     "further down\n  hint: `in` can only read the shapes of layers written before it"),
    ("input: [3, 8, 8]\nvars: {in: 3}\nlayers: [relu]\n",
     "<string>:2:8: error: 'in' is reserved for the shape of a block's input\n"
     "  hint: read it as in.channels, in.size or in.shape; choose another name"),
    ("input: [3, 8, 8]\nblocks:\n  b: {args: {in: 1}, layers: [relu]}\nlayers: [b]\n",
     "<string>:3:14: error: 'in' is reserved for the shape of a block's input\n"
     "  hint: read it as in.channels, in.size or in.shape; choose another name"),
    ("input: [3, 8, 8]\nlayers:\n  - conv: {out: $in, kernel: 1}\n",
     "<string>:3:18: error: 'in' is a record: read one of its fields (in.channels, in.size, in.shape)\n"
     "  hint: write '${in.channels}', with braces"),
    ("input: [3, 8, 8]\nlayers:\n  - conv: {out: '${in.chanels}', kernel: 1}\n",
     "<string>:3:23: error: 'in' has no field 'chanels'\n  hint: did you mean 'channels'?"),
    # the layer before the block cannot take its input: its own error, saying why it was needed so early
    ("input: [3, 4, 4]\nblocks:\n  b: [conv: {out: '${in.channels}', kernel: 1}]\nlayers:\n"
     "  - conv: {out: 8, kernel: 5}\n  - b\n",
     "<string>:5:20: error: 'conv' output would be empty along H: (N + 2P − F) / S + 1 = (4 + 2·0 − 5) / 1 + 1 = 0\n"
     "  hint: use a smaller kernel or stride, add padding, or feed a larger input\n"
     "  input: input [3, 4, 4]; found while working out the shape that `in` reads at line 6"),
])
def test_in_errors_are_located(spec, message):
    assert error_of(spec).format() == message


# --- list indexing: per-stage tables as data -----------------------------------------------------------

STAGES = """
input: [3, 32, 32]
vars:
  c: [16, 24, 32]        # per-stage widths
  s: [1, 2, 2]           # per-stage strides
layers:
  - repeat: 3
    as: i
    name: stage
    layers:
      - conv: {out: '${c[i]}', kernel: 3, stride: '${s[i]}', padding: 1}
"""


def test_a_per_stage_table_read_by_the_repeat_index(analyze):
    a = analyze(STAGES)
    # 32 → 32 (stride 1) → (32 + 2 − 3)//2 + 1 = 16 → 8
    assert shapes(a) == {"stage.1.conv1": (16, 32, 32), "stage.2.conv1": (24, 16, 16), "stage.3.conv1": (32, 8, 8)}
    # 3·16·9 + 16 = 448; 16·24·9 + 24 = 3,480; 24·32·9 + 32 = 6,944
    assert a.totals.params == 448 + 3_480 + 6_944


def test_index_and_math_errors_are_located_exit_2(cli):
    spec = STAGES.replace("${c[i]}", "${c[i + 1]}")
    result = cli("summary", "-", input=spec)
    # the third iteration asks for c[3]: the column of `i + 1` inside the quoted value on line 11 (col 26)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == ("<stdin>:11:26: error: index 3 is out of range for a list of 3 items\n"
                             "  hint: indices run from 0 to 2 (or -3 to -1 from the end)\n")
    result = cli("summary", "-", input="input: [3, 8, 8]\nvars: {w: 0}\nlayers:\n  - conv: {out: '${int(log(w))}', kernel: 1}\n")
    assert result.exit_code == 2
    assert result.stderr == ("<stdin>:4:24: error: log(0) is undefined\n"
                             "  hint: log() needs a positive number (and a positive base other than 1)\n")


# --- a conditional skip, written once ------------------------------------------------------------------

UNIT = """
input: [4, 8, 8]
blocks:
  unit:
    args: {out: null, stride: 1}
    layers:
      - residual:
          if: '${stride == 1 and in.channels == out}'     # add the input only where the shapes allow it
          body: [conv: {out: $out, kernel: 3, stride: $stride, padding: 1}]
layers:
  - unit: 4                    # 4 → 4, stride 1: the skip is added
  - unit: 8                    # 4 → 8: the body alone
  - unit: {out: 8, stride: 2}  # stride 2: the body alone
  - unit: 8                    # 8 → 8, stride 1: the skip again
"""


def test_residual_if_degrades_to_the_body_alone(analyze):
    a = analyze(UNIT)
    assert [i.name for i in a.layers] == [
        "unit1.residual1.body.conv1", "unit1.residual1.add", "unit2.residual1.body.conv1",
        "unit3.residual1.body.conv1", "unit4.residual1.body.conv1", "unit4.residual1.add"]
    info = {i.name: i for i in a.layers}
    assert info["unit1.residual1.add"].inputs == ("unit1.residual1.body.conv1", "input")
    assert info["unit4.residual1.add"].inputs == ("unit4.residual1.body.conv1", "unit3.residual1.body.conv1")
    assert a.totals.output == (8, 4, 4)  # (8 + 2 − 3)//2 + 1 = 4
    # the rows of a degraded residual keep their names, so its weights keep their keys across variants
    assert a.network.groups["unit2.residual1"].kind == "residual"


def test_residual_if_false_leaves_out_the_shortcut_too(analyze):
    a = analyze("""
input: [4, 8]
layers:
  - residual: {if: false, body: [relu], shortcut: [conv: {out: 4, kernel: 1}]}
""")
    assert [i.name for i in a.layers] == ["residual1.body.relu1"]
    err = error_of("input: [4, 8]\nlayers:\n  - residual: {if: 1, body: [relu]}\n")
    assert err.format() == ("<string>:3:20: error: `if` must be true or false, got 1\n"
                            "  hint: e.g. `if: $bn` or `if: '${depth > 18}'`")


# --- meta keys inside structures, one-value shorthand, groups --------------------------------------------

STRUCTURES = """
input: [2, 8]
vars: {extra: false}
layers:
  - residual: {body: [relu], when: $extra, name: res}
  - parallel: {branches: [[relu], [relu]], when: '${not extra}', id: p}
  - repeat: 2
    when: $extra
    layers: [relu]
  - relu: {from: p, when: '${not extra}'}
"""


def test_when_and_meta_keys_inside_residual_and_parallel_mappings(analyze):
    off = analyze(STRUCTURES)
    assert [i.name for i in off.layers] == ["parallel1.branch1.relu1", "parallel1.branch2.relu1", "parallel1.concat", "relu1"]
    assert off.layers[-1].inputs == ("parallel1.concat",) and off.totals.output == (4, 8)  # 2 + 2 channels
    on = analyze(STRUCTURES, vars={"extra": True})
    assert [i.name for i in on.layers] == ["res.body.relu1", "res.add", "repeat1.1.relu1", "repeat1.2.relu1"]


def test_one_value_stands_for_the_only_required_argument(analyze):
    a = analyze("""
input: [2, 8]
blocks:
  b: {args: {out: null, kernel: 1, stride: 1}, layers: [conv: {out: $out, kernel: $kernel, stride: $stride}]}
layers:
  - b: 4
""")
    assert a.layers[0].output == (4, 8) and a.totals.params == 2 * 4 + 4  # a 1×1 conv 2 → 4 with bias
    for args, why in (("{a: null, b: null}", "has 2 required arguments"), ("{a: 1, b: 2}", "has no required arguments")):
        err = error_of(f"input: [2, 8]\nblocks:\n  b: {{args: {args}, layers: [relu]}}\nlayers:\n  - b: 4\n")
        assert err.format() == (f"<string>:5:8: error: block 'b' takes a mapping of arguments (a, b)\n"
                                f"  hint: a single value stands for a block's only argument, or its only required one; "
                                f"'b' {why}")


def test_plain_named_groups(analyze):
    a = analyze("""
input: [3, 8, 8]
layers:
  - group: [conv: {out: 4, kernel: 3, padding: 1, id: s}, relu]
    name: stem
  - group: {name: head, layers: [conv: {out: 4, kernel: 1, id: h}]}
  - group: [relu]
  - add: {from: [s, h]}       # ids defined inside a group stay visible after it
""")
    assert [i.name for i in a.layers] == ["stem.conv1", "stem.relu1", "head.conv1", "group3.relu1", "add1"]
    assert a.layers[-1].inputs == ("stem.conv1", "head.conv1")
    assert a.network.groups["stem"].kind == "group" and a.layers[0].groups == ("stem",)


@pytest.mark.parametrize("layers, message", [
    # an explicit name that an automatic name reaches later: the error is at the `name:`, which caused it
    ("  - relu: {name: conv2}\n  - conv: {out: 2, kernel: 1}\n  - conv: {out: 2, kernel: 1}\n",
     "<string>:3:18: error: `name: conv2` is also the automatic name of the 'conv' at line 5\n"
     "  hint: choose a name that is not a type and a count, or name the other entry too"),
    ("  - conv: {out: 2, kernel: 1}\n  - relu: {name: conv1}\n",
     "<string>:4:18: error: `name: conv1` is also the automatic name of the entry at line 3\n"
     "  hint: choose a name that is not a type and a count, or name the other entry too"),
    ("  - relu: {name: a}\n  - relu: {name: a}\n",
     "<string>:4:18: error: duplicate name 'a' in this list (first at line 3)"),
    ("  - parallel: {branches: [{name: branch2, layers: [relu]}, [relu]]}\n",
     "<string>:3:60: error: an earlier branch is named 'branch2', the automatic name of branch 2\n"
     "  hint: name this branch too, or rename the other one"),
])
def test_name_clashes_are_refused_where_they_start(layers, message):
    assert error_of("input: [2, 8]\nlayers:\n" + layers).format() == message


# --- the order of a residual's merge -----------------------------------------------------------------

def test_residual_merge_order(analyze):
    a = analyze("""
input: [4, 8, 8]
layers:
  - residual: {body: [conv: {out: 2, kernel: 1}], merge: concat}
  - residual: {body: [conv: {out: 2, kernel: 1}], merge: concat, order: [input, body]}
  - residual:
      body: [conv: {out: 2, kernel: 1}]
      shortcut: [conv: {out: 3, kernel: 1}]
      merge: concat
      order: [shortcut, body]
""")
    info = {i.name: i for i in a.layers}
    assert info["residual1.concat"].inputs == ("residual1.body.conv1", "input")  # the default: body first
    assert info["residual2.concat"].inputs == ("residual1.concat", "residual2.body.conv1")
    assert info["residual3.concat"].inputs == ("residual3.shortcut.conv1", "residual3.body.conv1")
    assert [info[f"residual{k}.concat"].output[0] for k in (1, 2, 3)] == [2 + 4, 6 + 2, 3 + 2]


def test_residual_merge_order_runs_in_that_order():
    np = pytest.importorskip("numpy")
    from cnncalc.runtime import forward

    net = cnncalc.load("input: [2, 3]\nlayers:\n  - residual: {body: [scale: 10], merge: concat, order: [input, body]}\n")
    x = np.arange(6, dtype=np.float64).reshape(1, 2, 3)
    out = forward(net, x)
    assert np.array_equal(out, np.concatenate([x, 10 * x], axis=1))  # [input, body]: x then 10·x


@pytest.mark.parametrize("order, message", [
    ("[input, body]", "`order` lists the body and the shortcut once each, got ['input', 'body']\n"
                      "  hint: [body, shortcut] (the default) or [shortcut, body]"),
    ("[body]", "`order` lists the body and the shortcut once each, got ['body']\n"
               "  hint: [body, shortcut] (the default) or [shortcut, body]"),
])
def test_residual_order_errors(order, message):
    spec = f"input: [2, 8]\nlayers:\n  - residual: {{body: [relu], shortcut: [relu], merge: concat, order: {order}}}\n"
    assert error_of(spec).format() == "<string>:3:70: error: " + message


def test_densenet_concatenates_input_then_new_features_as_torchvision():
    # torchvision's _DenseBlock: torch.cat([input, new_features], 1), so its weights load as they are
    net = cnncalc.load("densenet121")
    concat = next(n for n in net.nodes if n.name == "denseblock1.denselayer.1.layer.concat")
    assert [net.nodes[j].name if j >= 0 else "input" for j in concat.inputs] == ["pool0", "denseblock1.denselayer.1.layer.body.conv2"]


# --- automatic names read as words -----------------------------------------------------------------------

def test_automatic_names_of_types_ending_in_a_digit(analyze):
    a = analyze("""
input: [2, 8]
blocks:
  conv3: [conv: {out: 2, kernel: 3, padding: 1}]
layers:
  - relu6
  - relu6
  - conv3
  - conv3
  - relu
""")
    assert [i.name for i in a.layers] == ["relu6_1", "relu6_2", "conv3_1.conv1", "conv3_2.conv1", "relu1"]
    assert "stem.relu6_1" in names(cnncalc.load("mobilenet_v2"))
