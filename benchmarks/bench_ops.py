"""How close cnncalc.runtime.ops.conv gets to the machine's BLAS: GFLOP/s of a 2048^3 float32 matmul and
of conv on representative ResNet-50 / VGG-16 layers at batch 1, and their ratio.

Run:  python benchmarks/bench_ops.py [--repeat N]
FLOPs count 2 per multiply-accumulate (MACs = Cout * (Cin/groups) * prod(k) * prod(out)).
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from cnncalc.runtime import ops  # noqa: E402

# name, Cin, Cout, kernel, stride, padding, groups, input H=W
LAYERS = [
    ("ResNet conv1 3->64 7x7/2 @224", 3, 64, 7, 2, 3, 1, 224),
    ("ResNet 64->64 3x3 @56", 64, 64, 3, 1, 1, 1, 56),
    ("ResNet 256->64 1x1 @56", 256, 64, 1, 1, 0, 1, 56),
    ("ResNet 128->128 3x3/2 @56", 128, 128, 3, 2, 1, 1, 56),
    ("ResNet 512->512 3x3 @7", 512, 512, 3, 1, 1, 1, 7),
    ("MobileNet dw 32 3x3 @112", 32, 32, 3, 1, 1, 32, 112),
    ("VGG conv1_2 64->64 3x3 @224", 64, 64, 3, 1, 1, 1, 224),
    ("VGG conv3_2 256->256 3x3 @56", 256, 256, 3, 1, 1, 1, 56),
]


def best_time(fn, repeat):
    fn()  # warm-up (page faults, BLAS thread start)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)

    n = 2048
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    mm = 2 * n**3 / best_time(lambda: a @ b, args.repeat) / 1e9
    # BLAS threads spin: other busy processes on the machine slow every number here a lot.
    print(f"cores: {os.cpu_count()}  load average: {os.getloadavg()[0]:.2f}  "
          f"numpy {np.__version__}  im2col budget {ops.COL_BUDGET / 2**20:.0f} MiB")
    print(f"float32 matmul {n}^3: {mm:.1f} GFLOP/s\n")

    head = f"{'layer':32} {'out':>10} {'GMAC':>7} {'ms':>8} {'GFLOP/s':>8} {'vs matmul':>9}"
    print(head)
    print("-" * len(head))
    for name, cin, cout, k, s, p, g, hw in LAYERS:
        x = rng.standard_normal((1, cin, hw, hw), dtype=np.float32)
        w = rng.standard_normal((cout, cin // g, k, k), dtype=np.float32)
        bias = rng.standard_normal(cout, dtype=np.float32)
        run = lambda: ops.conv(x, w, bias, (s, s), ((p, p), (p, p)), (1, 1), g)  # noqa: E731
        y = run()
        macs = cout * (cin // g) * k * k * math.prod(y.shape[2:])
        t = best_time(run, args.repeat)
        gf = 2 * macs / t / 1e9
        print(f"{name:32} {'x'.join(map(str, y.shape[1:])):>10} {macs / 1e9:7.3f} "
              f"{t * 1e3:8.2f} {gf:8.1f} {gf / mm:9.0%}")


if __name__ == "__main__":
    main()
