"""cnncalc.runtime.machine: the default BLAS thread count, setting it at run time, and the per-machine matmul cache
(which is read as untrusted input)."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from cnncalc.runtime import machine


@pytest.mark.parametrize("cores, load, expected", [
    (2, 0.0, 2),     # an idle machine: every core
    (2, 0.4, 2),     # 2 − 0.4 = 1.6 → 2
    (2, 0.8, 1),     # 2 − 0.8 = 1.2 → 1: one core is someone else's
    (2, 9.5, 1),     # overloaded: still one thread
    (8, 3.2, 5),     # 8 − 3.2 = 4.8 → 5
    (8, 0.0, 8),
])
def test_default_threads_are_the_cores_others_leave_free(monkeypatch, cores, load, expected):
    monkeypatch.delenv(machine.THREADS_ENV, raising=False)
    assert machine.default_threads(cores, load) == expected


def test_the_environment_overrides_the_default(monkeypatch):
    monkeypatch.setenv(machine.THREADS_ENV, "3")
    assert machine.default_threads(2, 0.0) == 3
    for bad in ("three", "0", "2000"):
        monkeypatch.setenv(machine.THREADS_ENV, bad)
        with pytest.raises(ValueError, match=machine.THREADS_ENV):
            machine.default_threads()


def test_usable_cores_follow_the_affinity():
    assert machine.usable_cores() == len(os.sched_getaffinity(0))


def test_threads_are_set_inside_and_restored_after():
    before = machine.blas_threads()
    if before is None:
        pytest.skip("this NumPy's BLAS does not expose OpenBLAS's thread functions")
    with machine.threads(1) as n:
        assert n == machine.blas_threads() == 1
        np.ones((200, 200), np.float32) @ np.ones((200, 200), np.float32)
    assert machine.blas_threads() == before
    with machine.threads(None) as n:  # None leaves them
        assert n == before


@pytest.fixture
def cache(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv(machine.NO_CACHE_ENV, raising=False)
    return tmp_path / "cnncalc" / machine.CACHE_FILE


def counting(rate):
    calls = []

    def measure():
        calls.append(1)
        return rate
    return measure, calls


def test_the_rate_is_measured_once_then_read(cache):
    measure, calls = counting(123.5)
    assert machine.cached_matmul_gflops(2, measure=measure) == (123.5, False)
    assert machine.cached_matmul_gflops(2, measure=measure) == (123.5, True)
    assert len(calls) == 1
    assert machine.cached_matmul_gflops(1, measure=measure) == (123.5, False)  # another thread count: another key
    entries = json.loads(cache.read_text())["entries"]
    assert [e["key"].endswith(f"threads {n} | float32 2048") for e, n in zip(entries, (1, 2))] == [True, True]


def test_refresh_keeps_the_best_rate_seen(cache):
    # a busy machine only slows the matmul: a lower new rate does not replace a higher old one
    machine.cached_matmul_gflops(2, measure=lambda: 50.0)
    assert machine.cached_matmul_gflops(2, refresh=True, measure=lambda: 40.0) == (50.0, False)
    assert machine.cached_matmul_gflops(2, refresh=True, measure=lambda: 60.0) == (60.0, False)
    assert machine.cached_matmul_gflops(2, measure=lambda: 1.0) == (60.0, True)


def test_no_cache_measures_every_time_and_writes_nothing(cache, monkeypatch):
    monkeypatch.setenv(machine.NO_CACHE_ENV, "1")
    measure, calls = counting(10.0)
    assert machine.cached_matmul_gflops(2, measure=measure) == (10.0, False)
    assert machine.cached_matmul_gflops(2, measure=measure) == (10.0, False)
    assert len(calls) == 2 and not cache.exists()


def key():
    return machine.machine_key(2)


@pytest.mark.parametrize("content", [
    b"\xff\xfe not text",
    b"{not json",
    b"[1, 2, 3]",
    json.dumps({"version": 2, "entries": []}).encode(),
    json.dumps({"version": 1, "entries": "all"}).encode(),
    b"[" * 100_000,                                                       # deep nesting, and too large
    json.dumps({"version": 1, "entries": [{"key": "k" * 10}], "pad": "x" * 70_000}).encode(),  # > 64 KiB
], ids=["binary", "broken", "list", "version", "entries", "nested", "large"])
def test_a_malformed_cache_is_ignored_and_rewritten(cache, content):
    cache.parent.mkdir(parents=True)
    cache.write_bytes(content)
    assert machine.cached_matmul_gflops(2, measure=lambda: 7.0) == (7.0, False)
    assert machine.cached_matmul_gflops(2, measure=lambda: 1.0) == (7.0, True)


@pytest.mark.parametrize("rate", [float("nan"), float("inf"), -5.0, 0, True, "100", 1e9, None])
def test_implausible_rates_in_the_cache_are_not_believed(cache, rate):
    cache.parent.mkdir(parents=True)
    text = json.dumps({"version": 1, "entries": [{"key": key(), "gflops": rate}]})  # NaN/Infinity: Python's JSON
    cache.write_text(text)
    assert machine.cached_matmul_gflops(2, measure=lambda: 7.0) == (7.0, False)


def test_the_cache_keeps_a_bounded_number_of_machines(cache):
    cache.parent.mkdir(parents=True)
    others = [{"key": f"machine {i}", "gflops": 1.0 + i} for i in range(100)]
    cache.write_text(json.dumps({"version": 1, "entries": others}))
    machine.cached_matmul_gflops(2, measure=lambda: 7.0)
    entries = json.loads(cache.read_text())["entries"]
    assert len(entries) == machine.CACHE_MAX_ENTRIES and entries[0] == {"key": key(), "gflops": 7.0}


def test_a_symlinked_cache_file_is_not_followed(cache, tmp_path):
    target = tmp_path / "elsewhere.json"
    target.write_text(json.dumps({"version": 1, "entries": [{"key": key(), "gflops": 999.0}]}))
    cache.parent.mkdir(parents=True)
    cache.symlink_to(target)
    assert machine.cached_matmul_gflops(2, measure=lambda: 7.0) == (7.0, False)
    assert json.loads(target.read_text())["entries"][0]["gflops"] == 999.0  # replaced the link, not its target
