"""Expansion: spec Nodes (vars, blocks, repeats, residuals, parallel branches, ids) → a frozen `Graph`.

Every layer row gets a stable hierarchical name: the entry's `name:` if given, else its type and a
1-based count within its list (`conv2`, `relu6_2` for a type ending in a digit); containers add a level
(`layer1.2.basic1.residual1.body.conv1`). Ids are local to a block instance or repeat iteration; `from:` also sees
the enclosing scopes. `in` is a record of the shape of the current block instance's input (the network input
outside blocks), worked out from the layers expanded so far, and only when an expression reads it.

An entry is read once into an `_Entry` (its kind, arguments, meta keys); what it expands into is decided by one
table of handlers that share one signature: `(entry, row name, context, input) → the tensor it produces`.
"""
from __future__ import annotations

import heapq
import re
from collections import Counter
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Dict, List, Optional, Tuple, Union

from ..errors import Location, ShapeError, SpecError, did_you_mean, shown
from ..layers import REGISTRY, Layer
from ..layers.base import MAX_DIM, MAX_ELEMENTS
from . import expr
from .graph import INPUT, Graph, Group, LayerNode, readers
from .source import Node

MAX_LAYERS = 100_000  # after expansion
MAX_REPEAT = 10_000  # one repeat's count
MAX_BLOCK_DEPTH = 32  # blocks using blocks
MAX_STEPS = 250_000  # entries and repeat iterations expanded, layers or not (empty bodies cost work too)
MAX_VALUE_ITEMS = 4_096  # elements of one evaluated argument value (stops aliased-list bombs)

TOP_KEYS = ("name", "description", "input", "vars", "blocks", "layers", "lint")
META_KEYS = ("name", "id", "from", "trainable", "lint-ignore", "when")
_META = frozenset(META_KEYS)
STRUCTURES = ("repeat", "residual", "parallel", "group")
INPUT_VAR = "in"  # the record of the current block's input shape: in.channels, in.size, in.shape
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-]*$")


def check_input(shape: Tuple, loc: Optional[Location]) -> None:
    """A network input: 1 to 4 positive sizes, channels first, no batch, and not absurdly large."""
    from math import prod

    if not (1 <= len(shape) <= 4) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in shape):
        raise SpecError(f"input must be 1 to 4 positive integers ([C], [C, L], [C, H, W] or [C, D, H, W]), got {shown(list(shape))}",
                        loc, hint="channels first, no batch: e.g. input: [3, 224, 224]")
    if max(shape) > MAX_DIM or prod(shape) > MAX_ELEMENTS:
        raise SpecError(f"input {list(shape)} is absurdly large (limit {MAX_ELEMENTS:,} elements)", loc)


class _Pending:
    """A `from:` reference to an id not defined yet (resolved after expansion; may form a cycle)."""

    __slots__ = ("name", "scope", "loc", "target", "resolving")

    def __init__(self, name: str, scope: "_Scope", loc: Location):
        self.name, self.scope, self.loc, self.target, self.resolving = name, scope, loc, None, False


Ref = Union[int, _Pending]


class _Scope:
    """Ids visible at one level: a block instance or a repeat iteration opens a new one."""

    __slots__ = ("parent", "ids")

    def __init__(self, parent: Optional["_Scope"] = None):
        self.parent, self.ids = parent, {}

    def lookup(self, name: str) -> Optional[Ref]:
        scope = self
        while scope is not None:
            if name in scope.ids:
                return scope.ids[name][0]
            scope = scope.parent
        return None

    def visible(self) -> List[str]:
        names, scope = [], self
        while scope is not None:
            names += scope.ids
            scope = scope.parent
        return names


@dataclass(frozen=True)
class _Ctx:
    """Where an entry is expanded: variables, id scope, name prefix, enclosing groups, inherited flags."""

    env: Dict[str, Any]
    scope: _Scope
    prefix: str = ""
    groups: Tuple[str, ...] = ()
    trainable: bool = True
    ignore: frozenset = frozenset()
    stack: Tuple[str, ...] = ()  # blocks being expanded, to refuse recursion


@dataclass(slots=True)
class _Entry:
    """One list item of `layers:`, read once: its kind (layer type, block, or structure), arguments and meta keys."""

    kind: str
    args: Optional[Node]  # the value under the type key (None for a bare name); the whole entry for `repeat`
    loc: Location  # of the type key
    meta: Dict[str, Node]
    node: Node  # the entry itself


