"""`cnncalc lint --baseline REV|FILE --max-growth`: growth over a git revision or a baseline file fails, saying by
how much and where (CNN311, CNN312, CNN314; the rules themselves are tested as data in tests/lint/)."""
from __future__ import annotations

import json
import shutil
import subprocess
from fractions import Fraction

import pytest

from cnncalc.errors import OptionError
from cnncalc.lint.baseline import parse_growth_flag, parse_share

# conv1: 3·3·3·8 + 8 = 224 params; dense1 on 8·8·8 = 512 → 10: 5,130; 5,354 in all
BASE = """input: [3, 8, 8]
layers:
  - conv: {out: 8, kernel: 3, padding: 1}
  - relu
  - flatten
  - dense: 10
"""
# conv1 at 16: 3·3·3·16 + 16 = 448; dense1 on 1,024: 10,250; 10,698 in all: +5,344 = +99.8%
WIDER = BASE.replace("out: 8", "out: 16")
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]


@pytest.fixture
def repo(tmp_path, monkeypatch):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "net.yaml").write_text(BASE)
    subprocess.run(["git", "init", "-q"], check=True)
    subprocess.run([*GIT, "add", "."], check=True)
    subprocess.run([*GIT, "commit", "-qm", "base"], check=True)
    return tmp_path


def test_growth_over_a_git_revision_fails_and_says_where(cli, repo):
    (repo / "models" / "net.yaml").write_text(WIDER)
    r = cli("lint", "models/", "--baseline", "HEAD", "--max-growth", "params=10%", "--select", "CNN3")
    assert r.exit_code == 1, r.stderr
    assert r.stdout.splitlines()[0] == (
        "models/net.yaml:6:12: CNN311 error: params grew +99.8% over the baseline (HEAD:models/net.yaml): "
        "5.35K → 10.70K (+5,344), more than the 10% allowed; most growth in dense1 +5.12K (+100%), conv1 +224 (+100%)")
    # the same spec, growth allowed: clean
    assert cli("lint", "models/", "--baseline", "HEAD", "--max-growth", "100%", "--select", "CNN3").exit_code == 0


def test_unchanged_and_new_specs_pass(cli, repo):
    (repo / "models" / "new.yaml").write_text(WIDER)  # not at HEAD: nothing to grow from
    r = cli("lint", "models/", "--baseline", "HEAD", "--max-growth", "0", "--select", "CNN3")
    assert (r.exit_code, r.stdout) == (0, "")


def test_peak_memory_growth_has_no_stages(cli, repo):
    # the peak is while relu1 runs: conv1's output and its own, 8·8·8·4 B = 2 KiB each (more than the input, 768 B,
    # with conv1's): 4 KiB; at 16 channels 8 KiB, +100% (every entry outputs a new buffer: README, Memory)
    (repo / "models" / "net.yaml").write_text(WIDER)
    r = cli("lint", "models/net.yaml", "--baseline", "HEAD", "--max-growth", "peak-memory=50%", "--select", "CNN3")
    assert r.exit_code == 1
    assert r.stdout.startswith("models/net.yaml:1:8: CNN314 error: peak activations grew +100.0% over the baseline "
                               "(HEAD:models/net.yaml): 4.00 KiB → 8.00 KiB (+4,096), more than the 50% allowed\n")


def test_bad_revision_is_a_usage_error(cli, repo):
    r = cli("lint", "models/", "--baseline", "no-such-branch", "--max-growth", "5%")
    assert r.exit_code == 2 and "no-such-branch is neither a baseline file nor a git revision here" in r.stderr


def test_baseline_file_round_trip(cli, repo):
    r = cli("lint", "models/", "--write-baseline", "base.json")
    assert r.exit_code == 0
    data = json.loads((repo / "base.json").read_text())
    assert data["specs"]["models/net.yaml"]["params"] == 5354 and data["batch"] == 1
    assert data["specs"]["models/net.yaml"]["stages"]["dense1"] == {"params": 5130, "macs": 5120}
    (repo / "models" / "net.yaml").write_text(WIDER)
    r = cli("lint", "models/", "--baseline", "base.json", "--max-growth", "macs=10%", "--select", "CNN3")
    # MACs: 64·8·27 = 13,824 + 5,120 = 18,944 → 27,648 + 10,240 = 37,888: +100%
    assert r.exit_code == 1
    assert "CNN312 error: MACs grew +100.0% over the baseline (base.json[models/net.yaml])" in r.stdout
    r = cli("lint", "models/", "--baseline", "base.json", "--batch", "2", "--max-growth", "5%")
    assert r.exit_code == 2 and "base.json holds figures at batch 1, float32" in r.stderr


def test_malformed_baseline_file(cli, repo):
    (repo / "base.json").write_text('{"schema_version": 1, "specs": {"models/net.yaml": {"params": -1}}}')
    r = cli("lint", "models/", "--baseline", "base.json", "--max-growth", "5%")
    assert r.exit_code == 2 and r.stderr.startswith("base.json:1:1: error: not a cnncalc baseline file")


def test_growth_in_sarif(cli, repo):
    (repo / "models" / "net.yaml").write_text(WIDER)
    log = json.loads(cli("lint", "models/", "--baseline", "HEAD", "--max-growth", "params=10%", "--format",
                         "sarif").stdout)
    assert "CNN311" in {x["ruleId"] for x in log["runs"][0]["results"]}


@pytest.mark.parametrize("text, share", [("5%", Fraction(1, 20)), ("0.05", Fraction(1, 20)), ("12.5 %", Fraction(1, 8)),
                                         ("0", 0), (0.1, Fraction(1, 10)), (1, 1)])
def test_parse_share(text, share):
    assert parse_share(text) == share


@pytest.mark.parametrize("text", ["-5%", "five", "5%%", float("nan"), True])
def test_parse_share_refuses(text):
    with pytest.raises(OptionError):
        parse_share(text)


def test_growth_flag():
    assert parse_growth_flag("macs=10%") == {"macs": Fraction(1, 10)}
    assert set(parse_growth_flag("1%")) == {"params", "macs", "peak-memory"}
    with pytest.raises(OptionError, match="no growth metric 'mac'"):
        parse_growth_flag("mac=1%")


def test_bad_growth_flag_is_a_usage_error(cli, repo):
    r = cli("lint", "models/", "--max-growth", "params=lots")
    assert r.exit_code == 2 and "Invalid value for --max-growth: expected a share like 5% or 0.05" in r.stderr
