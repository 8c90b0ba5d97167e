"""Fuzzing the command line with mutated specs: whatever the input, a command ends with 0, 1 or 2, never a traceback,
and a spec error (exit 2) names one place inside the spec.

Seeds are the bundled and test specs; each case mutates one (deletes, duplicates or re-indents a line, replaces a
value with a hostile one: tags, anchors, aliases, merge keys, NaN, huge numbers, hostile expressions, control
characters) and runs a command on it through standard input. CI runs a small campaign; for a long one set
CNNCALC_FUZZ_EXAMPLES (cases per command), e.g. `CNNCALC_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz.py`.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).parents[1]
SEEDS = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "cnncalc" / "specs").glob("*.yaml"))
         if p.stem in ("lenet5", "mobilenet_v2", "googlenet", "resnet34")] + \
        [p.read_text(encoding="utf-8") for p in sorted((ROOT / "tests" / "specs").glob("*.yaml"))]
EXAMPLES = int(os.environ.get("CNNCALC_FUZZ_EXAMPLES", "40"))
HOSTILE = ["", "-1", "0", "1.0e+300", ".nan", "-.inf", "!!int x", "!!bool maybe", "!!float ''", "!!str", "!!binary AA",
           "!!python/object:os.system x", "*nothing", "&a 3", "<<: {a: 1}", "[", "{", "]", "'", '"\\u0000"',
           "${1/0}", "${[[0]*1000]*1000}", "${floor(1e300)}", "$undefined", "'$$'", "${'$v0' * 40}", "null", "~",
           "true", "[1, 2, 3]", "{a: 1}", "99999999999999999999999", "-0.0", "3x", "ü", "\t", "? a", "- -", "@",
           "{out: 0, kernel: 0}", "{out: 4, kernel: 99, stride: 0}", "[[[[[[[[[[[]]]]]]]]]]]", "'${' + 'x' * 300 + '}'"]
LOCATED = re.compile(r"^<stdin>:(\d+):(\d+): error: ", re.M)
CASE_MEMORY = 3 * 1024 ** 3  # address space of the process that runs the cases (numpy and BLAS threads included)
CASE_SECONDS = 30  # per case, on a loaded CI machine; a case takes well under a second


class Worker:
    """The cases run in one child process (tests/fuzz_worker.py) whose address space is capped and where each case
    has a time limit, so a runaway case fails its test instead of taking the machine down. A case that kills the
    child (a crash past Python) fails, and the next case gets a fresh child."""

    def __init__(self):
        self.proc = None

    def run(self, args, text: str):
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "fuzz_worker.py"), str(CASE_MEMORY),
                                          str(CASE_SECONDS)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         text=True, encoding="utf-8", errors="surrogateescape", cwd=ROOT)
        self.proc.stdin.write(json.dumps({"args": list(args), "input": text}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, f"the case killed its process (exit {self.proc.wait()}):\n{text}"
        answer = json.loads(line)
        assert "timeout" not in answer, f"the case ran past {CASE_SECONDS} s:\n{text}"
        return answer

    def close(self):
        if self.proc is not None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def worker():
    w = Worker()
    yield w
    w.close()


@st.composite
def mutated_specs(draw):
    lines = draw(st.sampled_from(SEEDS)).splitlines()
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "value", "indent", "insert", "bytes"]))
        if op == "delete" and len(lines) > 1:
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "value" and ":" in lines[i]:
            key = lines[i].split(":", 1)[0]
            lines[i] = f"{key}: {draw(st.sampled_from(HOSTILE))}"
        elif op == "indent":
            lines[i] = " " * draw(st.integers(0, 8)) + lines[i].lstrip()
        elif op == "insert":
            lines.insert(i, " " * draw(st.integers(0, 6)) + draw(st.sampled_from(
                ["- relu", "- repeat", "- residual", "- parallel: {branches: []}", "repeat: 100000",
                 "- conv: {out: 4, kernel: 3, from: nowhere}", "lint-ignore: CNN999", "when: false", "as: 3",
                 "- unknown_layer", "vars: {x: .nan}", "id: x", "- {}", "- []"])))
        else:
            lines[i] = lines[i] + draw(st.text(st.characters(blacklist_categories=("Cs",)), max_size=4))
    return "\n".join(lines) + draw(st.sampled_from(["\n", ""]))


def check(result, text: str) -> None:
    code, stderr = result["exit_code"], result["stderr"]
    assert code in (0, 1, 2), (code, stderr[-2000:], text)
    assert "Traceback" not in stderr and "internal error" not in stderr, (stderr, text)
    if code == 2 and not stderr.startswith("Usage:"):
        found = LOCATED.search(stderr)
        assert found, (stderr, text)
        line, col = int(found.group(1)), int(found.group(2))
        lines = text.split("\n")
        assert 1 <= line <= len(lines), (stderr, text)
        assert 1 <= col <= len(lines[line - 1]) + 1, (stderr, text)


FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
                derandomize=not os.environ.get("CNNCALC_FUZZ_EXAMPLES"))


@pytest.mark.parametrize("command", [
    ("summary", "-", "--format", "json"),
    ("summary", "-", "--depth", "1"),
    ("lint", "-", "--format", "json", "--max-params", "1M"),
    ("diagram", "-", "--format", "svg"),
    ("compare", "-", "-@input=64"),
])
@FUZZ
@given(text=mutated_specs())
def test_mutated_specs_never_crash_a_command(worker, command, text):
    check(worker.run(command, text), text)


@FUZZ
@given(value=st.sampled_from(HOSTILE), option=st.sampled_from(["--set", "--input", "--batch", "--depth"]))
def test_hostile_option_values(worker, value, option):
    argument = f"classes={value}" if option == "--set" else value
    result = worker.run(("summary", "lenet5", option, argument), "")
    assert result["exit_code"] in (0, 2) and "Traceback" not in result["stderr"], result
    assert "internal error" not in result["stderr"], result


def test_the_worker_enforces_its_limits(worker):
    """The limits hold: a case that allocates past the cap fails inside the child, and the child survives it."""
    proc = subprocess.run([sys.executable, "-c", f"""
import resource, sys; sys.argv = ['w', '{CASE_MEMORY}', '1']
sys.path.insert(0, 'tests'); import fuzz_worker
resource.setrlimit(resource.RLIMIT_AS, ({CASE_MEMORY}, {CASE_MEMORY}))
try:
    bytearray({CASE_MEMORY})
except MemoryError:
    print('capped')
"""], capture_output=True, text=True, cwd=ROOT)
    assert proc.stdout.strip() == "capped", proc.stderr
    ok = worker.run(("summary", "-", "--format", "csv"), "input: [3, 8, 8]\nlayers: [relu]\n")
    assert ok["exit_code"] == 0 and "timeout" not in ok
