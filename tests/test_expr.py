"""Tests for cnncalc.expr: the safe expression language used inside spec strings."""
import math
import re
import time
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from cnncalc.spec import expr as expr_module
from cnncalc.spec.expr import ExprError, Lazy, Record, evaluate, has_reference, substitute


def error_of(fn, *args) -> ExprError:
    with pytest.raises(ExprError) as info:
        fn(*args)
    return info.value


# --- precedence and semantics: every expected value is what Python gives for the same text ---

@pytest.mark.parametrize("source, expected", [
    ("2 + 3 * 4", 14),                # Python: 2 + 3*4
    ("(2 + 3) * 4", 20),              # Python: 5 * 4
    ("10 - 3 - 2", 5),                # Python: left-assoc (10-3)-2
    ("100 / 10 / 5", 2.0),            # Python: (100/10)/5, true division -> float
    ("7 / 2", 3.5),                   # Python: true division
    ("7 // 2", 3),                    # Python: floor division
    ("-7 // 2", -4),                  # Python: floors toward -inf
    ("-3 % 2", 1),                    # Python: sign of the divisor
    ("7 % -3", -2),                   # Python: sign of the divisor
    ("-7 // 2.0", -4.0),              # Python: float floor division
    ("2 * 3 % 4", 2),                 # Python: (2*3) % 4, same level left-assoc
    ("2 ** 3 ** 2", 512),             # Python: 2 ** (3**2), right-assoc
    ("-2 ** 2", -4),                  # Python: -(2**2)
    ("(-2) ** 2", 4),                 # Python: parenthesised base
    ("2 ** -1", 0.5),                 # Python: unary minus in the exponent
    ("-2 ** -2", -0.25),              # Python: -(2 ** -2)
    ("2 * -3", -6),                   # Python: unary binds tighter than *
    ("- - 3", 3),                     # Python: -(-3)
    ("+-3", -3),                      # Python: +(-3)
    ("2 ** 0.5", 1.4142135623730951),  # Python: float power
    ("1_000 + 1e-3", 1000.001),       # Python: underscores and exponents in literals
    (".5 + 1.", 1.5),                 # Python: leading/trailing dot floats
    ("True + 1", 2),                  # Python: bools are ints in arithmetic
    ("1 + 2 < 4", True),              # Python: arithmetic before comparison
    ("1 < 2 < 3", True),              # Python: chained 1<2 and 2<3
    ("3 > 2 > 2", False),             # Python: chained 3>2 and 2>2
    ("1 == 1.0", True),               # Python: numeric equality across types
    ("'ab' < 'b'", True),             # Python: string ordering
    ("not 1 == 2", True),             # Python: not (1 == 2)
    ("not 0 and 0", 0),               # Python: (not 0) and 0 -> 0
    ("1 or 0 and 0", 1),              # Python: 1 or (0 and 0)
    ("0 or 2", 2),                    # Python: `or` returns an operand
    ("0 and 2", 0),                   # Python: `and` returns an operand
    ("1 + 1 if 0 else 5", 5),         # Python: conditional has the lowest precedence
    ("1 if 0 else 2 if 1 else 3", 2),  # Python: 1 if 0 else (2 if 1 else 3)
    ("true and False", False),        # YAML-style and Python-style booleans
    ("'a' + \"b\"", "ab"),            # Python: both quote styles
    ("'ab' * 2", "abab"),             # Python: string repetition
    ("'a' * -5", ""),                 # Python: negative repetition is empty
    ("[1, 2] + [3]", [1, 2, 3]),      # Python: list concatenation
    ("[1, 2,]", [1, 2]),              # Python: trailing comma
    ("[]", []),                       # Python: empty list
])
def test_precedence_and_semantics(source, expected):
    result = evaluate(source, {})
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize("source, expected", [
    ("min(3, 1, 2)", 1),              # Python: min(3, 1, 2)
    ("max(1, 2.5)", 2.5),             # Python: max(1, 2.5)
    ("floor(-2.5)", -3),              # Python: math.floor -> int
    ("ceil(2.1)", 3),                 # Python: math.ceil -> int
    ("round(2.5)", 2),                # Python: banker's rounding -> int
    ("round(3.14159, 2)", 3.14),      # Python: round(3.14159, 2)
    ("round(1234, -2)", 1200),        # Python: round(1234, -2)
    ("int(-2.7)", -2),                # Python: int truncates toward zero
    ("int(True)", 1),                 # Python: int(True)
    ("float(3)", 3.0),                # Python: float(3)
    ("abs(-4)", 4),                   # Python: abs(-4)
    ("len([1, 2, 3])", 3),            # Python: len of a list
    ("len('abc')", 3),                # Python: len of a str
    ("max(1, 2,)", 2),                # Python: trailing comma in a call
    ("log(8, 2)", 3.0),               # Python: math.log(8, 2) == 3.0 exactly
    ("log(1)", 0.0),                  # ln 1 = 0
    ("exp(0)", 1.0),                  # e**0 = 1
    ("sqrt(16)", 4.0),                # Python: math.sqrt(16) -> float
    ("sqrt(2) ** 2 > 1.99", True),    # 2.0000000000000004
    ("[10, 20, 30][1]", 20),          # Python: list indexing
    ("[10, 20, 30][-1]", 30),         # Python: negative index from the end
    ("'abc'[2]", "c"),                # Python: string indexing
    ("[[1, 2], [3, 4]][1][0]", 3),    # Python: nested lists
    ("2 * [1, 4][1] ** 2", 32),       # Python: indexing binds tighter than ** and *
])
def test_functions(source, expected):
    result = evaluate(source, {})
    assert result == expected
    assert type(result) is type(expected)


