"""A folded import (`fold.Folded`) → the YAML spec `cnncalc import` writes: a header saying where it came from and
what was folded, `blocks:` with their arguments, then the layers. Formatting only; every decision is fold's."""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

from .fold import Block, Call, Flat, Folded, Layer, Parallel, Repeat, Residual, layers_of
from .ir import INPUT, flat_entries, referenced

_PLAIN = re.compile(r"^[A-Za-z_$][A-Za-z0-9_\-]*$")
_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def emit(f: Folded) -> str:
    imp = f.imported
    lines = [f"# Imported by cnncalc from {imp.source} ({imp.format}); edit freely.",
             f"# {_folded(f)}"]
    lines += [f"# {note}" for note in imp.notes]
    lines += [f"name: {scalar(imp.name)}", f"input: {flow(list(imp.input))}"]
    if f.blocks:
        lines.append("blocks:")
        for b in f.blocks:
            lines.append(f"  {b.name}:  # used {b.uses}×")
            if b.params:
                lines.append(f"    args: {flow(b.params)}")
            lines.append("    layers:")
            lines += _items(b.body, 6, _BlockNames(b))
    lines.append("layers:")
    lines += _items(f.items, 2, None)
    return "\n".join(lines) + "\n"


def _folded(f: Folded) -> str:
    rows = sum(len(layers_of(i)) for i in f.items)
    if not f.blocks:
        return f"{rows} layers; no repeated structure was folded."
    uses = ", ".join(f"{b.name} ×{b.uses}" for b in f.blocks)
    return (f"{rows} layers folded into {len(f.blocks)} block{'s' if len(f.blocks) > 1 else ''} ({uses})"
            + (f" and {f.repeats} repeat{'s' if f.repeats > 1 else ''}" if f.repeats else "") + ".")


class _BlockNames:
    """Inside a block's body: layer positions → the block's argument slots and agreed row names."""

    def __init__(self, block: Block):
        self.block, self.position = block, 0

    def layer(self, op) -> tuple:
        p, self.position = self.position, self.position + 1
        slots = {k: slot for (q, k), slot in self.block.slots.items() if q == p}
        args = {k: slots.pop(k, v) for k, v in op.args.items()}
        args.update(slots)  # arguments this use leaves at their default
        return args, self.block.names[p] if p < len(self.block.names) else None


def _items(items: list, indent: int, names: Optional[_BlockNames]) -> List[str]:
    pad = " " * indent
    need_id = {}  # item index → the id a flat segment after it reads it by
    for k, item in enumerate(items):
        if isinstance(item, Flat) and item.entry != INPUT and item.entry in referenced(item.ops) and k:
            need_id[k - 1] = item.entry
    in_block = names is not None
    usable = in_block and _unique([names.block.names[p] for p in range(len(names.block.names))])
    out, taken = [], set()

    def unique(name: Optional[str]) -> Optional[str]:  # two uses of one module path (or a clash) get _2, _3 …
        if name is None:
            return None
        base, k = name, 1
        while name in taken:
            k += 1
            name = f"{base}_{k}"
        taken.add(name)
        return name

    for k, item in enumerate(items):
        meta = {"id": need_id[k]} if k in need_id else {}
        if isinstance(item, Layer):
            if in_block:
                args, name = names.layer(item.op)
                name = name if usable else None
            else:
                args, name = dict(item.op.args), item.op.name
            name = unique(name)
            out.append(pad + "- " + _entry(item.op.type, args, {**({"name": name} if name else {}), **meta}))
        elif isinstance(item, (Residual, Parallel)):
            out.append(pad + ("- " + _meta_line(meta) + "\n" + pad + "  " if meta else "- ")
                       + ("residual:" if isinstance(item, Residual) else "parallel:"))
            inner = pad + "    "
            if isinstance(item, Residual):
                out.append(inner + "body:")
                out += _items(item.body, indent + 6, names)
                if item.shortcut:
                    out.append(inner + "shortcut:")
                    out += _items(item.shortcut, indent + 6, names)
                if item.merge.type != "add":
                    out.append(inner + f"merge: {item.merge.type}")
            else:
                out.append(inner + "branches:")
                for branch in item.branches:  # a list of lists: `- - conv: …`, or `- []` for the identity
                    sub = _items(branch, indent + 8, names)
                    out += [inner + "  - " + sub[0].strip(), *sub[1:]] if sub else [inner + "  - []"]
                if item.merge.type != "concat":
                    out.append(inner + f"merge: {item.merge.type}")
            if in_block:
                names.layer(item.merge)  # the merge is a layer position too
        elif isinstance(item, Flat):
            for entry, op in zip(flat_entries(item.ops, item.entry), item.ops):
                kind = op.type
                args = entry.pop(kind) or {}
                if in_block:
                    args, _ = names.layer(op)
                if "name" in entry:
                    entry["name"] = unique(entry["name"])
                if op is item.ops[-1] and meta:  # the next flat segment reads this one's output by id
                    entry.update(meta)
                out.append(pad + "- " + _entry(kind, args, entry))
        elif isinstance(item, Call):
            name = unique(item.name)
            out.append(pad + "- " + _entry(item.block.name, item.args, {**({"name": name} if name else {}), **meta}))
        elif isinstance(item, Repeat):
            out.append(pad + f"- repeat: {item.count}")
            if meta:
                out.append(pad + f"  id: {scalar(meta['id'])}")
            out.append(pad + "  layers:")
            out.append(pad + "    - " + _entry(item.call.block.name, item.call.args, {}))
    return out


def _unique(names: List[Optional[str]]) -> bool:
    return all(names) and len(set(names)) == len(names)


def _meta_line(meta: Dict[str, Any]) -> str:
    return ", ".join(f"{k}: {scalar(v)}" for k, v in meta.items())


def _entry(kind: str, args: Dict[str, Any], meta: Dict[str, Any]) -> str:
    values = {**args, **meta}
    return f"{kind}: {flow(values)}" if values else kind


def flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return scalar(value)


def scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        if "e" in text and "." not in text.split("e")[0]:  # YAML 1.1 floats need a dot: 1e-05 → 1.0e-05
            mantissa, exponent = text.split("e")
            text = f"{mantissa}.0e{exponent}"
        return text
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _RESERVED:
        return text
    return "'" + text.replace("'", "''") + "'"
