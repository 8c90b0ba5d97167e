"""Speed of ONNX import: whole-process `cnncalc import` and `cnncalc summary` of ResNet-50 as an ONNX file.

Run:  python benchmarks/import_onnx.py [--runs N]     (needs torch and onnx once, to export the file)

1. The file: the zoo's ResNet-50 built in PyTorch (`cnncalc.torch.build`) and exported with its weights by PyTorch's
   exporter (98 MiB, nearly all weights; cached in the temp directory).
2. Whole-process wall time, best of N: `cnncalc import r50.onnx -o …` (target < 1 s), `cnncalc summary r50.onnx`
   against `cnncalc summary resnet50` from YAML (target: within 2×), and the in-process read of the file alone.
3. Peak memory (max RSS) of the import process next to the file's size: weights are skipped, not read.
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
sys.path.insert(0, ROOT)
ENV = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
MODEL = os.path.join(tempfile.gettempdir(), "cnncalc-bench-resnet50.onnx")


def make_model() -> str:
    if os.path.exists(MODEL):
        return MODEL
    import warnings

    import torch

    import cnncalc
    import cnncalc.torch

    net = cnncalc.load("resnet50")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(cnncalc.torch.build(net).eval(), (torch.zeros(1, *net.input),), MODEL, dynamo=False)
    return MODEL


def timed(args, runs):
    best, rss = float("inf"), 0
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.perf_counter()
        subprocess.run(args, check=True, env=ENV, stdout=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - start)
        rss = max(rss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before)
    return best, rss


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    path = make_model()
    print(f"load average {open('/proc/loadavg').read().split()[:3]}; best of {runs}")
    print(f"file: {path}, {os.path.getsize(path) / 2**20:.1f} MiB")
    cli = [sys.executable, "-m", "cnncalc"]
    bare, _ = timed([sys.executable, "-c", "pass"], runs)
    out = os.path.join(tempfile.gettempdir(), "cnncalc-bench-resnet50.yaml")
    imp, imp_rss = timed(cli + ["import", path, "-o", out], runs)
    onnx_sum, _ = timed(cli + ["summary", path, "--format", "json"], runs)
    yaml_sum, _ = timed(cli + ["summary", "resnet50", "--format", "json"], runs)
    print(f"python -c pass                    {bare:6.3f} s")
    print(f"cnncalc import r50.onnx           {imp:6.3f} s   (target < 1 s)   max RSS {imp_rss / 1024:.0f} MiB")
    print(f"cnncalc summary r50.onnx          {onnx_sum:6.3f} s")
    print(f"cnncalc summary resnet50 (YAML)   {yaml_sum:6.3f} s   ONNX / YAML = {onnx_sum / yaml_sum:.2f} (target ≤ 2)")
    from cnncalc.importers import read

    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        imported = read(path)
        best = min(best, time.perf_counter() - start)
    print(f"reading the file in-process       {best * 1000:6.1f} ms  ({len(imported.ops)} layers)")


if __name__ == "__main__":
    main()
