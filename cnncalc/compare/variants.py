"""Variants: `SPEC[@NAME=VALUE,...]`, one spec with its own settings, and sweeps over a grid of settings.

NAME is a spec variable (its value read as `--set` reads it) or `input`: a full shape (`input=3,160,160` or
`3x160x160`) or one number that sets every spatial size and keeps the channels (`input=160`; on a flat input, its
length). A value runs until the next `,NAME=`, so lists need no quoting. Errors are `OptionError`s with a caret
under the offending part of the argument.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, replace
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..errors import OptionError, shown
from ..spec.options import parse_shape, parse_value

VariantError = OptionError  # a malformed variant or sweep argument
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Variant:
    """One compared network: a spec argument (path, zoo name or '-') with variable overrides and an input shape.

    `input` is as written: a full shape, or a 1-tuple that the loader resolves (`cnncalc.spec.options.resolve_input`).
    """

    spec: str
    vars: Tuple[Tuple[str, Any], ...] = ()
    input: Optional[Tuple[int, ...]] = None
    label: str = ""

    def over(self, vars: Mapping[str, Any], input: Optional[Tuple[int, ...]]) -> "Variant":
        """This variant on top of defaults for every spec (`--set`, `--input`): its own settings win."""
        return replace(self, vars=tuple({**vars, **dict(self.vars)}.items()),
                       input=self.input if self.input is not None else input)

    @property
    def settings(self) -> Dict[str, Any]:
        """The overrides as one mapping (`input` included), for JSON and sweep tables."""
        out = dict(self.vars)
        if self.input is not None:
            out["input"] = list(self.input) if len(self.input) > 1 else self.input[0]
        return out


def parse_variant(arg: str) -> Variant:
    """`SPEC[@NAME=VALUE,...]` → a Variant. The last '@' separates the spec (paths may contain '@')."""
    spec, at, _ = arg.rpartition("@")
    if not at:
        return Variant(arg, label=arg)
    if not spec:
        raise OptionError("a variant needs a spec before '@'", text=arg)
    settings = _settings(arg, len(spec) + 1)
    shape = settings.pop("input", None)
    return Variant(spec, tuple(settings.items()), shape, arg)


def _settings(text: str, start: int) -> Dict[str, Any]:
    """NAME=VALUE items of `text[start:]`; a comma-separated piece without '=' continues the previous value."""
    items: List[Tuple[str, str, int]] = []  # (name, raw value, column of the name)
    col = start
    for piece in text[start:].split(","):
        name, eq, raw = piece.partition("=")
        if eq and _KEY.match(name.strip()):
            items.append((name.strip(), raw, col))
        elif items and not eq:
            name0, raw0, col0 = items[-1]
            items[-1] = (name0, f"{raw0},{piece}", col0)
        else:
            raise OptionError(f"expected NAME=VALUE in {shown(text)}", text=text, col=col, width=len(piece))
        col += len(piece) + 1
    out: Dict[str, Any] = {}
    for name, raw, col in items:
        if name in out:
            raise OptionError(f"'{name}' is set twice", text=text, col=col, width=len(name))
        out[name] = _value(name, raw, text, col + len(name) + 1)
    return out


def _value(name: str, raw: str, text: str, col: int) -> Any:
    return parse_shape(raw, text, col) if name == "input" else parse_value(raw, text, col)


def parse_sweep(text: str) -> Tuple[str, List[Any]]:
    """`--sweep alpha=0.25,0.5` → ('alpha', [0.25, 0.5]); `input=128,160` gives spatial sizes; `3x96x96` a shape."""
    name, eq, raw = text.partition("=")
    name = name.strip()
    if not eq or not _KEY.match(name):
        raise OptionError(f"--sweep expects NAME=V1,V2,..., got {shown(text)}", text=text, width=len(name))
    values, col = [], len(name) + 1
    for piece in raw.split(","):
        values.append(_value(name, piece, text, col))
        col += len(piece) + 1
    return name, values


def sweep_variants(base: Variant, sweeps: Sequence[Tuple[str, List[Any]]]) -> List[Variant]:
    """The grid (first sweep outermost), each point the base variant with the swept settings on top."""
    names = [n for n, _ in sweeps]
    if len(set(names)) != len(names):
        raise OptionError(f"--sweep: each name once, got {', '.join(names)}")
    out = []
    for point in itertools.product(*(values for _, values in sweeps)):
        settings, shape = dict(base.vars), base.input
        for name, value in zip(names, point):
            if name == "input":
                shape = value
            else:
                settings[name] = value
        label = " ".join(f"{n}={setting_text(v)}" for n, v in zip(names, point))
        out.append(Variant(base.spec, tuple(settings.items()), shape, label))
    return out


def setting_text(value: Any, sep: str = "x") -> str:
    """A setting as written on one line: shapes as 3x160x160 (or with `sep`), everything else as str()."""
    return sep.join(map(str, value)) if isinstance(value, (tuple, list)) else str(value)
