"""cnncalc against PyTorch on the same networks, in one run.

1. Forward pass at batch 1, same weights, same thread count: cnncalc's NumPy forward vs PyTorch's CPU forward of
   the module `cnncalc export` writes (best of --repeat after a warm-up; target: NumPy within 2×).
2. Whole process, start to exit: `cnncalc summary NET` vs `python -c "import torch, torchinfo; …summary(…)"` on the
   exported module (torchinfo-style: a forward pass with hooks; target: cnncalc at least 10× faster).

Run:  python benchmarks/bench_torch.py [--threads N] [--repeat N] [NET ...]
Needs torch (and torchinfo for part 2: `pip install torchinfo`; without it a hook-counting summary stands in).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

NETS = ["resnet50", "vgg16", "mobilenet_v2", "inception_v3"]
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

TORCHINFO = """
import sys, torch
sys.path.insert(0, {folder!r})
from {module} import {cls}, INPUT_SHAPE
model = {cls}()
try:
    import torchinfo
    torchinfo.summary(model, input_size=(1, *INPUT_SHAPE), depth=10, verbose=0)
except ImportError:  # the same work: a forward pass whose hooks record every module's output shape and parameters
    rows = []
    for m in model.modules():
        m.register_forward_hook(lambda m, i, o: rows.append((type(m).__name__, tuple(o.shape), sum(p.numel() for p in m.parameters(False)))))
    with torch.no_grad():
        model(torch.zeros(1, *INPUT_SHAPE))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("nets", nargs="*", default=NETS)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    threads = str(args.threads)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # before numpy loads its BLAS
        os.environ[var] = threads
    sys.path.insert(0, ROOT)
    import importlib.util

    import torch
    from bench_ops import best_time  # best of `repeat` after a warm-up

    import cnncalc
    from cnncalc import runtime as fw
    from cnncalc.torch import export
    from cnncalc import torch as ct

    torch.set_num_threads(args.threads)
    folder = tempfile.mkdtemp(prefix="cnncalc-bench-")
    env = {**os.environ, "PYTHONPATH": ROOT}

    def process_time(argv) -> float:  # a whole process, start to exit
        return best_time(lambda: subprocess.run(argv, check=True, capture_output=True, env=env), args.repeat)

    print(f"threads: {args.threads} (NumPy's BLAS and torch.set_num_threads), batch 1, best of {args.repeat}")
    print(f"{'network':<14} {'numpy s':>9} {'torch s':>9} {'ratio':>6}   {'summary s':>9} {'torchinfo s':>11} {'ratio':>6}")
    for name in args.nets:
        net = cnncalc.load(name)
        code = export.export(net)
        module = f"bench_{name}"
        path = os.path.join(folder, module + ".py")
        with open(path, "w") as f:
            f.write(code)
        spec = importlib.util.spec_from_file_location(module, path)
        exported = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(exported)
        cls = export.camel(net.name)
        model = getattr(exported, cls)().eval()

        weights = fw.init_weights(net)
        model.load_state_dict(ct.to_state_dict(net, weights), strict=False)
        x = fw.random_input(net, batch=1)
        t_numpy = best_time(lambda: fw.forward(net, x, weights), args.repeat)
        tx = torch.from_numpy(x)

        def run_torch():
            with torch.no_grad():
                model(tx)
        t_torch = best_time(run_torch, args.repeat)

        t_summary = process_time([sys.executable, "-m", "cnncalc", "summary", name])
        script = TORCHINFO.format(folder=folder, module=module, cls=cls)
        t_info = process_time([sys.executable, "-c", script])
        print(f"{name:<14} {t_numpy:9.3f} {t_torch:9.3f} {t_numpy / t_torch:5.2f}×   "
              f"{t_summary:9.3f} {t_info:11.3f} {t_info / t_summary:5.1f}×", flush=True)
    print("ratio: numpy / torch forward (target ≤ 2); torchinfo process / cnncalc summary process (target ≥ 10)")


if __name__ == "__main__":
    main()
