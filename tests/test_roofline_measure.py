"""The machinery of benchmarks/roofline_validate.py: per-layer clocks of the NumPy and torch forwards cover every
layer, and the rank correlation is Spearman's. No timing is asserted (times belong to benchmarks, not tests)."""
from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

import cnncalc
from cnncalc.core.device import load_device
from cnncalc.core.roofline import estimate

SPEC = """\
input: [3, 16, 16]
layers:
  - {conv: {out: 8, kernel: 3, padding: 1, bias: false}}
  - bn
  - relu
  - {conv: {out: 8, kernel: 3, padding: 1, groups: 8}}
  - maxpool: 2
  - {residual: {body: [{conv: {out: 8, kernel: 1}}]}}
  - global_avgpool
  - flatten
  - dense: 4
"""


@pytest.fixture(scope="module")
def bench():
    path = Path(__file__).parents[1] / "benchmarks" / "roofline_validate.py"
    spec = importlib.util.spec_from_file_location("roofline_validate", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_spearman_by_hand(bench):
    # ranks of x: 1, 2, 3, 4; of y: 2, 1, 4, 3 → d² = 1 + 1 + 1 + 1 = 4; ρ = 1 − 6·4 / (4·15) = 0.6
    assert bench.spearman([1, 2, 3, 4], [20, 10, 40, 30]) == pytest.approx(0.6)
    # ties share the average rank: [1, 1, 2] → 1.5, 1.5, 3
    assert bench.ranks([5, 5, 7]) == [1.5, 1.5, 3.0]
    assert bench.spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)


def test_numpy_clock_covers_every_layer(bench):
    pytest.importorskip("numpy")
    a = cnncalc.load(SPEC).analyze(batch=2)
    measured = bench.numpy_times(a, repeat=1)
    assert len(measured) == len(a.layers) and all(math.isfinite(t) and t >= 0 for t in measured)
    predicted = [t.seconds for t in estimate(a, load_device("xeon-core")).layers]
    assert len(predicted) == len(measured)


def test_torch_clock_covers_every_layer(bench):
    pytest.importorskip("torch")
    a = cnncalc.load(SPEC).analyze(batch=2)
    measured = bench.torch_times(a, repeat=1)
    assert len(measured) == len(a.layers) and all(math.isfinite(t) and t >= 0 for t in measured)


def test_kernels_alternatives_load_as_the_kernels_command_builds_them(bench):
    # the benchmark's `kernels` group is the six specs `cnncalc kernels --size 7 --channels 64` compares
    from cnncalc.compare.alternatives import compare_kernels

    result = compare_kernels(7, 64)
    for alt, item in zip(bench.ALTERNATIVES, result.items):
        assert bench.load(f"kernels:{alt}").analyze().totals.macs == item.values["macs"]
