"""The training step, measured: NumPy peak (tracemalloc) against the prediction, NumPy backward against PyTorch's CPU
backward at the same thread count, and what `cnncalc train` adds to a `cnncalc summary` process.

1. For each network at --batch (default 8): `cnncalc.core.train.train` predicts the step's peak; the NumPy step
   (`cnncalc.runtime.train_step.check_step`, Adam, fp32) measures it with tracemalloc; target ratio within 1.1.
2. Backward seconds: the NumPy step's backward against `loss.backward()` of the torch-built module with the same
   input and loss (Σ y·r), `torch.set_num_threads(--threads)` and OPENBLAS_NUM_THREADS alike; target within 3×.
3. Whole process, best of --repeat: `cnncalc summary NET` against `cnncalc train NET` (target: under +20 %).

Run:  OPENBLAS_NUM_THREADS=2 python benchmarks/train_step.py [--batch 8] [--threads 2] [--skip-numpy] [NET ...]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
NETS = ["resnet50", "vgg16", "mobilenet_v2"]


def process_seconds(args, repeat):
    env = {**os.environ, "PYTHONPATH": ROOT, "NO_COLOR": "1"}
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "cnncalc", *args], env=env, stdout=subprocess.DEVNULL, check=True)
        best = min(best, time.perf_counter() - start)
    return best


def torch_backward_seconds(network, batch, threads):
    import torch

    from cnncalc import torch as ct

    torch.set_num_threads(threads)
    model = ct.build(network).train()
    x = torch.randn(batch, *network.input)
    y = model(x)
    r = torch.randn_like(y)
    loss = (y * r).sum()
    start = time.perf_counter()
    loss.backward()
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("nets", nargs="*", default=NETS)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--threads", type=int, default=int(os.environ.get("OPENBLAS_NUM_THREADS", "2")))
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--skip-numpy", action="store_true")
    args = p.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))

    import cnncalc
    from cnncalc.core.train import train
    from cnncalc.units import human_bytes

    print(f"load average {open('/proc/loadavg').read().split()[:3]}, threads {args.threads}, batch {args.batch}")
    for name in args.nets:
        net = cnncalc.load(name)
        start = time.perf_counter()
        step = train(net, args.batch, "adam")
        analysis = time.perf_counter() - start
        line = f"{name:14s} predicted peak {human_bytes(step.totals.peak_bytes):>11s} (analysis {analysis * 1e3:.0f} ms)"
        if not args.skip_numpy:
            from cnncalc.runtime.train_step import check_step

            report = check_step(step)
            line += (f", measured {human_bytes(report.peak_measured):>11s}, ratio {report.peak_ratio:.3f}; "
                     f"NumPy forward {report.forward_seconds:.1f} s, backward {report.backward_seconds:.1f} s")
            try:
                tb = torch_backward_seconds(net, args.batch, args.threads)
                line += f", torch backward {tb:.1f} s ({report.backward_seconds / tb:.1f}×)"
            except ImportError:
                pass
        print(line, flush=True)
    for name in args.nets:
        s = process_seconds(["summary", name], args.repeat)
        t = process_seconds(["train", name, "--batch", str(args.batch)], args.repeat)
        print(f"{name:14s} process: summary {s:.3f} s, train {t:.3f} s (+{(t / s - 1) * 100:.0f} %), best of {args.repeat}")


if __name__ == "__main__":
    main()
