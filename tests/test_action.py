"""The CI integrations run as documented: action.yml's scripts, the README's workflow commands, the pre-commit hook's
entry on the files pre-commit would pass it, and the version tag every example pins.

Real pre-commit is not run here: installing the hook's environment fetches cnncalc's dependencies from the package
index (2 min 19 s the one time it was tried, by hand, against a local clone tagged v0.1.0: the warnings-only run
passed and showed its finding, the training config was skipped). `CNNCALC_PRECOMMIT=1 pytest tests/test_action.py`
repeats that run; by default the hook's entry command is run directly on the files pre-commit would select.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import cnncalc

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
HOOKS = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
TAG = f"v{cnncalc.__version__}"
BASE = "input: [3, 8, 8]\nlayers:\n  - conv: {out: 8, kernel: 3, padding: 1}\n  - relu\n  - flatten\n  - dense: 10\n"
WIDER = BASE.replace("out: 8", "out: 16")  # params 5,354 → 10,698 (tests/test_diff.py)
WARNS = ("input: [3, 32, 32]\nlayers:\n  - conv: {out: 16, kernel: 5, padding: 2}\n"
         "  - conv: {out: 16, kernel: 1, stride: 2}\n")  # conv2 drops a row and a column: CNN102, a warning
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]


@pytest.fixture
def scratch(tmp_path):
    """A git repository with models/net.yaml committed (BASE), a bin/ with this interpreter's python and cnncalc."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    (repo / "models").mkdir(parents=True)
    (repo / "models" / "net.yaml").write_text(BASE)
    (repo / "models" / "train.yaml").write_text("lr: 0.1\nepochs: 90\n")  # a training config, not a spec
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run([*GIT, "add", "."], cwd=repo, check=True)
    subprocess.run([*GIT, "commit", "-qm", "base"], cwd=repo, check=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    (bin_dir / "cnncalc").write_text(f"#!/bin/sh\nexec {sys.executable} -m cnncalc \"$@\"\n")
    (bin_dir / "cnncalc").chmod(0o755)
    runner = tmp_path / "runner"
    runner.mkdir()
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(ROOT),
           "NO_COLOR": "1", "RUNNER_TEMP": str(runner), "GITHUB_OUTPUT": str(runner / "output"),
           "GITHUB_STEP_SUMMARY": str(runner / "summary.md")}
    return repo, env


def step(name: str) -> dict:
    return next(s for s in ACTION["runs"]["steps"] if s.get("name") == name)


def run_step(name: str, repo: Path, env: dict, inputs: dict) -> subprocess.CompletedProcess:
    """One `run:` step of action.yml as the runner runs it (bash -eo pipefail), its `${{ }}` env filled in."""
    values = {f"inputs.{k}": v.get("default", "") for k, v in ACTION["inputs"].items()}
    values.update({f"inputs.{k}": v for k, v in inputs.items()})
    values.update({"github.base_ref": "", "github.action_path": str(ROOT)})
    s = step(name)
    step_env = {k: re.sub(r"\$\{\{\s*([\w.-]+)\s*\}\}", lambda m: values[m.group(1)], str(v))
                for k, v in s.get("env", {}).items()}
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", s["run"]], cwd=repo,
                          env={**env, **step_env}, capture_output=True, text=True, timeout=300)


def outputs(env: dict) -> dict:
    text = Path(env["GITHUB_OUTPUT"]).read_text() if Path(env["GITHUB_OUTPUT"]).exists() else ""
    return dict(line.split("=", 1) for line in text.splitlines())


def test_action_lint_step_reports_and_records_its_status(scratch):
    repo, env = scratch
    (repo / "models" / "net.yaml").write_text(WIDER)
    r = run_step("Lint", repo, env, {"baseline": "HEAD", "lint-args": "--max-growth params=10% --select CNN3"})
    assert r.returncode == 0, r.stderr  # the step itself passes; the Verdict step fails the job
    assert outputs(env)["status"] == "1"
    assert r.stdout.startswith("::error file=models/net.yaml,line=6,col=12,title=CNN311 params-growth::params grew "
                               "+99.8%25 over the baseline (HEAD:models/net.yaml)")  # '%' escaped as GitHub wants
    sarif = (Path(env["RUNNER_TEMP"]) / "cnncalc.sarif").read_text()
    assert '"ruleId": "CNN311"' in sarif


