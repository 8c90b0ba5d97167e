"""Every example in the README runs: each `cnncalc …` line of its shell blocks as a real process, each Python block.

They run in a scratch directory holding what the README's prose assumes exists: `tiny.yaml` and `net.yaml` (the
README's spec), `models/` with a spec, `trained.npz` (weights of net.yaml) and `specs/` (the bundled specs).
Lines that install, test or benchmark are development commands and are left to CI itself.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SPEC = README.split("```yaml\n", 1)[1].split("```", 1)[0]
SKIP = ("pip install", "pytest", "benchmarks/")
HAS_TORCH = bool(__import__("importlib").util.find_spec("torch"))


def blocks(language: str):
    return re.findall(rf"^```{language}\n(.*?)^```", README, re.S | re.M)


def commands():
    """(command, the exit codes it may end with) for every shell line of the README."""
    out = []
    for block in blocks("sh"):
        for line in block.splitlines():
            command, _, comment = line.partition("  #")
            command = command.strip()
            if not command or any(s in command for s in SKIP):
                continue
            command = re.sub(r"\s*\|\s*jq\s+\S+$", "", command)  # jq may not be installed; cnncalc's output is what counts
            # a lint may find something (exit 1 is its verdict); a line the README calls refused is a usage error
            codes = (2,) if "refused" in comment else (0, 1) if command.startswith("cnncalc lint") else (0,)
            out.append(pytest.param(command, codes, id=command[:70]))
    return out


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    import cnncalc
    from cnncalc.runtime import init_weights, save_weights

    folder = tmp_path_factory.mktemp("readme")
    for name in ("tiny.yaml", "net.yaml"):
        (folder / name).write_text(SPEC, encoding="utf-8")
    (folder / "models").mkdir()
    (folder / "models" / "net.yaml").write_text(SPEC, encoding="utf-8")
    (folder / "specs").symlink_to(ROOT / "cnncalc" / "specs")
    for name in ("tiny.cfg", "tiny.prototxt", "residual.cfg"):  # the importers' section reads model files
        shutil.copy(ROOT / "tests" / "data" / "import" / name, folder / name)
    save_weights(folder / "trained.npz", init_weights(cnncalc.load(SPEC), seed=3))
    return folder


def test_the_readme_has_examples():
    assert len(commands()) > 30 and len(blocks("python")) >= 3


@pytest.mark.parametrize("command, expected", commands())
def test_readme_command_runs(scratch, command, expected):
    if ("export" in command or command.startswith("python")) and not HAS_TORCH:
        pytest.skip("needs torch")
    words = command.split()
    if words[0] == "cnncalc":  # this interpreter's cnncalc, whatever is on PATH
        command = f"{shutil.which('cnncalc') or sys.executable + ' -m cnncalc'}{command[len('cnncalc'):]}"
    command = command.replace("python -c", f"{sys.executable} -c", 1)
    # the scratch folder, then this checkout's cnncalc (the console script may belong to another install)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(scratch), str(ROOT)]), "NO_COLOR": "1"}
    r = subprocess.run(command, shell=True, cwd=scratch, capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode in expected, r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    assert r.stdout or r.stderr or Path(scratch, words[-1]).exists()  # it did something visible


@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_readme_python_block_runs(scratch, index, monkeypatch):
    code = blocks("python")[index]
    if "cnncalc.torch" in code and not HAS_TORCH:
        pytest.skip("needs torch")
    if "resnet50.npz" in code and "save_weights(\"resnet50.npz\"" not in code and not (scratch / "resnet50.npz").exists():
        pytest.skip("runs after the block that saves resnet50.npz")
    monkeypatch.chdir(scratch)
    exec(compile(code, f"README.md python block {index + 1}", "exec"), {})
