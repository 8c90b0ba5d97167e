"""Every class of bad spec: the exact message, its FILE:LINE:COL, exit code 2, and never a traceback.

Specs are fed on standard input (`cnncalc summary -`), so locations read `<stdin>:LINE:COL` (1-based).
"""
import json
import time

import pytest

import cnncalc
from cnncalc.spec.expand import MAX_LAYERS
from cnncalc.spec.source import MAX_BYTES

CASES = {
    "yaml-syntax": (  # PyYAML notices the missing '}' at the end of input: shown at the end of the last line
        "input: [3, 8, 8]\nlayers:\n  - conv: {out: 8, kernel: 3\n  - relu\n",
        "<stdin>:4:9: error: YAML syntax: did not find expected ',' or '}'"),
    "unknown-layer": (
        "input: [3, 8, 8]\nlayers:\n  - conv: {out: 8, kernel: 3}\n  - reluu\n",
        "<stdin>:4:5: error: unknown layer type or block 'reluu'\n"
        "  hint: did you mean 'relu' or 'relu6' or 'gelu'?"),
    "unknown-argument": (
        "input: [3, 8, 8]\nlayers:\n  - conv: {out: 8, kernal: 3}\n",
        "<stdin>:3:20: error: 'conv' has no argument 'kernal'\n  hint: did you mean 'kernel'?"),
    "unknown-top-level-key": (
        "input: [3, 8, 8]\nlayer: [relu]\n",
        "<stdin>:2:1: error: unknown top-level key 'layer'\n  hint: did you mean 'layers'?"),
    "missing-argument": (
        "input: [3, 8, 8]\nlayers:\n  - conv: {kernel: 3}\n",
        "<stdin>:3:5: error: 'conv' needs argument 'out'\n"
        "  hint: conv: {out, kernel, stride=1, padding=0, dilation=1, groups=1, bias=True}"),
    "bool-for-int": (
        "input: [3, 8, 8]\nlayers:\n  - conv: {out: true, kernel: 3}\n",
        "<stdin>:3:12: error: 'conv' argument 'out' must be a positive integer, got True"),
    "string-for-int": (
        "input: [3, 8, 8]\nlayers:\n  - conv: {out: '8', kernel: 3}\n",
        "<stdin>:3:12: error: 'conv' argument 'out' must be a positive integer, got '8'"),
    "float-for-int": (  # 8 · 1.5 = 12.0 is a float: the hint says how to make it an int
        "input: [3, 8, 8]\nvars: {w: 8}\nlayers:\n  - conv: {out: '${w * 1.5}', kernel: 3}\n",
        "<stdin>:4:12: error: 'conv' argument 'out' must be a positive integer, got 12.0\n"
        "  hint: wrap the expression in int(...) or round(...)"),
    "bad-choice": (
        "input: [3, 8, 8]\nlayers:\n  - upsample: {scale: 2, mode: bilinaer}\n",
        "<stdin>:3:26: error: 'upsample' argument 'mode' must be one of nearest, linear, bilinear, trilinear, "
        "got 'bilinaer'\n  hint: did you mean 'bilinear' or 'linear' or 'trilinear'?"),
    "negative-size": (
        "input: [3, 8, 8]\nlayers:\n  - conv: {out: 8, kernel: -3}\n",
        "<stdin>:3:20: error: 'conv' argument 'kernel' must be a positive integer or a list of 1-3 "
        "(one per spatial axis), got -3"),
    "zero-stride": (
        "input: [3, 8, 8]\nlayers:\n  - conv: {out: 8, kernel: 3, stride: 0}\n",
        "<stdin>:3:31: error: 'conv' argument 'stride' must be a positive integer or a list of 1-3 "
        "(one per spatial axis), got 0"),
    "negative-input": (
        "input: [3, -8, 8]\nlayers:\n  - relu\n",
        "<stdin>:1:8: error: input must be 1 to 4 positive integers ([C], [C, L], [C, H, W] or [C, D, H, W]), "
        "got [3, -8, 8]\n  hint: channels first, no batch: e.g. input: [3, 224, 224]"),
    "absurd-input": (  # 3·10⁸·10⁸ = 3·10¹⁶ elements, over the 2⁴⁸ ≈ 2.8·10¹⁴ limit: refused at `input:` itself
        "input: [3, 100000000, 100000000]\nlayers:\n  - relu\n",
        "<stdin>:1:8: error: input [3, 100000000, 100000000] is absurdly large (limit 281,474,976,710,656 elements)"),
    "dropout-above-one": (
        "input: [3, 8, 8]\nlayers:\n  - dropout: 1.5\n",
        "<stdin>:3:14: error: dropout probability must be between 0 and 1, got 1.5"),
    "unknown-id": (
        "input: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 3, id: stem}\n  - relu: {from: stme}\n",
        "<stdin>:4:18: error: unknown id 'stme' in `from:`\n  hint: did you mean 'stem'?"),
    "duplicate-id": (
        "input: [3, 8, 8]\nlayers:\n  - relu: {id: a}\n  - relu: {id: a}\n",
        "<stdin>:4:16: error: duplicate id 'a' (first at line 3)"),
    "cycle": (
        "input: [3, 8, 8]\nlayers:\n  - relu: {id: a, from: b}\n  - relu: {id: b, from: a}\n",
        "<stdin>:3:5: error: the graph has a cycle: relu1 → relu2 → relu1\n"
        "  hint: `from:` must not lead back to the layer itself"),
    "self-loop": (
        "input: [3, 8, 8]\nlayers:\n  - relu: {id: a, from: a}\n",
        "<stdin>:3:5: error: the graph has a cycle: relu1 → relu1\n"
        "  hint: `from:` must not lead back to the layer itself"),
    "merge-without-inputs": (
        "input: [3, 8, 8]\nlayers:\n  - add\n",
        "<stdin>:3:5: error: 'add' merges 2 or more inputs; list them with `from: [a, b]`\n"
        "  hint: give the layers to merge an `id:` each"),
    "undefined-variable": (  # the column points into the string, at the name
        "input: [3, 8, 8]\nvars: {width: 8}\nlayers:\n  - conv: {out: $widht, kernel: 3}\n",
        "<stdin>:4:18: error: undefined variable 'widht'\n  hint: did you mean 'width'?"),
    "bad-expression": (  # the column points at the '*' after '+' (inside the quotes)
        "input: [3, 8, 8]\nlayers:\n  - conv: {out: '${2 +* 3}', kernel: 3}\n",
        "<stdin>:3:23: error: expected an expression"),
    "block-missing-argument": (
        "input: [3, 8, 8]\nblocks:\n  b:\n    args: {out: null}\n    layers: [conv: {out: $out, kernel: 1}]\n"
        "layers:\n  - b: {}\n",
        "<stdin>:7:5: error: block 'b' needs argument 'out'\n  hint: write `- b: {out: …}`"),
    "block-recursion": (
        "input: [3, 8, 8]\nblocks:\n  b: [b]\nlayers: [b]\n",
        "<stdin>:3:7: error: block 'b' uses itself: b → b"),
    "duplicate-key": (
        "input: [3, 8, 8]\nlayers:\n  - conv: {out: 8, kernel: 3, out: 4}\n",
        "<stdin>:3:31: error: duplicate key 'out' (first defined at line 3)"),
    "python-tag": (
        "input: !!python/object/apply:os.system ['echo hi']\nlayers: [relu]\n",
        "<stdin>:1:8: error: unsupported YAML tag 'tag:yaml.org,2002:python/object/apply:os.system'"),
    "merge-key": (
        "base: &b {out: 8, kernel: 3}\ninput: [3, 8, 8]\nlayers:\n  - conv: {<<: *b}\n",
        "<stdin>:4:12: error: YAML merge keys (<<) are not supported\n"
        "  hint: use `blocks:` with `args:` to reuse layers"),
    "deep-nesting": (
        "input: [3, 8, 8]\nlayers: " + "[" * 100 + "]" * 100 + "\n",
        "<stdin>:2:72: error: YAML nesting deeper than 64 levels"),
    "huge-repeat": (
        "input: [3, 8, 8]\nlayers:\n  - repeat: 1000000\n    layers: [relu]\n",
        "<stdin>:3:13: error: `repeat` takes a count from 0 to 10,000, got 1000000"),
    "empty-file": ("", "<stdin>:1:1: error: spec is empty\n  hint: a spec needs at least `input:` and `layers:`"),
    "only-a-comment": ("# nothing\n",
                       "<stdin>:1:1: error: spec is empty\n  hint: a spec needs at least `input:` and `layers:`"),
    "list-root": ("- relu\n- conv\n", "<stdin>:1:1: error: a spec is a mapping with `input:` and `layers:`"),
    "scalar-root": ("hello\n", "<stdin>:1:1: error: a spec is a mapping with `input:` and `layers:`"),
    "no-layers": ("input: [3, 8, 8]\n",
                  "<stdin>:1:1: error: spec has no `layers:`\n  hint: a spec needs at least `input:` and `layers:`"),
}


