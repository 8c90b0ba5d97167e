"""How well the roofline estimate predicts real per-layer times on this machine.

For each network (default: resnet50, vgg16, mobilenet_v2 and the six `cnncalc kernels` alternatives to a 7×7 conv,
64 → 64 channels on 56×56) at each batch (default 1 and 8) it
  * calibrates this machine first (the same measurements as `cnncalc calibrate`: NumPy matmul and copy rates, and
    torch's), unless profiles are given;
  * predicts each layer's time with the roofline on that profile (time = max(FLOPs / peak, bytes / bandwidth));
  * measures each layer of cnncalc's NumPy forward (`cnncalc.runtime.execute`'s per-layer clock) and of torch's CPU
    forward of `cnncalc.torch.build(net)` (perf_counter in forward pre- and post-hooks), best of --repeat per layer;
  * prints the Spearman rank correlation between predicted and measured per-layer times (layers the model says
    move nothing — flatten, dropout, identity — are left out), the ratio of predicted to measured total, and per
    layer type the ratio measured / predicted, which says where the model misses. `kernels` pools the layers of
    the six alternatives, and also ranks the alternatives by their totals (the question `cnncalc kernels` answers).

Run:  python benchmarks/roofline_validate.py [NET ...] [--batch 1 8] [--repeat 3] [--threads 1] [--no-torch]
      [--numpy-profile FILE] [--torch-profile FILE] [--no-recalibrate]
Profiles not given as files are measured again before each network (the load on a shared box drifts).
The machine is shared: times are best-of-N and the load average is printed beside them. By default they are
process (CPU) times, calibration included: with one thread, the time this process computed, which other processes
cannot stretch (they still share caches and memory bandwidth); --clock wall measures elapsed time instead. --threads (default 1) sets
OpenBLAS's, OpenMP's and torch's thread counts before anything is imported, for calibration and runs alike:
on a loaded 2-core box one thread per process gives steadier numbers than threads that wait for each other.
"""
from __future__ import annotations

import argparse
import collections
import os
import sys
from time import perf_counter
from typing import Dict, List, Sequence

ALTERNATIVES = ("single", "stack3x3", "factorized", "dilated", "separable", "bottleneck")
DEFAULT_NETS = ("resnet50", "vgg16", "mobilenet_v2", "kernels")  # `kernels`: the six alternatives as one group


def ranks(values: Sequence[float]) -> List[float]:
    """1-based ranks, ties sharing their average rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation: Pearson's correlation of the ranks (ties averaged)."""
    rx, ry = ranks(x), ranks(y)
    n = len(rx)
    if n < 2:
        return float("nan")
    mx, my = sum(rx) / n, sum(ry) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    sxx = sum((a - mx) ** 2 for a in rx)
    syy = sum((b - my) ** 2 for b in ry)
    return sxy / (sxx * syy) ** 0.5 if sxx and syy else float("nan")


def load(spec: str):
    import cnncalc
    from cnncalc.compare.alternatives import SPEC_DIR

    if spec.startswith("kernels:"):
        alt = spec.split(":", 1)[1]
        extra = {"mid": 16} if alt == "bottleneck" else {}
        return cnncalc.load(str(SPEC_DIR / f"{alt}.yaml"),
                            vars={"channels": 64, "out": 64, "kernel": 7, "stride": 1, **extra}, input=(64, 56, 56))
    return cnncalc.load(spec)


def numpy_times(a, repeat: int, clock=perf_counter) -> List[float]:
    """Best-of-`repeat` seconds per layer of cnncalc's NumPy forward: the executor's own per-layer wall clock, or
    with another `clock` (process time) the time between one layer's end and the next's (the kernel and the
    executor's bookkeeping for it)."""
    from cnncalc.runtime import execute, init_weights, random_input

    weights = init_weights(a, seed=0)
    best = [float("inf")] * len(a.layers)
    last = [0.0]

    def seen(info, y, seconds):
        if clock is not perf_counter:
            now = clock()
            seconds, last[0] = now - last[0], now
        best[info.index] = min(best[info.index], seconds)

    for _ in range(repeat + 1):  # the first run warms up (page faults, BLAS threads)
        x = random_input(a.network, a.batch)
        last[0] = clock()
        execute(a, x, weights, seen)
    return best


def torch_times(a, repeat: int, clock=perf_counter) -> List[float]:
    """Best-of-`repeat` seconds per layer of torch's CPU forward of `cnncalc.torch.build(net)`."""
    import torch
    import cnncalc.torch as ct

    model = ct.build(a.network).eval()
    best = [float("inf")] * len(a.layers)
    started: Dict[int, float] = {}
    for i, (module, _, _) in enumerate(model.steps):
        module.register_forward_pre_hook(lambda m, args, i=i: started.__setitem__(i, clock()))
        module.register_forward_hook(
            lambda m, args, out, i=i: best.__setitem__(i, min(best[i], clock() - started[i])))
    x = torch.randn(a.batch, *a.network.input)
    with torch.inference_mode():
        for _ in range(repeat + 1):
            model(x)
    return best


