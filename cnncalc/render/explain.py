"""Renderings of conventions: a tool's figures per layer (`summary --convention`) and the gap, rule by rule
(`explain --vs`). Formatting only: the numbers come from `cnncalc.conventions`."""
from __future__ import annotations

import json
from typing import Any, Dict, List, Sequence

from ..conventions import Counted, Explanation


def _signed(n: int) -> str:
    return f"{n:+,}" if n else "0"


# -- a tool's figures ----------------------------------------------------------------------------------------------
def counted_dict(c: Counted) -> Dict[str, Any]:
    """JSON for `summary --convention`: the tool's metrics (its own names and units), totals and per-layer figures."""
    conv = c.convention
    return {"name": conv.name, "tool": conv.tool, "version": conv.version, "about": conv.about,
            "metrics": [{"key": m.key, "label": m.label, "unit": m.scale[1], "per_layer": m.per_layer,
                         "cnncalc": m.ours} for m in conv.metrics],
            "totals": dict(c.totals), "shown": {m.key: m.shown(c.totals[m.key]) for m in conv.metrics},
            "cnncalc": dict(c.ours),
            "layers": [{"name": l.name, "type": l.type, **l.values} for l in c.layers]}


def counted_table(c: Counted):
    """A rich table: one row per layer, a column per metric the tool reports per layer; totals as the tool prints
    them, beside cnncalc's own figure."""
    from rich.table import Table

    conv = c.convention
    a = c.analysis
    per_layer = [m for m in conv.metrics if m.per_layer]
    table = Table(title=f"{a.network.name} as {conv.tool} {conv.version} counts it — batch {a.batch}, {a.dtype}",
                  caption=conv.about, caption_justify="left")
    table.add_column("Layer")
    table.add_column("Type")
    for m in per_layer:
        table.add_column(m.label, justify="right")
    for layer in c.layers:
        table.add_row(layer.name, layer.type, *(f"{layer.values[m.key]:,}" for m in per_layer))
    table.add_section()
    table.add_row("Total", "", *(f"{c.totals[m.key]:,}" for m in per_layer))
    totals = Table(title=f"{conv.name}: totals", show_header=True)
    for heading in ("Metric", conv.tool, "exact", "cnncalc", "gap"):
        totals.add_column(heading, justify="left" if heading == "Metric" else "right")
    for m in conv.metrics:
        ours = c.ours.get(m.key)
        totals.add_row(f"{m.label}" + (f" (vs {m.ours})" if m.ours else ""), m.shown(c.totals[m.key]),
                       f"{c.totals[m.key]:,}", "" if ours is None else f"{ours:,}",
                       "" if ours is None else _signed(c.totals[m.key] - ours))
    return table, totals


# -- why they differ -----------------------------------------------------------------------------------------------
def explanation_dict(e: Explanation) -> Dict[str, Any]:
    return {"convention": e.convention.name, "metric": e.metric.key, "label": e.metric.label, "cnncalc": e.metric.ours,
            "theirs": e.theirs, "ours": e.ours, "gap": e.gap,
            "rows": [{"type": r.layer_type, "layers": r.layers, "theirs": r.theirs, "ours": r.ours, "delta": r.delta,
                      "rule": r.rule.text, "source": r.rule.source, "cnncalc_rule": r.ours_rule} for r in e.rows]}


def explain_json(name: str, explanations: Sequence[Explanation]) -> str:
    return json.dumps({"schema_version": 1, "name": name, "explanations": [explanation_dict(e) for e in explanations]},
                      indent=2)


def _heading(name: str, e: Explanation) -> str:
    conv = e.convention
    return (f"{name}: {conv.tool} {conv.version} '{e.metric.label}' {e.theirs:,} vs cnncalc {e.metric.ours} "
            f"{e.ours:,}: gap {_signed(e.gap)}")


def explain_tables(name: str, explanations: Sequence[Explanation], sources: bool = False) -> List[Any]:
    from rich.table import Table

    out = []
    for e in explanations:
        table = Table(title=_heading(name, e), title_justify="left")
        for heading, justify in (("layer type", "left"), ("layers", "right"), ("difference", "right"),
                                 (f"{e.convention.name} counts", "left"), ("cnncalc counts", "left")):
            table.add_column(heading, justify=justify)
        if sources:
            table.add_column("source")
        for r in e.rows:
            table.add_row(r.layer_type, str(r.layers), _signed(r.delta), r.rule.text, r.ours_rule,
                          *([r.rule.source] if sources else []))
        table.add_section()
        table.add_row("total", "", _signed(e.gap), "" if e.rows else "no difference", "")
        out.append(table)
    return out


def explain_markdown(name: str, explanations: Sequence[Explanation]) -> str:
    parts = []
    for e in explanations:
        lines = [f"**{_heading(name, e)}**", "", f"| layer type | layers | difference | {e.convention.name} counts |",
                 "|---|---:|---:|---|"]
        lines += [f"| {r.layer_type} | {r.layers} | {_signed(r.delta)} | {r.rule.text} |" for r in e.rows]
        lines.append(f"| **total** | | **{_signed(e.gap)}** | |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"
