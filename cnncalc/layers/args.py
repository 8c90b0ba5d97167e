"""Argument kinds: what a layer's spec argument may be, as small classes that check a value and describe it in JSON Schema.

A layer declares `Arg(name, kind, default, doc)`; `Layer.create` asks the kind to `check` each given value (and to
normalise it: lists become tuples), and `cnncalc schema` asks it for its `schema()` fragment. A new kind is one class.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

from ..errors import did_you_mean

REQUIRED = object()  # the default of an argument a spec must give
MAX_AXES = 3


class Invalid(Exception):
    """A value a kind refuses: what was expected, and a hint."""

    def __init__(self, expected: str, hint: Optional[str] = None):
        super().__init__(expected)
        self.expected, self.hint = expected, hint


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _int_hint(value: Any) -> Optional[str]:
    return "wrap the expression in int(...) or round(...)" if isinstance(value, float) else None


class Kind:
    """One kind of argument value."""

    def check(self, value: Any) -> Any:
        """The value, normalised; raises `Invalid` when it is not of this kind."""
        raise NotImplementedError

    def schema(self) -> Dict[str, Any]:
        """The JSON Schema of a literal value of this kind (a `$variable` is allowed beside it by the caller)."""
        raise NotImplementedError


@dataclass(frozen=True)
class Int(Kind):
    minimum: int = 1

    def check(self, value):
        if not is_int(value) or value < self.minimum:
            raise Invalid("a positive integer" if self.minimum else "a non-negative integer", _int_hint(value))
        return value

    def schema(self):
        return {"type": "integer", "minimum": self.minimum}


MAX_NUMBER = 1e38  # below float32's largest value, 3.4e38


@dataclass(frozen=True)
class Number(Kind):
    minimum: Optional[float] = None

    def check(self, value):
        # finite and within float32's range: the runtime computes in float32, where nan, inf or 1e300 cannot be held
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not abs(value) <= MAX_NUMBER \
                or (self.minimum is not None and value < self.minimum):
            raise Invalid(f"a finite{'' if self.minimum is None else ', non-negative'} number of magnitude at most 1e38")
        return value

    def schema(self):
        return {"type": "number"} if self.minimum is None else {"type": "number", "minimum": self.minimum}


@dataclass(frozen=True)
class Bool(Kind):
    def check(self, value):
        if not isinstance(value, bool):
            raise Invalid("true or false")
        return value

    def schema(self):
        return {"type": "boolean"}


@dataclass(frozen=True)
class Choice(Kind):
    choices: Tuple[str, ...]

    def check(self, value):
        if value not in self.choices:
            raise Invalid("one of " + ", ".join(self.choices), did_you_mean(value, self.choices))
        return value

    def schema(self):
        return {"enum": list(self.choices)}


@dataclass(frozen=True)
class PerAxis(Kind):
    """An int for every spatial axis, or a list of 1 to 3 (one per axis); lists become tuples."""

    minimum: int = 1

    def check(self, value):
        items = value if isinstance(value, (list, tuple)) else [value]
        if not items or len(items) > MAX_AXES or not all(is_int(v) and v >= self.minimum for v in items):
            what = "a positive integer" if self.minimum else "a non-negative integer"
            raise Invalid(f"{what} or a list of 1-3 (one per spatial axis)", _int_hint(value))
        return tuple(value) if isinstance(value, (list, tuple)) else value

    def schema(self):
        item = {"type": "integer", "minimum": self.minimum}
        return {"anyOf": [item, {"type": "array", "items": {"anyOf": [item, VARIABLE]}, "minItems": 1, "maxItems": MAX_AXES}]}


@dataclass(frozen=True)
class Padding(Kind):
    """An int, one per axis, [before, after] pairs per axis, 'same' or 'valid'."""

    def check(self, value):
        if value in ("same", "valid") or is_int(value) and value >= 0:
            return value
        if isinstance(value, (list, tuple)) and 0 < len(value) <= MAX_AXES:
            if all(is_int(v) and v >= 0 for v in value):
                return tuple(value)
            if all(isinstance(v, (list, tuple)) and len(v) == 2 and all(is_int(p) and p >= 0 for p in v) for v in value):
                return tuple(tuple(v) for v in value)
        raise Invalid("a non-negative integer, a list per axis, a list of [before, after] pairs, 'same' or 'valid'")

    def schema(self):
        int0 = {"type": "integer", "minimum": 0}
        pair = {"type": "array", "items": int0, "minItems": 2, "maxItems": 2}
        return {"anyOf": [int0, {"enum": ["same", "valid"]},
                          {"type": "array", "items": {"anyOf": [int0, pair, VARIABLE]}, "minItems": 1, "maxItems": MAX_AXES}]}


VARIABLE = {"type": "string", "pattern": r"\$", "description": "a $variable or ${expression}"}

INT, INT0 = Int(1), Int(0)
FLOAT, FLOAT0 = Number(), Number(0)
BOOL = Bool()
AXES, AXES0 = PerAxis(1), PerAxis(0)
PADDING = Padding()


@dataclass(frozen=True)
class Arg:
    """One spec argument of a layer: its name, kind, default (REQUIRED: the spec must give it) and one-line doc."""

    name: str
    kind: Kind
    default: Any = REQUIRED
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED
