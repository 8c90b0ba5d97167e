"""Spec loading: YAML text -> a tree of `Node`s that remember where they came from.

Only the YAML core types are accepted (no Python tags), duplicate keys are refused, and hostile input
(alias bombs, deep nesting, huge files) is stopped early with a located error.
"""
from __future__ import annotations

import difflib
import gc
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Optional

import yaml

from .errors import Location, SpecError

try:  # the C loader is several times faster; fall back to pure Python where libyaml is missing
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader

MAX_BYTES = 8 * 1024 * 1024  # a 10,000-layer spec is well under 1 MiB
MAX_DEPTH = 64  # YAML nesting depth
MAX_NODES = 1_000_000  # distinct YAML nodes (an alias is converted once and shared, so alias bombs cost nothing here)

_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
_constructor = yaml.constructor.SafeConstructor()
_MISSING, _IN_PROGRESS = object(), object()


class Node:
    """One YAML value with its location: `kind` is 'map' (value: dict[str, Node]), 'seq' (list[Node]) or 'scalar'."""

    __slots__ = ("kind", "value", "loc", "key_locs", "quoted")

    def __init__(self, kind: str, value: Any, loc: Location, key_locs=None, quoted: bool = False):
        self.kind = kind
        self.value = value
        self.loc = loc
        self.key_locs = key_locs or {}
        self.quoted = quoted

    def __repr__(self) -> str:
        return f"Node({self.kind}, {self.value!r} @ {self.loc})"

    def get(self, key: str) -> Optional["Node"]:
        return self.value.get(key) if self.kind == "map" else None

    def key_loc(self, key: str) -> Location:
        return self.key_locs.get(key, self.loc)

    def plain(self) -> Any:
        """The Python value without locations."""
        if self.kind == "map":
            return {k: v.plain() for k, v in self.value.items()}
        if self.kind == "seq":
            return [v.plain() for v in self.value]
        return self.value


def did_you_mean(word: str, choices: Iterable[str]) -> Optional[str]:
    """A 'did you mean …?' hint, or None when nothing is close."""
    close = difflib.get_close_matches(str(word), sorted(set(choices)), n=3, cutoff=0.6)
    if not close:
        return None
    return "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"


def read_text(path: str) -> str:
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise SpecError(f"spec is {size:,} bytes; the limit is {MAX_BYTES:,}", Location(path, 1, 1))
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"no such file: {path}") from None
    except UnicodeDecodeError as e:
        raise SpecError(f"spec is not UTF-8 text ({e.reason})", Location(path, 1, 1)) from None
    except OSError as e:
        raise SpecError(f"cannot read {path}: {e.strerror}") from None


@contextmanager
def paused_gc():
    """Pause Python's cyclic garbage collector while a spec parses, expands or analyses.

    Each allocates many long-lived objects and no garbage cycles; the collector's repeated passes over them made
    a 10,000-layer analysis superlinear (157 µs of CPU per layer instead of 71, benchmarks/bench_summary.py).
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@paused_gc()
def parse_yaml(text: str, filename: str) -> Node:
    """Parse one YAML document into Nodes, refusing anything a spec has no business containing."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise SpecError(f"spec is larger than {MAX_BYTES:,} bytes", Location(filename, 1, 1))
    try:
        _check_depth(text, filename)
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        loc = Location.from_mark(filename, mark) if mark else Location(filename, 1, 1)
        problem = e.problem or e.context or "invalid YAML"
        raise SpecError(f"YAML syntax: {problem}", loc) from None
    except yaml.YAMLError as e:
        raise SpecError(f"YAML syntax: {e}", Location(filename, 1, 1)) from None
    if root is None:
        raise SpecError("spec is empty", Location(filename, 1, 1), hint="a spec needs at least `input:` and `layers:`")
    return _convert(root, filename, {})


def _check_depth(text: str, filename: str) -> None:
    # The composer recurses per nesting level, so refuse deep documents from the event stream first.
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise SpecError(f"YAML nesting deeper than {MAX_DEPTH} levels", Location.from_mark(filename, event.start_mark))
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def _convert(node: yaml.Node, filename: str, seen: dict) -> Node:
    # Aliases make the composed tree a DAG: convert each node once and share it, so a billion-laughs
    # document stays small here; expansion and evaluation bound what sharing could still multiply.
    done = seen.get(id(node), _MISSING)
    if done is _IN_PROGRESS:
        raise SpecError("a YAML alias refers to a node that contains it", Location.from_mark(filename, node.start_mark))
    if done is not _MISSING:
        return done
    if len(seen) >= MAX_NODES:
        raise SpecError(f"spec has more than {MAX_NODES:,} YAML nodes", Location.from_mark(filename, node.start_mark))
    seen[id(node)] = _IN_PROGRESS
    seen[id(node)] = converted = _convert_new(node, filename, seen)
    return converted


def _convert_new(node: yaml.Node, filename: str, seen: dict) -> Node:
    loc = Location.from_mark(filename, node.start_mark)
    if isinstance(node, yaml.ScalarNode):
        if node.tag not in _SCALAR_TAGS:
            raise SpecError(f"unsupported YAML tag or value type {node.tag!r}", loc, hint="use plain numbers, strings, true/false and null")
        return Node("scalar", _constructor.construct_object(node), loc, quoted=node.style in ("'", '"'))
    if isinstance(node, yaml.SequenceNode):
        if node.tag != "tag:yaml.org,2002:seq":
            raise SpecError(f"unsupported YAML tag {node.tag!r}", loc)
        return Node("seq", [_convert(item, filename, seen) for item in node.value], loc)
    if node.tag != "tag:yaml.org,2002:map":
        raise SpecError(f"unsupported YAML tag {node.tag!r}", loc)
    value, key_locs = {}, {}
    for key_node, value_node in node.value:
        key_loc = Location.from_mark(filename, key_node.start_mark)
        if key_node.tag == "tag:yaml.org,2002:merge":  # before the check below, which would refuse its tag
            raise SpecError("YAML merge keys (<<) are not supported", key_loc, hint="use `blocks:` with `args:` to reuse layers")
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _SCALAR_TAGS:
            raise SpecError("mapping keys must be plain strings", key_loc)
        key = key_node.value
        if key in value:
            first = key_locs[key]
            raise SpecError(f"duplicate key '{key}' (first defined at line {first.line})", key_loc)
        key_locs[key] = key_loc
        value[key] = _convert(value_node, filename, seen)
    return Node("map", value, loc, key_locs)
