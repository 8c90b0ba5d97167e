"""The neutral form every importer produces: a network as a list of cnncalc layers with source names and locations.

An importer translates its framework's layers into cnncalc layer types and arguments here, reproducing that
framework's own arithmetic (Darknet's `pad=1`, Caffe's ceil-mode pooling) in the arguments it chooses; everything
after that — the flat spec every command reads (`spec_node`) and the folded, editable YAML of `cnncalc import`
(`fold.py`, `emit.py`) — is the same code for every format.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..errors import Location, SpecError
from ..spec.source import Node

INPUT = "input"  # the name of the network input in `Op.inputs`
_BAD = re.compile(r"[^A-Za-z0-9_\-]+")


@dataclass(frozen=True)
class Op:
    """One cnncalc layer made from the source: its unique name, type, arguments, and the ops (or INPUT) it reads."""

    name: str
    type: str
    args: Mapping[str, Any]
    inputs: Tuple[str, ...]
    loc: Location
    scope: Tuple[str, ...] = ()  # the source's module path (ONNX node names), outermost first; () when it has none

    def __repr__(self) -> str:
        return f"Op({self.name}: {self.type} {dict(self.args)} ← {', '.join(self.inputs)})"


@dataclass(frozen=True)
class Imported:
    """A whole imported network: what `spec_node` turns into a spec and `emit` writes out."""

    name: str
    source: str  # the file it was read from
    format: str  # "Darknet cfg", "Caffe prototxt", "ONNX"
    input: Tuple[int, ...]
    input_loc: Location
    ops: Tuple[Op, ...]
    notes: Tuple[str, ...] = ()  # what a reader of the imported spec should know (conventions, folded norms)

    @property
    def output(self) -> str:
        return self.ops[-1].name


def safe_name(text: str) -> str:
    """A source name as a cnncalc row name and id: letters, digits, '_' and '-', starting with a letter or '_'."""
    name = _BAD.sub("_", str(text)).strip("_") or "layer"
    return name if re.match(r"[A-Za-z_]", name) else "n" + name


class Builder:
    """Collects ops with unique safe names; importers call `add` in graph order."""

    def __init__(self):
        self.ops: List[Op] = []
        self.taken = {INPUT}
        self.notes: List[str] = []

    def add(self, name: str, type: str, args: Optional[Mapping[str, Any]], inputs: Sequence[str], loc: Location,
            scope: Tuple[str, ...] = ()) -> str:
        base = safe_name(name)
        unique, k = base, 1
        while unique in self.taken:
            k += 1
            unique = f"{base}_{k}"
        self.taken.add(unique)
        self.ops.append(Op(unique, type, dict(args or {}), tuple(inputs), loc, scope))
        return unique

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def build(self, name: str, source: str, format: str, input: Sequence[int], input_loc: Location) -> Imported:
        if not self.ops:
            raise SpecError(f"{format}: the network has no layers cnncalc can count", input_loc)
        return Imported(safe_name(name), source, format, tuple(input), input_loc, tuple(self.ops), tuple(self.notes))


def referenced(ops: Sequence[Op]) -> set:
    """Names of the ops that some op reads other than as its direct predecessor: these need an `id:`."""
    out, prev = set(), INPUT
    for op in ops:
        if op.inputs != (prev,):
            out.update(op.inputs)
        prev = op.name
    return out - {INPUT}


def flat_entries(ops: Sequence[Op], prev: str = INPUT) -> List[Dict[str, Any]]:
    """The ops as spec entries in order: `name:` from the source, `from:` where an op does not read the previous one,
    and `id:` on the ops read that way."""
    ids = referenced(ops)
    entries = []
    for op in ops:
        entry: Dict[str, Any] = {op.type: dict(op.args) or None, "name": op.name}
        if op.inputs != (prev,):
            entry["from"] = op.inputs[0] if len(op.inputs) == 1 else list(op.inputs)
        if op.name in ids:
            entry["id"] = op.name
        entries.append(entry)
        prev = op.name
    return entries


def spec_node(imp: Imported) -> Node:
    """The imported network as the spec tree every command expands, each entry located in the source file, so
    findings and errors point into the original file (its line for cfg and prototxt, the node's name for ONNX)."""
    layers = [_node(entry, op.loc) for entry, op in zip(flat_entries(imp.ops), imp.ops)]
    loc = imp.input_loc
    root = {"name": _node(imp.name, loc), "input": _node(list(imp.input), loc),
            "layers": Node("seq", layers, loc)}
    return Node("map", root, loc, {k: loc for k in root})


def _node(value: Any, loc: Location) -> Node:
    if isinstance(value, dict):
        return Node("map", {k: _node(v, loc) for k, v in value.items()}, loc, {k: loc for k in value})
    if isinstance(value, (list, tuple)):
        return Node("seq", [_node(v, loc) for v in value], loc)
    return Node("scalar", value, loc)


@dataclass
class Fields:
    """A source layer's key/value settings with their locations: what the text-format importers read options from."""

    what: str  # "[convolutional]", "layer 'conv1' (Convolution)": named in errors
    loc: Location
    values: Dict[str, List[Tuple[Any, Location]]] = field(default_factory=dict)

    def add(self, key: str, value: Any, loc: Location) -> None:
        self.values.setdefault(key, []).append((value, loc))

    def where(self, key: str) -> Location:
        return self.values[key][0][1] if key in self.values else self.loc

    def all(self, key: str) -> List[Any]:
        return [v for v, _ in self.values.get(key, [])]

    def get(self, key: str, default: Any = None, kind=None) -> Any:
        if key not in self.values:
            return default
        value, loc = self.values[key][-1]
        kind = kind or (type(default) if default is not None else None)
        return convert(value, kind, key, loc, self.what)

    def ints(self, key: str) -> List[int]:
        return [convert(v, int, key, loc, self.what) for v, loc in self.values.get(key, [])]


def convert(value: Any, kind, key: str, loc: Location, what: str) -> Any:
    """A setting's value as `kind` (int, float, bool or str), or a located error naming the setting."""
    if kind is None or isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    text = str(value).strip()
    try:
        if kind is bool:
            if text.lower() in ("true", "1"):
                return True
            if text.lower() in ("false", "0"):
                return False
            raise ValueError
        if kind is int:
            number = float(text) if re.fullmatch(r"[-+]?\d+(\.0*)?", text) else None
            if number is None:
                raise ValueError
            return int(number)
        return kind(text)
    except (ValueError, OverflowError):
        raise SpecError(f"{what}: `{key}` must be {kind.__name__ if kind is not bool else 'true or false'}, "
                        f"got {text[:60]!r}", loc) from None
