"""Folding: the neutral form's flat list of ops → residuals, parallels, blocks with arguments and `repeat:`.

Written once for every importer. Three passes:
1. structure — the graph is cut where one tensor alone crosses (everything after reads only it or later tensors);
   a segment that ends in a merge whose inputs come from disjoint chains becomes a `residual` (add or mul of two) or a
   `parallel` (concat, or more inputs); a segment that is no such shape stays flat, with `id:`/`from:`.
2. blocks — a run of items that occurs again elsewhere with the same structure (layer types and containers, values
   aside) becomes a block; the values that differ between its uses become its arguments (one argument for values
   that always agree, `${a * k}` for a constant multiple of another), the most common value the default. The pattern
   that saves the most rows is taken first; where the source names modules (ONNX), a use never straddles two modules.
3. repeats — consecutive uses of one block with the same arguments become `repeat: N`.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..layers import REGISTRY
from ..layers.args import REQUIRED
from .ir import INPUT, Imported, Op

MAX_PATTERN = 16  # items in one block
MERGES = ("add", "mul", "concat")


@dataclass
class Layer:
    op: Op


@dataclass
class Residual:
    merge: Op
    body: list
    shortcut: list


@dataclass
class Parallel:
    merge: Op
    branches: list


@dataclass
class Flat:
    """Ops that are no chain, residual or parallel: written with `id:` and `from:`; `entry` is the tensor before."""

    ops: List[Op]
    entry: str


@dataclass
class Call:
    """One use of a block: its argument values, and the items it stands for (their ops give row names)."""

    block: "Block"
    args: Dict[str, Any]
    items: list
    name: Optional[str] = None


@dataclass
class Repeat:
    count: int
    call: Call


@dataclass
class Block:
    name: str
    params: Dict[str, Any]  # argument → default
    body: list  # the first use's items: the template
    slots: Dict[Tuple[int, str], str]  # (layer position in the body, arg key) → the argument or `${…}` written there
    names: List[Optional[str]] = field(default_factory=list)  # per layer position: its row name, when all uses agree
    uses: int = 0


@dataclass
class Folded:
    imported: Imported
    items: list
    blocks: List[Block]
    repeats: int = 0


def fold(imp: Imported) -> Folded:
    ops = [Op(o.name, o.type, _without_defaults(o), o.inputs, o.loc, o.scope) for o in imp.ops]
    items = structure(ops, INPUT)
    blocks: List[Block] = []
    items = find_blocks(items, blocks, any(len(o.scope) > 1 for o in ops))  # one level is no module hierarchy
    items, repeats = find_repeats(items)
    return Folded(imp, items, blocks, repeats)


def _without_defaults(op: Op) -> Dict[str, Any]:
    defaults = {a.name: a.default for a in REGISTRY[op.type].args}
    return {k: v for k, v in op.args.items() if not (k in defaults and defaults[k] is not REQUIRED and defaults[k] == v)}


def default_of(kind: str, key: str) -> Any:
    for a in REGISTRY[kind].args:
        if a.name == key:
            return None if a.default is REQUIRED else a.default
    return None


# -- 1. structure ------------------------------------------------------------------------------------------------------

def structure(ops: Sequence[Op], entry: str) -> list:
    """Items for ops that all descend from `entry` (and read nothing from before it)."""
    where = {op.name: i for i, op in enumerate(ops)}
    where[entry] = -1
    lowest = []  # per op: the earliest position it reads
    for op in ops:
        lowest.append(min(where.get(x, -2) for x in op.inputs))
    items, start, cur = [], 0, entry
    suffix = len(ops)  # the earliest position read by any op after i
    cuts = []
    for i in range(len(ops) - 1, -1, -1):
        if suffix >= i:
            cuts.append(i)
        suffix = min(suffix, lowest[i])
    for cut in reversed(cuts):
        segment = list(ops[start:cut + 1])
        items.append(_segment(segment, cur))
        start, cur = cut + 1, ops[cut].name
    return items


def _segment(segment: List[Op], cur: str):
    last = segment[-1]
    if len(segment) == 1:
        return Layer(last) if last.inputs == (cur,) else Flat(segment, cur)
    if last.type not in MERGES or len(set(last.inputs)) != len(last.inputs):
        return Flat(segment, cur)
    inner = {op.name: op for op in segment[:-1]}
    branches, seen = [], set()
    for x in last.inputs:
        chain = _ancestors(x, inner)
        if seen & chain:
            return Flat(segment, cur)
        seen |= chain
        ops = [op for op in segment[:-1] if op.name in chain]
        sub = structure(ops, cur) if ops else []
        if any(isinstance(s, Flat) for s in sub):
            return Flat(segment, cur)
        branches.append(sub)
    if seen != set(inner):  # a side output (a detection head) hangs off the segment
        return Flat(segment, cur)
    if last.type in ("add", "mul") and len(branches) == 2:
        body, short = sorted(branches, key=lambda b: -_rows(b))
        return Residual(last, body, short)
    return Parallel(last, branches)


def _ancestors(x: str, inner: Dict[str, Op]) -> set:
    out, todo = set(), [x]
    while todo:
        name = todo.pop()
        if name in inner and name not in out:
            out.add(name)
            todo.extend(inner[name].inputs)
    return out


def _rows(items) -> int:
    return sum(len(layers_of(i)) for i in items)


def layers_of(item) -> List[Op]:
    """The ops an item stands for, in a fixed order (the order a block's arguments are found in)."""
    if isinstance(item, Layer):
        return [item.op]
    if isinstance(item, Residual):
        return [o for i in item.body + item.shortcut for o in layers_of(i)] + [item.merge]
    if isinstance(item, Parallel):
        return [o for b in item.branches for i in b for o in layers_of(i)] + [item.merge]
    if isinstance(item, Flat):
        return list(item.ops)
    if isinstance(item, Call):
        return [o for i in item.items for o in layers_of(i)]
    return layers_of(item.call) * item.count


def skeleton(item):
    """What must agree for two items to be uses of one block: layer types and containers, values aside."""
    if isinstance(item, Layer):
        return item.op.type
    if isinstance(item, Residual):
        return ("residual", item.merge.type, tuple(map(skeleton, item.body)), tuple(map(skeleton, item.shortcut)))
    if isinstance(item, Parallel):
        return ("parallel", item.merge.type, tuple(tuple(map(skeleton, b)) for b in item.branches))
    return ("unique", id(item))  # flat segments and finished blocks are never folded again


# -- 2. blocks ---------------------------------------------------------------------------------------------------------

def _scope(item) -> Tuple[str, ...]:
    """The module path all of an item's ops share."""
    ops = layers_of(item)
    return _common(ops[0].scope, *(op.scope for op in ops[1:]))


def _common(first: Tuple[str, ...], *others: Tuple[str, ...]) -> Tuple[str, ...]:
    for other in others:
        n = 0
        while n < min(len(first), len(other)) and first[n] == other[n]:
            n += 1
        first = first[:n]
    return first


def find_blocks(items: list, blocks: List[Block], scoped: bool) -> list:
    while True:
        skel = [skeleton(i) for i in items]
        scopes = [_scope(i) for i in items] if scoped else None
        n = len(items)

        def whole(i: int, j: int) -> bool:  # with module paths, a use is a whole module: its neighbours lie outside
            if not scoped:
                return True
            c = _common(*scopes[i:j])
            return bool(c) and (i == 0 or scopes[i - 1][:len(c)] != c) and (j == n or scopes[j][:len(c)] != c)

        best, best_saving = None, (0, False)
        for length in range(1, min(MAX_PATTERN, n // 2) + 1):
            starts: Dict[tuple, List[int]] = {}
            for i in range(n - length + 1):
                pattern = tuple(skel[i:i + length])
                if any(isinstance(p, tuple) and p[0] == "unique" for p in pattern):
                    continue
                if whole(i, i + length):
                    starts.setdefault(pattern, []).append(i)
            for pattern, found in starts.items():
                uses, end = [], -1
                for i in found:  # non-overlapping, left to right
                    if i >= end:
                        uses.append(i)
                        end = i + length
                rows = _rows(items[uses[0]:uses[0] + length])
                # a container first reads better (a residual and its relu, not a relu and the next residual)
                saving = ((len(uses) - 1) * rows - 2, not isinstance(items[uses[0]], Layer))
                if len(uses) >= 2 and rows >= 2 and saving[0] > 0 and saving > best_saving:
                    best, best_saving = (uses, length), saving
        if best is None:
            return items
        uses, length = best
        block = _make_block([items[i:i + length] for i in uses], f"block_{chr(ord('a') + len(blocks))}"
                            if len(blocks) < 26 else f"block{len(blocks) + 1}")
        blocks.append(block)
        out, i = [], 0
        for start in uses:
            out += items[i:start]
            out.append(_call(block, items[start:start + length]))
            i = start + length
        items = out + items[i:]


def _make_block(uses: List[list], name: str) -> Block:
    per_use = [[o for item in use for o in layers_of(item)] for use in uses]
    template = per_use[0]
    params: Dict[str, Any] = {}
    vectors: Dict[str, tuple] = {}  # argument → its values in each use
    slots: Dict[Tuple[int, str], str] = {}
    for p, op in enumerate(template):
        keys = list(dict.fromkeys(k for ops in per_use for k in ops[p].args))
        for key in keys:
            values = tuple(ops[p].args.get(key, default_of(op.type, key)) for ops in per_use)
            if all(v == values[0] for v in values):
                continue
            slots[(p, key)] = _argument(key, values, vectors)
    for arg, values in vectors.items():
        params[arg] = Counter(map(_hashable, values)).most_common(1)[0][0]
        params[arg] = next(v for v in values if _hashable(v) == params[arg])
    return Block(name, params, list(uses[0]), slots, _local_names(per_use), 0)


def _argument(key: str, values: tuple, vectors: Dict[str, tuple]) -> str:
    """The argument (or `${a * k}` expression) that gives `values` in each use, made if needed."""
    for arg, known in vectors.items():
        if known == values:
            return f"${arg}"
    ints = all(isinstance(v, int) and not isinstance(v, bool) for v in values)
    if ints:
        for arg, known in vectors.items():
            if all(isinstance(k, int) and not isinstance(k, bool) and k > 0 for k in known) and \
                    all(v % k == 0 for v, k in zip(values, known)) and len({v // k for v, k in zip(values, known)}) == 1:
                factor = values[0] // known[0]
                if factor > 1:
                    return f"${{{arg} * {factor}}}"
    arg, k = key, 1
    while arg in vectors:
        k += 1
        arg = f"{key}{k}"
    vectors[arg] = values
    return f"${arg}"


def _hashable(v):
    return repr(v)


def _local_names(per_use: List[List[Op]]) -> List[Optional[str]]:
    """Per layer position, the name all uses give it once their common prefix is cut (None where they disagree)."""
    locals_ = []
    for ops in per_use:
        prefix = _common_prefix([o.name for o in ops])
        locals_.append([o.name[len(prefix):] for o in ops])
    out = []
    for p in range(len(per_use[0])):
        names = {loc[p] for loc in locals_}
        name = names.pop() if len(names) == 1 else None
        out.append(name if name and name[0].isalpha() else None)
    return out


def _common_prefix(names: List[str]) -> str:
    if len(names) < 2:
        return ""
    first, last = min(names), max(names)
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    prefix = first[:n]
    cut = max(prefix.rfind("_"), prefix.rfind("-"))
    return prefix[:cut + 1] if cut >= 0 else ""


def _call(block: Block, items: list) -> Call:
    block.uses += 1
    ops = [o for item in items for o in layers_of(item)]
    template = [o for item in block.body for o in layers_of(item)]
    args = {}
    for (p, key), slot in block.slots.items():
        if slot.startswith("${"):
            continue
        arg = slot[1:]
        value = ops[p].args.get(key, default_of(template[p].type, key))
        if arg not in args and value != block.params[arg]:
            args[arg] = value
    prefix = _common_prefix([o.name for o in ops]).rstrip("_-")
    return Call(block, args, items, prefix or None)


# -- 3. repeats --------------------------------------------------------------------------------------------------------

def find_repeats(items: list) -> Tuple[list, int]:
    out, repeats, i = [], 0, 0
    while i < len(items):
        item, j = items[i], i + 1
        if isinstance(item, Call):
            while j < len(items) and isinstance(items[j], Call) and items[j].block is item.block and items[j].args == item.args:
                j += 1
        if j - i > 1:
            out.append(Repeat(j - i, item))
            repeats += 1
        else:
            out.append(item)
        i = j
    return out, repeats


def unfolded(imp: Imported) -> Folded:
    """The ops as they are, one row each, for `cnncalc import --flat`."""
    ops = [Op(o.name, o.type, _without_defaults(o), o.inputs, o.loc, o.scope) for o in imp.ops]
    return Folded(imp, [Flat(ops, INPUT)], [], 0)
