"""Code generation: a network as a readable, self-contained PyTorch module (it imports only torch).

The module tree is `cnncalc.torch.build`'s: one submodule per layer at its row name, so the two have the same
state_dict keys, which are cnncalc's .npz weight keys. On that tree the code is written the way a person would:

* a container (block instance, repeat, iteration, residual, parallel, branch) with one output that every layer
  inside leads to is one module, called as `x = self.name(x)`: an `nn.Sequential` when its parts form a chain,
  else an instance of a class whose `forward` follows the graph;
* instances with the same code share a class; constructor values that differ between instances (channels,
  strides) become its arguments, one per distinct column of values; iterations written alike become a loop;
* any other container (an id inside it is read from outside) is an `nn.ModuleDict` whose layers the enclosing
  `forward` calls one by one.

The layer → module calls are `cnncalc.torch.calls`'s, and the helper modules (merges, asymmetric padding,
median pooling) are copied from `cnncalc.torch.modules`, so the file needs nothing but torch.
"""
from __future__ import annotations

import functools
import inspect
import keyword
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

from torch import nn

from .. import __version__
from ..core.network import Network
from ..spec import zoo
from ..spec.graph import Group, readers as read_by
from .calls import Call, module_call
from .graph import module_paths, segment
from .modules import HELPER_NAMES, HELPERS, Padded

HIDDEN = object()  # a keyword argument at its default in every instance: left out of the call
NO_DEFAULT = object()  # a positional argument, or a keyword without a known default


# -- the name tree ----------------------------------------------------------------------------------------------------
@dataclass
class Tree:
    """A container of the name tree: child segments, each a layer index or a sub-container."""

    path: str  # its cnncalc name ("" for the network)
    group: Optional[Group]  # the container (None for body/shortcut/branch levels and the network)
    children: Dict[str, Union[int, "Tree"]] = field(default_factory=dict)
    members: List[int] = field(default_factory=list)  # every layer index below it, in graph order


def name_tree(network: Network) -> Tree:
    root = Tree("", None)
    for i, node in enumerate(network.nodes):
        *parents, leaf = node.name.split(".")
        tree = root
        root.members.append(i)
        for depth, part in enumerate(parents):
            if part not in tree.children:
                path = ".".join(parents[:depth + 1])
                tree.children[part] = Tree(path, network.groups.get(path))
            tree = tree.children[part]
            tree.members.append(i)
        tree.children[leaf] = i
    return root


# -- parts: what a module's __init__ builds ------------------------------------------------------------------------------
@dataclass
class Leaf:
    call: Call


@dataclass
class Seq:
    """nn.Sequential of named parts (a chain)."""

    parts: List[Tuple[str, "Part"]]


@dataclass
class Holder:
    """nn.ModuleDict: a container whose layers the enclosing forward calls one by one."""

    parts: List[Tuple[str, "Part"]]


@dataclass
class Unit:
    """An instance of a generated class; `cls` is chosen once every instance is known."""

    base: str  # the class name it asks for
    forward: List[str]
    nargs: int
    parts: List[Tuple[str, "Part"]]
    cls: Optional["Class"] = None


Part = Union[Leaf, Seq, Holder, Unit]


@dataclass
class Slot:
    """One constructor value below a part: its argument name, value, default, and the part's path (for naming)."""

    name: str
    value: object
    default: object
    owner: str


@dataclass
class Class:
    """A generated class: its instances (same code), and per constructor value whether it is an argument."""

    name: str
    instances: List[Unit]
    columns: List[object] = field(default_factory=list)  # per slot: a Param, a literal value, or HIDDEN
    params: List[str] = field(default_factory=list)

    def arguments(self, unit: Unit) -> List[object]:
        """The values `unit` passes to the constructor, in parameter order."""
        row, out = [s.value for s in slots_of(unit.parts)], {}
        for column, value in zip(self.columns, row):
            if isinstance(column, Param):
                out.setdefault(column.name, value)
        return [out[p] for p in self.params]


@dataclass(frozen=True)
class Param:
    """A constructor value that differs between a class's instances: an argument of its __init__."""

    name: str


