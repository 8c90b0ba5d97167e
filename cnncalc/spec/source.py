"""Spec loading: YAML text → a tree of `Node`s that remember where they came from.

Only the YAML core types are accepted (no Python tags), duplicate and merge keys are refused, and hostile input
(alias bombs, deep nesting, huge files, bad values under explicit tags) is stopped early with a located error.

The tree is built in one pass over libyaml's event stream (PyYAML's C parser where it is installed): composing
PyYAML's own node graph first and converting it afterwards took ten times as long, and its C composer recurses
without a bound, so a deeply nested document would crash it before any check could run.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml

from ..errors import Location, SpecError, shown

try:  # the C parser is several times faster; fall back to pure Python where libyaml is missing
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader

MAX_BYTES = 8 * 1024 * 1024  # a 10,000-layer spec is well under 1 MiB
MAX_DEPTH = 64  # YAML nesting depth
MAX_NODES = 1_000_000  # distinct YAML nodes (an alias is one shared node, so alias bombs cost nothing here)

_STR, _NULL = "tag:yaml.org,2002:str", "tag:yaml.org,2002:null"
_SCALAR_TAGS = {_STR, _NULL, "tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool"}
_SEQ, _MAP, _MERGE = "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map", "tag:yaml.org,2002:merge"
_QUOTES = ("'", '"')
_constructor = yaml.constructor.SafeConstructor()
_resolver = yaml.resolver.Resolver()
# A key's position is kept as one int, line × _COLS + col: a spec has tens of thousands of keys, and an int (or a dict
# of ints), unlike a tuple or a Location, is nothing the garbage collector has to track.
_COLS = 1 << 32  # more columns than a spec's line can have (MAX_BYTES)


class Node:
    """One YAML value with its location: `kind` is 'map' (value: dict[str, Node]), 'seq' (list[Node]) or 'scalar'.

    A node keeps its position as plain numbers and makes its `Location` when one is asked for (errors, and the
    layers that keep one): a spec has tens of thousands of nodes, and most locations are never read.
    """

    __slots__ = ("kind", "value", "file", "line", "col", "key_pos", "written")

    def __init__(self, kind: str, value: Any, loc: Tuple[str, int, int], key_locs=None, written: Any = 0):
        """`loc` is a `Location` (or any (file, line, col) triple); `key_locs` the Locations of a mapping's keys.

        `written` says how a scalar's text maps onto the file: an int when the value is the file's text from that
        column on, after that many opening characters (0 plain, 1 a quote); otherwise the `Written` span it came
        from (escapes, doubled quotes, folded lines, block scalars)."""
        self.kind = kind
        self.value = value
        self.file, self.line, self.col = loc
        self.written = written
        # the position of each key of a mapping, line × _COLS + col (None: not a mapping)
        if key_locs:
            self.key_pos: Optional[Dict[str, int]] = {key: at.line * _COLS + at.col for key, at in key_locs.items()}
        else:
            self.key_pos = {} if kind == "map" else None

    @property
    def loc(self) -> Location:
        return Location(self.file, self.line, self.col)

    @property
    def key_locs(self) -> Dict[str, Location]:
        return {key: Location(self.file, *divmod(pos, _COLS)) for key, pos in (self.key_pos or {}).items()}

    def __repr__(self) -> str:
        return f"Node({self.kind}, {self.value!r} @ {self.loc})"

    def located(self, offset: int) -> Location:
        """Where the character `offset` of this scalar's text was written in the file (the node's own location
        when that cannot be told)."""
        written = self.written
        if isinstance(written, int):
            return Location(self.file, self.line, self.col + written + offset)
        at = written.source_index(self.value, offset) if isinstance(self.value, str) else None
        if at is None:
            return self.loc
        text = written.text
        return Location(self.file, text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at))

    def get(self, key: str) -> Optional["Node"]:
        return self.value.get(key) if self.kind == "map" else None

    def key_loc(self, key: str) -> Location:
        pos = self.key_pos.get(key) if self.key_pos else None
        return self.loc if pos is None else Location(self.file, *divmod(pos, _COLS))

    def plain(self) -> Any:
        """The Python value without locations."""
        if self.kind == "map":
            return {k: v.plain() for k, v in self.value.items()}
        if self.kind == "seq":
            return [v.plain() for v in self.value]
        return self.value


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


def parse_yaml(text: str, filename: str) -> Node:
    """Parse one YAML document into Nodes, refusing anything a spec has no business containing."""
    if len(text) > MAX_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise SpecError(f"spec is larger than {MAX_BYTES:,} bytes", Location(filename, 1, 1))
    loader = _Loader(text)
    try:
        return _Builder(filename, text).build(loader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        loc = _inside(text, Location.from_mark(filename, mark)) if mark else Location(filename, 1, 1)
        problem = e.problem or e.context or "invalid YAML"
        raise SpecError(f"YAML syntax: {problem}", loc) from None
    except yaml.YAMLError as e:
        raise SpecError(f"YAML syntax: {e}", Location(filename, 1, 1)) from None
    finally:
        loader.dispose()


def _inside(text: str, loc: Location) -> Location:
    """A location inside the text: the parser reports the end of the input on the line after the last one."""
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    if loc.line <= len(lines):
        return loc
    last = lines[-1] if lines else ""
    return Location(loc.file, max(len(lines), 1), len(last) + 1)


class Written:
    """Where a scalar whose value is not a plain copy of its text was written: the whole document's text (shared,
    not copied), the scalar's span in it and its YAML style. Made only for such scalars, which are rare."""

    __slots__ = ("text", "start", "end", "style")

    def __init__(self, text: str, start: int, end: int, style: str):
        self.text, self.start, self.end, self.style = text, start, end, style

    def source_index(self, value: str, offset: int) -> Optional[int]:
        """The index in `text` of the character that gave `value[offset]`, by reading the scalar the way YAML does;
        None when that reading does not give back `value` exactly (then no column is better than a wrong one)."""
        if self.style in ("|", ">"):
            candidates = [_block(self.text, self.start, self.end, self.style, indent) for indent in _indents(self.text, self.start, self.end)]
        else:
            candidates = [_flow(self.text, self.start, self.end, self.style)]
        for chars, where in candidates:
            if "".join(chars) == value:
                return where[min(offset, len(where) - 1)] if where else None
        return None


