"""Renderings of a network diff (`cnncalc diff`): text, Markdown for a pull-request comment, JSON, and GitHub
workflow commands. Formatting only: every figure comes from `cnncalc.compare.diff`.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Sequence

from .. import units
from ..compare.diff import STATUSES, TOTALS, Delta, Diff, LayerChange, StageChange
from ..lint.emit import escape_data, escape_property
from .data import SCHEMA_VERSION, receptive_field

KIND = {key: kind for key, _, kind in TOTALS}
MARK = {"added": "+", "removed": "-", "changed": "~", "renamed": ">", "unchanged": " "}
LAYER_KEYS = (("params", "params"), ("macs", "MACs"))
MAX_ANNOTATIONS = 50  # per-layer notices; GitHub shows a limited number per step anyway


# -- cells ---------------------------------------------------------------------------------------------------
def amount(kind: str, value: Any) -> str:
    """A total as people read it: counts exact with separators, bytes in binary units, layer counts plain."""
    return units.human_bytes(value) if kind == "bytes" else f"{value:,}"


def share(d: Delta) -> str:
    """'+5.65%', '−100.00%', 'new' (from 0), or '' when nothing changed."""
    if d.same:
        return ""
    if d.share is None:
        return "new"
    return f"{d.share:+.2%}".replace("-", "−")


def change(kind: str, d: Delta) -> str:
    """'+1,442,968 (+5.65%)', '+12.00 MiB (+8.33%)', or '=' when unchanged."""
    if d.same:
        return "="
    c = d.change
    text = (("+" if c > 0 else "−") + units.human_bytes(abs(c))) if kind == "bytes" else f"{c:+,}".replace("-", "−")
    pct = share(d)
    return f"{text} ({pct})" if pct and pct != "new" else text


def rf_text(rf) -> str:
    return units.axes(rf.size) + ("" if rf.aligned else " †")


def arg_text(args: Sequence) -> str:
    return ", ".join(f"{k} {_value(old)} → {_value(new)}" for k, old, new in args)


def _value(v: Any) -> str:
    if isinstance(v, (tuple, list)):
        return "[" + ", ".join(map(_value, v)) + "]"
    return "true" if v is True else "false" if v is False else "null" if v is None else str(v)


def layer_summary(c: LayerChange) -> str:
    """What changed in one layer, in one line (without its name)."""
    parts = []
    if c.renamed and c.old is not None:
        parts.append(f"was {c.old.name}")
    if c.args:
        parts.append(arg_text(c.args))
    out = c.output
    if c.status == "added":
        parts.append(f"output {units.shape(out.new)}")
    elif c.status == "removed":
        parts.append(f"output was {units.shape(out.old)}")
    elif not out.same:
        parts.append(f"output {units.shape(out.old)} → {units.shape(out.new)}")
    for key, label in LAYER_KEYS:
        d = c.delta(key)
        if not d.same:
            parts.append(f"{label} {change('count', d)}")
    return "; ".join(parts)


def stage_label(s: StageChange) -> str:
    if s.old_name and s.new_name and s.old_name != s.new_name:
        return f"{s.old_name} → {s.new_name}"
    return s.name


def counts_text(d: Diff) -> str:
    counts = d.counts
    return ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts[s]) or "no layers"


def _rows(d: Diff) -> List[List[str]]:
    """The totals table: label, old, new, change."""
    rows = [["Input", units.shape(d.input.old), units.shape(d.input.new), "=" if d.input.same else "changed"],
            ["Output", units.shape(d.output.old), units.shape(d.output.new), "=" if d.output.same else "changed"]]
    for key, label, kind in TOTALS:
        delta = d.totals[key]
        rows.append([label, amount(kind, delta.old), amount(kind, delta.new), change(kind, delta)])
    for label, delta in (("Receptive field", d.receptive_field), ("RF before global", d.local_receptive_field)):
        rows.append([label, rf_text(delta.old), rf_text(delta.new), "=" if delta.same else "changed"])
    return rows


def peak_line(d: Diff, name=str) -> str:
    """Where the peak of live activations falls, in both networks."""
    old, new = d.peak.old.layer, d.peak.new.layer
    if old == new:
        return f"Peak activations during {name(new)} in both."
    return f"Peak activations during {name(old)} → during {name(new)}."


# -- text ------------------------------------------------------------------------------------------------------
def render_text(d: Diff, old_label: str, new_label: str, all_layers: bool = False) -> str:
    """Totals, then the stages and layers that differ (all of them with `all_layers`)."""
    lines = [f"{old_label} → {new_label} (batch {d.new.batch}, {d.new.dtype})", ""]
    rows = [["", "old", "new", "change"]] + _rows(d)
    widths = [max(len(r[k]) for r in rows) for k in range(4)]
    for r in rows:
        lines.append(f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]}".rstrip())
    lines += ["", peak_line(d), f"Layers: {counts_text(d)}"]
    stages = [s for s in d.stages if all_layers or s.status != "unchanged"]
    if stages:
        lines += ["", "Stages:"]
        for s in stages:
            costs = "; ".join(f"{label} {change('count', s.costs[k])}" for k, label in LAYER_KEYS
                              if not s.costs[k].same)
            head = f"  {MARK[s.status]} {stage_label(s)} ({s.type}, {s.status})"
            lines.append(head + (f": {costs}" if costs else ""))
    layers = [c for c in d.layers if all_layers or c.status != "unchanged"]
    if layers:
        lines += ["", "Layers:"]
        for c in layers:
            summary = layer_summary(c)
            lines.append(f"  {MARK[c.status]} {c.name} ({c.type})" + (f": {summary}" if summary else ""))
    return "\n".join(lines) + "\n"


# -- markdown --------------------------------------------------------------------------------------------------
def md(text: str) -> str:
    """Text from a spec made safe in a Markdown table cell: no table breaks, no HTML."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
            .replace("\n", " ").replace("`", "'"))


