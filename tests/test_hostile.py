"""Hostile input found by the fuzz campaign of the hostile-input issue: each class gets a located error and exit 2,
never a traceback or an internal error. (The export injection class is in test_export.py.)
"""
from __future__ import annotations

import re
import subprocess
import sys

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

LOCATED = re.compile(r"^(<stdin>|\S+):(\d+):(\d+): error: ", re.M)


def spec(layers: str, vars: str = "") -> str:
    return (f"vars: {{{vars}}}\n" if vars else "") + "input: [3, 8, 8]\nlayers:\n" + layers


def assert_located(result, line: int, message: str):
    assert result.exit_code == 2, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    found = LOCATED.search(result.stderr)
    assert found and int(found.group(2)) == line, result.stderr
    assert message in result.stderr


@pytest.mark.parametrize("layer, message", [
    ("  - dense: !!int abc\n", "'abc' is not a valid int"),
    ("  - dense: !!int ''\n", "'' is not a valid int"),
    ("  - conv: {out: 4, kernel: 3, bias: !!bool maybe}\n", "'maybe' is not a valid bool"),
    ("  - dense: !!float x\n", "'x' is not a valid float"),
])
def test_explicit_tags_with_bad_values(cli, layer, message):
    assert_located(cli("summary", "-", input=spec(layer)), 3, message)


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
@pytest.mark.parametrize("use, message", [
    ("  - dense: ${floor(a)}\n", "floor() expects a finite number, got"),
    ("  - dense: ${round(a)}\n", "round() expects a finite number, got"),
    ("  - scale: $a\n", "'scale' argument 'factor' must be a finite number of magnitude at most 1e38"),
    ("  - leaky_relu: $a\n", "'leaky_relu' argument 'slope' must be a finite number of magnitude at most 1e38"),
])
def test_nan_and_infinity_never_reach_the_arithmetic(cli, value, use, message):
    assert_located(cli("summary", "-", input=spec(use, f"a: {value}")), 4, message)


def test_numbers_beyond_float32_are_refused_at_analysis(cli):
    # the runtime computes in float32: a factor it cannot hold is refused where it is written, not as a failed verify
    assert_located(cli("verify", "-", input=spec("  - scale: 1.0e+300\n")), 3, "magnitude at most 1e38, got 1e+300")
    assert cli("summary", "-", input=spec("  - scale: 1.0e+30\n")).exit_code == 0


@pytest.mark.parametrize("entry, hint", [
    ("  - repeat\n", "`- repeat: N` with `layers:`"),
    ("  - residual\n", "`- residual: {body: [...]}`"),
    ("  - parallel\n", "`- parallel: {branches:"),
    ("  - residual: 3\n", "`- residual: {body: [...]}`"),
    ("  - parallel: [relu]\n", "`- parallel: {branches:"),
])
def test_containers_without_their_parts(cli, entry, hint):
    result = cli("summary", "-", input=spec(entry))
    assert_located(result, 3, "needs a mapping of its parts")
    assert hint in result.stderr


def test_verify_refuses_a_negative_seed_as_usage(cli):
    result = cli("verify", "lenet5", "--seed", "-1")
    assert result.exit_code == 2 and "Invalid value for '--seed': -1 is not in the range x>=0." in result.stderr


def test_a_deeply_nested_set_value_is_refused_and_its_echo_is_bounded(cli):
    value = "[" * 2000 + "]" * 2000
    result = cli("summary", "lenet5", "--set", f"classes={value}")
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert "Invalid value for --set: YAML nesting deeper than 64 levels" in result.stderr
    assert len(result.stderr) < 1_000  # the 4,008-character argument is shown as a window, not echoed whole


@pytest.mark.parametrize("args", [("--set", "classes=!!int x"), ("resnet50@classes=!!int x",)])
def test_bad_tags_in_option_values(cli, args):
    command = ("summary", "lenet5", *args) if args[0] == "--set" else ("compare", *args)
    result = cli(*command)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert "'x' is not a valid int" in result.stderr


def test_non_utf8_standard_input_is_a_located_error():
    data = b"input: [3, 8, 8]\nlayers:\n  - relu\n\xff\xfe\n"
    out = subprocess.run([sys.executable, "-m", "cnncalc", "summary", "-"], input=data, capture_output=True)
    assert out.returncode == 2
    assert out.stderr.decode() == "<stdin>:1:1: error: spec is not UTF-8 text (invalid start byte)\n"


