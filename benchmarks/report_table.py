"""Speed of the terminal table: rendering alone (load and analysis excluded), per row, at 80 and 140 columns.

Run:  python benchmarks/report_table.py [--runs N]

Prints best-of-N milliseconds and microseconds per row for a 10,000-layer plain chain, a 10,000-layer nest of
residual blocks inside repeats (the tree labels' worst case: every row is four containers deep), ResNet-50 and
Inception v3. The analysis is done once outside the timing; what is timed is building the renderable and printing
it into an in-memory console, as `cnncalc summary` does.
"""
from __future__ import annotations

import argparse
import io
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def chain_spec(layers: int) -> str:
    body = "".join("  - conv: {out: 8, kernel: 3, padding: 1}\n  - relu\n" for _ in range(layers // 2))
    return f"name: chain{layers}\ninput: [8, 16, 16]\nlayers:\n{body}"


def nested_spec(layers: int) -> str:
    """Residual blocks of 5 layers (conv, bn, relu, add, relu) in a repeat of repeats: rows 4-5 containers deep."""
    outer = layers // (5 * 20)
    return f"""name: nest{layers}
input: [8, 16, 16]
blocks:
  unit:
    layers:
      - residual:
          body: [{{conv: {{out: 8, kernel: 3, padding: 1}}}}, bn, relu]
      - relu
layers:
  - repeat: {outer}
    layers:
      - repeat: 20
        layers: [unit]
"""


def best(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    import cnncalc
    from rich.console import Console
    from cnncalc.render.table import summary_table

    cases = [("chain 10k", chain_spec(10_000)), ("nested 10k", nested_spec(10_000)),
             ("resnet50", "resnet50"), ("inception_v3", "inception_v3")]
    print(f"load average: {open('/proc/loadavg').read().split()[:3]}")
    print(f"{'case':<14}{'rows':>7}{'width':>7}{'best ms':>10}{'µs/row':>9}")
    for label, spec in cases:
        a = cnncalc.load(spec).analyze()
        n = len(a.layers)
        for width in (80, 140):
            def render():
                out = Console(file=io.StringIO(), width=width, no_color=True, color_system=None, highlight=False)
                out.print(summary_table(a, width=width), crop=False)
            seconds = best(render, args.runs)
            print(f"{label:<14}{n:>7}{width:>7}{seconds * 1e3:>10.1f}{seconds / n * 1e6:>9.1f}")


if __name__ == "__main__":
    main()
