"""Plain-data form of an analysis (the JSON schema, also the source of CSV and Markdown cells)."""
from __future__ import annotations

from typing import Any, Dict, List

from ..core.analysis import Analysis
from ..core.receptive import ReceptiveField
from ..units import plain_number

SCHEMA_VERSION = 1


def receptive_field(rf: ReceptiveField) -> Dict[str, Any]:
    def nums(values):
        return None if values is None else [plain_number(v) for v in values]

    return {"size": nums(rf.size), "stride": nums(rf.stride), "padding": nums(rf.padding),
            "global": rf.is_global, "aligned": rf.aligned}


def analysis_dict(a: Analysis) -> Dict[str, Any]:
    """The documented, versioned JSON object of one analysis (see README: JSON output).

    Layers that share a ReceptiveField (an activation keeps its input's) share its dict: treat the result as read-only.
    """
    net = a.network
    fields: Dict[int, Dict[str, Any]] = {}  # receptive_field(rf) by id(rf)

    def field(rf: ReceptiveField) -> Dict[str, Any]:
        if id(rf) not in fields:
            fields[id(rf)] = receptive_field(rf)
        return fields[id(rf)]

    layers: List[Dict[str, Any]] = [{
        "name": r.name, "type": r.type, "inputs": r.inputs, "output": list(r.output),
        "params": r.params, "trainable": r.trainable, "buffers": r.buffers, "macs": r.macs, "flops": r.flops,
        "receptive_field": field(r.receptive_field),
        "dropped": list(r.dropped) if r.dropped else None,
        "location": str(r.node.loc),
    } for r in a.layers]
    t = a.totals
    totals = None if t is None else {
        "params": t.params, "trainable_params": t.trainable_params, "non_trainable_params": t.params - t.trainable_params,
        "buffers": t.buffers, "macs": t.macs, "flops": t.flops, "param_bytes": t.param_bytes,
        "buffer_bytes": t.buffer_bytes, "input_bytes": t.input_bytes, "activation_bytes": t.activation_bytes,
        "peak_activation_bytes": t.peak_activation_bytes, "output": list(t.output),
        "receptive_field": receptive_field(t.receptive_field), "layers": t.layers,
    }
    error = None if a.error is None else {"message": a.error.message, "location": str(a.error.loc) if a.error.loc else None}
    return {"schema_version": SCHEMA_VERSION, "name": net.name, "source": net.source, "input": list(net.input),
            "batch": a.batch, "dtype": a.dtype, "layers": layers, "totals": totals, "error": error}
