"""`cnncalc calibrate`: measure this machine's matmul FLOP/s per precision and streaming bandwidth, as a profile.

The profile is what `--device FILE` reads, so a user can predict with `summary --device` and then check against a
real run on the same box. Figures are best-of-N: the machine's capability, not one noisy run.
"""
from __future__ import annotations

import datetime
import os
import platform
from time import perf_counter
from typing import Callable, Dict, Tuple

import click

# matmul sizes per dtype: big enough to reach the BLAS's rate, small enough to finish in a second or two where the
# dtype has no fast path (NumPy's float16 matmul is a plain loop)
NUMPY_SIZES = {"float32": 1024, "float16": 256}
TORCH_SIZES = {"float32": 1024, "bfloat16": 256, "float16": 256}
STREAM_BYTES = 64 * 1024 * 1024  # per array: well beyond any last-level cache


Clock = Callable[[], float]


def best_of(run: Callable[[], None], repeat: int, clock: Clock = perf_counter) -> float:
    """The shortest of `repeat` timed runs (after one warm-up run: threads, page faults, caches)."""
    run()
    best = float("inf")
    for _ in range(repeat):
        start = clock()
        run()
        best = min(best, clock() - start)
    return best


def numpy_matmul(dtype: str, n: int, repeat: int, clock: Clock = perf_counter) -> float:
    """FLOP/s of an n×n by n×n NumPy matmul (2n³ FLOPs) at `dtype`."""
    import numpy as np

    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n), dtype=np.float32).astype(dtype) for _ in range(2))
    out = np.empty((n, n), dtype)
    return 2 * n ** 3 / best_of(lambda: np.matmul(a, b, out=out), repeat, clock)


def numpy_stream(repeat: int, nbytes: int = STREAM_BYTES, clock: Clock = perf_counter) -> float:
    """Bytes/s of copying one large array into another (each byte read once and written once)."""
    import numpy as np

    src = np.ones(nbytes // 8, np.float64)
    dst = np.empty_like(src)
    return 2 * src.nbytes / best_of(lambda: np.copyto(dst, src), repeat, clock)


def torch_matmul(dtype: str, n: int, repeat: int, clock: Clock = perf_counter) -> float:
    import torch

    a, b = (torch.randn(n, n).to(getattr(torch, dtype)) for _ in range(2))
    out = torch.empty(n, n, dtype=a.dtype)
    with torch.no_grad():
        return 2 * n ** 3 / best_of(lambda: torch.matmul(a, b, out=out), repeat, clock)


def torch_stream(repeat: int, nbytes: int = STREAM_BYTES, clock: Clock = perf_counter) -> float:
    import torch

    src = torch.ones(nbytes // 8, dtype=torch.float64)
    dst = torch.empty_like(src)
    return 2 * nbytes / best_of(lambda: dst.copy_(src), repeat, clock)


def measure(backend: str, repeat: int, clock: Clock = perf_counter) -> Tuple[Dict[str, Tuple[float, str]],
                                                                            Tuple[float, str], str]:
    """(peak per dtype as (FLOP/s, source), (bandwidth, source), notes) measured with `backend`; `clock` is
    wall time, or process time (time.process_time) for one thread on a machine other processes load."""
    today = datetime.date.today().isoformat()
    threads = ", ".join(f"{k}={os.environ[k]}" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
                        if k in os.environ) or "thread variables unset"
    if backend == "torch":
        import torch

        sizes, matmul, stream = TORCH_SIZES, torch_matmul, torch_stream
        what = f"torch {torch.__version__} ({torch.get_num_threads()} threads)"
    else:
        import numpy as np

        sizes, matmul, stream = NUMPY_SIZES, numpy_matmul, numpy_stream
        what = f"NumPy {np.__version__}"
    peak = {}
    for dtype, n in sizes.items():
        rate = matmul(dtype, n, repeat, clock)
        peak[dtype] = (rate, f"measured by cnncalc calibrate on {today}: {what} matmul {n}×{n} {dtype}, "
                             f"best of {repeat}")
    bandwidth = (stream(repeat, STREAM_BYTES, clock), f"measured by cnncalc calibrate on {today}: {what} copy of "
                                 f"{STREAM_BYTES // 2 ** 20} MiB (read + write), best of {repeat}")
    notes = (f"{platform.machine()}, {os.cpu_count()} logical CPUs, {threads}, load average "
             f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} while measuring")
    return peak, bandwidth, notes


@click.command()
@click.option("--backend", type=click.Choice(["numpy", "torch"]), default="numpy", show_default=True,
              help="Measure NumPy's matmul and copy, or torch's (CPU).")
@click.option("--repeat", type=click.IntRange(1, 100), default=5, show_default=True, help="Timed runs per figure.")
@click.option("--name", default="this-machine", show_default=True, help="The profile's name.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write the profile to FILE (default: standard output).")
def calibrate(backend, repeat, name, output):
    """Measure this machine and write a device profile for --device.

    Peak FLOP/s per precision is the best of REPEAT square matmuls (NumPy: float32 and float16; torch: float32,
    bfloat16 and float16); bandwidth the best of REPEAT copies of a 64 MiB array. Threads are whatever NumPy's or
    torch's defaults are (set OPENBLAS_NUM_THREADS or OMP_NUM_THREADS to fix them).

    \b
    Examples:
      cnncalc calibrate -o box.yaml && cnncalc summary resnet50 --device box.yaml
      cnncalc calibrate --backend torch --repeat 3
    """
    if backend == "torch":
        try:
            import torch  # noqa: F401
        except ImportError:
            from ..torch import INSTALL_HINT
            from .options import Failure

            raise Failure(f"error: --backend torch needs PyTorch\n  hint: {INSTALL_HINT}", 2) from None
    from ..core.device import dump_device, parse_device

    peak, bandwidth, notes = measure(backend, repeat)
    text = dump_device(name, f"{name}: {backend} as measured by cnncalc calibrate", peak, bandwidth, notes)
    parse_device(text, output or "<calibrate>")  # what is written must read back: a bug here is ours, not the user's
    if output:
        with open(output, "w", encoding="utf-8") as f:
            f.write(text)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)