def signature(part: Part):
    """A part's code without its constructor values: parts with equal signatures can share a class."""
    if isinstance(part, Leaf):
        return ("leaf", part.call.cls, len(part.call.args), tuple(part.call.kwargs))
    inner = tuple((seg, signature(p)) for seg, p in part.parts)
    if isinstance(part, Unit):
        return ("unit", part.base, tuple(part.forward), inner)
    return (type(part).__name__, inner)


def slots(part: Part, owner: str) -> List[Slot]:
    """Every constructor value below `part` in a fixed order; a class instance contributes its arguments."""
    if isinstance(part, Leaf):
        call = part.call
        named = [Slot(n, v, NO_DEFAULT, owner) for n, v in zip(positional_names(call), call.args)]
        return named + [Slot(k, v, call.defaults.get(k, NO_DEFAULT), owner) for k, v in call.kwargs.items()]
    if isinstance(part, Unit):
        return [Slot(p, v, NO_DEFAULT, owner) for p, v in zip(part.cls.params, part.cls.arguments(part))]
    return slots_of(part.parts, owner)


def slots_of(parts, owner: str = "") -> List[Slot]:
    return [s for seg, p in parts for s in slots(p, f"{owner}_{seg}" if owner else seg)]


def positional_names(call: Call) -> Tuple[str, ...]:
    return constructor_parameters(call.cls)[:len(call.args)]


@functools.lru_cache(maxsize=None)
def constructor_parameters(name: str) -> Tuple[str, ...]:
    cls = HELPER_NAMES.get(name) or getattr(nn, name[3:])
    # the class that defines the constructor: PaddedConv2d passes its arguments on to nn.Conv2d
    init = next(b for b in cls.__mro__ if "__init__" in vars(b) and b is not Padded)
    return tuple(p for p in inspect.signature(init.__init__).parameters if p not in ("self", "args", "kwargs"))


# -- from the network to parts and forward code ---------------------------------------------------------------------------
@dataclass
class Item:
    """One call in a forward: the module expression, the tensor it makes, the tensors it reads."""

    expr: str
    output: int
    inputs: List[int]
    segment: str


class Writer:
    """Turns a network's name tree into parts, forward code and classes."""

    def __init__(self, network: Network):
        analysis = network.analyze().complete()
        module_paths(network)  # refuses clashing names, as build() does
        self.net, self.analysis = network, analysis
        self.calls = [module_call(info.layer, info.facts) for info in analysis.layers]
        self.readers = network.schedule.readers
        self.units: List[Unit] = []  # children before parents

    def boundary(self, tree: Tree) -> Tuple[List[int], List[int]]:
        """(tensors read from outside, in order of first use; tensors read outside or the network's output)."""
        inside = set(tree.members)
        ins = list(dict.fromkeys(j for i in tree.members for j in self.net.nodes[i].inputs if j not in inside))
        outs = [i for i in tree.members if i == self.net.output or any(r not in inside for r in self.readers.get(i, ()))]
        return ins, outs

    def is_unit(self, tree: Tree) -> bool:
        """One output that every layer inside leads to: then calling the container as one module is exact."""
        _, outs = self.boundary(tree)
        if len(outs) != 1:
            return False
        inside, needed, todo = set(tree.members), set(), list(outs)
        while todo:
            i = todo.pop()
            if i in inside and i not in needed:
                needed.add(i)
                todo += self.net.nodes[i].inputs
        return needed == inside

    def parts(self, tree: Tree) -> List[Tuple[str, Part]]:
        out = []
        for seg, child in tree.children.items():
            if isinstance(child, int):
                out.append((seg, Leaf(self.calls[child])))
            else:
                out.append((seg, self.unit_part(child) if self.is_unit(child) else Holder(self.parts(child))))
        return out

    def items(self, tree: Tree, access: str) -> List[Item]:
        """The calls a forward makes for a container, in graph order; a Holder's layers are called one by one."""
        out = []
        for seg, child in tree.children.items():
            expr = member(access, segment(seg))
            if isinstance(child, int):
                out.append(Item(expr, child, list(self.net.nodes[child].inputs), seg))
            elif self.is_unit(child):
                ins, outs = self.boundary(child)
                out.append(Item(expr, outs[0], ins, seg))
            else:
                out += self.items(child, expr)
        return sorted(out, key=lambda item: item.output)

    def unit_part(self, tree: Tree) -> Part:
        """A unit container: nn.Sequential when its calls form a chain, else a class instance."""
        parts = self.parts(tree)
        ins, outs = self.boundary(tree)
        items = self.items(tree, "self")
        chain = len(ins) == 1 and is_chain(items, ins[0], outs[0]) and not any(isinstance(p, Holder) for _, p in parts)
        if chain and not (tree.group and tree.group.block):  # a block is a class even when it is a chain
            return Seq(parts)
        return self.unit(class_base(tree), parts, items, ins, outs[0])

    def unit(self, base: str, parts, items: List[Item], ins: List[int], out: int) -> Unit:
        unit = Unit(base, forward_code(items, ins, out), len(ins), parts)
        self.units.append(unit)
        return unit

    def root(self) -> Unit:
        tree = name_tree(self.net)
        return self.unit(camel(self.net.name), self.parts(tree), self.items(tree, "self"), [-1], self.net.output)


