"""Speed of `cnncalc diff`: layer matching and the whole command, on the zoo and on long generated chains.

Run:  python benchmarks/bench_diff.py [--runs N]

1. `diff()` of two analyses (matching, stages, totals; the analyses made beforehand): ResNet-50 → ResNet-101,
   ResNet-34 → ResNet-50 (little in common), VGG-16 → VGG-16-BN.
2. The same on plain conv/relu chains of 1k and 10k layers, against a copy with one layer inserted in the middle
   (every positional name after it shifts: the structural pass does the work) and a copy with every conv renamed.
3. Whole-process `cnncalc diff resnet50 resnet101 --format markdown` (median of N runs).
Prints best-of-N and the median; numbers, not assertions.
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
from cnncalc.compare.diff import diff  # noqa: E402


def chain(n: int, insert: bool = False, rename: bool = False) -> str:
    """n layers: conv (8 → 8, 3×3, padding 1) and relu alternating on [8, 16, 16]."""
    lines = ["input: [8, 16, 16]", "layers:"]
    for i in range(n // 2):
        if insert and i == n // 4:
            lines.append("  - conv: {out: 8, kernel: 1}")
        name = f", name: c{i}" if rename else ""
        lines += [f"  - conv: {{out: 8, kernel: 3, padding: 1{name}}}", "  - relu"]
    return "\n".join(lines) + "\n"


def timed(fn, runs: int):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    print(f"load average {open('/proc/loadavg').read().split()[:3]}, best of {runs} (median)")
    pairs = [("resnet50", "resnet50", {"depth": 101}), ("resnet34", "resnet50", {}), ("vgg16", "vgg16_bn", {})]
    for old, new, vars in pairs:
        a, b = cnncalc.load(old).analyze(), cnncalc.load(new, vars=vars).analyze()
        best, med = timed(lambda: diff(a, b), runs)
        label = f"{old} → {new}" + (f"@{vars}" if vars else "")
        print(f"diff {label:<36} {len(a.layers):>6} → {len(b.layers):>6} layers  {best * 1e3:8.1f} ms ({med * 1e3:.1f})")
    for n in (1000, 10000):
        a = cnncalc.load(chain(n)).analyze()
        for what, text in (("one inserted", chain(n, insert=True)), ("all renamed", chain(n, rename=True))):
            b = cnncalc.load(text).analyze()
            best, med = timed(lambda: diff(a, b), runs)
            d = diff(a, b)
            print(f"diff chain {n:>6}, {what:<13} {d.counts}  {best * 1e3:8.1f} ms ({med * 1e3:.1f})")
    cmd = [sys.executable, "-m", "cnncalc", "diff", "resnet50", "resnet101", "--format", "markdown"]
    env = {**os.environ, "PYTHONPATH": ROOT}
    best, med = timed(lambda: subprocess.run(cmd, env=env, capture_output=True, check=True), runs)
    print(f"process: cnncalc diff resnet50 resnet101 --format markdown  {best:.3f} s ({med:.3f})")


if __name__ == "__main__":
    main()