def test_variables_and_short_circuit():
    env = {"width": 64, "alpha": 0.5, "k": 3, "g": 0, "c": 32}
    assert evaluate("width * 2", env) == 128
    assert evaluate("[1, k]", env) == [1, 3]            # kernel per axis
    assert evaluate("c // g if g else c", env) == 32     # dead branch not evaluated (no division by zero)
    assert evaluate("g and undefined_name", env) == 0   # `and` short-circuits like Python
    assert evaluate("1 if true else 1 / 0", env) == 1


# --- MobileNet channel rounding -------------------------------------------------------------

def make_divisible(v, divisor=8, min_value=None):
    """torchvision.models._utils._make_divisible, verbatim."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:  # make sure that round down does not go down by more than 10%
        new_v += divisor
    return new_v


SHORT = "${max(8, int(c * alpha + 4) // 8 * 8)}"
FULL = ("${max(8, int(c * alpha + 4) // 8 * 8)"
        " + (8 if max(8, int(c * alpha + 4) // 8 * 8) < 0.9 * c * alpha else 0)}")


@pytest.mark.parametrize("c, alpha, expected", [
    (32, 0.5, 16),    # 32*0.5 = 16.0; int(20.0) = 20; 20 // 8 * 8 = 16; max(8, 16) = 16
    (16, 0.25, 8),    # 16*0.25 = 4.0; int(8.0) = 8; 8 // 8 * 8 = 8; max(8, 8) = 8
    (16, 0.35, 8),    # 5.6; int(9.6) = 9; 9 // 8 * 8 = 8; max(8, 8) = 8
    (96, 0.75, 72),   # 72.0; int(76.0) = 76; 76 // 8 * 8 = 72
    (320, 1.4, 448),  # 448.0; int(452.0) = 452; 452 // 8 * 8 = 448
    (1280, 1.0, 1280),
])
def test_mobilenet_rounding(c, alpha, expected):
    value = substitute(SHORT, {"c": c, "alpha": alpha})
    assert value == expected and type(value) is int
    assert value == make_divisible(c * alpha, 8)


def test_mobilenet_short_form_misses_torchvision_10_percent_rule():
    # The short form drops torchvision's "if new_v < 0.9 * v: new_v += 8" and then disagrees:
    # 32*0.35 = 11.2; int(15.2) = 15; 15 // 8 * 8 = 8, but 8 < 0.9*11.2 = 10.08 so torchvision says 16.
    assert substitute(SHORT, {"c": 32, "alpha": 0.35}) == 8
    assert make_divisible(32 * 0.35) == 16
    # 24*0.75 = 18.0; int(22.0) // 8 * 8 = 16, but 16 < 16.2 so torchvision says 24.
    assert substitute(SHORT, {"c": 24, "alpha": 0.75}) == 16
    assert make_divisible(24 * 0.75) == 24
    # The full rule is expressible and matches torchvision over the MobileNetV2 widths.
    for c in (16, 24, 32, 64, 96, 160, 320, 1280):
        for alpha in (0.25, 0.35, 0.5, 0.75, 1.0, 1.3, 1.4):
            assert substitute(FULL, {"c": c, "alpha": alpha}) == make_divisible(c * alpha), (c, alpha)


def test_conditional_stride():
    spec = "${2 if i == 0 else 1}"
    assert substitute(spec, {"i": 0}) == 2   # first block of a stage downsamples
    assert substitute(spec, {"i": 3}) == 1


# --- substitute forms ---------------------------------------------------------------------------

ENV = {"width": 64, "k": [1, 3], "flag": True, "ratio": 0.25, "act": "relu", "i": 2, "j": 3}


@pytest.mark.parametrize("text, expected", [
    ("$width", 64),                     # whole-string variable keeps its type
    ("$k", [1, 3]),                     # ...a list stays a list
    ("$flag", True),
    ("$ratio", 0.25),
    ("$act", "relu"),
    ("${width * 2}", 128),              # whole-string expression keeps its type
    ("${ width / 2 }", 32.0),
    ("${[1, i]}", [1, 2]),
    ("${act}", "relu"),
    ("stage${i}", "stage2"),            # interpolation yields a str
    ("stage$i", "stage2"),
    ("${i}_${j}", "2_3"),               # two references: not a whole-string value
    (" $width", " 64"),
    ("r=${ratio}", "r=0.25"),           # floats formatted with repr
    ("x${1 / 3}", "x0.3333333333333333"),
    ("k=$k", "k=[1, 3]"),
    ("$$", "$"),                        # escape
    ("$$width", "$width"),
    ("cost: $$5", "cost: $5"),
    ("$5 and a $ sign$", "$5 and a $ sign$"),  # a '$' not starting a reference stays literal
    ("${'}'}", "}"),                    # a brace inside a string literal does not close ${
    ("plain text", "plain text"),
])
def test_substitute_forms(text, expected):
    result = substitute(text, ENV)
    assert result == expected
    assert type(result) is type(expected)


def test_substitute_without_dollar_returns_the_same_object():
    text = "conv3x3"
    assert substitute(text, ENV) is text


@pytest.mark.parametrize("text, expected", [
    ("$w", True), ("${1}", True), ("a${x}b", True), ("$$", True), ("x_$_y", True),
    ("abc", False), ("$5", False), ("a $ b", False), ("", False), ("$", False),
])
def test_has_reference(text, expected):
    assert has_reference(text) is expected


@given(st.text(alphabet="$${}ab5 _", max_size=20))
def test_strings_without_reference_pass_through(text):
    # the loader may skip substitute() whenever has_reference() is False
    if not has_reference(text):
        assert substitute(text, {}) == text


# --- errors: message, offset and hint are part of the interface --------------------------------

@pytest.mark.parametrize("fn, text, env, message, offset, hint", [
    # undefined variables
    (substitute, "${widht * 2}", {"width": 64}, "undefined variable 'widht'", 2, "did you mean 'width'?"),
    (substitute, "conv_$widht", {"width": 64}, "undefined variable 'widht'", 6, "did you mean 'width'?"),
    (evaluate, "zzz + 1", {"a": 1, "b": 2, "c": 3}, "undefined variable 'zzz'", 0, "defined variables: a, b, c"),
    (evaluate, "x", {}, "undefined variable 'x'", 0, "no variables are defined"),
    (evaluate, "max + 1", {}, "undefined variable 'max'", 0, "'max' is a function: call it as max(...)"),
    # unknown functions
    (evaluate, "1 + mx(1, 2)", {}, "unknown function 'mx'", 4, "did you mean 'max'?"),
    (evaluate, "cbrt(4)", {}, "unknown function 'cbrt'", 0,
     "available functions: abs, ceil, exp, float, floor, int, len, log, max, min, round, sqrt"),
    # syntax
    (evaluate, "(1 + 2", {}, "expected ')'", 6, None),
    (evaluate, "max(1 2)", {}, "expected ')'", 6, None),
    (evaluate, "[1, 2", {}, "expected ']'", 5, None),
    (evaluate, "1 if x", {}, "expected 'else'", 6, None),
    (evaluate, "2 @ 3", {}, "unexpected character '@'", 2, None),
    (evaluate, "a = 1", {}, "unexpected character '='", 2, "use '==' to compare"),
    (evaluate, "x.y", {"x": [1]}, "'.y' reads a field of a record, and this is a list", 2,
     "the only record is `in`, the input's shape: in.channels, in.size, in.shape"),
    (evaluate, "x.", {"x": [1]}, "expected a field name after '.'", 2, None),
    # list indexing: Python's rules, errors at the index (or at '[' when the value cannot be indexed)
    (evaluate, "w[3]", {"w": [1, 2, 3]}, "index 3 is out of range for a list of 3 items", 2,
     "indices run from 0 to 2 (or -3 to -1 from the end)"),
    (evaluate, "w[-4]", {"w": [1, 2, 3]}, "index -4 is out of range for a list of 3 items", 2,
     "indices run from 0 to 2 (or -3 to -1 from the end)"),
    (evaluate, "[][0]", {}, "index 0 is out of range for a list of 0 items", 3, None),
    (evaluate, "w[1.0]", {"w": [1, 2]}, "an index is an integer, got float", 2, "use int(...) or // to make one"),
    (evaluate, "w[true]", {"w": [1, 2]}, "an index is an integer, got bool", 2, "use int(...) or // to make one"),
    (evaluate, "1 + x[0]", {"x": 5}, "only lists and strings can be indexed, not int", 5, None),
    (evaluate, "w[0", {"w": [1]}, "expected ']'", 3, None),
    # log, exp, sqrt: math's domain errors and overflow become located errors, never NaN or inf
    (evaluate, "1 + log(0)", {}, "log(0) is undefined", 4, "log() needs a positive number (and a positive base other than 1)"),
    (evaluate, "log(8, 1)", {}, "log(8, 1) is undefined", 0, "log() needs a positive number (and a positive base other than 1)"),
    (evaluate, "log(-1.5)", {}, "log(-1.5) is undefined", 0, "log() needs a positive number (and a positive base other than 1)"),
    (evaluate, "sqrt(-1)", {}, "sqrt(-1) is undefined", 0, "sqrt() needs a number of at least 0"),
    (evaluate, "exp(1000)", {}, "value too large", 0, "floats must stay finite"),
    (evaluate, "log(x)", {"x": float("inf")}, "log() expects a finite number, got inf", 4, None),
    (evaluate, "sqrt([4])", {}, "sqrt() expects a number, got list", 5, None),
    (evaluate, "log(1, 2, 3)", {}, "log() takes 1 or 2 arguments (3 given)", 0, None),
    (evaluate, "1 + }", {}, "unexpected character '}'", 4, None),
    (evaluate, "1 +", {}, "expected an expression", 3, None),
    (evaluate, "", {}, "expected an expression", 0, None),
    (evaluate, "1 == not 2", {}, "expected an expression", 5, None),
    (evaluate, "1 2", {}, "expected end of expression", 2, None),
    (evaluate, "'abc", {}, "unterminated string", 0, None),
    (evaluate, "12abc", {}, "invalid number", 0, None),
    (evaluate, "1__0", {}, "invalid number", 0, None),
    (substitute, "a${x + 1", {"x": 1}, "unterminated ${", 1, "close the expression with '}'"),
    (substitute, "${1 2}", {}, "expected '}'", 4, None),
    (substitute, "w${}", {}, "expected an expression", 3, None),
    # argument count and type
    (evaluate, "max(1)", {}, "max() takes at least 2 arguments (1 given)", 0, None),
    (evaluate, "2 * floor(1, 2)", {}, "floor() takes exactly 1 argument (2 given)", 4, None),
    (evaluate, "round()", {}, "round() takes 1 or 2 arguments (0 given)", 0, None),
    (evaluate, "len(3)", {}, "len() expects a list, got int", 4, None),
    (evaluate, "abs('a')", {}, "abs() expects a number, got str", 4, None),
    (evaluate, "min(1, [2])", {}, "min() expects a number, got list", 7, None),
    (evaluate, "round(2.5, 0.5)", {}, "round() digits must be an integer between -64 and 64", 11, None),
    # operand types
    (evaluate, "'a' + 1", {}, "unsupported operand types for '+': str and int", 4, None),
    (evaluate, "'%d' % 5", {}, "unsupported operand types for '%': str and int", 5, None),  # no printf
    (evaluate, "-'a'", {}, "unsupported operand type for unary '-': str", 0, None),
    (evaluate, "'a' < 1", {}, "cannot compare str and int with '<'", 4, None),
    (evaluate, "(-8) ** 0.5", {}, "negative number raised to a fractional power", 5, None),
    # division by zero
    (evaluate, "1 / 0", {}, "division by zero", 2, None),
    (evaluate, "x // 0", {"x": 1}, "division by zero", 2, None),
    (evaluate, "5 % 0.0", {}, "division by zero", 2, None),
    (evaluate, "0 ** -1", {}, "division by zero", 2, None),
    (substitute, "w${x // 0}", {"x": 1}, "division by zero", 5, None),
])
def test_errors(fn, text, env, message, offset, hint):
    err = error_of(fn, text, env)
    assert (err.message, err.offset, err.hint) == (message, offset, hint)
    assert str(err) == message


def test_expr_error_defaults():
    err = ExprError("boom")
    assert isinstance(err, Exception)
    assert (err.message, err.offset, err.hint) == ("boom", 0, None)


# --- safety bounds ------------------------------------------------------------------------------

TOO_LARGE = [
    ("2 ** 10000", 2),                       # exponent beyond 64
    ("10 ** 30", 3),                         # result beyond 1e18
    ("2 ** 62", 2),                          # 4.6e18 > 1e18
    ("9223372036854775807", 0),              # int literal beyond 2**62
    ("2**31 * 2**31 * 2", 14),               # int result beyond 2**62
    ("1e400", 0),                            # float literal overflows to inf
    ("1e308 * 10", 6),                       # float result overflows to inf
    ("1e300 ** 2", 6),                       # float power overflows
    ("floor(1e300)", 0),                     # function result beyond 2**62
    ("'ab' * 501", 5),                       # string repetition beyond 1000
    ("[0] * 10 ** 18", 4),                   # list repetition checked before allocating
    ("'a' * 600 + 'a' * 600", 10),           # concatenation beyond 1000 (no s + s + s... blow-up)
]


@pytest.mark.parametrize("source, offset", TOO_LARGE)
def test_value_too_large(source, offset):
    start = time.perf_counter()
    err = error_of(evaluate, source, {})
    assert time.perf_counter() - start < 0.5
    assert (err.message, err.offset) == ("value too large", offset)
    assert err.hint


def test_values_at_the_bounds_are_allowed():
    assert evaluate("10 ** 18", {}) == 10**18
    assert evaluate("2 ** 59", {}) == 2**59
    assert evaluate("2**31 * 2**31", {}) == 2**62
    assert evaluate("4611686018427387904", {}) == 2**62
    assert evaluate("-4611686018427387904", {}) == -(2**62)
    assert evaluate("len('ab' * 500)", {}) == 1000
    assert evaluate("len([0] * 500 + [1] * 500)", {}) == 1000
    assert evaluate("round(5, -64)", {}) == 0


@pytest.mark.parametrize("source, offset", [
    ("(" * 51 + "1" + ")" * 51, 50),
    ("-" * 51 + "1", 50),
    ("2**" * 51 + "2", 151),
    ("not " * 51 + "1", 200),
    ("[" * 52 + "]" * 52, 50),             # the innermost [] holds no expression
    ("x" + "[0]" * 50, 148),               # each index is a level (a long chain cannot exhaust the stack),
    ("x[" * 26 + "0" + "]" * 26, 51),      # and the expression inside the brackets another
    ("max(1, " * 51 + "1" + ")" * 51, 353),
    ("1 if 0 else " * 51 + "1", 607),
])
def test_nesting_too_deep(source, offset):
    err = error_of(evaluate, source, {})
    assert (err.message, err.offset, err.hint) == ("expression nested too deeply", offset, "at most 50 levels")


def test_nesting_at_the_bound_is_allowed():
    assert evaluate("(" * 50 + "1" + ")" * 50, {}) == 1
    assert evaluate("-" * 50 + "1", {}) == 1
    nested = []
    for _ in range(49):
        nested = [nested]
    assert evaluate("[" * 50 + "]" * 50, {}) == nested
    assert evaluate("x" + "[0]" * 49, {"x": nested}) == [] and evaluate("x[" * 25 + "0" + "]" * 25, {"x": [0]}) == 0


def test_long_source():
    source = "1" + " + 1" * 300  # 1201 characters
    err = error_of(evaluate, source, {})
    assert (err.message, err.offset) == ("expression longer than 1000 characters", 0)
    err = error_of(substitute, "x${" + source + "}", {})
    assert (err.message, err.offset) == ("expression longer than 1000 characters", 3)
    assert evaluate("1" + " + 1" * 249, {}) == 250  # 997 characters is fine
    assert substitute("a" * 5000 + "$$", {}) == "a" * 5000 + "$"  # literal text is not limited


def test_indexing_with_a_repeat_variable():
    # the per-stage table of MobileNet v2 (Sandler et al. 2018, Table 2): widths read by the stage index
    env = {"c": [16, 24, 32, 64, 96, 160, 320], "i": 3}
    assert evaluate("c[i]", env) == 64 and substitute("${c[i + 1] * 2}", env) == 192
    assert substitute("stage${i}_${c[i]}", env) == "stage3_64"


def test_regnet_widths_from_a_log():
    # RegNetX-400MF (Radosavovic et al. 2020, eq. 2-3): w0 = 24, wa = 24.48, wm = 2.54; block j's width
    # u_j = w0 + wa·j, s_j = round(log(u_j / w0) / log(wm)), w_j = round(w0 · wm**s_j / 8) · 8.
    # j = 0: u = 24, s = 0, w = 24; j = 1: u = 48.48, ln 2.02 / ln 2.54 = 0.7031 / 0.9322 = 0.754 → s = 1,
    # 24·2.54 = 60.96, / 8 = 7.62 → 8 → 64
    env = {"w0": 24, "wa": 24.48, "wm": 2.54}
    width = "round(w0 * wm ** round(log((w0 + wa * j) / w0) / log(wm)) / 8) * 8"
    assert [evaluate(width, {**env, "j": j}) for j in (0, 1)] == [24, 64]


def test_records_are_read_through_their_fields_only():
    shape = Record("in", {"channels": 3, "size": [8, 6], "shape": [3, 8, 6]})
    calls = []
    env = {"in": Lazy(lambda: calls.append(1) or shape)}
    assert evaluate("in.channels * in.size[0] * in.size[1]", env) == 144  # 3·8·6
    assert calls == [1]  # computed once, on first use
    assert substitute("${in.shape}", env) == [3, 8, 6]
    for text, message, offset in [("${in}", "'in' is a record: read one of its fields (in.channels, in.size, in.shape)", 2),
                                  ("$in.channels", "'in' is a record: read one of its fields (in.channels, in.size, in.shape)", 1),
                                  ("${in.chanels}", "'in' has no field 'chanels'", 5)]:
        err = error_of(substitute, text, env)
        assert (err.message, err.offset) == (message, offset)
    assert error_of(substitute, "$in", env).hint == "write '${in.channels}', with braces"
    env["in"] = Lazy(lambda: (_ for _ in ()).throw(ExprError("shape unknown here", 99, "why")))
    err = error_of(evaluate, "1 + in.channels", env)
    assert (err.message, err.offset, err.hint) == ("shape unknown here", 4, "why")  # placed at the name


def test_no_eval_compile_or_attribute_access_in_library():
    source = Path(expr_module.__file__).read_text()
    for banned in (r"(?<![\w.])eval\(", r"(?<![\w.])compile\(", r"(?<![\w.])exec\(",
                   r"literal_eval", r"getattr", r"__import__"):
        assert not re.search(banned, source), banned


FUZZ_TOKENS = ["1", "0", "2.5", "1e5", "'a'", "true", "x", "s", "l", "max", "len", "round", "int",
               "-", "+", "*", "/", "//", "%", "**", "(", ")", "[", "]", ",", "<", "==",
               "not", "and", "or", "if", "else", "${", "}", "$", "$x", "$$", "@", "'"]


@settings(max_examples=500)
@given(st.lists(st.sampled_from(FUZZ_TOKENS), max_size=15), st.sampled_from(["", " "]))
def test_garbage_only_ever_raises_expr_error(tokens, sep):
    text = sep.join(tokens)
    env = {"x": 3, "s": "ab", "l": [1, 2]}
    for fn in (evaluate, substitute):
        try:
            fn(text, env)
        except ExprError as err:
            assert 0 <= err.offset <= len(text) and err.message


# --- property: integer arithmetic agrees with Python ---------------------------------------------

OPS = ["+", "-", "*", "//", "%", "/"]
LEAVES = st.integers(-20, 20).map(str)


def _combine(children):
    return st.tuples(children, st.sampled_from(OPS), children, st.booleans()).map(
        lambda t: f"({t[0]} {t[1]} {t[2]})" if t[3] else f"{t[0]} {t[1]} {t[2]}")


@settings(max_examples=300)
@given(st.recursive(LEAVES, _combine, max_leaves=8))
def test_arithmetic_matches_python(source):
    try:
        expected = eval(source, {"__builtins__": {}}, {})  # oracle: the test's own generated text only
    except ZeroDivisionError:
        assert error_of(evaluate, source, {}).message == "division by zero"
        return
    result = evaluate(source, {})
    assert result == expected and type(result) is type(expected), source
    if isinstance(result, float):
        assert math.isfinite(result)