def code(text: str) -> str:
    """A name as inline code in a table cell (backticks in it cannot end the span)."""
    return "`" + text.replace("`", "'").replace("|", "\\|").replace("\n", " ") + "`"


def render_markdown(d: Diff, old_label: str, new_label: str) -> str:
    """A pull-request comment: the totals, the stages that differ, then every layer change in a collapsed section."""
    lines = [f"### cnncalc diff: {code(old_label)} → {code(new_label)}", "",
             f"Batch {d.new.batch}, {d.new.dtype}. Layers: {counts_text(d)}.", "",
             "| | old | new | change |", "|---|---:|---:|---:|"]
    lines += [f"| {r[0]} | {md(r[1])} | {md(r[2])} | {md(r[3])} |" for r in _rows(d)]
    lines += ["", peak_line(d, code)]
    stages = [s for s in d.stages if s.status != "unchanged"]
    if stages:
        lines += ["", "#### Stages", "", "| | Stage | Type | Params | Δ params | MACs | Δ MACs |",
                  "|---|---|---|---:|---:|---:|---:|"]
        for s in stages:
            p, m = s.costs["params"], s.costs["macs"]
            lines.append(f"| {s.status} | {code(stage_label(s))} | {md(s.type)} | {p.new:,} | {md(change('count', p))} "
                         f"| {m.new:,} | {md(change('count', m))} |")
    layers = [c for c in d.layers if c.status != "unchanged"]
    if layers:
        lines += ["", f"<details><summary>Per layer: {len(layers)} of {len(d.layers)} rows differ</summary>", "",
                  "| | Layer | Type | Change |", "|---|---|---|---|"]
        lines += [f"| {c.status} | {code(c.name)} | {md(c.type)} | {md(layer_summary(c))} |" for c in layers]
        lines += ["", "</details>"]
    if not d.changed:
        lines += ["", "No differences."]
    return "\n".join(lines) + "\n"


# -- json ------------------------------------------------------------------------------------------------------
def _delta(d: Delta) -> Dict[str, Any]:
    return {"old": d.old, "new": d.new, "change": d.change, "share": d.share}