def test_an_infinite_budget_is_a_located_error(cli, tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text("input: [3, 8, 8]\nlint: {budgets: {params: .inf}}\nlayers:\n  - relu\n")
    result = cli("lint", str(path))
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert f"{path}:2:26: error: `lint.budgets.params`: inf is not a whole, non-negative number" in result.stderr


# -- work and size: tiny files that used to run away ------------------------------------------------------------------

def doubling_vars(n: int) -> str:
    # v1 = "$v0$v0", v2 = "$v1$v1", …: 2**n characters from a file of n lines
    lines = ["vars:", "  v0: ab"] + [f"  v{i}: '$v{i - 1}$v{i - 1}'" for i in range(1, n + 1)]
    return "\n".join(lines) + f"\ninput: [3, 8, 8]\nlayers:\n  - relu: {{name: $v{n}}}\n"


def test_substitution_cannot_double_its_way_out_of_memory(cli):
    # 2**35 characters once exhausted the memory; the bound is 10,000 characters per string
    result = cli("summary", "-", input=doubling_vars(35))
    assert_located(result, 15, "value too large")
    assert "text built by substitution is limited to 10,000 characters" in result.stderr
    assert cli("summary", "-", input=doubling_vars(11)).exit_code == 0  # 4,096 characters: fine


@pytest.mark.parametrize("expression", ["[[[0]*1000]*1000]*1000", "[[0]*1000]*1000", "[[0] * 999, [0]]"])
def test_lists_are_bounded_by_everything_in_them(cli, expression):
    # nested rows shared by Python cost nothing to build but a billion elements to print or check
    result = cli("summary", "-", input=spec(f"  - dense: '${{{expression}}}'\n"))
    assert_located(result, 3, "value too large")
    assert "strings and lists built by expressions are limited to 1000 items" in result.stderr


def test_an_error_message_never_writes_out_a_huge_value():
    from cnncalc.errors import shown

    rows = [[[0] * 1000] * 1000] * 1000  # a billion elements; repr would never finish
    text = shown(rows)
    assert len(text) < 220 and text.startswith("[[[0, 0, 0")  # 200 characters and a note of the length
    assert shown(10 ** 5000) == "<an integer of 16,610 bits>"
    assert shown([1, 2, 3]) == "[1, 2, 3]" and shown("x" * 300).endswith("… (302 characters)")


def test_nested_repeats_that_make_no_layers_are_bounded_in_work(cli):
    # 10,000 × 10,000 empty iterations never reached the layer limit: expansion work itself is counted
    text = "input: [3, 8, 8]\nlayers:\n  - repeat: 10000\n    layers:\n      - repeat: 10000\n        layers: []\n  - relu\n"
    result = cli("summary", "-", input=text)
    assert_located(result, 5, "expanding the spec takes more than 250,000 steps")
    assert "repeats nested inside repeats multiply" in result.stderr


# -- every bound in SECURITY.md holds and says so (those not tested elsewhere; SECURITY.md names each test) ------------

def test_block_nesting_is_bounded(cli):
    blocks = "\n".join(f"  b{i}:\n    layers: [b{i + 1}]" for i in range(40)) + "\n  b40:\n    layers: [relu]"
    result = cli("summary", "-", input=f"input: [3, 8, 8]\nblocks:\n{blocks}\nlayers:\n  - b0\n")
    assert_located(result, 66, "blocks nested deeper than 32")


def test_expression_source_is_bounded(cli):
    result = cli("summary", "-", input=spec("  - dense: '${" + "1+" * 600 + "1}'\n"))
    assert_located(result, 3, "expression longer than 1000 characters")


def test_sweep_grid_is_bounded(cli):
    result = cli("compare", "lenet5", "--sweep", "classes=" + ",".join(map(str, range(1, 40))),
                 "--sweep", "a=" + ",".join(map(str, range(40))))
    assert result.exit_code == 2 and "--sweep grid has 1560 points; at most 1024" in result.stderr


def test_yaml_node_count_is_bounded():
    import cnncalc

    with pytest.raises(cnncalc.SpecError, match=r"spec has more than 1,000,000 YAML nodes") as e:
        cnncalc.load("input: [3, 8, 8]\nvars: {x: [" + "0," * 1_000_001 + "0]}\nlayers: [relu]\n")
    assert e.value.loc.line == 2


@pytest.mark.parametrize("ending", ["", "\n"])
def test_a_syntax_error_at_the_end_points_inside_the_file(cli, ending):
    # the parser reports the end of input on the line after the last: point at the end of the last line instead
    result = cli("summary", "-", input="input: [3, 8, 8]\nlayers:\n  - relu\n  - dense: [" + ending)
    assert result.stderr == "<stdin>:4:13: error: YAML syntax: did not find expected node content\n"


def test_output_is_byte_identical_across_hash_seeds():
    # nothing depends on set or dict ordering of strings: JSON and lint findings are the same under any hash seed
    import os

    def run(seed: str, *args: str) -> str:
        env = {**os.environ, "PYTHONHASHSEED": seed}
        return subprocess.run([sys.executable, "-m", "cnncalc", *args], capture_output=True, text=True, env=env).stdout

    for args in (("summary", "googlenet", "--format", "json"), ("lint", "inception_v3", "--format", "json")):
        first = run("1", *args)
        assert first and run("2", *args) == first == run("12345", *args)


# -- item 9: an expression error points at the column where the bad name is written, whatever the scalar's style ------

def spec_error(text: str):
    """The error `cnncalc` reports for spec `text`, through the library."""
    from cnncalc import load
    from cnncalc.errors import SpecError

    with pytest.raises(SpecError) as caught:
        load(text)
    return caught.value


def written_at(text: str, line: int, col: int) -> str:
    return text.split("\n")[line - 1][col - 1:]


@pytest.mark.parametrize("value", [
    '"${1 +\n      nope}"',            # a double-quoted scalar folded over two lines
    "'${''a'' + nope}'",               # doubled quotes before the name
    '"\\t\\u00e9${nope}"',             # escapes before the name: one character each in the value
    '"${1 + \\\n      nope}"',         # an escaped line break
    ">-\n        ${1 +\n        nope}",  # a folded block scalar
    "|\n        ${1 +\n          nope}",  # a literal block scalar
    "${1 +\n        nope}",            # a plain scalar over two lines
])
def test_expression_errors_point_at_the_name_in_every_scalar_style(value):
    text = f"input: [3, 8, 8]\nlayers:\n  - dense:\n      out: {value}\n"
    error = spec_error(text)
    assert error.message == "undefined variable 'nope'"
    line, col = error.loc.line, error.loc.col
    assert written_at(text, line, col).startswith("nope"), (line, col)


@settings(max_examples=150, deadline=None)
@given(before=st.text(alphabet=st.characters(codec="utf-8", exclude_characters="${}\r", exclude_categories=("Cs",)),
                      max_size=12),
       style=st.sampled_from(['"', "'", None, "|", ">"]), width=st.sampled_from([8, 20, 80]))
def test_located_columns_survive_any_quoting(before, style, width):
    """Whatever text comes before `${nope}` and however PyYAML chooses to write it (escapes, folding, block
    styles), the error's line and column are where `nope` is written."""
    import yaml

    value = before + " ${nope}"
    text = yaml.safe_dump({"input": [3, 8, 8], "layers": [{"dense": {"out": value}}]}, default_style=style,
                          width=width, allow_unicode=bool(len(before) % 2), sort_keys=False)
    error = spec_error(text)
    assume("'nope'" in error.message)  # the text before may be an error of its own (a lone `$`): not this property
    line, col = error.loc.line, error.loc.col
    assert written_at(text, line, col).startswith("nope"), (text, line, col)


def test_a_raw_newline_in_a_value_is_not_echoed_into_the_message(cli):
    result = cli("summary", "-", input='input: [3, 8, 8]\nlayers:\n  - "re\\nlu"\n')
    assert_located(result, 3, "unknown layer type or block 're\\nlu'")
    assert "\nlu" not in result.stderr


def test_a_long_chain_of_forward_references_does_not_recurse(cli):
    """Item 7: ids that refer to ids defined later, through containers that make no layers, 5,000 deep (Python's
    recursion limit is 1,000): resolved with a loop, every reference ending at the one layer."""
    n = 5000
    entries = "".join(f"  - repeat: 0\n    layers: [relu]\n    id: x{i}\n    from: x{i + 1}\n" for i in range(n))
    text = "input: [3, 8, 8]\nlayers:\n" + entries + f"  - relu: null\n    id: x{n}\n    from: input\n"
    result = cli("summary", "-", "--format", "csv", input=text)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("\n") == 2  # the header and the one relu
