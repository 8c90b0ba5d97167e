"""The machine the NumPy runtime runs on: its BLAS, how many threads the BLAS gets, and its matmul rate.

* **Threads.** NumPy's matmuls run on OpenBLAS (NumPy's wheels ship `scipy-openblas`). Its thread count is set
  at run time through OpenBLAS's own `openblas_set_num_threads` (found in the already-loaded library with ctypes,
  under whichever of its exported names this build uses); before NumPy is imported, `OPENBLAS_NUM_THREADS` works
  too. The default is `default_threads()`: the cores this process may use (`os.sched_getaffinity`) minus the
  ones other processes keep busy (the 1-minute load average), at least 1 — on a busy machine, BLAS threads that
  wait for a core stall each other. `CNNCALC_THREADS=N` or an explicit count overrides it.
* **Matmul rate.** `matmul_gflops()` measures one 2048³ float32 matmul (best of 3). `cached_matmul_gflops()`
  keeps the best rate per machine facts (CPU model, usable cores, NumPy and BLAS versions, thread count) in
  `$XDG_CACHE_HOME/cnncalc/matmul.json` (`~/.cache/…`), so `verify` measures it once per machine, not per run;
  a new measurement (`refresh`) keeps the better of the two rates.
  The file is read as untrusted input: bounded in size, parsed as JSON only, every entry checked; anything odd
  is ignored and rewritten. `CNNCALC_NO_CACHE=1` turns the cache off.
"""
from __future__ import annotations

import ctypes
import json
import math
import os
import platform
import tempfile
from contextlib import contextmanager
from time import perf_counter
from typing import Callable, Iterator, Optional

import numpy as np

THREADS_ENV = "CNNCALC_THREADS"
NO_CACHE_ENV = "CNNCALC_NO_CACHE"
CACHE_FILE = "matmul.json"
CACHE_MAX_BYTES = 64 * 2**10   # a larger file is not ours: ignored
CACHE_MAX_ENTRIES = 32          # machine keys kept, newest first
_SET_NAMES = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads", "openblas_set_num_threads64_",
              "openblas_set_num_threads")
_GET_NAMES = tuple(n.replace("set_", "get_") for n in _SET_NAMES)


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity), else the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def default_threads(cores: Optional[int] = None, load: Optional[float] = None) -> int:
    """BLAS threads for a forward pass: `CNNCALC_THREADS` if set, else the usable cores not kept busy by others
    (cores − 1-minute load average, rounded), at least 1 and at most the cores."""
    value = os.environ.get(THREADS_ENV, "").strip()
    if value:
        return parse_threads(value)
    cores = usable_cores() if cores is None else cores
    if load is None:
        try:
            load = os.getloadavg()[0]
        except (AttributeError, OSError):
            load = 0.0
    return max(1, min(cores, round(cores - load)))


def parse_threads(value: str) -> int:
    """A thread count from text (1–1024); ValueError naming the value otherwise."""
    try:
        n = int(value)
    except ValueError:
        raise ValueError(f"{THREADS_ENV} must be a whole number of threads, not {value!r}") from None
    if not 1 <= n <= 1024:
        raise ValueError(f"{THREADS_ENV} must be between 1 and 1024, not {n}")
    return n


class _OpenBLAS:
    """The loaded OpenBLAS's thread functions (None where the BLAS is not OpenBLAS or hides them)."""

    def __init__(self) -> None:
        self.set = self.get = None
        for path in _loaded_libraries("openblas"):
            try:
                lib = ctypes.CDLL(path)  # already loaded by NumPy: the same handle, nothing new runs
            except OSError:
                continue
            for set_name, get_name in zip(_SET_NAMES, _GET_NAMES):
                if hasattr(lib, set_name) and hasattr(lib, get_name):
                    self.set, self.get = getattr(lib, set_name), getattr(lib, get_name)
                    self.set.argtypes, self.set.restype, self.get.restype = [ctypes.c_int], None, ctypes.c_int
                    return


def _loaded_libraries(part: str):
    """Paths of the shared libraries mapped into this process whose file name contains `part` (Linux)."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split(None, 5)[-1].strip() for line in maps if part in line}
    except OSError:
        return []
    return sorted(p for p in paths if p.startswith("/") and part in os.path.basename(p))


_blas: Optional[_OpenBLAS] = None


def _openblas() -> _OpenBLAS:
    global _blas
    if _blas is None:
        _blas = _OpenBLAS()
    return _blas


def blas_threads() -> Optional[int]:
    """The BLAS's current thread count, None when it cannot be read."""
    b = _openblas()
    return b.get() if b.get is not None else None