def _layer(info) -> Optional[Dict[str, Any]]:
    if info is None:
        return None
    return {"name": info.name, "output": list(info.output), "params": info.params, "macs": info.macs,
            "flops": info.flops, "location": str(info.node.loc)}


def diff_dict(d: Diff, old_label: str, new_label: str) -> Dict[str, Any]:
    """The JSON object of `cnncalc diff --format json` (schema_version 1; fields only ever added)."""
    def side(a, label):
        return {"label": label, "name": a.network.name, "source": a.network.source, "input": list(a.network.input)}

    return {
        "schema_version": SCHEMA_VERSION, "batch": d.new.batch, "dtype": d.new.dtype,
        "old": side(d.old, old_label), "new": side(d.new, new_label), "changed": d.changed,
        "totals": {key: _delta(d.totals[key]) for key, _, _ in TOTALS},
        "output": {"old": list(d.output.old), "new": list(d.output.new)},
        "receptive_field": {"old": receptive_field(d.receptive_field.old),
                            "new": receptive_field(d.receptive_field.new)},
        "local_receptive_field": {"old": receptive_field(d.local_receptive_field.old),
                                  "new": receptive_field(d.local_receptive_field.new)},
        "peak": {"old": {"bytes": d.peak.old.bytes, "layer": d.peak.old.layer},
                 "new": {"bytes": d.peak.new.bytes, "layer": d.peak.new.layer}},
        "counts": d.counts,
        "stages": [{"status": s.status, "old_name": s.old_name, "new_name": s.new_name, "type": s.type,
                    **{k: _delta(v) for k, v in s.costs.items()}} for s in d.stages],
        "layers": [{"status": c.status, "type": c.type, "matched_by": c.matched_by or None,
                    "args": [{"name": k, "old": _plain(o), "new": _plain(n)} for k, o, n in c.args],
                    "old": _layer(c.old), "new": _layer(c.new)} for c in d.layers],
    }


def _plain(v: Any) -> Any:
    return [_plain(x) for x in v] if isinstance(v, tuple) else v


def render_json(d: Diff, old_label: str, new_label: str) -> str:
    return json.dumps(diff_dict(d, old_label, new_label), indent=2, ensure_ascii=False) + "\n"


# -- github ----------------------------------------------------------------------------------------------------
def render_github(d: Diff, old_label: str, new_label: str, new_file: Optional[str] = None) -> str:
    """Workflow commands: one `::notice` with the totals, and one per added or changed layer at its line of the new
    spec when `new_file` names a file in the checkout (removed layers are listed in the totals' notice)."""
    title = escape_property(f"cnncalc diff {old_label} → {new_label}")
    totals = [f"{label}: {amount(kind, d.totals[k].old)} → {amount(kind, d.totals[k].new)}, {change(kind, d.totals[k])}"
              for k, label, kind in TOTALS if kind != "layers"]
    totals.append(f"layers: {counts_text(d)}")
    removed = [c.name for c in d.layers if c.status == "removed"]
    if removed:
        totals.append("removed: " + ", ".join(removed))
    lines = [f"::notice title={title}::{escape_data(chr(10).join(totals))}"]
    shown = [(c, c.new.node.loc) for c in d.layers if c.status in ("added", "changed") and c.new is not None]
    for c, loc in shown[:MAX_ANNOTATIONS]:
        where = f"file={escape_property(new_file)},line={loc.line},col={loc.col}," if new_file else ""
        lines.append(f"::notice {where}title={escape_property(f'{c.status}: {c.name}')}::"
                     f"{escape_data(layer_summary(c))}")
    if len(shown) > MAX_ANNOTATIONS:
        lines.append(f"::notice title={title}::{len(shown) - MAX_ANNOTATIONS} more added or changed layers: "
                     "see `cnncalc diff` in the log or its markdown")
    return "\n".join(lines) + "\n"


FORMATS = ("text", "markdown", "json", "github")
