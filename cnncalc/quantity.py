"""Quantities written by people: '25M' parameters, '512MiB' of memory. The one place units are read."""
from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

_COUNT_UNITS = {"": 1, "K": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12}
_BYTE_UNITS = {"": 1, "B": 1, "KB": 10 ** 3, "MB": 10 ** 6, "GB": 10 ** 9, "TB": 10 ** 12,
               "KIB": 2 ** 10, "MIB": 2 ** 20, "GIB": 2 ** 30, "TIB": 2 ** 40}
_QUANTITY = re.compile(r"^\s*(\d[\d_]*(?:\.\d+)?|\.\d+)\s*([A-Za-z]*)\s*$")


def parse_quantity(value: Any, kind: str) -> int:
    """'25M' → 25_000_000 (kind 'count'); '512MiB' → 536_870_912 (kind 'bytes'). Raises ValueError with the reason."""
    units = _COUNT_UNITS if kind == "count" else _BYTE_UNITS
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"expected a number like {'25M' if kind == 'count' else '512MiB'}, got {value!r}")
    if isinstance(value, str):
        m = _QUANTITY.match(value)
        if not m:
            raise ValueError(f"expected a number with an optional unit, got {value!r}")
        number, unit = Fraction(m.group(1).replace("_", "")), m.group(2)
        key = unit.upper()
        if key not in units:
            if kind == "count":
                raise ValueError(f"unknown unit {unit!r} for a count; use K, M, G or T (powers of 1000)")
            hint = f" ({unit[0].upper()}iB is 1024-based, {unit[0].upper()}B 1000-based)" if key in ("K", "M", "G", "T") else ""
            raise ValueError(f"unknown unit {unit!r} for bytes; use KiB, MiB, GiB, TiB, KB, MB, GB, TB or B{hint}")
        total = number * units[key]
    else:
        total = Fraction(value)
    if total.denominator != 1 or total < 0:
        raise ValueError(f"{value!r} is not a whole, non-negative number")
    return int(total)
