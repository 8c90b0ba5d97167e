"""Stage 3, the NumPy runtime: run a network and prove its shapes, counts and memory by execution.

    import numpy as np, cnncalc
    net = cnncalc.load("resnet50")
    y = cnncalc.forward(net, np.zeros((1, 3, 224, 224), np.float32))   # seeded He/Glorot weights
    y, every = cnncalc.forward(net, x, weights=cnncalc.runtime.load_weights("resnet50.npz"), return_all=True)

`ops` holds the kernels, `backend` the table of which kernel each layer type runs, `executor` the run in schedule
order, `weights` initialisation and .npz files, `verify` the engine of `cnncalc verify`, `machine` the BLAS's threads
and the per-machine matmul rate.
`cnncalc.forward` is `forward` here, imported on first use so that `import cnncalc` needs no NumPy.
"""
from .executor import ForwardError, OutOfMemory, execute, forward, random_input
from .machine import cached_matmul_gflops, default_threads, matmul_gflops
from .weights import WeightError, check_weights, init_weights, load_weights, save_weights, weight_counts

__all__ = ["forward", "execute", "init_weights", "random_input", "check_weights", "weight_counts",
           "save_weights", "load_weights", "matmul_gflops", "cached_matmul_gflops", "default_threads", "WeightError",
           "ForwardError", "OutOfMemory"]