# container key → the _Expander method that expands it; every handler has the signature
# (entry, row name, context, input) → the tensor it produces. (Bound methods kept on the instance would make the
# expander a reference cycle, and everything it built garbage only the cyclic collector can free.)
CONTAINERS = {"repeat": "repeat", "residual": "residual", "parallel": "parallel", "group": "group"}
CONTAINER_USAGE = {"repeat": "write `- repeat: N` with `layers:` beside it",
                   "residual": "write `- residual: {body: [...]}` (and optionally `shortcut:`)",
                   "parallel": "write `- parallel: {branches: [[...], [...]], merge: concat}`",
                   "group": "write `- group: [...]` with `name:` beside it, or `- group: {name: stem, layers: [...]}`"}
_MAPPED = frozenset(("residual", "parallel", "group"))  # structures whose argument mapping may hold meta keys too


def auto_name(kind: str, n: int) -> str:
    """The automatic row name of the n-th entry of a type in its list: `conv2`, and `relu6_2` where the type's name
    ends in a digit (`relu62` would read as a type `relu62`)."""
    return f"{kind}_{n}" if kind[-1:].isdigit() else f"{kind}{n}"


def expand(root: Node, filename: str, overrides: Dict[str, Any], input=None) -> Graph:
    """The graph of a parsed spec with `vars` overridden. `input` replaces the spec's input: a full shape, or a
    function of the spec's own shape (so `--input 160` is resolved against it before any layer reads `in`)."""
    return _Expander(root, filename).run(overrides, input)


