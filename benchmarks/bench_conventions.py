"""Each counting tool against cnncalc's `--convention` for the same figures, and whether they agree.

For each network and each installed tool: the tool's run time on cnncalc's torch module (batch 1, one thread, best
of --repeat) beside the time cnncalc takes to analyse the spec and apply the convention, and "equal" when the
tool's totals and per-layer figures are exactly the convention's. Tools that are not installed are listed as such.

Run:  python benchmarks/bench_conventions.py [--repeat N] [NET ...]
Needs torch and the tools (`pip install --no-deps fvcore iopath yacs tabulate termcolor portalocker tqdm ptflops
thop torchinfo torchscan calflops`; see .ci/run).
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))
sys.path.insert(0, os.path.dirname(HERE))

NETS = ["resnet50", "mobilenet_v2", "vgg16", "inception_v3"]


def best(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("nets", nargs="*", default=NETS)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    import torch

    import cnncalc
    import cnncalc.torch
    from cnncalc.conventions import count
    from conventions_tools import RUNNERS

    torch.set_num_threads(1)
    print(f"load average {open('/proc/loadavg').read().split()[:3]}, best of {args.repeat}, batch 1, 1 thread")
    print(f"{'network':14} {'tool':13} {'tool s':>8} {'cnncalc ms':>10}  result")
    for name in args.nets:
        network = cnncalc.load(name)
        model = cnncalc.torch.build(network).eval()
        x = torch.randn(1, *network.input)
        for tool, (runner, module) in RUNNERS.items():
            if importlib.util.find_spec(module) is None:
                print(f"{name:14} {tool:13} {'':>8} {'':>10}  not installed")
                continue
            seconds, (totals, layers) = best(lambda: runner(model, network, x), args.repeat)
            ours_s, counted = best(lambda: count(cnncalc.load(name).analyze(), tool), args.repeat)
            per_layer = {l.name: l.values for l in counted.layers}
            equal = totals == dict(counted.totals) and all(
                per_layer[n][k] == v for n, values in layers.items() for k, v in values.items())
            print(f"{name:14} {tool:13} {seconds:8.2f} {ours_s * 1e3:10.1f}  {'equal' if equal else 'DIFFERENT'}")


if __name__ == "__main__":
    main()
