"""Speed of `cnncalc lint` over every bundled zoo network.

Run:  python benchmarks/bench_lint.py [--runs N]

1. In one process, for all zoo names: load + expand, analyze, and lint (every rule, no budgets set, plus all five
   budgets set low so the budget rules build their reports). Best of N runs per phase; target: the analysis of
   the whole zoo well under a second, and linting a small fraction of it.
2. The slowest specs to lint, so a rule that scales badly shows up.
3. Wall time of `cnncalc lint <every zoo name>` as a fresh process (median of N runs), next to `python -c pass`.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import cnncalc  # noqa: E402
from cnncalc.spec import zoo  # noqa: E402
from cnncalc.lint import Settings, lint  # noqa: E402
from cnncalc.lint.rules import common  # noqa: E402

LOW_BUDGETS = Settings(budgets={"params": 1, "macs": 1, "flops": 1, "peak-memory": 1, "param-memory": 1})


def best(fn, runs: int) -> float:
    """Fastest of `runs` calls, each starting cold: the cache of analysed alternatives is emptied first."""
    times = []
    for _ in range(runs):
        common._ALTERNATIVES.clear()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    names = zoo.names()
    nets = [cnncalc.load(n) for n in names]
    analyses = [net.analyze() for net in nets]
    layers = sum(len(a.layers) for a in analyses)
    print(f"zoo: {len(names)} specs, {layers:,} layers")

    t_load = best(lambda: [cnncalc.load(n) for n in names], runs)
    t_analyze = best(lambda: [net.analyze() for net in nets], runs)
    t_lint = best(lambda: [lint(a) for a in analyses], runs)
    t_budget = best(lambda: [lint(a, LOW_BUDGETS) for a in analyses], runs)
    print(f"load + expand      {t_load * 1e3:8.1f} ms")
    print(f"analyze            {t_analyze * 1e3:8.1f} ms   (target: well under 1 s)")
    print(f"lint (rules)       {t_lint * 1e3:8.1f} ms   {t_lint / t_analyze:.0%} of the analysis")
    print(f"lint (+ budgets)   {t_budget * 1e3:8.1f} ms")
    findings = sum(len(lint(a)) for a in analyses)
    print(f"findings           {findings}")

    per_spec = sorted(((best(lambda a=a: lint(a), runs), n, len(a.layers)) for n, a in zip(names, analyses)), reverse=True)
    print("slowest to lint:   " + ", ".join(f"{n} {t * 1e3:.1f} ms ({k} layers)" for t, n, k in per_spec[:3]))

    def wall(cmd):
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
            times.append(time.perf_counter() - t)
        return statistics.median(times)

    t_python = wall([sys.executable, "-c", "pass"])
    t_cli = wall([sys.executable, "-m", "cnncalc", "lint", *names])
    print(f"python -c pass     {t_python * 1e3:8.1f} ms")
    print(f"cnncalc lint <zoo> {t_cli * 1e3:8.1f} ms   (fresh process, all {len(names)} specs)")


if __name__ == "__main__":
    main()