@contextmanager
def threads(n: Optional[int]) -> Iterator[Optional[int]]:
    """Run the block with `n` BLAS threads (None: leave them), restoring the previous count after; yields the
    count in force, or None when the BLAS's threads cannot be set (then `OPENBLAS_NUM_THREADS` before
    NumPy's import is the way)."""
    b = _openblas()
    if n is None or b.set is None:
        yield blas_threads()
        return
    before = b.get()
    b.set(int(n))
    try:
        yield b.get()
    finally:
        b.set(before)


def blas_name() -> str:
    """NumPy's BLAS as its build reports it, e.g. 'scipy-openblas 0.3.31.188.0'."""
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name', '?')} {blas.get('version', '?')}"
    except Exception:  # older NumPy, or a build that does not say
        return "unknown"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_key(n_threads: Optional[int], n: int = 2048) -> str:
    """What the matmul rate depends on, as one string."""
    return (f"{_cpu_model()} | cores {usable_cores()} | numpy {np.__version__} | {blas_name()} | "
            f"threads {n_threads} | float32 {n}")


def matmul_gflops(n: int = 2048, repeat: int = 3, clock: Callable[[], float] = perf_counter) -> float:
    """The machine's practical float32 limit: GFLOP/s of one n×n by n×n matmul (2n³ FLOPs), best of `repeat`."""
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    out = np.empty((n, n), np.float32)
    np.matmul(a, b, out=out)  # warm-up: BLAS threads, page faults
    best = float("inf")
    for _ in range(repeat):
        start = clock()
        np.matmul(a, b, out=out)
        best = min(best, clock() - start)
    return 2 * n ** 3 / best / 1e9


def cache_dir() -> Optional[str]:
    """Where cnncalc keeps its per-machine facts, None when `CNNCALC_NO_CACHE` is set."""
    if os.environ.get(NO_CACHE_ENV, "").strip() not in ("", "0"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "cnncalc")


def _read_entries(path: str) -> list:
    """The cache file's valid entries [{key, gflops}], newest first; [] for a missing, large or malformed file."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as f:
            raw = f.read(CACHE_MAX_BYTES + 1)
        if len(raw) > CACHE_MAX_BYTES:
            return []
        data = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return []
    if not isinstance(data, dict) or data.get("version") != 1 or not isinstance(data.get("entries"), list):
        return []
    good = []
    for e in data["entries"][:CACHE_MAX_ENTRIES]:
        if (isinstance(e, dict) and isinstance(e.get("key"), str) and len(e["key"]) <= 1000
                and isinstance(e.get("gflops"), (int, float)) and not isinstance(e["gflops"], bool)
                and math.isfinite(e["gflops"]) and 0 < e["gflops"] < 1e7):
            good.append({"key": e["key"], "gflops": float(e["gflops"])})
    return good


def _write_entries(folder: str, entries: list) -> None:
    """Replace the cache file atomically (a temporary file renamed over it); failures are silent."""
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".matmul-", dir=folder)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump({"version": 1, "entries": entries[:CACHE_MAX_ENTRIES]}, f, indent=1)
            os.replace(tmp, os.path.join(folder, CACHE_FILE))
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass


def cached_matmul_gflops(n_threads: Optional[int], refresh: bool = False,
                         measure: Callable[[], float] = None) -> "tuple[float, bool]":
    """(GFLOP/s of the 2048³ float32 matmul on this machine at `n_threads`, whether it came from the cache).

    Measured (and cached) on a miss, or when `refresh`; the cache keeps the best rate seen, since other processes
    only ever make the matmul slower (a rate measured on a busy machine would flatter every later efficiency).
    Deleting the file forgets it.
    """
    measure = measure or matmul_gflops
    folder = cache_dir()
    if folder is None:
        return measure(), False
    key = machine_key(n_threads)
    path = os.path.join(folder, CACHE_FILE)
    entries = _read_entries(path)
    old = next((e["gflops"] for e in entries if e["key"] == key), None)
    if old is not None and not refresh:
        return old, True
    rate = max(measure(), old or 0.0)
    _write_entries(folder, [{"key": key, "gflops": rate}] + [e for e in entries if e["key"] != key])
    return rate, False