def is_chain(items: List[Item], x: int, out: int) -> bool:
    """Each call reads only the previous call's tensor, which no other call reads, and the last makes the output."""
    value = x
    for k, item in enumerate(items):
        if item.inputs != [value] or any(value in other.inputs for other in items[k + 1:]):
            return False
        value = item.output
    return value == out


def forward_code(items: List[Item], ins: List[int], out: int) -> List[str]:
    """forward's body: one call per item in graph order; a tensor read only by the next call is `x`."""
    args = ["x"] + [f"x{k}" for k in range(2, len(ins) + 1)]
    names: Dict[int, str] = dict(zip(ins, args))
    readers = read_by([item.inputs for item in items] + [[out]])  # the return statement reads the output last
    used = set(args) | {"self"}
    x_dead_after = max(readers.get(ins[0], [0]))  # the call after which the tensor named x is no longer read
    lines = []
    for k, item in enumerate(items):
        call = f"{item.expr}({', '.join(names[j] for j in item.inputs)})"
        if readers.get(item.output) == [k + 1] and x_dead_after <= k:
            name, x_dead_after = "x", k + 1
        else:
            name = unique(identifier(item.segment), used)
        names[item.output] = name
        lines.append(f"{name} = {call}")
    lines.append(f"return {names[out]}")
    return lines


def member(access: str, seg: str) -> str:
    """Python for a submodule: `self.conv1`, `getattr(self, "1")`."""
    return f"{access}.{seg}" if seg.isidentifier() and not keyword.iskeyword(seg) else f"getattr({access}, {seg!r})"


def identifier(seg: str) -> str:
    name = re.sub(r"\W", "_", seg)
    return name if name.isidentifier() and not keyword.iskeyword(name) else f"x_{name}"


def unique(name: str, used: set) -> str:
    out, k = name, 1
    while out in used:
        k += 1
        out = f"{name}_{k}"
    used.add(out)
    return out


def camel(text: str) -> str:
    out = "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z0-9]+", text) if p)
    return out if out[:1].isalpha() and not keyword.iskeyword(out) else f"Net{out}"  # `True`, `None` are keywords


def class_base(tree: Tree) -> str:
    """Block instances are named after the block; other containers after their kind or segment (Residual, Body)."""
    group = tree.group
    if group and group.block:
        return camel(group.block)
    if group and group.kind == "iteration":
        return camel(tree.path.rsplit(".", 2)[-2]) + "Step"
    return camel(group.kind if group else re.sub(r"\d+$", "", tree.path.rsplit(".", 1)[-1]))


# -- classes: one per distinct code, values that vary become arguments ----------------------------------------------------
def choose_classes(units: List[Unit], reserved: set) -> List[Class]:
    """Group instances by signature (children first) and decide each class's arguments."""
    groups: Dict[object, Class] = {}
    order: List[Class] = []
    taken = set(reserved)
    for unit in units:  # children before parents, so a class's parts have their classes already
        key = signature(unit)
        if key not in groups:
            groups[key] = Class(unique(unit.base, taken), [])
            order.append(groups[key])
        groups[key].instances.append(unit)
        unit.cls = groups[key]
    for cls in order:
        decide(cls)
    return order


