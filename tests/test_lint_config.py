"""Lint settings: quantities with units, the `lint:` section's validation (located errors), merging order."""
from __future__ import annotations

import pytest

import cnncalc
from cnncalc.errors import SpecError
from cnncalc.lint import Settings, settings_for
from cnncalc.lint.config import find_config, parse_quantity, read_config, section
from cnncalc.spec.source import parse_yaml


@pytest.mark.parametrize("text, kind, value", [
    ("25M", "count", 25_000_000),
    ("4G", "count", 4_000_000_000),
    ("1.5K", "count", 1_500),
    ("2.5m", "count", 2_500_000),
    ("138357544", "count", 138_357_544),
    ("25_000", "count", 25_000),
    (25_000_000, "count", 25_000_000),
    (2.5e7, "count", 25_000_000),
    ("512MiB", "bytes", 512 * 2 ** 20),
    ("1.5 GiB", "bytes", 3 * 2 ** 29),
    ("100KB", "bytes", 100_000),
    ("64kib", "bytes", 65_536),
    ("4096", "bytes", 4_096),
    ("4096B", "bytes", 4_096),
])
def test_quantities(text, kind, value):
    assert parse_quantity(text, kind) == value


@pytest.mark.parametrize("text, kind, message", [
    ("25MiB", "count", "unknown unit 'MiB' for a count; use K, M, G or T (powers of 1000)"),
    ("512M", "bytes", "unknown unit 'M' for bytes; use KiB, MiB, GiB, TiB, KB, MB, GB, TB or B (MiB is 1024-based, MB 1000-based)"),
    ("1.0005K", "count", "'1.0005K' is not a whole, non-negative number"),
    ("lots", "count", "expected a number with an optional unit, got 'lots'"),
    ("-5M", "count", "expected a number with an optional unit, got '-5M'"),
    (True, "count", "expected a number like 25M, got True"),
    ([1], "bytes", "expected a number like 512MiB, got [1]"),
])
def test_bad_quantities(text, kind, message):
    with pytest.raises(ValueError) as e:
        parse_quantity(text, kind)
    assert str(e.value) == message


def _section(text):
    return section(parse_yaml(text, "c.yaml").get("lint"), "lint")


def test_section_parses_every_key():
    part = _section("lint:\n  select: CNN1, CNN203\n  ignore: [dropped-pixels]\n  strict: true\n"
                    "  budgets: {params: 25M, peak_memory: 512MiB, flops: null}\n  rules: {bottleneck: {factor: 8}}\n")
    assert part == {"select": ("CNN1", "CNN203"), "ignore": ("CNN102",), "strict": True,
                    "budgets": {"params": 25_000_000, "peak-memory": 512 * 2 ** 20, "flops": None},
                    "rules": {"CNN106": {"factor": 8}}}


@pytest.mark.parametrize("text, where, message", [
    ("lint: [CNN1]\n", "1:7", "`lint` must be a mapping"),
    ("lint:\n  ignores: [CNN1]\n", "2:3", "`lint` has no key 'ignores'"),
    ("lint:\n  ignore: [CNN999]\n", "2:12", "lint.ignore: unknown rule 'CNN999'"),
    ("lint:\n  select: [nonsense]\n", "2:12", "lint.select: unknown rule 'nonsense'"),
    ("lint:\n  strict: yes please\n", "2:11", "`lint.strict` must be true or false"),
    ("lint:\n  budgets: {params: 25MiB}\n", "2:21", "`lint.budgets.params`: unknown unit 'MiB' for a count"),
    ("lint:\n  budgets: {weights: 25M}\n", "2:13", "`lint.budgets` has no budget 'weights'"),
    ("lint:\n  rules: {CNN106: {factr: 8}}\n", "2:20", "rule CNN106 has no option 'factr'"),
    ("lint:\n  rules: {CNN106: {factor: -1}}\n", "2:28", "option 'factor' of CNN106 must be a positive number"),
    ("lint:\n  rules: {CNN204: {multiple: 2.5}}\n", "2:30", "option 'multiple' of CNN204 must be a positive integer"),
    ("lint:\n  rules: {CNN2: {}}\n", "2:11", "`lint.rules`: options belong to one rule, got 'CNN2'"),
])
def test_section_errors_point_at_the_value(text, where, message):
    with pytest.raises(SpecError) as e:
        _section(text)
    assert str(e.value.loc) == f"c.yaml:{where}"
    assert e.value.message.startswith(message)


def test_merge_order_and_semantics():
    base = Settings().merged({"ignore": ("CNN204",), "budgets": {"params": 10}, "rules": {"CNN106": {"factor": 8}}})
    top = base.merged({"ignore": ("CNN205",), "budgets": {"macs": 5}, "rules": {"CNN106": {"early": 0.25}}, "select": ("CNN2",)})
    assert top.ignore == ("CNN204", "CNN205")  # ignores add up
    assert top.budgets == {"params": 10, "macs": 5}  # budgets override per key
    assert top.rule_options("CNN106") == {"factor": 8, "early": 0.25}
    assert top.select == ("CNN2",)  # select replaces
    assert top.selects("CNN201") and not top.selects("CNN204") and not top.selects("CNN102")
    assert base.rules == {"CNN106": {"factor": 8}}  # the lower level is unchanged


def test_the_spec_overrides_the_command_line():
    net = cnncalc.load("input: [8]\nlint: {budgets: {params: 1G}, strict: false}\nlayers: [{dense: 8}]\n")
    s = settings_for(net, Settings(budgets={"params": 10, "macs": 20}, strict=True))
    assert s.budgets == {"params": 10 ** 9, "macs": 20} and s.strict is False


def test_lint_ignore_with_an_unknown_code_is_an_error():
    net = cnncalc.load("input: [8]\nlayers:\n  - dense: {out: 8, lint-ignore: CNN2O4}\n")
    with pytest.raises(SpecError) as e:
        settings_for(net, Settings())
    assert (e.value.loc.line, e.value.message) == (3, "lint-ignore: unknown rule 'CNN2O4'")
    assert "CNN204" in e.value.hint


def test_config_discovery(tmp_path):
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_config(deep) is None or not str(find_config(deep)).startswith(str(tmp_path))
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert find_config(deep) is None or not str(find_config(deep)).startswith(str(tmp_path))  # no [tool.cnncalc]
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n\n[tool.cnncalc.lint]\nignore = ['CNN204']\n")
    assert find_config(deep) == tmp_path / "pyproject.toml"
    (tmp_path / "a" / ".cnncalc.yaml").write_text("lint: {strict: true}\n")
    assert find_config(deep) == tmp_path / "a" / ".cnncalc.yaml"  # the nearest wins


def test_pyproject_section(tmp_path):
    path = tmp_path / "pyproject.toml"
    path.write_text("[project]\nname = 'x'\n\n[tool.cnncalc.lint]\nignore = ['CNN204']\nbudgets = {params = '25M'}\n")
    assert read_config(path) == {"ignore": ("CNN204",), "budgets": {"params": 25_000_000}}
    path.write_text("[tool.cnncalc.lint]\nbudgets = {params = '25MiB'}\n")
    with pytest.raises(SpecError) as e:
        read_config(path)
    assert str(e.value.loc) == f"{path}:1:1"  # TOML keeps no positions: the table's header line
