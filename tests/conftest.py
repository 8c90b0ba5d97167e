"""Shared fixtures: build one layer, analyse YAML text, run the CLI, and compare against golden files.

`pytest --update-golden` rewrites tests/golden/* from the current output; review the diff before committing.
"""
from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from click.testing import CliRunner

import cnncalc
from cnncalc.cli import cli as cli_group
from cnncalc.errors import Location
from cnncalc.layers import REGISTRY

TESTS = Path(__file__).parent
GOLDEN_DIR = TESTS / "golden"
SPECS_DIR = TESTS / "specs"


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/golden/* with the current output instead of comparing")


@pytest.fixture
def golden(request):
    """`golden(name, text)`: assert `text` equals tests/golden/<name> (or rewrite it with --update-golden)."""
    update = request.config.getoption("--update-golden")

    def check(name: str, text: str) -> None:
        path = GOLDEN_DIR / name
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        assert path.is_file(), f"missing golden file {path}; create it with `pytest --update-golden`"
        expected = path.read_text(encoding="utf-8")
        if text != expected:
            diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True),
                                                f"golden/{name}", "actual"))
            pytest.fail(f"output differs from golden/{name} (after an intended change run "
                        f"`pytest --update-golden` and review the diff):\n{diff}", pytrace=False)

    return check


@pytest.fixture
def layer():
    """`layer(type, in_shape, **args)` → the layer's `Facts` on one input shape (or `ins=[...]` for merges)."""

    def make(kind, in_shape=None, ins=None, **args):
        obj = REGISTRY[kind].create(args or None, {}, Location("<test>", 1, 1))
        return obj.infer(ins if ins is not None else [tuple(in_shape)])

    return make


@pytest.fixture
def analyze():
    """`analyze(yaml_text, batch=1, dtype='float32', vars=None)` → `Analysis` (asserting it succeeded)."""

    def run(text, batch=1, dtype="float32", vars=None, input=None, ok=True):
        a = cnncalc.load(text, vars=vars).analyze(batch=batch, dtype=dtype, input=input)
        if ok:
            assert a.error is None, a.error.format()
        return a

    return run


@pytest.fixture
def cli(monkeypatch):
    """`cli(*args, input=None)` → click Result with stdout and stderr apart (colour off, as in CI)."""
    monkeypatch.setenv("NO_COLOR", "1")

    def run(*args, input=None):
        return CliRunner().invoke(cli_group, list(args), input=input, prog_name="cnncalc")

    return run
