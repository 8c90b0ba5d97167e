"""The JSON Schema of the spec language, generated from the layer registry (never written by hand).

What a static schema can and cannot check about names: a bare word or a one-key mapping is a layer type or a block
defined under `blocks:`. A schema cannot read the block names a document declares, so

- in a spec *without* `blocks:` only layer types (and repeat, residual, parallel) are accepted: `- rleu` and
  `- convv: {…}` are refused;
- in a spec *with* `blocks:` any other word is taken for a block, except layer types themselves (a bare `conv` or
  `upsample` lacks its arguments) and words one letter away from a layer type or alias of four letters or more
  (`rleu`, `convv`, `dens`): those read as misspellings. A block really named like that is flagged by editors;
  cnncalc itself accepts it.

Limits that a layer's `validate()` enforces beyond its arguments' kinds are in `VALIDATE_RULES`; a test fails
when a layer class validates something this table does not describe.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Tuple

from ..errors import Location, SpecError
from ..layers import REGISTRY, Arg, types
from ..layers.args import INT, INT0, VARIABLE
from .expand import META_KEYS, STRUCTURES, TOP_KEYS

SCHEMA_ID = "https://cnncalc.dev/schema/spec-v1.json"
# What layers' `validate()` checks beyond each argument's kind, as JSON Schema: per argument, merged into the
# literal value's schema (a `$variable` is still allowed), and per argument mapping.
VALIDATE_RULES: Dict[str, Dict[str, Any]] = {
    "dropout": {"args": {"p": {"maximum": 1}}},  # a probability
    "upsample": {"object": {"oneOf": [{"required": ["scale"]}, {"required": ["size"]}]}},  # exactly one of them
}
MIN_FUZZY = 4  # names at least this long get near-miss checks (shorter ones have too many innocent neighbours)
TOP_DOCS = {
    "name": "the network's name (default: the file name)",
    "description": "free text: the paper, the reference implementation, published figures; ${…} is filled in",
    "input": "channels first, no batch: [C], [C, L], [C, H, W] or [C, D, H, W]",
    "vars": "variables for $name and ${expressions}; --set overrides them",
    "blocks": "reusable groups of layers, used like a layer type: `- basic: {out: 64}`",
    "layers": "the network, in order: layer types, blocks, repeat, residual and parallel",
    "lint": "per-spec lint settings: select, ignore, strict, budgets, rules",
}


def _arg_schema(arg: Arg, extra: Dict[str, Any]) -> Dict[str, Any]:
    base = {**arg.kind.schema(), **extra}
    if not arg.required and arg.default is not None:
        base["default"] = list(arg.default) if isinstance(arg.default, tuple) else arg.default
    doc = {"description": arg.doc} if arg.doc else {}
    return {"anyOf": [base, VARIABLE], **doc}


def _meta() -> Dict[str, Any]:
    ids = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
    return {"name": {"type": "string", "description": "row label"},
            "id": {"type": "string", "description": "a handle for `from:`"},
            "from": {**ids, "description": "input id(s); `input` is the network input"},
            "trainable": {"anyOf": [{"type": "boolean"}, VARIABLE]},
            "lint-ignore": {**ids, "description": "lint codes silenced here"},
            "when": {"anyOf": [{"type": "boolean"}, VARIABLE], "description": "include this entry only when true"}}


def bare_ok(cls: Any) -> bool:
    """Whether the layer type can stand alone, without arguments (`- relu`, `- dropout`; not `- upsample`)."""
    try:
        cls.create(None, {}, Location("<schema>", 1, 1))
    except SpecError:
        return False
    return True


def near_misses(names: List[str]) -> str:
    """A regular expression of the words one letter away from any of `names` that are MIN_FUZZY or longer: a
    letter dropped, swapped with its neighbour, replaced or added (digits and '_' are not letters here, so
    `dense2` or `conv_bn` stay block names)."""
    pieces = set()
    for word in names:
        if len(word) < MIN_FUZZY:
            continue
        for i in range(len(word)):
            pieces.add(re.escape(word[:i] + word[i + 1:]))
            pieces.add(re.escape(word[:i]) + "[a-z]" + re.escape(word[i + 1:]))
            if i + 1 < len(word):
                pieces.add(re.escape(word[:i] + word[i + 1] + word[i] + word[i + 2:]))
        for i in range(len(word) + 1):
            pieces.add(re.escape(word[:i]) + "[a-z]" + re.escape(word[i:]))
    return "^(?:" + "|".join(sorted(pieces)) + ")$"


def spec_schema() -> Dict[str, Any]:
    meta_defs = _meta()
    meta = {k: {"$ref": f"#/$defs/meta/{k}"} for k in meta_defs}
    layer_types: List[Tuple[str, Any]] = sorted(types().items())
    entries, bare, arg_defs = [], [], {}
    for name, cls in layer_types:
        rules = VALIDATE_RULES.get(name, {})
        limits = rules.get("args", {})
        props = {a.name: _arg_schema(a, limits.get(a.name, {})) for a in cls.args}
        required = [a.name for a in cls.args if a.required]
        # meta keys (name, id, from, …) may also sit inside the argument mapping
        args = {"type": "object", "properties": {**props, **meta}, "additionalProperties": False,
                **rules.get("object", {})}
        if required:
            args["required"] = required
        alone = bare_ok(cls)
        forms: List[Dict[str, Any]] = [args, {"type": "null"}] if alone else [args]
        if cls.shorthand:
            forms.append(props[cls.shorthand])
        arg_defs[name] = {"description": cls.doc, "anyOf": forms}
        if alone:
            bare.append({"const": name, "description": f"{cls.doc} ({_alone(cls)})"})
        # one entry per type: the type is the suggested key; its aliases are accepted, not suggested again
        keys = (name, *cls.aliases)
        entry: Dict[str, Any] = {"type": "object", "description": cls.doc, "additionalProperties": False,
                                 "properties": {name: {"$ref": f"#/$defs/args/{name}"}, **meta}}
        if cls.aliases:
            pattern = "^(?:" + "|".join(map(re.escape, cls.aliases)) + ")$"
            entry["patternProperties"] = {pattern: {"$ref": f"#/$defs/args/{name}"}}
            entry["oneOf"] = [{"required": [k]} for k in keys]
        else:
            entry["required"] = [name]
        entries.append(entry)
    taken = sorted(REGISTRY) + list(STRUCTURES)
    structures = {flavour: _structures(flavour, meta) for flavour in ("layers", "plain_layers")}
    misspelt = {"$ref": "#/$defs/misspelt"}
    block_word = {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_\-]*$",
                  "not": {"anyOf": [{"enum": taken}, misspelt]},
                  "description": "a block defined under `blocks:` (a spec without `blocks:` has none)"}
    block_entry = {"type": "object", "description": "a block defined under `blocks:`, with its args",
                   "minProperties": 1,
                   "not": {"anyOf": [{"required": [k]} for k in taken]},
                   "propertyNames": {"anyOf": [{"enum": list(META_KEYS)}, {"not": misspelt}]}}
    # the aliases of layers that stand alone are accepted by a pattern, so completion offers each type once
    aliases = sorted(a for name, cls in layer_types if bare_ok(cls) for a in cls.aliases)
    bare.append({"type": "string", "pattern": "^(?:" + "|".join(map(re.escape, aliases)) + ")$",
                 "description": "another name of a layer type (`gap` for global_avgpool, `batchnorm` for bn)"})
    layer = {"anyOf": [*bare, *entries]}
    block_args = {"type": "object", "description": "defaults; null means required"}
    block = {"anyOf": [{"$ref": "#/$defs/layers"},
                       {"type": "object", "required": ["layers"], "additionalProperties": False,
                        "properties": {"args": block_args, "layers": {"$ref": "#/$defs/layers"}}}]}
    top: Dict[str, Dict[str, Any]] = {
        "name": {"type": "string"}, "description": {"type": "string"},
        "input": {"type": "array", "items": {"anyOf": [INT.schema(), VARIABLE]}, "minItems": 1, "maxItems": 4},
        "vars": {"type": "object"},
        "blocks": {"type": "object", "additionalProperties": block},
        "layers": {"$ref": "#/$defs/layers"},
        "lint": {"type": "object"},
    }
    for key, doc in TOP_DOCS.items():
        top[key]["description"] = doc
    assert set(top) == set(TOP_KEYS) and set(meta) == set(META_KEYS) and set(TOP_DOCS) == set(TOP_KEYS)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            "title": "cnncalc network spec", "type": "object", "required": ["input", "layers"],
            "properties": top, "additionalProperties": False,
            # without `blocks:` there are no block names: every word must be a layer type
            "if": {"not": {"required": ["blocks"]}},
            "then": {"properties": {"layers": {"$ref": "#/$defs/plain_layers"}}},
            "$defs": {"layers": {"type": "array", "items": {"$ref": "#/$defs/entry"}},
                      "plain_layers": {"type": "array", "items": {"$ref": "#/$defs/plain_entry"}},
                      "entry": {"anyOf": [{"$ref": "#/$defs/layer"}, *structures["layers"], block_word, block_entry]},
                      "plain_entry": {"anyOf": [{"$ref": "#/$defs/layer"}, *structures["plain_layers"]]},
                      "layer": layer, "args": arg_defs, "meta": meta_defs,
                      "misspelt": {"type": "string", "pattern": near_misses(taken),
                                   "description": "one letter away from a layer type: a misspelling, not a block"}}}


def _alone(cls: Any) -> str:
    if not cls.args:
        return "no arguments"
    return "arguments optional: " + ", ".join(f"{a.name}={a.default!r}" for a in cls.args)


def _structures(flavour: str, meta: Dict[str, Any]) -> List[Dict[str, Any]]:
    """repeat, residual and parallel, whose bodies are `flavour` (layers, or plain_layers: no block names)."""
    layers_ref = {"$ref": f"#/$defs/{flavour}"}
    return [
        {"type": "object", "required": ["repeat", "layers"], "additionalProperties": False,
         "description": "the layers N times (`as: i` names the 0-based iteration)",
         "properties": {"repeat": {"anyOf": [INT0.schema(), VARIABLE]}, "layers": layers_ref,
                        "as": {"type": "string"}, **meta}},
        {"type": "object", "required": ["residual"], "additionalProperties": False,
         "description": "body plus shortcut (identity when left out), merged",
         "properties": {"residual": {"type": "object", "required": ["body"], "additionalProperties": False,
                                     "properties": {"body": layers_ref, "shortcut": layers_ref,
                                                    "merge": {"enum": ["add", "concat", "mul"]},
                                                    "order": {"anyOf": [{"type": "array", "items": {"enum": ["body", "shortcut", "input"]},
                                                                         "minItems": 2, "maxItems": 2}, VARIABLE],
                                                              "description": "the merge's inputs: [body, shortcut] (default) or [shortcut, body]"},
                                                    "if": {"anyOf": [{"type": "boolean"}, VARIABLE],
                                                           "description": "keep the skip connection only when true; else the body alone"},
                                                    **meta}}, **meta}},
        {"type": "object", "required": ["parallel"], "additionalProperties": False,
         "description": "branches on the same input, merged",
         "properties": {"parallel": {"type": "object", "required": ["branches"], "additionalProperties": False,
                                     "properties": {"branches": {"type": "array", "items": {"anyOf": [
                                         layers_ref, {"type": "object", "required": ["layers"],
                                                      "properties": {"name": {"type": "string"}, "layers": layers_ref}}]}},
                                         "merge": {"enum": ["concat", "add", "mul"]}, **meta}}, **meta}},
        {"type": "object", "required": ["group"], "additionalProperties": False,
         "properties": {"group": {"anyOf": [layers_ref, {"type": "object", "required": ["layers"], "additionalProperties": False,
                                                          "properties": {"layers": layers_ref, **meta}}],
                                  "description": "a named group of layers: one level of row names"}, **meta}},
    ]
