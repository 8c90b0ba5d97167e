"""JSON, CSV and Markdown renderings: exact integers, no colour."""
from __future__ import annotations

import csv
import io
from typing import Any, Dict, List, Optional, Union

from ..core.analysis import Analysis
from .. import units
from .data import analysis_dict
from .jsonout import dumps

CSV_FIELDS = ["network", "name", "type", "output", "params", "trainable", "buffers", "macs", "flops",
              "rf_size", "rf_stride", "rf_padding", "dropped"]


def failure_dict(source: str, error, batch: int, dtype: str) -> Dict[str, Any]:
    """The JSON object of a spec that could not be analysed at all (unreadable, a bad variable, a bad input): the
    documented fields, no layers, no totals, and its `error`."""
    from .data import SCHEMA_VERSION

    loc = getattr(error, "loc", None)
    return {"schema_version": SCHEMA_VERSION, "name": None, "source": source, "input": None, "batch": batch,
            "dtype": dtype, "layers": [], "totals": None,
            "error": {"message": getattr(error, "message", str(error)), "location": str(loc) if loc else None}}


def render_json(analyses: List[Union[Analysis, Dict[str, Any]]]) -> str:
    """One object for one spec, a list for several; a spec that failed to load is its `failure_dict`."""
    data = [a if isinstance(a, dict) else analysis_dict(a) for a in analyses]
    return dumps(data[0] if len(data) == 1 else data)


def _axes_cell(values) -> str:
    return "" if values is None else "x".join(str(units.plain_number(v)) for v in values)


def render_csv(analyses: List[Analysis]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    fields = {}  # the three receptive-field cells, by id: consecutive layers often share one ReceptiveField
    for a in analyses:
        for r in a.layers:
            rf = r.receptive_field
            if id(rf) not in fields:
                fields[id(rf)] = ["global" if rf.is_global else _axes_cell(rf.size), _axes_cell(rf.stride),
                                  _axes_cell(rf.padding)]
            writer.writerow([a.network.name, r.name, r.type, "x".join(map(str, r.output)), r.params, int(r.trainable),
                             r.buffers, r.macs, r.flops, *fields[id(rf)], _axes_cell(r.dropped)])
    return out.getvalue()


def render_markdown(analyses: List[Analysis], depth: Optional[int] = None) -> str:
    parts = []
    for a in analyses:
        lines = [f"### {a.network.name}", "", f"Input {units.shape(a.network.input)}, batch {a.batch}, {a.dtype}.", "",
                 "| Layer | Type | Output | Params | MACs | RF |", "|---|---|---|---:|---:|---:|"]
        for r in a.rows(depth):
            mark = " ⚠" if r.dropped else ""
            lines.append(f"| `{r.name}` | {r.type} | {units.shape(r.output)}{mark} | {r.params:,} | {r.macs:,} "
                         f"| {units.axes(r.receptive_field.size)} |")
        t = a.totals
        if t is not None:
            lines += ["", f"**Total**: {t.params:,} params ({t.trainable_params:,} trainable), {t.buffers:,} buffers, "
                      f"{t.macs:,} MACs, {t.flops:,} FLOPs; parameters {units.human_bytes(t.param_bytes)}, "
                      f"peak activations {units.human_bytes(t.peak_activation_bytes)}; output {units.shape(t.output)}."]
        if any(r.dropped for r in a.layers):
            lines += ["", units.DROPPED_NOTE + "."]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def flops_markdown() -> str:
    """The README's FLOP table: the rule each layer class states, layer types sharing a rule on one row."""
    from ..layers import flops_rules

    rows = [f"| {', '.join(names)} | {rule} |" for names, rule in flops_rules()]
    return "\n".join(["| layer | FLOPs |", "|---|---|", *rows]) + "\n"
