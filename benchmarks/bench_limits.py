"""Commands at the sizes the spec limits allow: a 100,000-layer chain and a 50,000-branch `parallel`.

Run:  python benchmarks/bench_limits.py [--runs N] [--sizes 10000,100000]

The hostile-input issue asks that every command be near-linear up to the limits it accepts (`diagram` and `lint`
"within a few seconds" at 100,000 layers and 50,000 parallel branches). For each shape and size this prints the
whole-process wall time and CPU time of `summary --format csv`, `lint`, and `diagram` in each format (best of N), and
the CPU time per layer, so a command that grows faster than its input shows up as a rising per-layer figure. The
load average is printed beside the figures: on a shared machine wall time means little without it.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

COMMANDS = {
    "summary csv": ["summary", "{spec}", "--format", "csv"],
    "lint": ["lint", "{spec}"],
    "diagram svg": ["diagram", "{spec}", "--format", "svg"],
    "diagram mermaid": ["diagram", "{spec}", "--format", "mermaid"],
    "diagram dot": ["diagram", "{spec}", "--format", "dot"],
}


def chain(layers: int) -> str:
    """conv/relu pairs on a small map: `layers` layers in one line."""
    return "input: [8, 16, 16]\nlayers:\n" + "  - conv: {out: 8, kernel: 3, padding: 1}\n  - relu\n" * (layers // 2)


def branches(count: int) -> str:
    """One `parallel` of `count` one-layer branches, added: the widest graph a spec of this size makes."""
    return "input: [8, 16, 16]\nlayers:\n  - parallel:\n      merge: add\n      branches:\n" + "        - [relu]\n" * count


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(args, runs: int):
    """(best wall, best CPU, exit code) of `cnncalc ARGS` as a fresh process."""
    walls, cpus, code = [], [], 0
    for _ in range(runs):
        cpu, wall = children_cpu(), time.perf_counter()
        code = subprocess.run([sys.executable, "-m", "cnncalc", *args], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, cwd=ROOT).returncode
        walls.append(time.perf_counter() - wall)
        cpus.append(children_cpu() - cpu)
    return min(walls), min(cpus), code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--sizes", default="10000,100000", help="layer counts (the branch count is half of each)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"load average {os.getloadavg()[0]:.2f}, best of {args.runs}")
    print(f"{'shape':<10} {'layers':>8}  {'command':<16} {'wall s':>8} {'cpu s':>8} {'cpu µs/layer':>13}  exit")
    with tempfile.TemporaryDirectory() as tmp:
        for shape, make in (("chain", chain), ("branches", branches)):
            for size in sizes:
                count = size if shape == "chain" else size // 2
                path = os.path.join(tmp, f"{shape}{count}.yaml")
                with open(path, "w", encoding="utf-8") as f:
                    f.write(make(count))
                layers = count if shape == "chain" else count + 1
                for name, command in COMMANDS.items():
                    wall, cpu, code = run([a.format(spec=path) for a in command], args.runs)
                    print(f"{shape:<10} {layers:>8,}  {name:<16} {wall:>8.2f} {cpu:>8.2f} {cpu / layers * 1e6:>13.1f}  {code}",
                          flush=True)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
