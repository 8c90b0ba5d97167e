"""cnncalc's NumPy forward pass against PyTorch's CPU forward, per network, batch and thread count, in one process.

For each thread count (default 1 and 2: BLAS threads through cnncalc.runtime.machine, torch.set_num_threads) it
measures a 2048³ float32 matmul (the machine's practical peak at that count), then per network and batch:

  numpy ms      best wall time of cnncalc's forward pass (reference path, and --fused's)
  torch ms      best wall time of the same network as a torch module (cnncalc.torch.build, same weights, no_grad)
  ratio         numpy / torch
  share         2 × MACs / numpy seconds, as a share of the matmul's GFLOP/s
  cpu ms        the same best pass in process CPU time (numpy, torch): what other processes cannot inflate at one
                thread (at two, threads waiting for a core spin and show up here too)
  cpu share     2 × MACs / numpy CPU seconds, as a share of the matmul's rate by CPU time: at one thread, the share
                a busy machine cannot skew
  load          the 1-minute load average when the row was measured

Run:  python benchmarks/runtime_forward.py [NET ...] [--batch 1 8] [--threads 1 2] [--repeat 3] [--no-torch]
The machine may be shared: best-of-N is the machine's capability, and the load average says how shared it was.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import cnncalc  # noqa: E402
from cnncalc.runtime import execute, init_weights, machine, random_input  # noqa: E402
from cnncalc.runtime.fuse import fold_weights, plan  # noqa: E402


def best(fn, repeat: int):
    """(best wall seconds, best CPU seconds) of `repeat` calls after one warm-up."""
    fn()
    wall = cpu = float("inf")
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        fn()
        wall, cpu = min(wall, time.perf_counter() - w), min(cpu, time.process_time() - c)
    return wall, cpu


def load() -> str:
    return f"{os.getloadavg()[0]:.2f}"


def torch_runner(net, weights, x):
    import torch

    from cnncalc import torch as ct

    model = ct.build(net).eval()
    model.load_state_dict(ct.to_state_dict(net, weights), strict=False)
    tx = torch.from_numpy(x)

    def run():
        with torch.no_grad():
            model(tx)
    return run


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("nets", nargs="*", default=["resnet50", "vgg16", "mobilenet_v2"])
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-torch", action="store_true")
    args = ap.parse_args(argv)
    torch = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            print("torch not installed: NumPy only")
    print(f"usable cores {machine.usable_cores()}, {machine.blas_name()}, default threads now "
          f"{machine.default_threads()}; best of {args.repeat}")
    print(f"{'network':<13} {'batch':>5} {'thr':>3} {'path':<9} {'numpy ms':>9} {'torch ms':>9} {'ratio':>6} "
          f"{'share':>6} {'cpu ms np':>10} {'cpu ms pt':>10} {'cpu share':>9} {'load':>6}")
    for n_threads in args.threads:
        with machine.threads(n_threads) as in_force:
            if torch is not None:
                torch.set_num_threads(n_threads)
            peak = machine.matmul_gflops()
            peak_cpu = machine.matmul_gflops(clock=time.process_time) / n_threads
            print(f"-- {n_threads} thread(s) (BLAS reports {in_force}): 2048³ float32 matmul {peak:.1f} GFLOP/s, "
                  f"{peak_cpu:.1f} per CPU second, load {load()}")
            for name in args.nets:
                net = cnncalc.load(name)
                for batch in args.batch:
                    a = net.analyze(batch=batch).complete()
                    weights = init_weights(a)
                    x = random_input(net, batch)
                    t_torch = best(torch_runner(net, weights, x), args.repeat) if torch is not None else None
                    p = plan(a)
                    folded = fold_weights(a, p, weights)
                    for path, w, pl in (("reference", weights, None), ("fused", folded, p)):
                        wall, cpu = best(lambda: execute(a, x.copy(), w, None, pl), args.repeat)
                        share = 2 * a.totals.macs / wall / 1e9 / peak
                        share_cpu = 2 * a.totals.macs / cpu / 1e9 / peak_cpu
                        tw, tc = t_torch if t_torch else (float("nan"),) * 2
                        print(f"{name:<13} {batch:>5} {n_threads:>3} {path:<9} {wall * 1e3:9.1f} {tw * 1e3:9.1f} "
                              f"{wall / tw:6.2f} {share:6.1%} {cpu * 1e3:10.1f} {tc * 1e3:10.1f} {share_cpu:9.1%} "
                              f"{load():>6}", flush=True)


if __name__ == "__main__":
    main()
