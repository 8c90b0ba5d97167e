"""Per-axis geometry of sliding windows: the one place the size formula (N + 2P − F) / S + 1 lives.

Convolution and pooling slide a window along each spatial axis; `slide` turns a layer's kernel, stride, padding and
dilation arguments into a frozen `Geometry` for one input shape, and the runtime, the torch bridge and lint read
that record instead of recomputing it. Everything here is plain integer arithmetic, written once per axis, so 1-D,
2-D and 3-D come for free.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import List, Tuple, Union

Shape = Tuple[int, ...]
AXIS_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
GLOBAL = "global"  # a layer whose every output sees the whole input (global pooling, flatten, dense)


@dataclass(frozen=True, slots=True)
class Window:
    """How one layer maps positions along one spatial axis, for receptive fields (Araujo et al., Distill 2019).

    Output unit j is centred at input coordinate `scale * j + offset` and reads `span + 1` consecutive input units.
    An ordinary window of effective size K, stride s and left padding p: scale s, offset (K - 1)/2 - p, span K - 1.
    """

    scale: Union[int, Fraction]
    offset: Union[int, Fraction]
    span: int


@dataclass(frozen=True, slots=True)
class Geometry:
    """A sliding window's normalised arguments on one input, one entry per spatial axis.

    `pads` are (before, after) pairs; `overhang` is, per axis, how far the last window reaches past the after-padding
    (ceil mode, > 0) or stops short of it (< 0); `output_padding` is set for transposed convolutions only.
    """

    kernel: Tuple[int, ...]
    stride: Tuple[int, ...]
    pads: Tuple[Tuple[int, int], ...]
    dilation: Tuple[int, ...]
    overhang: Tuple[int, ...] = ()
    output_padding: Tuple[int, ...] = ()

    @property
    def extent(self) -> Tuple[int, ...]:
        """The dilated window, D·(F − 1) + 1 per axis."""
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel, self.dilation))

    @property
    def symmetric(self) -> bool:
        return all(lo == hi for lo, hi in self.pads)

    def windows(self) -> Tuple[Window, ...]:
        """Receptive-field windows of an ordinary (not transposed) sliding window."""
        return tuple(Window(s, ratio(d * (k - 1), 2) - lo, d * (k - 1))
                     for k, s, d, (lo, _) in zip(self.kernel, self.stride, self.dilation, self.pads))


def ratio(a: int, b: int) -> Union[int, Fraction]:
    """a / b exactly: an int when b divides a (most windows: plain ints keep receptive fields fast), else a Fraction."""
    return a // b if a % b == 0 else Fraction(a, b)


def window_count(n: int, k: int, s: int, lo: int, hi: int, d: int = 1, ceil_mode: bool = False) -> Tuple[int, int]:
    """(number of window positions, input units dropped at the far edge) along one axis.

    out = floor((N + P_lo + P_hi - D(F-1) - 1) / S) + 1; in ceil mode the last partial window counts too,
    as long as it starts inside the input or its left padding (PyTorch's rule). Dropped units are input
    units (not padding) past the last window's last tap.
    """
    span = n + lo + hi - d * (k - 1) - 1
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1  # rounds towards −∞, as PyTorch's div_rtn
    if ceil_mode and (out - 1) * s >= n + lo:
        out -= 1
    if out < 1:
        return 0, 0
    return out, max(0, n + lo - 1 - ((out - 1) * s + d * (k - 1)))


def window_formula(n: int, k: int, s: int, lo: int, hi: int, d: int = 1) -> str:
    """The size formula with the numbers filled in, for error messages."""
    f = d * (k - 1) + 1
    pad = f"2·{lo}" if lo == hi else f"{lo} + {hi}"
    dil = f" (F = {d}·({k} − 1) + 1)" if d != 1 else ""
    value = (n + lo + hi - f) // s + 1
    return f"(N + 2P − F) / S + 1 = ({n} + {pad} − {f}) / {s} + 1 = {value}{dil}"


def same_padding(n: int, k: int, s: int, d: int) -> Tuple[int, int]:
    """Padding that makes out = ceil(N / S); the odd unit goes at the end (TensorFlow's and PyTorch's rule)."""
    out = -(-n // s)
    total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
    return total // 2, total - total // 2


def transposed_size(n: int, k: int, s: int, p: int, output_padding: int, d: int) -> int:
    """A transposed convolution's output length: (N − 1)·S − 2P + D·(F − 1) + output_padding + 1."""
    return (n - 1) * s - 2 * p + d * (k - 1) + output_padding + 1


def adaptive_windows(n: int, o: int) -> List[Tuple[int, int]]:
    """PyTorch's adaptive windows along one axis: [floor(i·n/o), ceil((i+1)·n/o))."""
    return [(i * n // o, -(-(i + 1) * n // o)) for i in range(o)]


def per_axis(layer, arg: str, rank: int) -> Tuple[int, ...]:
    """A layer argument (an int or a per-axis tuple) as a tuple with one entry per spatial axis."""
    value = getattr(layer, arg)
    if isinstance(value, tuple):
        if len(value) != rank:
            raise layer.error(
                f"'{layer.type}' argument '{arg}' has {len(value)} entries but the input has {rank} spatial "
                f"{'axes' if rank != 1 else 'axis'} ({', '.join(AXIS_NAMES[rank])})", arg)
        return value
    return (value,) * rank


def spatial_rank(layer, shape: Shape, what: str = "a [C, L], [C, H, W] or [C, D, H, W] input") -> int:
    rank = len(shape) - 1
    if rank not in AXIS_NAMES:
        hint = "this input is flat; spatial layers come before `flatten`" if rank == 0 else None
        raise layer.error(f"'{layer.type}' needs {what}, got {list(shape)}", hint=hint)
    return rank


def slide(layer, shape: Shape, dilated: bool = True, ceil_mode: bool = False) -> Tuple[Shape, Geometry, Tuple[int, ...]]:
    """(output spatial sizes, geometry, input units dropped per axis) of a layer sliding a window over `shape`.

    The layer has `kernel`, `stride` (None: the kernel), `padding` and, when `dilated`, `dilation` arguments.
    """
    rank = spatial_rank(layer, shape)
    sizes = shape[1:]
    k = per_axis(layer, "kernel", rank)
    s = per_axis(layer, "stride", rank) if layer.stride is not None else k
    d = per_axis(layer, "dilation", rank) if dilated else (1,) * rank
    pads = _pads(layer, sizes, k, s, d)
    outs, drops, overhang = [], [], []
    for axis, (n, kk, ss, (lo, hi), dd) in enumerate(zip(sizes, k, s, pads, d)):
        out, drop = window_count(n, kk, ss, lo, hi, dd, ceil_mode)
        if out < 1:
            raise layer.error(
                f"'{layer.type}' output would be empty along {AXIS_NAMES[rank][axis]}: {window_formula(n, kk, ss, lo, hi, dd)}",
                "kernel", hint="use a smaller kernel or stride, add padding, or feed a larger input")
        outs.append(out)
        drops.append(drop)
        overhang.append((out - 1) * ss + dd * (kk - 1) + 1 - (n + lo + hi))
    return tuple(outs), Geometry(k, s, pads, d, tuple(overhang)), tuple(drops)


def _pads(layer, sizes: Shape, k, s, d) -> Tuple[Tuple[int, int], ...]:
    rank = len(sizes)
    p = layer.padding
    if p == "same":
        return tuple(same_padding(n, kk, ss, dd) for n, kk, ss, dd in zip(sizes, k, s, d))
    if p == "valid":
        return ((0, 0),) * rank
    if isinstance(p, tuple) and p and isinstance(p[0], tuple):
        if len(p) != rank:
            raise layer.error(f"'{layer.type}' padding has {len(p)} [before, after] pairs but the input has {rank} spatial axes",
                              "padding")
        return p
    return tuple((v, v) for v in per_axis(layer, "padding", rank))