def decide(cls: Class) -> None:
    """Per constructor value: left out (a default everywhere), a literal (the same everywhere), or an argument;
    columns with the same values in every instance share one argument, named after the first one."""
    rows = [slots_of(u.parts) for u in cls.instances]
    by_values: Dict[str, Param] = {}
    used: set = set()
    for column in zip(*rows):
        values = tuple(s.value for s in column)
        first = column[0]
        if all(v == values[0] and type(v) is type(values[0]) for v in values):
            same_default = values[0] == first.default and type(values[0]) is type(first.default)
            cls.columns.append(HIDDEN if same_default else values[0])
            continue
        key = repr(values)
        if key not in by_values:
            name = first.name if first.name not in used else f"{identifier(first.owner)}_{first.name}"
            by_values[key] = Param(unique(name, used))
            cls.params.append(by_values[key].name)
        cls.columns.append(by_values[key])


# -- rendering ------------------------------------------------------------------------------------------------------------
def render(part: Part, values, indent: str) -> str:
    """Python for a part's constructor at `indent`; `values` yields each slot's text (None: leave the keyword out)."""
    if isinstance(part, Leaf):
        call = part.call
        texts = [next(values) for _ in call.args]
        texts += [f"{k}={t}" for k in call.kwargs if (t := next(values)) is not None]
        return f"{call.cls}({', '.join(texts)})"
    if isinstance(part, Unit):
        return f"{part.cls.name}({', '.join(next(values) for _ in part.cls.params)})"
    deeper = indent + "    " if len(part.parts) > 1 else indent
    inner = [(segment(seg), render(p, values, deeper)) for seg, p in part.parts]
    if isinstance(part, Holder):
        body = "".join(f"\n{deeper}{seg!r}: {text}," for seg, text in inner)
        return f"nn.ModuleDict({{{body}\n{indent}}})"
    if len(inner) > 1 and [seg for seg, _ in inner] == [str(k) for k in range(1, len(inner) + 1)]:
        loop = repeat_loop([text for _, text in inner])  # a repeat whose iterations are written alike
        if loop:
            return f"nn.Sequential(OrderedDict({loop}))"
    if all(seg.isidentifier() and not keyword.iskeyword(seg) for seg, _ in inner):  # OrderedDict(conv1=…, bn1=…)
        items, opening, closing = [f"{seg}={text}" for seg, text in inner], "(", ")"
    else:  # OrderedDict([("1", …), ("2", …)])
        items, opening, closing = [f"({seg!r}, {text})" for seg, text in inner], "([", "])"
    if len(items) == 1:
        return f"nn.Sequential(OrderedDict{opening}{items[0]}{closing})"
    body = "".join(f"\n{deeper}{item}," for item in items)
    return f"nn.Sequential(OrderedDict{opening}{body}\n{indent}{closing})"


INTEGER = re.compile(r"(?<![\w.\-])(\d+)(?![\w.])")  # an integer literal, not part of a name, float or exponent


def repeat_loop(texts: List[str]) -> Optional[str]:
    """A generator of (name, module) pairs for iterations that differ in at most two integers, else None:
    `(str(i), Unit(a, 64)) for i, a in enumerate([64, 96, 128], 1)`."""
    splits = [INTEGER.split(t) for t in texts]
    if len({len(parts) for parts in splits}) != 1 or any(parts[::2] != splits[0][::2] for parts in splits):
        return None
    varying = [j for j in range(1, len(splits[0]), 2) if len({parts[j] for parts in splits}) > 1]
    if len(varying) > 2:
        return None
    names = dict(zip(varying, ("a", "b")))
    template = "".join(names.get(j, part) for j, part in enumerate(splits[0]))
    if not varying:
        return f"(str(i), {template}) for i in range(1, {len(texts) + 1})"
    rows = [", ".join(parts[j] for j in varying) for parts in splits]
    if len(varying) == 1:
        target, values = "a", ", ".join(rows)
    else:
        target, values = "(a, b)", ", ".join(f"({row})" for row in rows)
    return f"(str(i), {template}) for i, {target} in enumerate([{values}], 1)"


