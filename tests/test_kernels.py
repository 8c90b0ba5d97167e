"""`cnncalc kernels`: one F×F conv against the alternatives with the same receptive field.

Every conv here is bias-free, so params = Cout·(Cin/groups)·kh·kw, and at stride 1 on an N×N map
MACs = params · N² (each output position does one multiply-accumulate per weight).
"""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cnncalc.cli import cli
from cnncalc.compare.alternatives import SPEC_DIR, compare_kernels

C = 64


def run(*args):
    return CliRunner(env={"NO_COLOR": "1"}).invoke(cli, list(args), prog_name="cnncalc")


def by_spec(comparison):
    return {item.variant.spec.rsplit("/", 1)[-1][:-5]: item for item in comparison.items}


def test_seven_by_seven_alternatives_by_hand():
    items = by_spec(compare_kernels(7, C, input=56))
    params = {name: item.values["params"] for name, item in items.items()}
    assert params == {
        "single": 49 * C * C,             # 200,704
        "stack3x3": 3 * 9 * C * C,        # 110,592: the seed notes' three 3×3 = one 7×7, 27C² vs 49C²
        "factorized": 2 * 7 * C * C,      # 1×7 then 7×1: 57,344
        "dilated": 9 * C * C,             # 36,864
        "separable": 49 * C + C * C,      # depthwise 3,136 + pointwise 4,096 = 7,232
        "bottleneck": C * 16 + 49 * 16 * C,  # 1×1 64→16: 1,024, then 7×7 16→64: 50,176
    }
    for name, item in items.items():
        assert item.values["macs"] == params[name] * 56 * 56, name
        assert item.values["receptive_field"].size == (7, 7), name  # the same field, every one
        assert item.values["output"] == (C, 56, 56), name
    assert items["stack3x3"].ratios["params"] == pytest.approx(27 / 49)  # 0.551: −45 %
    assert {n: i.values["nonlinearities"] for n, i in items.items()} == {
        "single": 1, "stack3x3": 3, "factorized": 2, "dilated": 1, "separable": 2, "bottleneck": 2}


def test_two_3x3_equal_one_5x5_with_fewer_parameters():
    items = by_spec(compare_kernels(5, C))
    # 25C² vs 2·9C² = 18C²: the same 5×5 field with 28 % fewer parameters and two nonlinearities
    assert items["single"].values["params"] == 25 * C * C
    assert items["stack3x3"].values["params"] == 18 * C * C
    assert items["stack3x3"].values["receptive_field"] == items["single"].values["receptive_field"]
    assert items["stack3x3"].values["weighted_layers"] == 2


def test_the_claims_are_printed():
    r = run("kernels", "--size", "7", "--channels", "64")
    assert r.exit_code == 0, r.stderr
    out = r.stdout
    assert ("3 stacked 3×3: the same 7×7 receptive field as one 7×7 conv, −45 % parameters, −45 % MACs, "
            "3 nonlinearities instead of 1") in out
    assert "not cheaper" not in out
    assert "3×3 dilated 3 reads 9 of the 49 positions of its 7×7 window per channel" in out
    row = next(line for line in out.splitlines() if line.startswith("│3 stacked 3×3"))
    assert "110.59K 0.55×" in row and "346.82M 0.55×" in row  # 110,592 params; · 56² = 346,816,512 MACs


def test_a_stack_that_changes_channels_is_not_cheaper():
    # 64 → 128 with F = 5: one 5×5 = 25·64·128 = 204,800; the stack's first 3×3 changes the channels and the
    # second runs at 128: 9·64·128 + 9·128·128 = 73,728 + 147,456 = 221,184, 8 % more
    items = by_spec(compare_kernels(5, 64, out=128))
    assert items["single"].values["params"] == 204_800
    assert items["stack3x3"].values["params"] == 221_184
    out = run("kernels", "--size", "5", "--channels", "64", "--out", "128").stdout
    assert "not cheaper: 2 stacked 3×3 has +8 % parameters and +8 % MACs compared with one 5×5 conv" in out


def test_a_strided_stack_costs_more_macs():
    # stride 2 sits on the last conv so the field stays 7×7: the first two 3×3 run at 56×56, the last at 28×28
    items = by_spec(compare_kernels(7, C, stride=2))
    single = 49 * C * C * 28 * 28  # 157,351,936
    stack = 2 * 9 * C * C * 56 * 56 + 9 * C * C * 28 * 28  # 231,211,008 + 28,901,376 = 260,112,384
    assert items["single"].values["macs"] == single
    assert items["stack3x3"].values["macs"] == stack
    assert items["stack3x3"].values["receptive_field"].size == (7, 7)
    assert items["stack3x3"].values["output"] == (C, 28, 28)
    out = run("kernels", "--stride", "2").stdout
    assert "not cheaper: 3 stacked 3×3 has −45 % parameters and +65 % MACs" in out  # 260.1 / 157.4 = 1.653


def test_json_has_exact_numbers_and_ratios():
    r = run("kernels", "--size", "3", "--format", "json")
    items = json.loads(r.stdout)["items"]
    assert [i["label"] for i in items] == ["one 3×3", "1 stacked 3×3", "1×3 then 3×1", "3×3 dilated 1",
                                           "depthwise 3×3 + 1×1", "1×1 to 16, then 3×3"]
    assert items[2]["values"]["params"] == 2 * 3 * C * C  # 24,576
    assert items[2]["ratios"]["params"] == pytest.approx(2 / 3)


@pytest.mark.parametrize("size, message", [
    ("4", "error: kernel size must be odd and at least 3 (a 3×3 stack grows the field by 2 per conv), got 4"),
    ("1", "Invalid value for '--size': 1 is not in the range 3<=x<=99."),
])
def test_kernel_size_must_be_odd_and_at_least_3(size, message):
    r = run("kernels", "--size", size)
    assert r.exit_code == 2
    assert r.stdout == ""
    assert message in r.stderr


def test_the_specs_run_through_summary():
    # the bundled spec with the kernel set to 5: two 3×3 convs 64→64, 2·9·64·64 = 73,728 params
    r = run("summary", str(SPEC_DIR / "stack3x3.yaml"), "--set", "kernel=5", "--format", "json")
    assert r.exit_code == 0, r.stderr
    totals = json.loads(r.stdout)["totals"]
    assert totals["params"] == 73_728
    assert totals["receptive_field"]["size"] == [5, 5]