def test_action_lint_step_without_a_baseline(scratch):
    repo, env = scratch
    (repo / "models" / "w.yaml").write_text(WARNS)
    r = run_step("Lint", repo, env, {})
    assert r.returncode == 0 and outputs(env)["status"] == "0"  # a warning: annotated, not failed
    assert "\n::warning file=models/w.yaml,line=4,col=5,title=CNN102 dropped-pixels::" in r.stdout


def test_action_diff_step_writes_the_comment(scratch):
    repo, env = scratch
    (repo / "models" / "net.yaml").write_text(WIDER)
    (repo / "models" / "new.yaml").write_text(BASE)
    r = run_step("Diff", repo, env, {"baseline": "HEAD"})
    assert r.returncode == 0, r.stderr
    assert outputs(env)["changed"] == "2"
    body = (Path(env["RUNNER_TEMP"]) / "cnncalc-diff.md").read_text()
    assert body.startswith("<!-- cnncalc-diff -->\n### cnncalc diff: `HEAD:./models/net.yaml` → `models/net.yaml`")
    assert "| Params | 5,354 | 10,698 | +5,344 (+99.81%) |" in body and "<details>" in body
    assert "### `models/new.yaml`\n\nA new spec (not in HEAD)." in body
    assert Path(env["GITHUB_STEP_SUMMARY"]).read_text() == body


def test_action_diff_step_when_nothing_changed(scratch):
    repo, env = scratch
    r = run_step("Diff", repo, env, {"baseline": "HEAD"})
    assert r.returncode == 0 and outputs(env)["changed"] == "0"
    assert "No network changed." in Path(env["GITHUB_STEP_SUMMARY"]).read_text()


def test_action_inputs_reach_scripts_only_through_env():
    """No `${{ }}` inside a script: an input (a branch name, a path) is data, never shell code."""
    for s in ACTION["runs"]["steps"]:
        assert "${{" not in s.get("run", ""), s.get("name")


# -- the README's workflow ---------------------------------------------------------------------------------
def readme_workflows():
    return [yaml.safe_load(block) for block in re.findall(r"^```yaml\n(.*?)^```", README, re.S | re.M)
            if "jobs:" in block]


def test_readme_workflows_pin_the_release_tag():
    workflows = readme_workflows()
    assert len(workflows) == 2  # the action, and the same with plain commands
    uses = [s["uses"] for w in workflows for job in w["jobs"].values() for s in job["steps"] if "uses" in s]
    assert f"cnncalc/cnncalc@{TAG}" in uses


def test_readme_workflow_commands_run(scratch):
    """Each `run:` of the README's workflows, in a checkout with a spec and a base branch (installs skipped)."""
    repo, env = scratch
    subprocess.run(["git", "branch", "-q", "base"], cwd=repo, check=True)
    (repo / "models" / "net.yaml").write_text(WIDER)
    env = {**env, "GITHUB_BASE_REF": "base"}
    subprocess.run(["git", "update-ref", "refs/remotes/origin/base", "base"], cwd=repo, check=True)
    ran = 0
    for w in readme_workflows():
        for job in w["jobs"].values():
            for s in job["steps"]:
                command = s.get("run")
                if not command or "pip install" in command:
                    continue
                r = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", command], cwd=repo,
                                   env=env, capture_output=True, text=True, timeout=300)
                assert r.returncode in (0, 1), (command, r.stderr)  # 1: a lint verdict
                assert "Traceback" not in r.stderr
                ran += 1
    assert ran >= 3