@pytest.mark.parametrize("spec, message", CASES.values(), ids=CASES.keys())
def test_spec_error(cli, spec, message):
    result = cli("summary", "-", input=spec)
    assert result.exit_code == 2
    assert result.stderr == message + "\n"
    assert result.stdout == ""  # expansion failed: no table at all
    assert isinstance(result.exception, SystemExit)  # a clean exit, not an escaped exception


# Shape errors are found while analysing: the rows before the failing layer are still printed.
SHAPE_CASES = {
    "output-shrinks-below-one": (  # 8 → 6 → 3, then a 5×5 kernel: (3 + 0 − 5)/1 + 1 = −1
        "input: [3, 8, 8]\nlayers:\n  - conv: {out: 8, kernel: 3}\n  - maxpool: 2\n  - conv: {out: 8, kernel: 5}\n",
        "<stdin>:5:20: error: 'conv' output would be empty along H: (N + 2P − F) / S + 1 = (3 + 2·0 − 5) / 1 + 1 = -1\n"
        "  hint: use a smaller kernel or stride, add padding, or feed a larger input\n  input: maxpool1 [8, 3, 3]",
        ["conv1", "maxpool1"]),
    "groups-do-not-divide": (
        "input: [6, 8, 8]\nlayers:\n  - relu\n  - conv: {out: 8, kernel: 3, groups: 4}\n",
        "<stdin>:4:31: error: 'conv' input channels (6) are not divisible by groups (4)\n"
        "  hint: for a depthwise conv set groups to the input channel count and out to a multiple of it\n"
        "  input: relu1 [6, 8, 8]",
        ["relu1"]),
    "residual-shape-mismatch": (
        "input: [3, 8, 8]\nlayers:\n  - residual:\n      body:\n        - conv: {out: 8, kernel: 3, padding: 1}\n",
        "<stdin>:3:5: error: 'add' needs inputs of the same shape, got [8, 8, 8], [3, 8, 8]\n"
        "  hint: a residual shortcut needs a 1×1 conv (with the block's stride) when the shape changes\n"
        "  input: residual1.body.conv1 [8, 8, 8], input [3, 8, 8]",
        ["residual1.body.conv1"]),
    "concat-mismatch": (
        "input: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 3, id: a}\n  - concat: {from: [a, input]}\n",
        "<stdin>:4:5: error: 'concat' needs inputs that differ only in channels, got [4, 6, 6], [3, 8, 8]\n"
        "  hint: check the strides and paddings of the branches\n  input: conv1 [4, 6, 6], input [3, 8, 8]",
        ["conv1"]),
    "dense-on-unflattened-input": (
        "input: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 3}\n  - dense: 10\n",
        "<stdin>:4:12: error: 'dense' needs a flat input, got [4, 6, 6]\n"
        "  hint: add `- flatten` before it (or `- global_avgpool` then `- flatten`)\n  input: conv1 [4, 6, 6]",
        ["conv1"]),
    "per-axis-list-too-long": (
        "input: [3, 8, 8]\nlayers:\n  - conv: {out: 8, kernel: [3, 3, 3]}\n",
        "<stdin>:3:20: error: 'conv' argument 'kernel' has 3 entries but the input has 2 spatial axes (H, W)\n"
        "  hint: input: input [3, 8, 8]",
        []),
    "pool-padding-over-half": (
        "input: [3, 8, 8]\nlayers:\n  - maxpool: {kernel: 2, padding: 2}\n",
        "<stdin>:3:26: error: 'maxpool' padding 2 is more than half the window 2\n"
        "  hint: PyTorch refuses this: pad at most kernel // 2\n  input: input [3, 8, 8]",
        []),
    "absurd-tensor": (  # 8·10⁵ = 800,000 per axis is allowed; 8·10¹⁰ squared is 1.9·10²² elements
        "input: [3, 8, 8]\nlayers:\n  - upsample: {scale: 100000}\n  - upsample: {scale: 100000}\n",
        "<stdin>:4:5: error: 'upsample' output shape [3, 80000000000, 80000000000] is absurdly large "
        "(limit 281,474,976,710,656 elements)\n  hint: input: upsample1 [3, 800000, 800000]",
        ["upsample1"]),
}