def profile(backend: str, given: str, repeat: int, clock=perf_counter):
    from cnncalc.core.device import load_device, parse_device, dump_device
    from cnncalc.cli.calibrate import measure

    if given:
        return load_device(given)
    peak, bandwidth, notes = measure(backend, repeat, clock)
    return parse_device(dump_device(f"this-machine-{backend}", backend, peak, bandwidth, notes), f"<{backend}>")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("nets", nargs="*", default=list(DEFAULT_NETS))
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--numpy-profile", default="")
    ap.add_argument("--torch-profile", default="")
    ap.add_argument("--clock", choices=["cpu", "wall"], default="cpu",
                    help="cpu: process time (default; with one thread the time this process computed, which other "
                         "processes on a shared box cannot stretch); wall: elapsed time")
    ap.add_argument("--no-recalibrate", dest="recalibrate", action="store_false",
                    help="measure the profiles once, not again before each network")
    args = ap.parse_args()
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    from cnncalc.core.roofline import estimate
    from cnncalc.core.traffic import moves_data
    from cnncalc.units import seconds

    backends = ["numpy"] + ([] if args.no_torch else ["torch"])
    if "torch" in backends:
        try:
            import torch
            torch.set_num_threads(args.threads)
        except ImportError:
            backends.remove("torch")
    import time

    clock = time.process_time if args.clock == "cpu" else perf_counter
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {args.threads} thread(s); "
          f"best of {args.repeat}; {args.clock} time")
    profiles = {}

    def calibrate(first: bool) -> None:
        """(Re)measure the profiles not given as files: the load on a shared box drifts over minutes."""
        for b in backends:
            given = getattr(args, f"{b}_profile")
            if first or (args.recalibrate and not given):
                profiles[b] = profile(b, given, args.repeat, clock)
                d = profiles[b]
                print(f"  {b} profile: " + ", ".join(f"{k} {f.value / 1e9:.3g} GFLOP/s" for k, f in d.peak.items())
                      + f"; {d.bandwidth.value / 1e9:.3g} GB/s (load {os.getloadavg()[0]:.2f})", flush=True)

    calibrate(True)
    print()
    print(f"{'network':<14} {'batch':>5} {'backend':<7} {'layers':>6} {'spearman':>8} {'pred/meas':>9} "
          f"{'predicted':>10} {'measured':>10}   measured/predicted by type (share of measured time)")
    for k, net_name in enumerate(args.nets):
        if k:
            calibrate(False)
        members = [f"kernels:{alt}" for alt in ALTERNATIVES] if net_name == "kernels" else [net_name]
        nets = [load(m) for m in members]
        for batch in args.batch:
            analyses = [net.analyze(batch=batch).complete() for net in nets]
            for b in backends:
                pooled_p, pooled_m, kinds, totals = [], [], [], []
                for a in analyses:
                    r = estimate(a, profiles[b])
                    predicted = [t.seconds for t in r.layers]
                    measured = (numpy_times if b == "numpy" else torch_times)(a, args.repeat, clock)
                    keep = [i for i, info in enumerate(a.layers) if moves_data(info)]
                    pooled_p += [predicted[i] for i in keep]
                    pooled_m += [measured[i] for i in keep]
                    kinds += [a.layers[i].type for i in keep]
                    totals.append((sum(predicted[i] for i in keep), sum(measured[i] for i in keep)))
                by_type: Dict[str, List[float]] = collections.defaultdict(lambda: [0.0, 0.0])
                for k, p, m in zip(kinds, pooled_p, pooled_m):
                    by_type[k][0] += p
                    by_type[k][1] += m
                whole_p, whole_m = sum(pooled_p), sum(pooled_m)
                types = sorted(by_type.items(), key=lambda kv: -kv[1][1])[:5]
                detail = ", ".join(f"{k} {m / p:.2g}× ({m / whole_m:.0%})" if p else f"{k} -" for k, (p, m) in types)
                print(f"{net_name:<14} {batch:>5} {b:<7} {len(pooled_p):>6} {spearman(pooled_p, pooled_m):>8.3f} "
                      f"{whole_p / whole_m:>9.2f} {seconds(whole_p):>10} {seconds(whole_m):>10}   {detail}", flush=True)
                if len(totals) > 1:
                    print(f"{'':<14} {'':>5} {'':<7} {'':>6} {spearman(*zip(*totals)):>8.3f}  ranking of the "
                          f"alternatives by total; predicted / measured: "
                          + ", ".join(f"{alt} {seconds(p)} / {seconds(m)}" for alt, (p, m) in zip(ALTERNATIVES, totals)),
                          flush=True)
    print(f"\nload average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end")


if __name__ == "__main__":
    main()
