"""Number, byte, shape and receptive-field formatting shared by every human-facing renderer."""
from __future__ import annotations

from fractions import Fraction
from typing import Optional, Sequence, Union

Number = Union[int, float, Fraction]

DROPPED_NOTE = "⚠ pixels dropped at the edge: no window reaches the last input rows/columns (S does not divide N + 2P − F)"
MISALIGNED_NOTE = "† merged paths are misaligned (different strides or centres): the largest field is shown"


def human(n: Number, digits: int = 2) -> str:
    """11689512 → '11.69M' (K, M, G, T are powers of 1000, as papers quote MACs and params)."""
    n = float(n)
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.{digits}f}{unit}"
    return f"{n:.0f}" if n == int(n) else f"{n:.{digits}f}"


def human_bytes(n: int) -> str:
    """44_652_288 → '42.58 MiB' (binary units)."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.2f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def seconds(s: Optional[float]) -> str:
    """0.00123 → '1.23 ms' (three significant digits; s, ms, µs, ns); None → '-'."""
    if s is None:
        return "-"
    if s == 0:
        return "0"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s / 1e-9:.3g} ns"


def shape(s: Sequence[int]) -> str:
    return "×".join(str(d) for d in s)


def plain_number(x: Number):
    """A Fraction as an int when whole, else a float (JSON and CSV)."""
    if isinstance(x, Fraction):
        return int(x) if x.denominator == 1 else float(x)
    return x


def fraction(x: Number) -> str:
    x = plain_number(x)
    return str(x) if isinstance(x, int) else f"{x:.3g}"


def axes(values: Optional[Sequence[Number]]) -> str:
    """Per-axis values: one number when every axis agrees ('11'), else '1×7'."""
    if values is None:
        return "global"
    if not values:
        return "-"
    if len(set(values)) == 1:
        return fraction(values[0])
    return "×".join(fraction(v) for v in values)