class _Expander:
    def __init__(self, root: Node, filename: str):
        if root.kind != "map":
            raise SpecError("a spec is a mapping with `input:` and `layers:`", root.loc)
        self.root, self.filename = root, filename
        # one node per layer; its inputs may still hold `_Pending` references, which `_link` resolves
        self.drafts: List[LayerNode] = []
        self.groups: Dict[str, Group] = {}
        self.pending: List[_Pending] = []
        self.steps = 0
        self.shapes: Dict[int, Tuple[int, ...]] = {}  # output shapes of drafts, worked out only when `in` is read
        self.read_input = False  # did any expression read `in`? then the graph depends on the input shape

    # -- top level --------------------------------------------------------------------------------
    def run(self, overrides: Dict[str, Any], input=None) -> Graph:
        root = self.root
        for key in root.value:
            if key not in TOP_KEYS:
                raise SpecError(f"unknown top-level key '{key}'", root.key_loc(key),
                                hint=did_you_mean(key, TOP_KEYS) or "top-level keys: " + ", ".join(TOP_KEYS))
        for key in ("input", "layers"):
            if key not in root.value:
                raise SpecError(f"spec has no `{key}:`", root.loc, hint="a spec needs at least `input:` and `layers:`")
        self.env = self._vars(root.get("vars"), overrides)
        self.blocks = self._blocks(root.get("blocks"))
        shape = self.value(root.value["input"], self.env)
        shape = tuple(shape) if isinstance(shape, list) else (shape,)
        check_input(shape, root.value["input"].loc)
        if input is not None:
            shape = tuple(input(shape) if callable(input) else input)
            check_input(shape, root.value["input"].loc)
        self.input = shape
        name = self.value(root.value["name"], self.env) if "name" in root.value else None
        env = {**self.env, INPUT_VAR: self.input_record(INPUT, root.value["input"].loc)}
        out = self.sequence(root.value["layers"], _Ctx(env, _Scope()), INPUT)
        if not self.drafts:
            raise SpecError("spec has no layers", root.value["layers"].loc)
        nodes, out = self._link(out)
        from types import MappingProxyType

        return Graph(str(name) if name is not None else _stem(self.filename), self.filename, shape,
                     root.value["input"].loc, nodes, out, MappingProxyType(self.groups), MappingProxyType(dict(self.env)),
                     root.get("lint"), self._description(root.get("description")),
                     partial(expand, root, self.filename, overrides) if self.read_input else None)

    def _description(self, node: Optional[Node]) -> str:
        """The spec's `description:` with its `${…}` filled in (as written where a reference does not resolve)."""
        if node is None:
            return ""
        text = str(node.value)
        try:
            return str(expr.substitute(text, self.env)) if expr.has_reference(text) else text
        except expr.ExprError:
            return text

    def _vars(self, node: Optional[Node], overrides: Dict[str, Any]) -> Dict[str, Any]:
        raw = {} if node is None else self.mapping(node, "vars")
        for key in overrides:
            if key not in raw:
                hint = did_you_mean(key, raw) or (f"the spec's variables: {', '.join(raw)}" if raw else "the spec defines no vars")
                raise SpecError(f"--set: the spec has no variable '{key}'", node.loc if node else None, hint=hint)
        env: Dict[str, Any] = {}
        for key, value in raw.items():  # in order: a var may use the ones before it
            if not _NAME.match(key) or "-" in key:
                raise SpecError(f"variable names are identifiers, got '{key}'", node.key_loc(key))
            _not_reserved(key, node.key_loc(key))
            env[key] = overrides[key] if key in overrides else self.value(value, env)
            if key in overrides and isinstance(overrides[key], str):
                self._check_override(key, overrides[key], value, env, node)
        return env

    def _check_override(self, key: str, given: str, default_node: Node, env: Dict[str, Any], node: Node) -> None:
        """`--set alpha=abc` on a variable whose default is a number: say so at once, naming the variable and --set,
        rather than fail later inside an expression that uses it."""
        try:
            default = self.value(default_node, env)
        except SpecError:
            return
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            raise SpecError(f"--set {key}={given}: '{key}' is a number in the spec ({default} by default), "
                            f"got the text {given!r}", node.key_loc(key),
                            hint=f"give a number, like --set {key}={default}")

    def _blocks(self, node: Optional[Node]) -> Dict[str, Tuple[Dict[str, Node], Node]]:
        blocks = {}
        for name, body in ({} if node is None else self.mapping(node, "blocks")).items():
            loc = node.key_loc(name)
            if name in REGISTRY or name in STRUCTURES:
                raise SpecError(f"block name '{name}' is already a layer type", loc, hint="choose another name")
            if not _NAME.match(name):
                raise SpecError(f"block names are identifiers, got '{name}'", loc)
            if body.kind == "seq":
                blocks[name] = ({}, body)
                continue
            fields = self.mapping(body, f"block '{name}'")
            for key in fields:
                if key not in ("args", "layers"):
                    raise SpecError(f"block '{name}' has an unknown key '{key}'", body.key_loc(key), hint="a block has `args:` and `layers:`")
            if "layers" not in fields:
                raise SpecError(f"block '{name}' has no `layers:`", body.loc)
            args = self.mapping(fields["args"], "args") if "args" in fields else {}
            for key in args:
                _not_reserved(key, fields["args"].key_loc(key))
            blocks[name] = (args, fields["layers"])
        return blocks

    # -- values -----------------------------------------------------------------------------------
    def mapping(self, node: Node, what: str) -> Dict[str, Node]:
        if node.kind != "map":
            raise SpecError(f"`{what}` must be a mapping", node.loc)
        return node.value

    def value(self, node: Node, env: Dict[str, Any], budget: Optional[List[int]] = None) -> Any:
        """A Node's Python value with `$var` and `${expression}` substituted."""
        if node.kind == "scalar":  # the common case first: no budget to keep for a single value
            value = node.value
            if isinstance(value, str) and "$" in value and expr.has_reference(value):
                try:
                    return expr.substitute(value, env)
                except expr.ExprError as e:
                    raise SpecError(e.message, node.located(e.offset), e.hint) from None
            return value
        budget = budget if budget is not None else [MAX_VALUE_ITEMS]
        budget[0] -= 1
        if budget[0] < 0:
            raise SpecError(f"value has more than {MAX_VALUE_ITEMS:,} elements", node.loc)
        if node.kind == "seq":
            return [self.value(item, env, budget) if item.kind != "scalar" else self._counted(item, env, budget)
                    for item in node.value]
        return {k: self.value(v, env, budget) if v.kind != "scalar" else self._counted(v, env, budget)
                for k, v in node.value.items()}

    def _counted(self, node: Node, env: Dict[str, Any], budget: List[int]) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise SpecError(f"value has more than {MAX_VALUE_ITEMS:,} elements", node.loc)
        return self.value(node, env)

    # -- sequences and entries ----------------------------------------------------------------------
    def sequence(self, node: Node, ctx: _Ctx, prev: Ref) -> Ref:
        if node.kind != "seq":
            raise SpecError("expected a list of layers", node.loc, hint="write each layer as `- name` or `- name: {args}`")
        counts: Counter = Counter()
        names: Dict[str, Location] = {}
        for item in node.value:
            prev = self.entry(self.read_entry(item), ctx, prev, counts, names)
        return prev

    def read_entry(self, entry: Node) -> _Entry:
        """What a list item is: a bare name (`- relu`), or a mapping with one type key and meta keys beside it."""
        if entry.kind == "scalar" and isinstance(entry.value, str):
            return _Entry(entry.value, None, entry.loc, {}, entry)
        if entry.kind != "map":
            raise SpecError("a layer entry is a name (`- relu`) or a mapping (`- conv: {out: 64, kernel: 3}`)", entry.loc)
        if _META.isdisjoint(entry.value):  # the usual entry: no meta keys beside the type key
            meta: Dict[str, Node] = {}
        else:
            meta = {k: v for k, v in entry.value.items() if k in META_KEYS}
        if "repeat" in entry.value:
            return _Entry("repeat", entry, entry.key_loc("repeat"), meta, entry)
        keys = [k for k in entry.value if k not in META_KEYS]
        if len(keys) != 1:
            found = f"found {', '.join(keys)}" if keys else "found none"
            raise SpecError(f"a layer entry needs exactly one type key; {found}", entry.loc,
                            hint="write `- conv: {out: 64, kernel: 3}`; `name`, `id`, `from`, `trainable`, `lint-ignore` and `when` sit beside it")
        kind = keys[0]
        args = entry.value[kind]
        if args.kind == "map" and (kind in REGISTRY or kind in self.blocks or kind in _MAPPED):
            # meta keys may sit inside the argument mapping, unless a block declares an argument by that name
            declared = self.blocks[kind][0] if kind in self.blocks else ()
            if not _META.isdisjoint(args.value) and any(k in META_KEYS and k not in declared for k in args.value):
                args, meta = _split_meta(args, meta, declared)
        return _Entry(kind, args, entry.key_loc(kind), meta, entry)

    def step(self, loc: Location) -> None:
        """Count one unit of expansion work; refuse a spec whose expansion would run away."""
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise SpecError(f"expanding the spec takes more than {MAX_STEPS:,} steps", loc,
                            hint="repeats nested inside repeats multiply; even iterations that make no layers count")

    def entry(self, e: _Entry, ctx: _Ctx, prev: Ref, counts: Counter, names: Dict[str, Tuple[_Entry, bool]]) -> Ref:
        kind, meta = e.kind, e.meta
        self.step(e.loc)
        if kind not in REGISTRY and kind not in self.blocks and kind not in STRUCTURES:
            known = list(REGISTRY) + list(self.blocks) + list(STRUCTURES)
            raise SpecError(f"unknown layer type or block '{kind}'", e.loc, hint=did_you_mean(kind, known) or "`cnncalc schema` lists the layer types")
        counts[kind] += 1  # counted even when left out by `when:`, so positional names stay stable across variants
        if "when" in meta and not self.flag(meta["when"], "when", ctx):
            return prev
        given = self.meta_str(meta, "name", ctx, _SEGMENT)
        segment = given or auto_name(kind, counts[kind])
        if segment in names:
            self.name_clash(segment, names[segment], meta.get("name", e.node).loc, given is not None, kind)
        names[segment] = (e, given is not None)  # a location is built only for an error
        full = ctx.prefix + segment
        src = self.sources(meta.get("from"), ctx)
        if meta:
            trainable = ctx.trainable and ("trainable" not in meta or self.flag(meta["trainable"], "trainable", ctx))
            ctx = replace(ctx, trainable=trainable, ignore=ctx.ignore | self.ignores(meta.get("lint-ignore"), ctx))
        if kind in REGISTRY:
            out = self.layer(REGISTRY[kind], e.args, e.loc, full, ctx, src if src is not None else (prev,))
        else:
            if src is not None and len(src) != 1:
                raise SpecError(f"'{kind}' takes one input; `from:` lists {len(src)}", meta["from"].loc)
            block = kind if kind in self.blocks else None
            self.groups[full] = Group(full, "block" if block else kind, e.loc, block)
            inner = replace(ctx, prefix=full + ".", groups=ctx.groups + (full,))
            if not block and (e.args is None or e.args.kind != "map" and not (kind == "group" and e.args.kind == "seq")):
                raise SpecError(f"`{kind}` needs a mapping of its parts", e.loc, hint=CONTAINER_USAGE[kind])
            handler = self.block if block else getattr(self, CONTAINERS[kind])
            out = handler(e, full, inner, src[0] if src is not None else prev)
        ident = self.meta_str(meta, "id", ctx, _NAME)
        if ident is not None:
            if ident == "input":
                raise SpecError("`input` is reserved for the network input", meta["id"].loc)
            if ident in ctx.scope.ids:
                first = ctx.scope.ids[ident][1]
                raise SpecError(f"duplicate id '{ident}' (first at line {first.line})", meta["id"].loc)
            ctx.scope.ids[ident] = (out, meta["id"].loc)
        return out

    def name_clash(self, segment: str, first: Tuple[_Entry, bool], loc: Location, explicit: bool, kind: str) -> None:
        """Two entries of one list would get the same row name. Refused rather than renamed: a row name is also a
        weight key and a torch module path, so a silent `_2` would move weights without anyone asking. The error
        points at the `name:` that causes the clash, wherever it is."""
        entry, first_explicit = first
        first_loc = entry.meta["name"].loc if first_explicit else entry.loc
        if explicit == first_explicit:
            hint = None if explicit else "give one of them a `name:`"
            word = "name" if explicit else "automatic name"
            raise SpecError(f"duplicate {word} '{segment}' in this list (first at line {first_loc.line})", loc, hint=hint)
        named, auto = (loc, first_loc) if explicit else (first_loc, loc)
        what = f"the '{kind}' at line {auto.line}" if not explicit else f"the entry at line {auto.line}"
        raise SpecError(f"`name: {segment}` is also the automatic name of {what}", named,
                        hint="choose a name that is not a type and a count, or name the other entry too")

    def flag(self, node: Node, key: str, ctx: _Ctx) -> bool:
        value = self.value(node, ctx.env)
        if not isinstance(value, bool):
            raise SpecError(f"`{key}` must be true or false, got {shown(value)}", node.loc, hint=f"e.g. `{key}: $bn` or `{key}: '${{depth > 18}}'`")
        return value

    def meta_str(self, meta: Dict[str, Node], key: str, ctx: _Ctx, pattern) -> Optional[str]:
        if key not in meta:
            return None
        value = self.value(meta[key], ctx.env)
        if not isinstance(value, (str, int)) or isinstance(value, bool) or not pattern.match(str(value)):
            raise SpecError(f"`{key}` must be a word of letters, digits, '_' or '-', got {shown(value)}", meta[key].loc,
                            hint="dots separate levels of the row names, so a name has none")
        return str(value)

    def ignores(self, node: Optional[Node], ctx: _Ctx) -> frozenset:
        if node is None:
            return frozenset()
        value = self.value(node, ctx.env)
        codes = value if isinstance(value, list) else str(value).replace(",", " ").split()
        if not all(isinstance(c, str) for c in codes):
            raise SpecError("`lint-ignore` takes a rule code or a list of them", node.loc)
        return frozenset(c.upper() for c in codes)

    def sources(self, node: Optional[Node], ctx: _Ctx) -> Optional[List[Ref]]:
        if node is None:
            return None
        items = node.value if node.kind == "seq" else [node]
        if not items:
            raise SpecError("`from:` lists no ids", node.loc)
        refs = []
        for item in items:
            name = self.value(item, ctx.env)
            if not isinstance(name, str):
                raise SpecError(f"`from:` takes ids (strings), got {shown(name)}", item.loc)
            refs.append(self.ref(name, ctx.scope, item.loc))
        return refs

    def ref(self, name: str, scope: _Scope, loc: Location) -> Ref:
        if name == "input":
            return INPUT
        found = scope.lookup(name)
        if found is not None:
            return found
        pending = _Pending(name, scope, loc)  # maybe defined later: resolved (or refused) in _link
        self.pending.append(pending)
        return pending

    # -- the input's shape (`in`) -----------------------------------------------------------------------
    def input_record(self, ref: Ref, loc: Location) -> expr.Lazy:
        """`in` for a block instance (or the top level) whose input is `ref`: worked out when first read."""
        return expr.Lazy(partial(self._input_record, ref, loc))

    def _input_record(self, ref: Ref, loc: Location) -> expr.Record:
        self.read_input = True
        shape = self.shape_of(ref, loc)
        return expr.Record(INPUT_VAR, {"channels": shape[0], "size": list(shape[1:]), "shape": list(shape)})

    def shape_of(self, ref: Ref, loc: Location) -> Tuple[int, ...]:
        """The output shape of a tensor expanded so far, inferring the layers it depends on (each once)."""
        if ref == INPUT:
            return self.input
        todo, needed = [ref], set()
        while todo:  # the layers this tensor depends on whose shapes are not known yet (iterative: graphs are deep)
            i = todo.pop()
            if isinstance(i, _Pending):
                raise expr.ExprError(f"the shape of `in` is not known here: it depends on `from: {i.name}` (line "
                                     f"{i.loc.line}), an id defined further down", 0,
                                     "`in` can only read the shapes of layers written before it")
            if i != INPUT and i not in self.shapes and i not in needed:
                needed.add(i)
                todo.extend(self.drafts[i].inputs)
        for i in sorted(needed):  # inputs come before the layers that read them
            node = self.drafts[i]
            ins = [self.input if j == INPUT else self.shapes[j] for j in node.inputs]
            try:
                self.shapes[i] = node.layer.infer(ins).output
            except ShapeError as e:
                given = ", ".join(f"{'input' if j == INPUT else self.drafts[j].name} {list(s)}" for j, s in zip(node.inputs, ins))
                raise type(e)(e.message, e.loc, (e.hint + "\n  " if e.hint else "") + f"input: {given}; found while "
                              f"working out the shape that `in` reads at line {loc.line}") from None
        return self.shapes[ref]

    # -- what an entry can be -----------------------------------------------------------------------
    def layer(self, cls, args: Optional[Node], loc: Location, name: str, ctx: _Ctx, inputs: List[Ref]) -> int:
        if args is None or args.kind == "scalar" and args.value is None:
            raw, locs = None, {}
        elif args.kind == "map":
            raw = {k: self.value(v, ctx.env) for k, v in args.value.items()}
            locs = args.key_locs
        else:
            raw, locs = self.value(args, ctx.env), {}
            loc = args.loc if args.kind == "scalar" else loc
        layer: Layer = cls.create(raw, locs, loc)
        low, high = cls.inputs
        if len(inputs) < low:
            raise SpecError(f"'{cls.type}' merges {low} or more inputs; list them with `from: [a, b]`", loc,
                            hint="give the layers to merge an `id:` each")
        if high is not None and len(inputs) > high:
            raise SpecError(f"'{cls.type}' takes {high} input; `from:` lists {len(inputs)}", loc,
                            hint="merge them first with `add`, `mul` or `concat`")
        if len(self.drafts) >= MAX_LAYERS:
            raise SpecError(f"spec expands to more than {MAX_LAYERS:,} layers", loc)
        self.drafts.append(LayerNode(name, layer, tuple(inputs), loc, ctx.groups, ctx.trainable, ctx.ignore))
        return len(self.drafts) - 1

    def repeat(self, e: _Entry, name: str, ctx: _Ctx, prev: Ref) -> Ref:
        entry = e.args
        for key in entry.value:
            if key not in ("repeat", "layers", "as") + META_KEYS:
                raise SpecError(f"repeat has an unknown key '{key}'", entry.key_loc(key), hint="a repeat has `repeat: N`, `layers:` and optionally `as: i`")
        times = self.value(entry.value["repeat"], ctx.env)
        if isinstance(times, bool) or not isinstance(times, int) or not 0 <= times <= MAX_REPEAT:
            raise SpecError(f"`repeat` takes a count from 0 to {MAX_REPEAT:,}, got {shown(times)}", entry.value["repeat"].loc)
        if "layers" not in entry.value:
            raise SpecError("repeat has no `layers:`", e.loc)
        var = self.value(entry.value["as"], ctx.env) if "as" in entry.value else None
        if var is not None and (not isinstance(var, str) or not _NAME.match(var)):
            raise SpecError(f"`as` names a variable, got {shown(var)}", entry.value["as"].loc)
        if var is not None:
            _not_reserved(var, entry.value["as"].loc)
        for i in range(times):
            self.step(e.loc)
            it = f"{name}.{i + 1}"
            self.groups[it] = Group(it, "iteration", e.loc)
            env = {**ctx.env, var: i} if var else ctx.env
            inner = replace(ctx, env=env, scope=_Scope(ctx.scope), prefix=it + ".", groups=ctx.groups + (it,))
            prev = self.sequence(entry.value["layers"], inner, prev)
        return prev

    def residual(self, e: _Entry, name: str, ctx: _Ctx, prev: Ref) -> Ref:
        fields = self.fields(e.args, "residual", ("body", "shortcut", "merge", "order", "if"), "body", e.loc)
        skip = "if" not in fields or self.flag(fields["if"], "if", ctx)  # `if: false`: the body alone, names kept
        body = self.sequence(fields["body"], replace(ctx, prefix=f"{name}.body."), prev)
        if not skip:
            return body
        short = self.sequence(fields["shortcut"], replace(ctx, prefix=f"{name}.shortcut."), prev) if "shortcut" in fields else prev
        paths = {"body": body, "shortcut": short}
        order = self.order(fields["order"], "shortcut" in fields, ctx) if "order" in fields else ("body", "shortcut")
        return self.merge(fields, "add", ("add", "concat", "mul"), e.loc, name, ctx, [paths[k] for k in order])

    def order(self, node: Node, has_shortcut: bool, ctx: _Ctx) -> Tuple[str, str]:
        """A residual's `order:` of its merge's inputs: [body, shortcut] or [shortcut, body] (`input` for an
        identity shortcut)."""
        value = self.value(node, ctx.env)
        words = ["shortcut" if w == "input" and not has_shortcut else w for w in value] if isinstance(value, list) else value
        if not isinstance(words, list) or sorted(map(str, words)) != ["body", "shortcut"]:
            hint = "[body, shortcut] (the default) or [shortcut, body]" + ("" if has_shortcut else "; `input` may stand for the identity shortcut")
            raise SpecError(f"`order` lists the body and the shortcut once each, got {shown(value)}", node.loc, hint=hint)
        return tuple(words)

    def parallel(self, e: _Entry, name: str, ctx: _Ctx, prev: Ref) -> Ref:
        fields = self.fields(e.args, "parallel", ("branches", "merge"), "branches", e.loc)
        branches = fields["branches"]
        if branches.kind != "seq" or len(branches.value) < 1:
            raise SpecError("`branches` is a list of branches, each a list of layers", branches.loc)
        outs, seen = [], set()
        for k, branch in enumerate(branches.value, 1):
            label, layers = f"branch{k}", branch
            if branch.kind == "map":  # a named branch: {name: b1, layers: [...]}
                parts = self.fields(branch, "branch", ("name", "layers"), "layers", branch.loc)
                label = str(self.value(parts["name"], ctx.env)) if "name" in parts else label
                layers = parts["layers"]
                if not _SEGMENT.match(label) or label in seen:
                    raise SpecError(f"branch name {shown(label)} is not a unique word", parts.get("name", branch).loc)
            elif label in seen:  # an earlier branch took this one's automatic name
                raise SpecError(f"an earlier branch is named '{label}', the automatic name of branch {k}", branch.loc,
                                hint="name this branch too, or rename the other one")
            seen.add(label)
            outs.append(self.sequence(layers, replace(ctx, prefix=f"{name}.{label}."), prev))
        if len(outs) == 1:
            return outs[0]
        return self.merge(fields, "concat", ("concat", "add", "mul"), e.loc, name, ctx, outs)

    def group(self, e: _Entry, name: str, ctx: _Ctx, prev: Ref) -> Ref:
        """A named group of layers (`- group: [...]` with `name:`): one level of row names, nothing else; ids
        defined inside stay visible after it, as it is expanded once."""
        layers = e.args if e.args.kind == "seq" else self.fields(e.args, "group", ("layers",), "layers", e.loc)["layers"]
        return self.sequence(layers, ctx, prev)

    def fields(self, node: Optional[Node], what: str, allowed: Tuple[str, ...], required: str, loc: Location) -> Dict[str, Node]:
        if node is None or node.kind != "map":
            raise SpecError(f"`{what}` takes a mapping with `{required}:`", node.loc if node else loc)
        for key in node.value:
            if key not in allowed:
                raise SpecError(f"`{what}` has no key '{key}'", node.key_loc(key), hint=did_you_mean(key, allowed) or f"keys: {', '.join(allowed)}")
        if required not in node.value:
            raise SpecError(f"`{what}` needs `{required}:`", node.loc)
        return node.value

    def merge(self, fields: Dict[str, Node], default: str, allowed: Tuple[str, ...], loc: Location, name: str,
              ctx: _Ctx, inputs: List[Ref]) -> int:
        kind = default
        if "merge" in fields:
            kind = self.value(fields["merge"], ctx.env)
            if kind not in allowed:
                raise SpecError(f"`merge` must be one of {', '.join(allowed)}, got {shown(kind)}", fields["merge"].loc,
                                hint=did_you_mean(kind, allowed))
            loc = fields["merge"].loc
        return self.layer(REGISTRY[kind], None, loc, f"{name}.{kind}", ctx, inputs)

    def block(self, e: _Entry, name: str, ctx: _Ctx, prev: Ref) -> Ref:
        kind, args, loc = e.kind, e.args, e.loc
        params, layers = self.blocks[kind]
        if kind in ctx.stack:
            raise SpecError(f"block '{kind}' uses itself: {' → '.join(ctx.stack + (kind,))}", loc)
        if len(ctx.stack) >= MAX_BLOCK_DEPTH:
            raise SpecError(f"blocks nested deeper than {MAX_BLOCK_DEPTH}", loc)
        given: Dict[str, Any] = {}
        if args is not None and args.kind == "map":
            for key, node in args.value.items():
                if key not in params:
                    hint = did_you_mean(key, params) or (f"its args: {', '.join(params)}" if params else "it takes no args")
                    raise SpecError(f"block '{kind}' has no argument '{key}'", args.key_loc(key), hint=hint)
                given[key] = self.value(node, ctx.env)
        elif args is not None and not (args.kind == "scalar" and args.value is None):
            # one value stands for the only argument (`- basic: 64`), or for the only required one
            required = [k for k, d in params.items() if d.kind == "scalar" and d.value is None]
            target = next(iter(params)) if len(params) == 1 else required[0] if len(required) == 1 else None
            if target is None:
                why = "has no arguments" if not params else f"has {len(required) or 'no'} required arguments"
                raise SpecError(f"block '{kind}' takes a mapping of arguments ({', '.join(params) or 'none'})", args.loc,
                                hint=f"a single value stands for a block's only argument, or its only required one; '{kind}' {why}")
            given[target] = self.value(args, ctx.env)
        env = dict(self.env)
        env[INPUT_VAR] = self.input_record(prev, loc)  # the defaults and layers see this instance's input
        for key, default in params.items():
            if key in given:
                env[key] = given[key]
            elif default.kind == "scalar" and default.value is None:
                raise SpecError(f"block '{kind}' needs argument '{key}'", loc, hint=f"write `- {kind}: {{{key}: …}}`")
            else:
                env[key] = self.value(default, env)
        inner = replace(ctx, env=env, scope=_Scope(ctx.scope), stack=ctx.stack + (kind,))
        return self.sequence(layers, inner, prev)

    # -- linking: resolve forward references, order topologically, refuse cycles -----------------------
    def _link(self, out: Ref) -> Tuple[Tuple[LayerNode, ...], int]:
        for p in self.pending:
            self._resolve(p)
        if self.pending:
            self.drafts = [replace(d, inputs=tuple(self._resolve(r) if isinstance(r, _Pending) else r for r in d.inputs))
                           for d in self.drafts]
        out = self._resolve(out) if isinstance(out, _Pending) else out
        order = self._toposort()
        if order is None:  # already in order: the drafts are the nodes
            return tuple(self.drafts), out
        where = {old: new for new, old in enumerate(order)}
        where[INPUT] = INPUT
        nodes = []
        for i in order:
            d = self.drafts[i]
            nodes.append(replace(d, inputs=tuple(where[j] for j in d.inputs)))
        return tuple(nodes), where[out]

    def _resolve(self, p: _Pending) -> int:
        """The layer a pending reference ends at, following references to references with a loop (a chain of
        thousands of them through empty containers must not recurse), each followed once."""
        chain = []
        while p.target is None:
            if p.resolving:
                raise SpecError(f"`from: {p.name}` refers to itself", p.loc)
            found = p.scope.lookup(p.name)
            if found is None:
                visible = p.scope.visible()
                raise SpecError(f"unknown id '{p.name}' in `from:`", p.loc,
                                hint=did_you_mean(p.name, visible + ["input"]) or
                                (f"ids visible here: {', '.join(visible)}, input" if visible else "no ids are defined here; `input` is the network input"))
            p.resolving = True
            chain.append(p)
            if not isinstance(found, _Pending):
                p.target = found
                break
            p = found
        for q in chain:
            q.target = p.target
        return p.target

    def _toposort(self) -> Optional[List[int]]:
        """The order to run the drafts in, or None when it is theirs (no forward references: the usual case)."""
        # Kahn's algorithm, always taking the earliest spec position ready: spec order wherever it is valid
        inputs = [d.inputs for d in self.drafts]
        if all(j < i for i, ins in enumerate(inputs) for j in ins):
            return None
        waiting = [len(set(j for j in ins if j != INPUT)) for ins in inputs]
        users = readers(inputs)
        ready = [i for i, w in enumerate(waiting) if w == 0]
        heapq.heapify(ready)
        order = []
        while ready:
            i = heapq.heappop(ready)
            order.append(i)
            for u in users.get(i, ()):
                waiting[u] -= 1
                if waiting[u] == 0:
                    heapq.heappush(ready, u)
        if len(order) < len(inputs):
            stuck = next(i for i, w in enumerate(waiting) if w)
            cycle = self._cycle(stuck, waiting, inputs)
            names = " → ".join(self.drafts[i].name for i in cycle)
            raise SpecError(f"the graph has a cycle: {names}", self.drafts[cycle[0]].loc, hint="`from:` must not lead back to the layer itself")
        return order

    def _cycle(self, start: int, waiting: List[int], inputs) -> List[int]:
        path, seen, i = [], {}, start
        while i not in seen:
            seen[i] = len(path)
            path.append(i)
            i = next(j for j in inputs[i] if j != INPUT and waiting[j])
        return path[seen[i]:] + [i]


def _split_meta(args: Node, meta: Dict[str, Node], declared=()) -> Tuple[Node, Dict[str, Node]]:
    """Let `name`, `id`, `from`, … sit inside an entry's argument mapping too (no layer has arguments by those names)."""
    is_meta = {k: k in META_KEYS and k not in declared for k in args.value}
    for key in args.value:
        if is_meta[key] and key in meta:
            raise SpecError(f"`{key}` is given twice for this entry", args.key_loc(key))
    inner = {k: v for k, v in args.value.items() if not is_meta[k]}
    moved = {k: v for k, v in args.value.items() if is_meta[k]}
    return Node("map", inner, args.loc, {k: args.key_loc(k) for k in inner}), {**meta, **moved}


def _not_reserved(name: str, loc: Location) -> None:
    """`in` is the input's shape; a variable, block argument or repeat index may not hide it."""
    if name == INPUT_VAR:
        raise SpecError(f"'{INPUT_VAR}' is reserved for the shape of a block's input", loc,
                        hint="read it as in.channels, in.size or in.shape; choose another name")


def _stem(filename: str) -> str:
    name = filename.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0] if "." in name else name
