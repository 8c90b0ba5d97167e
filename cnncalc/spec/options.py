"""Values people type outside a spec: `--set NAME=VALUE`, `--input 3,160,160`, sizes like '25M' and '512MiB'.

The one reader of each, shared by the command line, variants (`net@width=32,input=160`) and the Python API. Errors
are `OptionError`s (also ValueErrors) that point into the text as written.
"""
from __future__ import annotations

import re
from fractions import Fraction
from typing import Any, Dict, Optional, Sequence, Tuple

from ..errors import OptionError, SpecError, shown

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_COUNT_UNITS = {"": 1, "K": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12}
_BYTE_UNITS = {"": 1, "B": 1, "KB": 10 ** 3, "MB": 10 ** 6, "GB": 10 ** 9, "TB": 10 ** 12,
               "KIB": 2 ** 10, "MIB": 2 ** 20, "GIB": 2 ** 30, "TIB": 2 ** 40}
_QUANTITY = re.compile(r"^\s*(\d[\d_]*(?:\.\d+)?|\.\d+)\s*([A-Za-z]*)\s*$")
SHAPE_EXAMPLE = "positive integers like 3,160,160 or one spatial size like 160"


def parse_value(raw: str, text: Optional[str] = None, col: int = 0, option: Optional[str] = None) -> Any:
    """A value as YAML reads it (64, 0.5, true, [1, 2], plain text), never a mapping.

    `text` and `col` place the value in the argument as written (for the caret under an error).
    """
    from .source import parse_yaml

    where = dict(text=text if text is not None else raw, col=col, width=len(raw), option=option)
    if not raw.strip():
        raise OptionError("empty value", **{**where, "width": 1})
    try:
        node = parse_yaml(raw, option or "value")
    except SpecError as e:
        if e.message.startswith("YAML syntax:"):
            return raw  # not YAML: the text itself (a name with a colon, say)
        raise OptionError(f"{e.message} in value {shown(raw)}", e.hint, **where) from None
    if node.kind == "map":
        raise OptionError("a value must be a number, a string or a list", **where)
    return node.plain()


def parse_assignment(item: str, option: str = "--set", col: int = 0) -> Tuple[str, Any]:
    """`NAME=VALUE` → (name, value)."""
    name, eq, raw = item.partition("=")
    if not eq or not _NAME.match(name.strip()):
        raise OptionError(f"expected NAME=VALUE, got {shown(item)}", option=option, text=item, width=len(name) or 1)
    return name.strip(), parse_value(raw, item, col + len(name) + 1, option)


def parse_sets(items: Sequence[str]) -> Dict[str, Any]:
    """Every `--set NAME=VALUE`, later ones winning."""
    return dict(parse_assignment(item) for item in items)


def parse_shape(raw: str, text: Optional[str] = None, col: int = 0, option: Optional[str] = None) -> Tuple[int, ...]:
    """`3,160,160`, `3x160x160` or `160` (one number: every spatial size) → a tuple of positive ints."""
    parts = raw.replace("×", "x").replace("x", ",").split(",")
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        shape = ()
    if not shape or min(shape) < 1:
        raise OptionError(f"expected {SHAPE_EXAMPLE}, got {shown(raw)}", option=option,
                          text=text if text is not None else raw, col=col, width=len(raw))
    return shape


def resolve_input(given: Sequence[int], current: Sequence[int], label: str) -> Tuple[int, ...]:
    """The input shape `given` asks for: a full shape as is; one number sets every spatial size of `current` and
    keeps its channels (on a flat input, one number is its length)."""
    given, current = tuple(given), tuple(current)
    if len(given) == 1 and len(current) > 1:
        return (current[0],) + given * (len(current) - 1)
    if len(given) != len(current):  # the layers would silently turn 1-D, 2-D or 3-D: never what was meant
        dims = {1: "flat", 2: "1-D", 3: "2-D", 4: "3-D"}
        kind = dims.get(len(current), f"{len(current)}-dimensional")
        raise OptionError(f"{label} has {len(given)} sizes, but the network's input {list(current)} has "
                          f"{len(current)} (a {kind} network); a network keeps its rank",
                          hint=f"give {len(current)} sizes, channels first, or one number for every spatial size")
    return given


def parse_quantity(value: Any, kind: str) -> int:
    """'25M' → 25_000_000 (kind 'count'); '512MiB' → 536_870_912 (kind 'bytes'). Raises OptionError with the reason."""
    units = _COUNT_UNITS if kind == "count" else _BYTE_UNITS
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise OptionError(f"expected a number like {'25M' if kind == 'count' else '512MiB'}, got {shown(value)}")
    if isinstance(value, str):
        m = _QUANTITY.match(value)
        if not m:
            raise OptionError(f"expected a number with an optional unit, got {shown(value)}")
        number, unit = Fraction(m.group(1).replace("_", "")), m.group(2)
        key = unit.upper()
        if key not in units:
            if kind == "count":
                raise OptionError(f"unknown unit {unit!r} for a count; use K, M, G or T (powers of 1000)")
            hint = f" ({unit[0].upper()}iB is 1024-based, {unit[0].upper()}B 1000-based)" if key in ("K", "M", "G", "T") else ""
            raise OptionError(f"unknown unit {unit!r} for bytes; use KiB, MiB, GiB, TiB, KB, MB, GB, TB or B{hint}")
        total = number * units[key]
    else:
        try:
            total = Fraction(value)
        except (ValueError, OverflowError):  # nan, inf
            raise OptionError(f"{shown(value)} is not a whole, non-negative number") from None
    if total.denominator != 1 or total < 0:
        raise OptionError(f"{shown(value)} is not a whole, non-negative number")
    return int(total)
