"""The JSON Schema of the spec language, generated from the layer registry (never written by hand)."""
from __future__ import annotations

from typing import Any, Dict

from ..layers import REGISTRY, Arg, types
from ..layers.args import INT, INT0, VARIABLE
from .expand import META_KEYS, TOP_KEYS

SCHEMA_ID = "https://cnncalc.dev/schema/spec-v1.json"
def _arg_schema(arg: Arg) -> Dict[str, Any]:
    base = arg.kind.schema()
    if not arg.required and arg.default is not None:
        base["default"] = list(arg.default) if isinstance(arg.default, tuple) else arg.default
    doc = {"description": arg.doc} if arg.doc else {}
    return {"anyOf": [base, VARIABLE], **doc}


def _meta() -> Dict[str, Any]:
    ids = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
    return {"name": {"type": "string", "description": "row label"}, "id": {"type": "string", "description": "a handle for `from:`"},
            "from": {**ids, "description": "input id(s); `input` is the network input"},
            "trainable": {"anyOf": [{"type": "boolean"}, VARIABLE]}, "lint-ignore": {**ids, "description": "lint codes silenced here"},
            "when": {"anyOf": [{"type": "boolean"}, VARIABLE], "description": "include this entry only when true"}}


def spec_schema() -> Dict[str, Any]:
    meta_defs = _meta()
    meta = {k: {"$ref": f"#/$defs/meta/{k}"} for k in meta_defs}
    layer_types = sorted(types().items())
    entries, arg_defs = [], {}
    for name, cls in layer_types:
        props = {a.name: _arg_schema(a) for a in cls.args}
        required = [a.name for a in cls.args if a.required]
        # meta keys (name, id, from, …) may also sit inside the argument mapping
        args = {"type": "object", "properties": {**props, **meta}, "additionalProperties": False}
        if required:
            args["required"] = required
        forms = [args] if required else [args, {"type": "null"}]
        if cls.shorthand:
            forms.append(_arg_schema(next(a for a in cls.args if a.name == cls.shorthand)))
        arg_defs[name] = {"description": cls.doc, "anyOf": forms}
        for key in (name, *cls.aliases):
            entries.append({"type": "object", "required": [key], "additionalProperties": False,
                            "properties": {key: {"$ref": f"#/$defs/args/{name}"}, **meta}})
    layers_ref = {"$ref": "#/$defs/layers"}
    entries += [
        {"type": "object", "required": ["repeat", "layers"], "additionalProperties": False,
         "properties": {"repeat": {"anyOf": [INT0.schema(), VARIABLE]}, "layers": layers_ref, "as": {"type": "string"}, **meta}},
        {"type": "object", "required": ["residual"], "additionalProperties": False,
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
         "properties": {"parallel": {"type": "object", "required": ["branches"], "additionalProperties": False,
                                     "properties": {"branches": {"type": "array", "items": {"anyOf": [
                                         layers_ref, {"type": "object", "required": ["layers"],
                                                      "properties": {"name": {"type": "string"}, "layers": layers_ref}}]}},
                                         "merge": {"enum": ["concat", "add", "mul"]}, **meta}}, **meta}},
        {"type": "object", "required": ["group"], "additionalProperties": False,
         "properties": {"group": {"anyOf": [layers_ref, {"type": "object", "required": ["layers"], "additionalProperties": False,
                                                          "properties": {"layers": layers_ref, **meta}}],
                                  "description": "a named group of layers: one level of row names"}, **meta}},
        {"type": "object", "description": "a block defined under `blocks:`, with its args",
         "not": {"anyOf": [{"required": [k]} for k in sorted(REGISTRY) + ["repeat", "residual", "parallel", "group"]]},
         "minProperties": 1},
    ]
    bare = sorted(n for n, cls in REGISTRY.items() if not any(a.required for a in cls.args))
    entry = {"anyOf": [{"enum": bare, "description": "a layer without arguments"},
                       {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_\-]*$", "description": "a block name"},
                       *entries]}
    block = {"anyOf": [layers_ref, {"type": "object", "required": ["layers"], "additionalProperties": False,
                                    "properties": {"args": {"type": "object", "description": "defaults; null means required"},
                                                   "layers": layers_ref}}]}
    top = {
        "name": {"type": "string"}, "description": {"type": "string"},
        "input": {"type": "array", "items": {"anyOf": [INT.schema(), VARIABLE]}, "minItems": 1, "maxItems": 4,
                  "description": "channels first, no batch: [C], [C, L], [C, H, W] or [C, D, H, W]"},
        "vars": {"type": "object", "description": "variables for $name and ${expressions}; --set overrides them"},
        "blocks": {"type": "object", "additionalProperties": block},
        "layers": layers_ref,
        "lint": {"type": "object", "description": "per-spec lint settings (ignore, budgets)"},
    }
    assert set(top) == set(TOP_KEYS) and set(meta) == set(META_KEYS)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            "title": "cnncalc network spec", "type": "object", "required": ["input", "layers"],
            "properties": top, "additionalProperties": False,
            "$defs": {"layers": {"type": "array", "items": {"$ref": "#/$defs/entry"}}, "entry": entry,
                      "args": arg_defs, "meta": meta_defs}}
