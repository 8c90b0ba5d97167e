"""The shape of the code: every layer type has an entry in every backend table, stages import only downward, and the
NumPy run holds exactly the tensors the schedule (and so the peak-memory prediction) says are live.
"""
from __future__ import annotations

import ast
import re
import weakref
from pathlib import Path

import pytest

import cnncalc
from cnncalc.layers import flops_rules, types

ROOT = Path(__file__).parents[1]
PACKAGE = ROOT / "cnncalc"
README = ROOT / "README.md"

# -- one entry per layer type in every table ----------------------------------------------------------------------------


def test_every_layer_type_has_a_numpy_kernel_and_a_torch_module():
    pytest.importorskip("numpy")
    from cnncalc.runtime.backend import FORWARD
    from cnncalc.torch.calls import CALLS  # imports no torch

    names = set(types())
    assert names - set(FORWARD) == set(), "layer types without a NumPy kernel in cnncalc/runtime/backend.py"
    assert names - set(CALLS) == set(), "layer types without a PyTorch module in cnncalc/torch/calls.py"
    assert set(FORWARD) - names == set() and set(CALLS) - names == set(), "a backend entry for no layer type"


def test_readme_flop_table_is_generated_from_the_layers():
    # each layer class states its FLOP rule (or its flops_per_element); the README's table is made from them
    from cnncalc.render.text import flops_markdown

    section = re.search(r"<!-- section:flops -->\n(.*?)<!-- /section:flops -->", README.read_text(encoding="utf-8"), re.S)
    assert section, "README.md has no flops section"
    assert section.group(1) == flops_markdown(), \
        "README's FLOP table is stale: paste `python -c 'from cnncalc.render.text import flops_markdown as f; " \
        "print(f(), end=\"\")'` between its section markers"
    listed = {name for names, _ in flops_rules() for name in names}
    assert listed == set(types())


# -- stages import only downward ---------------------------------------------------------------------------------------

# A module may import its own stage and any lower one, never a higher one. `cnncalc/__init__.py` (the public API)
# and `__main__` sit outside the stages.
RANKS = {"errors": 0, "units": 0, "layers": 1, "spec": 2, "core": 3, "importers": 3, "runtime": 4, "lint": 4, "compare": 4,
         "conventions": 4,
         "torch": 5, "render": 6, "cli": 7}


def imported_modules(path: Path, module: str):
    """Absolute names of the cnncalc modules (or their attributes) that `path` imports, anywhere in the file."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.split(".")[:len(package.split(".")) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
            yield from ([f"{target}.{a.name}" for a in node.names] if not node.module else [target])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cnncalc"):
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("cnncalc"))


def stage_of(module: str) -> str:
    return module.split(".")[1] if "." in module else ""


def test_stages_import_only_downward():
    wrong = []
    modules = 0
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        module = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        stage = stage_of(module)
        if stage in ("", "__main__"):
            continue
        assert stage in RANKS, f"{module}: a new stage? give it a rank in this test and the README's code map"
        modules += 1
        for target in imported_modules(path, module):
            other = stage_of(target)
            if other == "__version__":
                continue
            if RANKS.get(other, -1) > RANKS[stage]:
                wrong.append(f"{module} imports {target}")
    assert modules > 50
    assert wrong == []


def test_the_stage_check_can_fail(tmp_path):
    path = tmp_path / "bad.py"
    path.write_text("from ..render.table import summary_table\nimport cnncalc.cli\n")
    found = list(imported_modules(path, "cnncalc.core.bad"))
    assert found == ["cnncalc.render.table", "cnncalc.cli"]
    assert all(RANKS[stage_of(t)] > RANKS["core"] for t in found)


def test_analysis_and_linting_import_no_numpy_torch_or_rich():
    import subprocess
    import sys

    code = ("import sys, cnncalc, cnncalc.lint, cnncalc.compare\n"
            "a = cnncalc.load('resnet50').analyze(); cnncalc.lint.run(a, cnncalc.lint.Settings())\n"
            "print(sorted(m for m in ('numpy', 'torch', 'rich') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# -- the run frees what the schedule frees -----------------------------------------------------------------------------

BRANCHY = """
input: [3, 12, 12]
layers:
  - conv: {out: 4, kernel: 3, padding: 1}
  - residual:
      body:
        - conv: {out: 4, kernel: 3, padding: 1}
        - relu
        - conv: {out: 4, kernel: 3, padding: 1}
  - parallel:
      branches:
        - [maxpool: {kernel: 3, stride: 1, padding: 1}]
        - [conv: {out: 2, kernel: 1}, relu]
        - [identity]
      merge: concat
  - identity: {id: cat}
  - conv: {out: 5, kernel: 1, name: side}
  - conv: {out: 3, kernel: 1, from: cat}
  - global_avgpool
  - flatten
  - dense: 2
"""


def bases(array):
    """The array and the arrays it is a view of."""
    while array is not None:
        yield array
        array = array.base


@pytest.mark.parametrize("spec", [BRANCHY, "googlenet_torchvision"])
def test_the_run_holds_exactly_the_tensors_the_schedule_says_are_live(spec):
    # After each layer, the executor's live arrays (watched through weak references) are exactly the schedule's
    # live set: the peak-memory prediction and the NumPy run rest on one `Schedule`, and this proves they agree.
    np = pytest.importorskip("numpy")
    from cnncalc.runtime import execute, init_weights, random_input
    from cnncalc.spec.graph import INPUT

    net = cnncalc.load(spec)
    if spec == "googlenet_torchvision":
        net = net.with_input((3, 64, 64))
    a = net.analyze()
    live_after = {i: (set(live) - set(done) | {i}) - {INPUT} for i, live, done in net.schedule.walk()}
    refs = {}
    problems = []

    def on_layer(info, y, seconds):
        refs[info.index] = weakref.ref(y)
        del y  # arrays hold no reference cycles: once dropped they are gone, no collection needed
        arrays = {j: r() for j, r in refs.items() if r() is not None}
        live = live_after[info.index]
        # anything else still alive is memory a live tensor shares: identity/dropout return their input, flatten a view
        kept = {id(base) for j in live if j in arrays for base in bases(arrays[j])}
        extra = {j for j in set(arrays) - live if id(arrays[j]) not in kept}
        if not live <= set(arrays) or extra:
            problems.append((info.name, sorted(arrays), sorted(live)))

    out = execute(a, random_input(net, 1), init_weights(a), on_layer)  # (the caller's frame holds the input)
    assert isinstance(out, np.ndarray) and out.shape == (1, *a.totals.output)
    assert len(live_after) == len(a.layers)
    assert any(len(live) < i + 1 for i, live in live_after.items())  # tensors are freed: the check has teeth
    assert problems == []


@pytest.mark.parametrize("spec", [BRANCHY, "googlenet_torchvision", "densenet121"])
def test_pending_tensors_match_their_definition(spec):
    # pending after node i: the tensors made so far (the input included) that a later node still reads; the schedule
    # keeps one set up to date (linear), checked here against the definition applied afresh at every step
    from cnncalc.spec.graph import INPUT

    schedule = cnncalc.load(spec).schedule
    steps = 0
    for i, pending in schedule.pending_after():
        assert pending == {t for t in [INPUT, *range(i + 1)] if schedule.last_reader(t) > i}, i
        steps += 1
    assert steps == len(schedule.frees)
