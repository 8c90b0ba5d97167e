"""`cnncalc report`: one self-contained HTML file per analysis (or several side by side).

The page holds the analyses as JSON (the documented JSON of `summary --format json`, plus each layer's activation
bytes and containers), the SVG diagram of `cnncalc.render.diagram` with names on its nodes, frames and edges, and
the script and style beside this module (report.js, report.css: written here, no third-party code). Nothing is
fetched when the file is opened. The script draws the collapsible, sortable table, the totals, the per-layer bars
and the receptive-field plot from the JSON, colours the diagram by the chosen metric, and links rows and nodes.
"""
from __future__ import annotations

import json
from html import escape
from importlib import resources
from typing import Any, Dict, List, Sequence

from ..core.analysis import Analysis
from .data import analysis_dict
from .diagram import graph, svg

METRICS = {"macs": "MACs", "params": "Params", "activation_bytes": "Activation bytes", "flops": "FLOPs"}


def report_data(a: Analysis) -> Dict[str, Any]:
    """The JSON of one analysis with what the page needs beside it: per layer its activation bytes and the
    containers around it; the containers' kinds (block name or kind)."""
    data = analysis_dict(a)
    for layer, info in zip(data["layers"], a.layers):
        layer["activation_bytes"] = info.activation_bytes
        layer["groups"] = list(info.groups)
    data["groups"] = {name: {"kind": g.kind, "label": g.label} for name, g in a.network.groups.items()}
    data["metrics"] = METRICS
    return data


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _script_json(value: Any) -> str:
    """JSON safe inside <script>: no `</` can end the element early."""
    return json.dumps(value, separators=(",", ":")).replace("</", "<\\/").replace("<!--", "<\\!--")


def report_html(analyses: Sequence[Analysis], title: str = "", labels: Sequence[str] = ()) -> str:
    """The whole page: one column per analysis (side by side when there are several), headed by `labels` (default:
    the networks' names)."""
    labels = list(labels) or [a.network.name for a in analyses]
    sections: List[str] = []
    for k, a in enumerate(analyses):
        diagram = svg(graph(a)) if a.error is None else ""
        sections.append(
            f'<section class="network" data-index="{k}">'
            f'<h2>{escape(labels[k])}</h2>'
            f'<div class="meta"></div>'
            f'<div class="totals"></div>'
            f'<div class="panels"><div class="panel graph-panel"><div class="graph-tools"></div>'
            f'<div class="graph">{diagram}</div></div>'
            f'<div class="panel rf-panel"><h3>Receptive field against depth</h3><div class="rf"></div></div></div>'
            f'<h3>Layers</h3><div class="table-wrap"><table class="layers"></table></div>'
            f'</section>')
    data = [report_data(a) for a in analyses]
    name = title or " vs ".join(labels)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{escape(name)} — cnncalc</title>"
        f"<style>{_asset('report.css')}</style></head>\n"
        f"<body class=\"networks-{len(analyses)}\"><header><h1>{escape(name)}</h1>"
        "<label>Colour and bars by <select id=\"metric\"></select></label>"
        "<span class=\"hint\">click a row or a box to find it in the other; ▸ folds a block; "
        "drag to pan, wheel to zoom</span></header>\n"
        f"<main>{''.join(sections)}</main>\n"
        f"<script type=\"application/json\" id=\"cnncalc-data\">{_script_json(data)}</script>\n"
        f"<script>{_asset('report.js')}</script>\n</body></html>\n")