# -- pre-commit ----------------------------------------------------------------------------------------------
def test_hook_definition():
    [hook] = HOOKS
    assert hook["id"] == "cnncalc-lint" and hook["language"] == "python" and hook["verbose"] is True
    assert hook["entry"].split()[:3] == ["cnncalc", "lint", "--specs-only"]


def readme_precommit():
    block = next(b for b in re.findall(r"^```yaml\n(.*?)^```", README, re.S | re.M) if "pre-commit-config" in b)
    return yaml.safe_load(block)


def test_readme_precommit_example_uses_the_hook_at_the_tag():
    [repo] = readme_precommit()["repos"]
    assert repo["rev"] == TAG and repo["repo"] == "https://github.com/cnncalc/cnncalc"
    assert [h["id"] for h in repo["hooks"]] == [HOOKS[0]["id"]]


def selected(repo: Path, hook: dict):
    """The files pre-commit passes the hook: tracked files matching `files` whose type is yaml (by extension)."""
    files = subprocess.run(["git", "ls-files"], cwd=repo, capture_output=True, text=True, check=True).stdout.split()
    return [f for f in files if re.search(hook["files"], f) and f.endswith((".yaml", ".yml"))]


def test_hook_entry_on_what_pre_commit_passes(scratch):
    repo, env = scratch
    [config_repo] = readme_precommit()["repos"]
    hook = {**HOOKS[0], **config_repo["hooks"][0]}
    (repo / "models" / "w.yaml").write_text(WARNS)
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    files = selected(repo, hook)
    assert files == ["models/net.yaml", "models/train.yaml", "models/w.yaml"]
    command = hook["entry"].split() + list(hook.get("args", [])) + files
    r = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    # train.yaml is skipped; the warning passes the hook and is shown (verbose: true shows passing output)
    assert r.returncode == 0, r.stderr
    assert "models/w.yaml:4:5: CNN102 warning" in r.stdout and "train.yaml" not in r.stdout + r.stderr
    assert r.stderr.endswith("in 2 specs\n")
    # without --specs-only the training config would fail the commit, as the issue found
    plain = subprocess.run(["cnncalc", "lint", *files], cwd=repo, env=env, capture_output=True, text=True)
    assert plain.returncode == 2 and "models/train.yaml" in plain.stderr


@pytest.mark.skipif(not os.environ.get("CNNCALC_PRECOMMIT"), reason="installs the hook's environment from the "
                    "package index (minutes); CNNCALC_PRECOMMIT=1 runs it")
def test_real_pre_commit_against_a_tagged_clone(scratch, tmp_path):
    if shutil.which("pre-commit") is None:
        pytest.skip("pre-commit is not installed")
    repo, env = scratch
    clone = tmp_path / "cnncalc"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    subprocess.run(["git", "tag", TAG], cwd=clone, check=True)
    config = readme_precommit()
    config["repos"][0]["repo"] = str(clone)
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    (repo / "models" / "w.yaml").write_text(WARNS)
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    r = subprocess.run(["pre-commit", "run", "--all-files"], cwd=repo, capture_output=True, text=True, timeout=1800,
                       env={**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "home")})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "CNN102 warning" in r.stdout


# -- packaging and the tag scheme ----------------------------------------------------------------------------
def test_every_pinned_example_uses_the_release_tag():
    """Tags are vMAJOR.MINOR.PATCH of cnncalc.__version__; the README, the hook and the action docs pin that one."""
    texts = README + (ROOT / ".pre-commit-hooks.yaml").read_text() + (ROOT / "action.yml").read_text()
    pins = re.findall(r"(?:cnncalc@|rev: )(v[\w.]+)", texts)
    assert pins and set(pins) == {TAG}
    assert re.match(r"^\d+\.\d+\.\d+$", cnncalc.__version__)


def test_the_package_is_typed():
    import configparser

    data = configparser.ConfigParser()
    data.read(ROOT / "setup.cfg")
    assert "py.typed" in [p.strip() for p in data["options.package_data"]["cnncalc"].split(",")]
    assert (ROOT / "cnncalc" / "py.typed").is_file()