_ESCAPE_DIGITS = {"x": 2, "u": 4, "U": 8}


def _flow(text: str, start: int, end: int, style: str):
    """(characters, their indices) of a plain, single- or double-quoted scalar: escapes, doubled quotes and folded
    line breaks read as YAML reads them (`\\t` is one character written at the backslash; a folded break one space
    written at the break)."""
    quote = style in _QUOTES
    i, stop = (start + 1, end - 1) if quote else (start, end)
    chars: List[str] = []
    where: List[int] = []
    while i < stop:
        c = text[i]
        if c in " \t\n":
            j = i
            while j < stop and text[j] in " \t":
                j += 1
            if j < stop and text[j] == "\n":  # a line break, with the whitespace around it: folded
                breaks = 0
                while j < stop and text[j] in " \t\n":
                    breaks += text[j] == "\n"
                    j += 1
                fold = " " if breaks == 1 else "\n" * (breaks - 1)
                chars.extend(fold)
                where.extend([i] * len(fold))
                i = j
                continue
            chars.extend(text[i:j])
            where.extend(range(i, j))
            i = j
            continue
        if style == '"' and c == "\\" and i + 1 < stop:
            n = text[i + 1]
            if n == "\n":  # an escaped line break joins the lines
                i += 2
                while i < stop and text[i] in " \t":
                    i += 1
                continue
            digits = _ESCAPE_DIGITS.get(n, 0)
            try:
                chars.append(chr(int(text[i + 2:i + 2 + digits], 16)) if digits else _SIMPLE_ESCAPES[n])
            except (KeyError, ValueError):
                return [], []
            where.append(i)
            i += 2 + digits
            continue
        if style == "'" and c == "'" and text[i + 1:i + 2] == "'":
            chars.append("'")
            where.append(i)
            i += 2
            continue
        chars.append(c)
        where.append(i)
        i += 1
    return chars, where


_SIMPLE_ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f",
                   "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0",
                   "L": "\u2028", "P": "\u2029"}


def _indents(text: str, start: int, end: int):
    """The indentations a block scalar's content may have: the first content line's, then every other."""
    body = text.find("\n", start, end) + 1
    lines = text[body:end].split("\n") if body else []
    first = next((len(line) - len(line.lstrip(" ")) for line in lines if line.strip()), 0)
    return [first] + [n for n in range(1, 80) if n != first]


