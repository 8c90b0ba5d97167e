"""JSON text for cnncalc's documents: indented two spaces, except that each record of a list — a layer, a finding,
a row — is one line.

One layer per line keeps a 10,000-layer network's JSON readable with `grep` and its changes readable in `git diff`,
and it is five times faster to write: Python's C encoder only runs without indentation, so the records go through
it, and only the few enclosing levels are indented here. `json.loads` reads it like any other JSON.
"""
from __future__ import annotations

import json
from typing import Any, List

_record = json.JSONEncoder(check_circular=False, separators=(", ", ": ")).encode


def dumps(value: Any) -> str:
    out: List[str] = []
    _write(value, "", out)
    return "".join(out)


def _write(value: Any, pad: str, out: List[str]) -> None:
    inner = pad + "  "
    if isinstance(value, dict) and value:
        out.append("{")
        sep = "\n"
        for key, item in value.items():
            out.append(f"{sep}{inner}{json.dumps(str(key))}: ")
            _write(item, inner, out)
            sep = ",\n"
        out.append(f"\n{pad}}}")
    elif isinstance(value, list) and value and any(isinstance(v, (dict, list)) for v in value):
        out.append("[")
        sep = "\n"
        for item in value:
            out.append(sep + inner)
            if isinstance(item, dict):
                out.append(_record(item))   # a record: one line
            else:
                _write(item, inner, out)
            sep = ",\n"
        out.append(f"\n{pad}]")
    else:
        out.append(_record(value))   # a scalar, an empty container or a list of scalars: one line
