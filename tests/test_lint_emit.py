"""Lint output against the real things: the OASIS SARIF 2.1.0 schema (tests/data, with RFC 3986 format checks) and
GitHub's @actions/core escaping (its own test vectors), for odd paths, standard input and unreadable specs."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cnncalc.errors import Location, SpecError
from cnncalc.lint import REGISTRY
from cnncalc.lint.core import Finding, Severity
from cnncalc.lint.emit import command, escape_data, escape_property, github, help_uri, sarif

jsonschema = pytest.importorskip("jsonschema")
pytest.importorskip("rfc3986_validator")  # without it jsonschema checks no `uri-reference` format (a test extra)

ROOT = Path(__file__).parents[1]
# The OASIS schema (draft-04), its origin in its "$comment"
SARIF_SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
WARNS = ("input: [3, 32, 32]\nlayers:\n  - conv: {out: 16, kernel: 5, padding: 2}\n"
         "  - conv: {out: 16, kernel: 1, stride: 2}\n")  # conv2 drops a row and a column: CNN102
BROKEN = "input: [3, 8, 8]\nlayers:\n  - rleu\n"


def sarif_errors(log):
    validator = jsonschema.Draft4Validator(SARIF_SCHEMA, format_checker=jsonschema.FormatChecker())
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(log)]


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def write(name: str, text: str) -> str:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
        return name

    return write


def test_the_validator_catches_what_cnncalc_used_to_write():
    """A control: the schema with format checks refuses the URIs cnncalc 0.1.0 wrote for these paths."""
    def log(uri):
        return {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{
            "message": {"text": "m"}, "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}}}]}]}]}

    for bad in ("my models/net.yaml", "100%.yaml", "<stdin>"):
        assert sarif_errors(log(bad)), bad
    assert not sarif_errors(log("my%20models/net.yaml"))


@pytest.mark.parametrize("name", ["net.yaml", "my models/net.yaml", "100%.yaml", "a,b.yaml", "c:d.yaml", "ünï.yaml"])
def test_sarif_validates_for_odd_paths(cli, work, name):
    r = cli("lint", work(name, WARNS), "--format", "sarif")
    log = json.loads(r.stdout)
    assert sarif_errors(log) == []
    [result] = log["runs"][0]["results"]
    location = result["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location["uriBaseId"] == "SRCROOT"
    # the URI decodes back to the path, and ':' cannot be read as a scheme
    from urllib.parse import unquote
    assert unquote(location["uri"]) == name and ":" not in location["uri"]
    base = log["runs"][0]["originalUriBaseIds"]["SRCROOT"]["uri"]
    assert base.startswith("file:///") and base.endswith("/")
    assert unquote(base[len("file://"):]).rstrip("/") == str(Path.cwd().resolve())


def test_sarif_standard_input_is_a_described_artifact(cli, work):
    log = json.loads(cli("lint", "-", "--format", "sarif", input=WARNS).stdout)
    assert sarif_errors(log) == []
    run = log["runs"][0]
    assert run["artifacts"] == [{"location": {"description": {"text": "standard input"}},
                                 "roles": ["analysisTarget", "standardStream"]}]
    location = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"index": 0, "description": {"text": "standard input"}}


def test_sarif_file_outside_the_working_directory(cli, work):
    log = json.loads(cli("lint", "vgg16", "--format", "sarif").stdout)  # a zoo spec: inside the package
    assert sarif_errors(log) == []
    location = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location["uriBaseId"] == "FILESYSTEM" and location["uri"].endswith("cnncalc/specs/vgg16.yaml")
    assert not location["uri"].startswith("/")  # relative to file:///
    assert log["runs"][0]["originalUriBaseIds"]["FILESYSTEM"]["uri"] == "file:///"


def test_sarif_rules_link_their_documentation(cli, work):
    log = json.loads(cli("lint", work("net.yaml", WARNS), "--format", "sarif").stdout)
    driver = log["runs"][0]["tool"]["driver"]
    assert driver["informationUri"] == "https://github.com/cnncalc/cnncalc"
    page = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    # GitHub's heading anchors: lower case, spaces to '-', other punctuation dropped
    anchors = {re.sub(r"[^a-z0-9 _-]", "", h.lower()).replace(" ", "-") for h in re.findall(r"^## (.+)$", page, re.M)}
    for rule in driver["rules"]:
        uri = rule["helpUri"]
        assert uri.startswith("https://github.com/cnncalc/cnncalc/blob/v") and uri.split("#")[1] in anchors


def test_docs_rules_page_is_current(cli):
    assert cli("rules", "--format", "page").stdout == (ROOT / "docs" / "rules.md").read_text(encoding="utf-8"), \
        "docs/rules.md is stale: regenerate it with `cnncalc rules --format page > docs/rules.md`"


def test_unreadable_spec_is_an_error_not_a_clean_log(cli, work):
    """Code scanning closes earlier alerts on an empty result list: a broken spec must show up as an error."""
    r = cli("lint", work("ok.yaml", WARNS), work("broken.yaml", BROKEN), "missing.yaml", "--format", "sarif")
    assert r.exit_code == 2
    log = json.loads(r.stdout)
    assert sarif_errors(log) == []
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    errors = [x for x in run["results"] if x["ruleId"] == "CNN000"]
    assert [x["level"] for x in errors] == ["error", "error"]
    assert rules[errors[0]["ruleIndex"]]["id"] == "CNN000"
    assert errors[0]["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "broken.yaml", "uriBaseId": "SRCROOT"},
        "region": {"startLine": 3, "startColumn": 5}}
    assert "missing.yaml" in errors[1]["message"]["text"] and "locations" not in errors[1]
    [invocation] = run["invocations"]
    assert invocation["executionSuccessful"] is False
    assert [n["level"] for n in invocation["toolExecutionNotifications"]] == ["error", "error"]
    assert any(x["ruleId"] == "CNN102" for x in run["results"])  # the readable spec is still checked
    # and a clean run says it ran cleanly
    ok = json.loads(cli("lint", "ok.yaml", "--format", "sarif").stdout)["runs"][0]
    assert ok["invocations"] == [{"executionSuccessful": True}]


def test_unreadable_spec_in_github_format(cli, work):
    r = cli("lint", work("broken.yaml", BROKEN), "--format", "github")
    assert r.exit_code == 2
    assert r.stdout == ("::error file=broken.yaml,line=3,col=5,title=CNN000 unreadable-spec::broken.yaml: unknown "
                        "layer type or block 'rleu'%0Ahint: did you mean 'relu' or 'relu6'?\n")
    assert r.stderr.startswith("broken.yaml:3:5: error: unknown layer type")


# @actions/core's own test vectors: actions/toolkit, packages/core/__tests__/command.test.ts
# ("command escapes message", "command escapes property"), commit 4b9afa4c890de9d1a84c75bb617ee4d96207823a.
def test_github_escaping_matches_actions_core():
    assert command("some-command", [], "percent % percent % cr \r cr \r lf \n lf \n") == \
        "::some-command::percent %25 percent %25 cr %0D cr %0D lf %0A lf %0A"
    assert command("some-command", [], "%25 %25 %0D %0D %0A %0A") == \
        "::some-command::%2525 %2525 %250D %250D %250A %250A"
    name = "percent % percent % cr \r cr \r lf \n lf \n colon : colon : comma , comma ,"
    assert command("some-command", [("name", name)], "") == (
        "::some-command name=percent %25 percent %25 cr %0D cr %0D lf %0A lf %0A colon %3A colon %3A "
        "comma %2C comma %2C::")
    assert command("some-command", [], "%25 %25 %0D %0D %0A %0A %3A %3A %2C %2C") == \
        "::some-command::%2525 %2525 %250D %250D %250A %250A %253A %253A %252C %252C"
    assert command("some-command", [], "") == "::some-command::"  # "command only"
    # properties with an empty value are left out, as toolkit's `if (val)` does
    assert command("error", [("file", ""), ("title", "t")], "m") == "::error title=t::m"
    assert escape_data(":,") == ":," and escape_property(":,") == "%3A%2C"


def test_github_finding_with_hostile_path_and_message():
    f = Finding("CNN206", Severity.INFO, "100% of it,\r\nreally ::error::", Location("a,b:c d.yaml", 2, 3))
    line = github([f])
    assert line.startswith("::notice file=a%2Cb%3Ac d.yaml,line=2,col=3,title=CNN206 lrn::"
                           "100%25 of it,%0D%0Areally ::error::")
    assert line.count("\n") == 1  # one command: the message cannot start another line


def test_help_uri_is_per_rule():
    assert help_uri("CNN102").endswith("/docs/rules.md#cnn102-dropped-pixels")
    assert len({help_uri(code) for code in REGISTRY}) == len(REGISTRY)


def test_sarif_without_cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    e = SpecError("bad", Location("<stdin>", 2, 1))
    log = json.loads(sarif([], [("-", e)]))
    assert sarif_errors(log) == []
    assert log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["index"] == 0