def _block(text: str, start: int, end: int, style: str, indent: int):
    """(characters, their indices) of a literal (`|`) or folded (`>`) block scalar read at `indent`."""
    header_end = text.find("\n", start, end)
    if header_end < 0:
        return [], []
    header = text[start + 1:header_end].split("#", 1)[0].strip()
    chomp = "-" if "-" in header else "+" if "+" in header else ""
    chars: List[str] = []
    where: List[int] = []
    pos = header_end + 1
    previous_text = False  # the line before was a text line that a folded scalar may join to this one
    pending: List[int] = []  # positions of line breaks not yet written (empty lines, or the break after a line)
    while pos < end:
        nl = text.find("\n", pos, end)
        line_end = end if nl < 0 else nl
        line = text[pos:line_end]
        if not line.strip(" "):
            pending.append(line_end)
        elif len(line) - len(line.lstrip(" ")) < indent:
            break
        else:
            content = line[indent:]
            if pending:
                folded = style == ">" and previous_text and content[:1] not in (" ", "\t")
                breaks = pending[1:] if folded and len(pending) > 1 else pending
                if folded and len(pending) == 1:
                    chars.append(" ")
                    where.append(pending[0])
                else:
                    chars.extend("\n" * len(breaks))
                    where.extend(breaks)
            chars.extend(content)
            where.extend(range(pos + indent, line_end))
            previous_text = content[:1] not in (" ", "\t")
            pending = [line_end]
        if nl < 0:
            break
        pos = nl + 1
    if chomp == "+":
        chars.extend("\n" * len(pending))
        where.extend(pending)
    elif chomp == "" and pending and chars:
        chars.append("\n")
        where.append(pending[0])
    return chars, where


class _Open:
    """A mapping or sequence whose end event has not come yet."""

    __slots__ = ("node", "key", "anchor")

    def __init__(self, node: Node, anchor: Optional[str]):
        self.node, self.key, self.anchor = node, None, anchor