@pytest.mark.parametrize("spec, message, rows", SHAPE_CASES.values(), ids=SHAPE_CASES.keys())
def test_shape_error_prints_rows_before_it(cli, spec, message, rows):
    result = cli("summary", "-", input=spec)
    assert result.exit_code == 2
    assert result.stderr == message + "\n"
    assert "Totals" not in result.stdout
    for name in rows:  # the table labels a row relative to its container: its last part at least
        assert name.rsplit(".", 1)[-1] in result.stdout
    obj = json.loads(cli("summary", "-", "--format", "json", input=spec).stdout)
    assert [layer["name"] for layer in obj["layers"]] == rows
    assert obj["totals"] is None
    first = message.split(": error: ", 1)
    assert obj["error"] == {"message": first[1].split("\n")[0], "location": first[0]}


def test_location_names_the_file(cli, tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("input: [3, 8, 8]\nlayers:\n  - conv: {out: 8, kernel: 3}\n  - reluu\n")
    result = cli("summary", str(spec))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{spec}:4:5: error: unknown layer type or block 'reluu'\n")


def test_one_bad_spec_does_not_hide_the_others(cli, tmp_path):
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text("input: [3, 8, 8]\nlayers: [relu]\n")
    bad.write_text("input: [3, 8, 8]\nlayers: [reluu]\n")
    result = cli("summary", str(bad), str(good), "--format", "csv")
    assert result.exit_code == 2
    assert result.stdout.splitlines()[1].startswith("good,relu1,relu,3x8x8,")
    assert result.stderr.startswith(f"{bad}:2:10: error: unknown layer type or block 'reluu'")


# --- hostile input: refused quickly, with a located message ------------------------------------------------

BOMB = "input: [3, 8, 8]\nvars:\n  a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
    f"  {b}: &{b} [{', '.join(['*' + a] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi")) + "layers: [relu]\n"


