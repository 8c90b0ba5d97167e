"""Pausing Python's cyclic garbage collector while a spec loads or a network is analysed.

Both allocate many long-lived objects and no garbage cycles; the collector's repeated passes over them cost as much
as the work itself (a 10,000-layer chain: 2.7 s with it, 1.4 s without; benchmarks/bench_summary.py). The pause is
reentrant and shared by threads: the collector is disabled when the first pause starts, if it was enabled, and
enabled again when the last one ends. A caller that disabled it keeps it disabled.
"""
from __future__ import annotations

import gc
import threading
from contextlib import contextmanager

_lock = threading.Lock()
_active = 0  # pauses running now, in any thread
_resume = False  # whether the collector was enabled when the first of them started


@contextmanager
def paused_gc():
    global _active, _resume
    with _lock:
        if _active == 0:
            _resume = gc.isenabled()
            gc.disable()
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _resume:
                gc.enable()