def doc_text(text: str) -> str:
    """Spec text (a network's name, a file name) made safe inside a generated docstring: backslashes, quotes and
    every unprintable character are escaped, so the text can neither end the string nor break the line."""
    out = []
    for ch in text:
        if ch in '\\"':
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return "".join(out)


def literal(value) -> str:
    return repr(list(value) if isinstance(value, list) else value)


def render_class(cls: Class, doc: str) -> str:
    unit = cls.instances[0]
    texts = iter(None if c is HIDDEN else c.name if isinstance(c, Param) else literal(c) for c in cls.columns)
    lines = [f"class {cls.name}(nn.Module):", f'    """{doc}"""', "",
             f"    def __init__({', '.join(['self'] + cls.params)}):", "        super().__init__()"]
    for seg, part in unit.parts:
        name = segment(seg)
        code = render(part, texts, "        ")
        lines.append(f"        self.{name} = {code}" if name.isidentifier() and not keyword.iskeyword(name)
                     else f"        self.add_module({name!r}, {code})")
    args = ["self", "x"] + [f"x{k}" for k in range(2, unit.nargs + 1)]
    lines += ["", f"    def forward({', '.join(args)}):"] + [f"        {line}" for line in unit.forward]
    return "\n".join(lines)


def class_doc(cls: Class) -> str:
    n = len(cls.instances)
    base = cls.instances[0].base
    return f"{base}: used {n} times." if n > 1 else f"{base}."


def helpers_used(units: List[Unit]) -> List[type]:
    """The helper modules the code calls, in cnncalc.torch's order (Padded before the padded convolutions)."""
    names = set()

    def visit(part: Part):
        if isinstance(part, Leaf):
            names.add(part.call.cls)
        elif not isinstance(part, Unit):
            for _, p in part.parts:
                visit(p)

    for unit in units:
        for _, part in unit.parts:
            visit(part)
    used = [h for h in HELPERS if h.__name__ in names]
    if any(issubclass(h, Padded) for h in used):
        used.insert(0, Padded)
    return used


def export(network: Network) -> str:
    """Python source of a self-contained PyTorch module equivalent to `cnncalc.torch.build(network)`."""
    writer = Writer(network)
    root = writer.root()
    name = camel(network.name)
    classes = choose_classes(writer.units, {h.__name__ for h in HELPERS} | {"OrderedDict", "F", "nn", "torch", name})
    root.cls.name = name  # the network's own class is never shared: its name is kept for it
    totals = writer.analysis.totals
    shape = ", ".join(map(str, network.input))
    docs = {id(root.cls): f"{doc_text(network.name)}: input (N, {shape}), {totals.params:,} parameters, "
                          f"{totals.macs:,} MACs per sample."}
    source = Path(network.source)
    if source.parent == zoo.ZOO_DIR:  # the same text on every machine: not this installation's path
        source = f"cnncalc's zoo ({source.name})"
    header = [
        f'"""{doc_text(network.name)}, generated by cnncalc {__version__} from {doc_text(str(source))}.',
        "",
        f"    model = {root.cls.name}().eval()",
        f"    y = model(torch.randn(1, {shape}))",
        "",
        "Submodules are named after the spec's layers: state_dict keys are cnncalc's weight keys",
        "(cnncalc.torch.from_state_dict / to_state_dict convert to and from the .npz that cnncalc.forward runs).",
        '"""',
        "from collections import OrderedDict",
        "",
        "import torch",
        "import torch.nn.functional as F",
        "from torch import nn",
        "",
        f"INPUT_SHAPE = {tuple(network.input)!r}",
    ]
    blocks = [inspect.getsource(h).rstrip() for h in helpers_used(writer.units)]
    blocks += [render_class(c, docs.get(id(c), class_doc(c))) for c in classes]
    return "\n".join(header) + "\n\n\n" + "\n\n\n".join(blocks) + "\n"