def test_alias_bomb_is_refused_fast():
    # 9 levels of 9 aliases would expand to 9⁹ ≈ 387 million items; sharing keeps parsing linear
    start = time.perf_counter()
    with pytest.raises(cnncalc.SpecError, match=r"value has more than 4,096 elements"):
        cnncalc.load(BOMB)
    assert time.perf_counter() - start < 2  # a guard against exponential blow-up, not a benchmark


def test_alias_bomb_in_an_unused_key_is_refused_before_use():
    text = BOMB.replace("vars:\n", "junk:\n")
    with pytest.raises(cnncalc.SpecError) as info:
        cnncalc.load(text)
    assert info.value.format() == "<string>:2:1: error: unknown top-level key 'junk'\n" \
                                  "  hint: top-level keys: name, description, input, vars, blocks, layers, lint"


def test_expanded_layer_count_is_bounded():
    text = "input: [3, 8, 8]\nlayers:\n  - repeat: 10000\n    layers:\n      - repeat: 10000\n        layers: [relu]\n"
    with pytest.raises(cnncalc.SpecError) as info:
        cnncalc.load(text)
    assert info.value.message == f"spec expands to more than {MAX_LAYERS:,} layers"
    assert (info.value.loc.line, info.value.loc.col) == (6, 18)


def test_oversized_file_is_refused(cli, tmp_path):
    spec = tmp_path / "big.yaml"
    spec.write_text("input: [3, 8, 8]\nlayers: [relu]\n#" + "x" * MAX_BYTES + "\n")
    result = cli("summary", str(spec))
    assert result.exit_code == 2
    assert result.stderr == f"{spec}:1:1: error: spec is {spec.stat().st_size:,} bytes; the limit is {MAX_BYTES:,}\n"


def test_spec_text_is_never_run_as_code(cli, tmp_path):
    marker = tmp_path / "pwned"
    result = cli("summary", "-", input=f"input: [3, 8, 8]\nvars: {{x: \"${{__import__('os').system('touch {marker}')}}\"}}\n"
                                        "layers: [relu]\n")
    assert result.exit_code == 2 and not marker.exists()
    assert result.stderr.startswith("<stdin>:2:")
