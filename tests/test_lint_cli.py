"""`cnncalc lint` and `cnncalc rules` through the CLI: exit codes, formats, config discovery and overrides."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnncalc.lint import REGISTRY

CLEAN = "input: [3, 32, 32]\nlayers:\n  - conv: {out: 16, kernel: 3, padding: 1, bias: false}\n  - bn\n  - relu\n"
# conv1: 5·5·3·16 + 16 = 1,216 params; conv2, 1×1 stride 2 on 32, loses row and column 31 (a warning); its 2×2
# fix ends on them and keeps the 16×16 output: 16·16 + 16 = 272 → 4·16·16 + 16 = 1,040 params (+282 %)
WARNS = "input: [3, 32, 32]\nlayers:\n  - conv: {out: 16, kernel: 5, padding: 2}\n  - conv: {out: 16, kernel: 1, stride: 2}\n"
COLLAPSE = "input: [3, 4, 4]\nlayers:\n  - conv: {out: 8, kernel: 5}\n"


@pytest.fixture
def work(tmp_path, monkeypatch):
    """An empty working directory (no config above it) with a helper to write files into it."""
    monkeypatch.chdir(tmp_path)

    def write(name: str, text: str) -> str:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return name

    return write


def test_clean_spec_exits_0_and_says_so_on_stderr(cli, work):
    r = cli("lint", work("net.yaml", CLEAN))
    assert (r.exit_code, r.stdout, r.stderr) == (0, "", "0 findings in 1 spec\n")


def test_text_format(cli, work):
    r = cli("lint", work("net.yaml", WARNS))
    assert r.exit_code == 0  # warnings pass unless --strict
    assert r.stdout == (
        "net.yaml:4:5: CNN102 warning: conv2: 'conv' never reads the last 1 row and 1 column of its 32×32 input: "
        "the last window ends before the input does\n"
        f"  why: {REGISTRY['CNN102'].why}\n"
        "  fix: avgpool: {kernel: 2, stride: 2, ceil_mode: true, count_include_pad: false} before it and stride 1 here "
        "(ResNet-D) reads every pixel with the same 16×16 output: same params, same MACs\n")
    assert r.stderr == "1 finding (1 warning) in 1 spec\n"


def test_strict_makes_warnings_fail(cli, work):
    spec = work("net.yaml", WARNS)
    assert cli("lint", spec, "--strict").exit_code == 1
    work(".cnncalc.yaml", "lint: {strict: true}\n")
    assert cli("lint", spec).exit_code == 1
    assert cli("lint", spec, "--no-strict").exit_code == 0  # the flag beats the config


def test_budget_from_the_command_line(cli, work):
    # 5·5·3·16 + 16 = 1,216 and 16·16 + 16 = 272: 1,488 params
    r = cli("lint", work("net.yaml", WARNS), "--max-params", "1K", "--select", "CNN3")
    assert r.exit_code == 1
    assert r.stdout.splitlines()[0] == (
        "net.yaml:3:5: CNN301 error: params 1.49K (1,488) exceed the budget of 1.00K (1,000): 49% over; "
        "largest layers: conv1 1.22K (82%), conv2 272 (18%)")
    assert cli("lint", "net.yaml", "--max-params", "1488").exit_code == 0  # at the limit is within it


@pytest.mark.parametrize("flag, value, message", [
    ("--max-params", "25MiB", "unknown unit 'MiB' for a count"),
    ("--max-peak-memory", "512M", "unknown unit 'M' for bytes"),
    ("--max-macs", "many", "expected a number with an optional unit"),
])
def test_bad_budget_flag_is_a_usage_error(cli, work, flag, value, message):
    r = cli("lint", work("net.yaml", CLEAN), flag, value)
    assert r.exit_code == 2
    assert f"Invalid value for {flag}: {message}" in r.stderr


def test_collapse_is_a_finding_not_an_unreadable_spec(cli, work):
    r = cli("lint", work("net.yaml", COLLAPSE))
    assert r.exit_code == 1
    assert r.stdout.startswith("net.yaml:3:20: CNN101 error: conv1: 'conv' output would be empty along H")


@pytest.mark.parametrize("text, located", [
    ("input: [3, 8, 8]\nlayers:\n  - conv: {out: 8, kernel: 3\n", "bad.yaml:3:29: error: YAML syntax"),  # end of input: the last line
    ("input: [3, 8, 8]\nlayers:\n  - convv: {out: 8, kernel: 3}\n", "bad.yaml:3:5: error: unknown layer type or block 'convv'"),
    ("input: [3, 8, 8]\nlint: {ignore: [CNN9]}\nlayers: [relu]\n", "bad.yaml:2:17: error: lint.ignore: unknown rule 'CNN9'"),
    ("input: [3, 8, 8]\nlayers:\n  - relu: {lint-ignore: CNN1O2}\n", "bad.yaml:3:5: error: lint-ignore: unknown rule 'CNN1O2'"),
])
def test_unreadable_spec_exits_2_after_linting_the_others(cli, work, text, located):
    r = cli("lint", work("bad.yaml", text), work("net.yaml", WARNS), "--max-params", "1K")
    assert r.exit_code == 2  # beats the budget breach in net.yaml
    assert r.stderr.startswith(located)
    assert r.stderr.endswith("2 findings (1 error, 1 warning) in 1 spec; 1 spec failed to load\n")  # not clean
    assert "net.yaml:3:5: CNN301 error" in r.stdout


def test_json_lists_an_unreadable_spec_as_cnn000_first(cli, work):
    bad = work("bad.yaml", "input: [3, 8, 8]\nlayers:\n  - convv: {out: 8, kernel: 3}\n")
    r = cli("lint", bad, work("net.yaml", WARNS), "nowhere.yaml", "--format", "json")
    assert r.exit_code == 2
    found = json.loads(r.stdout)
    assert [(f["code"], f["name"], f["file"], f["line"], f["col"]) for f in found[:2]] == [
        ("CNN000", "unreadable-spec", "bad.yaml", 3, 5), ("CNN000", "unreadable-spec", "nowhere.yaml", None, None)]
    assert found[0]["message"] == "unknown layer type or block 'convv'" and found[0]["severity"] == "error"
    assert found[1]["fix"] == "`cnncalc zoo` lists the bundled networks"
    assert [f["code"] for f in found[2:]] == ["CNN102"]  # the readable spec is still linted


def test_missing_spec(cli, work):
    r = cli("lint", "nowhere.yaml")
    assert r.exit_code == 2 and "error: no such file or zoo network: nowhere.yaml" in r.stderr
    assert r.stderr.endswith("no spec checked: 1 spec failed to load\n")  # not "0 findings in 1 spec"


def test_select_and_ignore(cli, work):
    spec = work("net.yaml", WARNS)
    assert cli("lint", spec, "--ignore", "CNN102").stdout == ""
    assert cli("lint", spec, "--ignore", "dropped-pixels").stdout == ""
    assert cli("lint", spec, "--select", "CNN2,CNN3").stdout == ""
    assert "CNN102" in cli("lint", spec, "--select", "CNN1").stdout
    r = cli("lint", spec, "--select", "CNN1O2")
    assert r.exit_code == 2 and r.stderr == "error: --select: unknown rule 'CNN1O2'\n  hint: did you mean 'CNN312' or 'CNN102' or 'CNN314'?\n"


def test_config_found_upward_and_overridden(cli, work):
    work(".cnncalc.yaml", "lint:\n  budgets: {params: 1K}\n")
    work("models/deep/net.yaml", WARNS)
    import os
    os.chdir("models/deep")
    assert cli("lint", "net.yaml").exit_code == 1  # 1,488 params > 1K from ../../.cnncalc.yaml
    assert cli("lint", "net.yaml", "--max-params", "2K").exit_code == 0  # the flag beats the config
    Path("net.yaml").write_text(WARNS + "lint: {budgets: {params: 1K}}\n")
    assert cli("lint", "net.yaml", "--max-params", "2K").exit_code == 1  # the spec beats the flag


def test_config_in_pyproject(cli, work):
    work("pyproject.toml", "[project]\nname = 'models'\n\n[tool.cnncalc.lint]\nbudgets = {params = '1K'}\n")
    assert cli("lint", work("net.yaml", WARNS)).exit_code == 1


def test_bad_config_is_located(cli, work):
    work(".cnncalc.yaml", "lint:\n  budgets: {params: 1KiB}\n")
    r = cli("lint", work("net.yaml", CLEAN))
    assert r.exit_code == 2
    assert r.stderr.startswith(".cnncalc.yaml:2:21: error: `lint.budgets.params`: unknown unit 'KiB' for a count")


def test_explicit_config(cli, work):
    conf = work("ci/lint.yaml", "lint: {budgets: {params: 1K}}\n")
    spec = work("net.yaml", WARNS)
    assert cli("lint", spec, "--config", conf).exit_code == 1
    r = cli("lint", spec, "--config", "ci/missing.yaml")
    assert r.exit_code == 2 and "no such file: ci/missing.yaml" in r.stderr


def test_directories_and_globs(cli, work):
    work("models/a.yaml", WARNS)
    work("models/sub/b.yml", WARNS)
    work("models/.github/workflows/ci.yml", "on: push\njobs: {}\n")  # hidden: skipped
    work("models/settings.yaml", "threshold: 3\n")  # not a spec (no `layers:`): skipped
    r = cli("lint", "models")
    assert r.exit_code == 0
    assert [line.split(":")[0] for line in r.stdout.splitlines() if "CNN102" in line] == ["models/a.yaml", "models/sub/b.yml"]
    r = cli("lint", "models/**/*.yml")
    assert [line.split(":")[0] for line in r.stdout.splitlines() if "CNN102" in line] == ["models/sub/b.yml"]
    r = cli("lint", "empty/*.yaml")
    assert r.exit_code == 2 and "no specs (*.yaml or *.yml with `layers:`) in empty/*.yaml" in r.stderr


def test_stdin(cli, work):
    r = cli("lint", "-", input=WARNS)
    assert r.stdout.startswith("<stdin>:4:5: CNN102 warning")


def test_json_format(cli, work):
    r = cli("lint", work("net.yaml", WARNS), "--format", "json")
    assert r.exit_code == 0 and r.stderr == ""
    [item] = json.loads(r.stdout)
    assert item == {
        "code": "CNN102", "name": "dropped-pixels", "severity": "warning", "file": "net.yaml", "line": 4, "col": 5,
        "layer": "conv2",
        "message": "'conv' never reads the last 1 row and 1 column of its 32×32 input: the last window ends before the input does",
        "why": REGISTRY["CNN102"].why,
        "fix": "avgpool: {kernel: 2, stride: 2, ceil_mode: true, count_include_pad: false} before it and stride 1 here "
        "(ResNet-D) reads every pixel with the same 16×16 output: same params, same MACs",
        "also": []}
    assert json.loads(cli("lint", "net.yaml", "--format", "json", "--ignore", "ALL").stdout) == []


def test_github_format(cli, work):
    r = cli("lint", work("net.yaml", WARNS), "--format", "github", "--max-params", "1K")
    lines = r.stdout.splitlines()
    assert lines[0] == (
        "::error file=net.yaml,line=3,col=5,title=CNN301 max-params::params 1.49K (1,488) exceed the budget of "
        "1.00K (1,000): 49%25 over; largest layers: conv1 1.22K (82%25), conv2 272 (18%25)%0Awhy: "
        + REGISTRY["CNN301"].why)
    assert lines[1].startswith("::warning file=net.yaml,line=4,col=5,title=CNN102 dropped-pixels::conv2: 'conv' never")
    assert "%0Afix: avgpool: {kernel: 2, stride: 2" in lines[1] and len(lines) == 2


def test_github_escapes_properties():
    from cnncalc.errors import Location
    from cnncalc.lint.core import Finding, Severity
    from cnncalc.lint.emit import github

    f = Finding("CNN206", Severity.INFO, "100% of it,\nreally", Location("a,b:c.yaml", 2, 3))
    assert github([f]).startswith("::notice file=a%2Cb%3Ac.yaml,line=2,col=3,title=CNN206 lrn::100%25 of it,%0Areally%0Awhy:")


# The parts of SARIF 2.1.0 that cnncalc emits, with the properties the OASIS schema requires for them.
SARIF_SUBSET = {
    "type": "object", "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"}, "$schema": {"type": "string"},
        "runs": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["tool", "results"],
            "properties": {
                "tool": {"type": "object", "required": ["driver"], "properties": {"driver": {
                    "type": "object", "required": ["name", "rules"],
                    "properties": {"name": {"type": "string"}, "version": {"type": "string"}, "rules": {
                        "type": "array", "items": {
                            "type": "object", "required": ["id", "shortDescription", "defaultConfiguration"],
                            "properties": {
                                "id": {"type": "string"}, "name": {"type": "string"},
                                "shortDescription": {"$ref": "#/$defs/message"},
                                "fullDescription": {"$ref": "#/$defs/message"},
                                "help": {"$ref": "#/$defs/message"},
                                "defaultConfiguration": {"type": "object", "properties": {"level": {"$ref": "#/$defs/level"}}}}}}}}}},
                "results": {"type": "array", "items": {
                    "type": "object", "required": ["ruleId", "message"],
                    "properties": {
                        "ruleId": {"type": "string"}, "ruleIndex": {"type": "integer", "minimum": 0},
                        "level": {"$ref": "#/$defs/level"}, "message": {"$ref": "#/$defs/message"},
                        "locations": {"type": "array", "items": {"type": "object", "properties": {"physicalLocation": {
                            "type": "object", "required": ["artifactLocation", "region"],
                            "properties": {
                                "artifactLocation": {"type": "object", "required": ["uri"], "properties": {"uri": {"type": "string"}}},
                                "region": {"type": "object", "required": ["startLine"], "properties": {
                                    "startLine": {"type": "integer", "minimum": 1},
                                    "startColumn": {"type": "integer", "minimum": 1}}}}}}}}}}}}}}},
    "$defs": {"message": {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}},
              "level": {"enum": ["none", "note", "warning", "error"]}},
}


def test_sarif_format(cli, work):
    r = cli("lint", work("net.yaml", WARNS), "--format", "sarif", "--max-params", "1K")
    log = json.loads(r.stdout)
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    # the whole registry, so ruleIndex is stable, and last the unreadable-spec descriptor (tests/test_lint_emit.py)
    assert [x["id"] for x in rules] == sorted(REGISTRY) + ["CNN000"]
    assert rules[0]["defaultConfiguration"] == {"level": "error"} and rules[1]["name"] == "dropped-pixels"
    results = run["results"]
    assert [(x["ruleId"], x["level"], rules[x["ruleIndex"]]["id"]) for x in results] == [
        ("CNN301", "error", "CNN301"), ("CNN102", "warning", "CNN102")]
    assert results[1]["locations"] == [{"physicalLocation": {"artifactLocation": {"uri": "net.yaml", "uriBaseId": "SRCROOT"},
                                                           "region": {"startLine": 4, "startColumn": 5}}}]
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(log, SARIF_SUBSET)


def test_rules_lists_every_rule(cli):
    r = cli("rules")
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert [line.split()[0] for line in lines] == sorted(REGISTRY)
    assert lines[1].split()[1:3] == ["dropped-pixels", "warning"] and lines[1].endswith(REGISTRY["CNN102"].why)


@pytest.mark.parametrize("arg", ["CNN201", "cnn201", "large-kernel"])
def test_rules_explains_one(cli, arg):
    r = cli("rules", arg)
    assert r.exit_code == 0
    text = r.stdout
    assert text.startswith("CNN201 large-kernel (info)\n\nA conv with a large odd kernel")
    assert "Options (config `rules: {CNN201: {...}}`):\n  min_saving = 0.2:" in text
    assert "Fails:\n    input: [64, 56, 56]\n    layers:\n      - conv: {out: 64, kernel: 7, padding: 3}\n" in text
    assert "Passes:\n    input: [64, 56, 56]" in text


@pytest.mark.parametrize("arg, message", [("CNN999", "unknown rule 'CNN999'"), ("CNN2", "CNN2 names several rules")])
def test_rules_unknown(cli, arg, message):
    r = cli("rules", arg)
    assert r.exit_code == 2 and message in r.stderr


def test_readme_rules_table_is_current(cli):
    """The README's table is `cnncalc rules --format markdown`; regenerate it after changing a rule."""
    table = cli("rules", "--format", "markdown").stdout
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert table.count("\n") == len(REGISTRY) + 2
    assert table in readme
