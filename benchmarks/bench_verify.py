"""How fast and how close to the machine's limit `cnncalc verify` runs, and how well it predicts memory.

For each network (default: resnet50 and vgg16 at batch 1) it prints
  * the wall time of the whole `cnncalc verify NET --batch 1` command (start-up, weights, forward, checks);
  * the forward pass alone, best of --repeat runs: seconds, 2 × MACs / seconds, and that as a share of one
    2048³ float32 matmul measured in the same run (the efficiency target is ≥ 50 %);
  * where the time goes: seconds and share per layer type (from the best run);
and, for every zoo network (--zoo), the peak memory tracemalloc measured during verify's forward pass
against the prediction (peak activations + params + buffers), which should stay within 1.3×.

Run:  python benchmarks/bench_verify.py [NET ...] [--batch 1] [--repeat 5] [--zoo]
The machine is shared: best-of-N times are the machine's capability, single runs are not. Where other processes
keep the cores busy, OpenBLAS's threads stall each other; `OPENBLAS_NUM_THREADS=1 python benchmarks/...` then
also reports the efficiency by CPU time (one core's forward pass against one core's matmul), which they cannot skew.
"""
from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import cnncalc  # noqa: E402
from cnncalc.spec import zoo  # noqa: E402
from cnncalc.runtime.verify import run  # noqa: E402
from cnncalc.runtime import execute, init_weights, matmul_gflops, random_input  # noqa: E402


def command_seconds(net: str, batch: int) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "cnncalc", "verify", net, "--batch", str(batch), "--format", "json"],
                   check=True, capture_output=True)
    return time.perf_counter() - start


def profile(net: str, batch: int, repeat: int) -> None:
    a = cnncalc.load(net).analyze(batch=batch)
    start = time.perf_counter()
    weights = init_weights(a, seed=0)
    init = time.perf_counter() - start
    best, best_cpu, best_types = float("inf"), float("inf"), {}
    for _ in range(repeat):
        types = collections.Counter()
        start, cpu = time.perf_counter(), time.process_time()
        execute(a, random_input(a.network, batch), weights,
                lambda info, y, seconds: types.update({info.type: seconds}))
        seconds = time.perf_counter() - start
        best_cpu = min(best_cpu, time.process_time() - cpu)
        if seconds < best:
            best, best_types = seconds, types
    peak = matmul_gflops(repeat=repeat)
    flop = 2 * a.totals.macs
    wall = command_seconds(net, batch)
    print(f"\n{net} at batch {batch}: `cnncalc verify` {wall:.2f} s wall; weights {init:.2f} s; "
          f"forward {best * 1e3:.1f} ms wall, {best_cpu * 1e3:.1f} ms CPU (best of {repeat})")
    print(f"  {flop / best / 1e9:.1f} GFLOP/s of 2 × {a.totals.macs / 1e9:.3f} GMACs = {flop / best / 1e9 / peak:.0%} "
          f"of a 2048³ float32 matmul ({peak:.1f} GFLOP/s)")
    if os.environ.get("OPENBLAS_NUM_THREADS") == "1":  # one thread: CPU seconds are immune to other processes
        print(f"  by CPU time: {flop / best_cpu / 1e9 / matmul_gflops(repeat=repeat, clock=time.process_time):.0%} "
              "of the matmul's CPU-time throughput")
    total = sum(best_types.values())
    for kind, seconds in best_types.most_common():
        print(f"  {kind:18} {seconds * 1e3:8.1f} ms {seconds / total:6.1%}")


def memory(nets, batch: int) -> None:
    print(f"\npeak memory during verify's forward pass at batch {batch} (tracemalloc, weights included):")
    print(f"  {'network':22} {'predicted':>12} {'measured':>12} {'ratio':>6}")
    for net in nets:
        a = cnncalc.load(net).analyze(batch=batch)
        if a.error is not None:
            print(f"  {net:22} {a.error.message}")
            continue
        r = run(a)
        mib = 2 ** 20
        print(f"  {net:22} {r.peak_predicted / mib:9.1f} MiB {r.peak_measured / mib:9.1f} MiB "
              f"{r.peak_measured / r.peak_predicted:6.3f}{'' if r.ok else '  (verify failed)'}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("nets", nargs="*", default=["resnet50", "vgg16"])
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--zoo", action="store_true", help="also compare measured and predicted peaks on every zoo network")
    args = ap.parse_args(argv)
    import numpy as np

    print(f"cores: {os.cpu_count()}  numpy {np.__version__}")
    for net in args.nets:
        profile(net, args.batch, args.repeat)
    memory(zoo.names() if args.zoo else args.nets, args.batch)


if __name__ == "__main__":
    main()
