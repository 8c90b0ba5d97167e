"""Speed of the core: whole-process `cnncalc summary` on ResNet-50, what the CLI imports, and analysis scaling.

Run:  python benchmarks/bench_summary.py [--runs N]

1. Wall time of `cnncalc summary <ResNet-50> --format json` as a fresh process (median of N runs; target < 0.5 s),
   next to a bare `python -c pass` so the interpreter's own start-up is visible.
2. What that command path imports: numpy must not be among the modules (the analysis never needs it).
3. load + analyze of generated plain chains of 1k, 10k and 100k layers, per-layer cost to show that the time is
   linear in the number of layers (the spec limit is 100,000 expanded layers).
4. Whole-process `cnncalc summary` of the 10,000-layer chain, each output format, split into start-up, load +
   analyze and rendering (the issue's target: under 1 s).
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

ZOO_RESNET50 = os.path.join(ROOT, "cnncalc", "specs", "resnet50.yaml")

# Used only when the zoo has no resnet50.yaml: torchvision's ResNet-50 (v1.5, stride on the 3×3 conv), which gives
# the same 25,557,032 params and 4,089,184,256 MACs as the zoo's spec.
RESNET50_FALLBACK = """
name: resnet50
input: [3, 224, 224]
blocks:
  bottleneck:
    args: {width: null, stride: 1, project: false}
    layers:
      - residual:
          body:
            - conv: {out: $width, kernel: 1, bias: false}
            - bn
            - relu
            - conv: {out: $width, kernel: 3, stride: $stride, padding: 1, bias: false}
            - bn
            - relu
            - conv: {out: '${width * 4}', kernel: 1, bias: false}
            - bn
          shortcut:          # a projection on a stage's first block, identity (no layers) on the others
            - repeat: '${1 if project else 0}'
              layers:
                - conv: {out: '${width * 4}', kernel: 1, stride: $stride, bias: false}
                - bn
      - relu
layers:
  - conv: {out: 64, kernel: 7, stride: 2, padding: 3, bias: false}
  - bn
  - relu
  - maxpool: {kernel: 3, stride: 2, padding: 1}
""" + "".join(f"""  - bottleneck: {{width: {w}, stride: {s}, project: true}}
  - repeat: {n - 1}
    layers: [bottleneck: {{width: {w}}}]
""" for w, s, n in ((64, 1, 3), (128, 2, 4), (256, 2, 6), (512, 2, 3))) + """  - global_avgpool
  - flatten
  - dense: 1000
"""


def chain_spec(layers: int) -> str:
    """A plain chain of `layers` layers (conv/relu pairs) on a small map: analysis cost, not arithmetic size."""
    return "input: [8, 32, 32]\nlayers:\n" + "  - conv: {out: 8, kernel: 3, padding: 1}\n  - relu\n" * (layers // 2)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def median_wall(cmd, runs: int):
    """Median wall time and median CPU time of a fresh process (CPU time is steadier on a busy machine)."""
    walls, cpus = [], []
    for _ in range(runs):
        c0, t0 = children_cpu(), time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - t0)
        cpus.append(children_cpu() - c0)
    return statistics.median(walls), statistics.median(cpus)


def whole_process(spec: str, runs: int) -> None:
    print(f"whole process, median of {runs}:                   wall      CPU")
    for label, cmd in (("python -c pass", [sys.executable, "-c", "pass"]),
                       ("cnncalc summary resnet50 --format json",
                        [sys.executable, "-m", "cnncalc", "summary", spec, "--format", "json"])):
        wall, cpu = median_wall(cmd, runs)
        verdict = f"  (target < 500 ms) {'OK' if wall < 0.5 else 'SLOW'}" if "summary" in label else ""
        print(f"{label:40} {wall * 1000:7.0f} ms {cpu * 1000:6.0f} ms{verdict}")


def imports(spec: str) -> None:
    probe = (
        "import sys, time; t0 = time.perf_counter()\n"
        "from cnncalc.cli import cli\n"
        "cli(['summary', sys.argv[1], '--format', 'json'], standalone_mode=False)\n"
        "heavy = [m for m in ('numpy', 'rich', 'torch') if m in sys.modules]\n"
        "print(len(sys.modules), ','.join(heavy) or '-', f'{(time.perf_counter() - t0) * 1000:.0f}', file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe, spec], check=True, capture_output=True, text=True).stderr
    count, heavy, ms = out.split()
    print(f"summary --format json imports {count} modules in-process ({ms} ms); heavy ones: {heavy} "
          f"{'OK (no numpy)' if 'numpy' not in heavy else 'FAIL: numpy imported'}")


def scaling(runs: int) -> None:
    import cnncalc

    print(f"load + analyze, median of {runs}:  wall       CPU   CPU per layer")
    for n in (1_000, 10_000, 100_000):
        text = chain_spec(n)
        walls, cpus = [], []
        for _ in range(runs if n < 100_000 else 1):
            c0, t0 = time.process_time(), time.perf_counter()
            result = cnncalc.load(text).analyze()
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
            assert result.ok and result.totals.layers == n
        wall, cpu = statistics.median(walls), statistics.median(cpus)
        print(f"{n:7,} layers {wall * 1000:12.0f} ms {cpu * 1000:6.0f} ms {cpu / n * 1e6:8.0f} µs")


def large_process(runs: int) -> None:
    """Whole `cnncalc summary` processes on the 10,000-layer chain, one per output format."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "chain10k.yaml")
        with open(path, "w") as f:
            f.write(chain_spec(10_000))
        print(f"whole process, 10,000 layers, median of {runs}:   wall  (target < 1 s)")
        for fmt in ("json", "csv", "markdown", "table"):
            walls = []
            for _ in range(runs):
                t0 = time.perf_counter()
                subprocess.run([sys.executable, "-m", "cnncalc", "summary", path, "--format", fmt], check=True,
                               stdout=subprocess.DEVNULL, cwd=ROOT)
                walls.append(time.perf_counter() - t0)
            wall = statistics.median(walls)
            print(f"cnncalc summary --format {fmt:8} {wall * 1000:14.0f} ms  {'OK' if wall < 1 else 'SLOW'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per measurement (median reported)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        spec = ZOO_RESNET50
        if not os.path.isfile(spec):
            spec = os.path.join(tmp, "resnet50.yaml")
            with open(spec, "w") as f:
                f.write(RESNET50_FALLBACK)
        print(f"ResNet-50 spec: {os.path.relpath(spec, ROOT) if spec == ZOO_RESNET50 else 'generated (zoo has none)'}")
        whole_process(spec, args.runs)
        imports(spec)
    scaling(max(1, args.runs // 2))
    large_process(max(1, args.runs // 2))


if __name__ == "__main__":
    main()