class _Builder:
    """Turns the event stream of one document into Nodes, checking tags, keys, depth and size as it goes."""

    def __init__(self, filename: str, text: str = ""):
        self.filename = filename
        self.text = text
        self.anchors: Dict[str, Node] = {}
        self.open_anchors: set = set()
        self.stack: List[_Open] = []
        self.count = 0
        self.tag = ""  # the resolved tag of the last scalar
        self.known: Dict[tuple, Tuple[str, Any]] = {}  # (tag, text, implicit) of a scalar event → (resolved tag, value)
        self.last: Optional[Node] = None  # a document that is one scalar

    def loc(self, event) -> Location:
        mark = event.start_mark
        return Location(self.filename, mark.line + 1, mark.column + 1)

    def build(self, loader) -> Node:
        root: Optional[Node] = None
        documents = 0
        while True:
            event = loader.get_event()  # None after the stream's end
            kind = type(event)
            if kind is yaml.ScalarEvent:  # most events: one per key and per value
                self.add(self.scalar(event), event)
            elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                self.start(event, kind is yaml.MappingStartEvent)
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                done = self.stack.pop()
                if done.anchor is not None:
                    self.open_anchors.discard(done.anchor)
                if not self.stack:
                    root = done.node
            elif kind is yaml.AliasEvent:
                self.add(self.alias(event), event)
            elif kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise SpecError("a spec is one YAML document; found a second one", self.loc(event),
                                    hint="remove the `---` line that starts another document")
            elif event is None:
                break
        if root is None:  # an empty document, or one that is a single scalar
            if self.count == 0:
                raise SpecError("spec is empty", Location(self.filename, 1, 1),
                                hint="a spec needs at least `input:` and `layers:`")
            root = self.last
        return root

    def node(self, kind: str, value: Any, event, quoted: bool = False) -> Node:
        """A new node where `event` starts, counted against MAX_NODES."""
        mark = event.start_mark
        node = Node(kind, value, (self.filename, mark.line + 1, mark.column + 1), None, quoted)
        self.count += 1
        if self.count > MAX_NODES:
            raise SpecError(f"spec has more than {MAX_NODES:,} YAML nodes", node.loc)
        return node

    def start(self, event, mapping: bool) -> None:
        if len(self.stack) >= MAX_DEPTH:
            raise SpecError(f"YAML nesting deeper than {MAX_DEPTH} levels", self.loc(event))
        tag = event.tag
        if tag is not None and tag != "!" and tag != (_MAP if mapping else _SEQ):
            raise SpecError(f"unsupported YAML tag {tag!r}", self.loc(event))
        node = self.node("map", {}, event) if mapping else self.node("seq", [], event)
        if self.stack:  # the node is a value (or a key, which `add` refuses) of the enclosing collection
            self.add(node, event)
        self.stack.append(_Open(node, event.anchor))
        if event.anchor is not None:
            self.anchors[event.anchor] = node
            self.open_anchors.add(event.anchor)

    def scalar(self, event) -> Node:
        # specs repeat the same few scalars (`3`, `relu`, `out`): resolve and convert each distinct one once
        key = (event.tag, event.value, event.implicit)
        known = self.known.get(key)
        if known is None:
            known = self.known[key] = self.resolve(event)
        tag, converted = known
        node = self.node("scalar", converted, event, self.written(event))
        self.tag = tag  # read by `add` when this scalar is a key
        if event.anchor is not None:
            self.anchors[event.anchor] = node
        return node

    def written(self, event) -> Any:
        """How the scalar's value maps onto the file (see `Node`): an int for the usual verbatim text."""
        style, size = event.style, event.end_mark.index - event.start_mark.index
        if not style and size == len(event.value):
            return 0
        if style in _QUOTES and size == len(event.value) + 2:
            return 1
        return Written(self.text, event.start_mark.index, event.end_mark.index, style)

    def resolve(self, event) -> Tuple[str, Any]:
        """(tag, Python value) of a scalar event; raises for tags and values a spec may not hold."""
        tag, value = event.tag, event.value
        if tag is None or tag == "!":
            tag = _resolver.resolve(yaml.ScalarNode, value, event.implicit)
        if tag == _STR or tag == _MERGE:  # a merge key is refused where keys are read; as a value it is the plain text
            return tag, value
        if tag not in _SCALAR_TAGS:
            raise SpecError(f"unsupported YAML tag or value type {tag!r}", self.loc(event),
                            hint="use plain numbers, strings, true/false and null")
        if tag == _NULL and event.implicit[0]:
            return tag, None
        try:
            # the tag's constructor itself: `construct_object` would keep every node in a cache for good
            return tag, _constructor.yaml_constructors[tag](_constructor, yaml.ScalarNode(tag, value))
        except (ValueError, KeyError, IndexError, TypeError, OverflowError, yaml.YAMLError):
            raise SpecError(f"{shown(value)} is not a valid {tag.rsplit(':', 1)[-1]}", self.loc(event),
                            hint="leave out the explicit tag (!!int, !!bool …) or write a valid value") from None

    def alias(self, event) -> Node:
        anchor = event.anchor
        if anchor in self.open_anchors:
            raise SpecError("a YAML alias refers to a node that contains it", self.loc(event))
        if anchor not in self.anchors:
            raise SpecError(f"YAML alias *{anchor} refers to no anchor (&{anchor}) before it", self.loc(event))
        return self.anchors[anchor]

    def add(self, node: Node, event) -> None:
        """Put a finished (or just opened) node into the enclosing collection: a list item, a key or a value."""
        if not self.stack:
            self.last = node
            return
        top = self.stack[-1]
        parent = top.node
        if parent.kind == "seq":
            parent.value.append(node)
        elif top.key is None:
            if node.kind != "scalar" or type(event) is yaml.AliasEvent:
                raise SpecError("mapping keys must be plain strings", self.loc(event))
            if self.tag == _MERGE:
                raise SpecError("YAML merge keys (<<) are not supported", node.loc, hint="use `blocks:` with `args:` to reuse layers")
            key = event.value
            if key in parent.value:
                raise SpecError(f"duplicate key '{key}' (first defined at line {parent.key_pos[key] // _COLS})", node.loc)
            top.key = key
            parent.key_pos[key] = node.line * _COLS + node.col
            parent.value[key] = None  # keeps the key's place (and refuses a duplicate) until its value comes
        else:
            parent.value[top.key] = node
            top.key = None
