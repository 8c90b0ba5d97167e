"""Renderings of a training step (`cnncalc train`): a table and totals, JSON, CSV and Markdown. Formatting only."""
from __future__ import annotations

import csv
import io
from .jsonout import dumps
from dataclasses import asdict
from typing import List, Optional

from .. import units

CSV_FIELDS = ["network", "name", "type", "trainable", "forward_flops", "input_grad_flops", "weight_grad_flops",
              "saved_bytes", "saved", "grad_bytes", "optimizer_bytes", "checkpointed"]


def train_dict(t, fit: Optional[dict] = None) -> dict:
    """The JSON object of one training step (schema_version 1; fields only ever added)."""
    a, tt = t.analysis, t.totals
    totals = asdict(tt)
    totals["peak_parts"] = [{"what": what, "bytes": size} for what, size in tt.peak_parts]
    totals.update(backward_flops=tt.backward_flops, step_flops=tt.step_flops, dominant=tt.dominant)
    out = {"schema_version": 1, "name": a.network.name, "source": a.network.source, "input": list(a.network.input),
           "batch": t.batch, "optimizer": t.optimizer, "precision": t.precision, "device": t.device,
           "checkpoint": list(t.checkpoint),
           "layers": [{**asdict(r), "saved": list(r.saved), "backward_flops": r.backward_flops} for r in t.layers],
           "totals": totals, "notes": list(t.notes)}
    if fit is not None:
        out["fit"] = fit
    return out


def failure_dict(source: str, error, batch: int, optimizer: str, precision: str) -> dict:
    """The JSON object of a spec whose training step could not be worked out: no layers, no totals, its `error`."""
    loc = getattr(error, "loc", None)
    return {"schema_version": 1, "name": None, "source": source, "input": None, "batch": batch,
            "optimizer": optimizer, "precision": precision, "layers": [], "totals": None,
            "error": {"message": getattr(error, "message", str(error)), "location": str(loc) if loc else None}}


def render_json(steps: List, fits: List[Optional[dict]]) -> str:
    data = [train_dict(t, f) for t, f in zip(steps, fits)]
    return dumps(data[0] if len(data) == 1 else data)


def render_csv(steps: List) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for t in steps:
        for r in t.layers:
            writer.writerow([t.analysis.network.name, r.name, r.type, int(r.trainable), r.forward_flops,
                             r.input_grad_flops, r.weight_grad_flops, r.saved_bytes, "; ".join(r.saved), r.grad_bytes,
                             r.optimizer_bytes, int(r.checkpointed)])
    return out.getvalue()


def _settings(t) -> str:
    a = t.analysis
    ck = f", checkpoint {', '.join(t.checkpoint)}" if t.checkpoint else ""
    return (f"input {units.shape(a.network.input)}, batch {t.batch}, {t.optimizer}, {t.precision}, "
            f"{t.device}{ck}")


def totals_lines(t, fit: Optional[dict] = None) -> List[tuple]:
    """(label, text) pairs of the totals, shared by the terminal and Markdown."""
    tt = t.totals
    hb, h = units.human_bytes, units.human
    lines = [
        ("Step FLOPs", f"{tt.step_flops:,} ({h(tt.step_flops)}): forward {h(tt.forward_flops)}, backward "
                       f"{h(tt.backward_flops)} (input gradients {h(tt.input_grad_flops)}, weight gradients "
                       f"{h(tt.weight_grad_flops)}), recomputation {h(tt.recompute_flops)}, update "
                       f"{h(tt.optimizer_flops)}"),
        ("State", f"parameters {hb(tt.param_bytes)}, gradients {hb(tt.grad_bytes)}, optimizer state "
                  f"{hb(tt.optimizer_bytes)}, buffers {hb(tt.buffer_bytes)}"
                  + (f", loss scale {tt.loss_scale_bytes} B" if tt.loss_scale_bytes else "")),
        ("Saved for backward", f"{hb(tt.saved_bytes)} at the end of the forward pass"),
        ("Peak", f"{tt.peak_bytes:,} B ({hb(tt.peak_bytes)}) in the {tt.peak_phase}"
                 + (f" at {tt.peak_layer}" if tt.peak_layer else "") + ": "
                 + ", ".join(f"{what} {hb(size)}" for what, size in tt.peak_parts)),
    ]
    if fit is not None:
        more = f"; batch {fit['batch'] + 1} needs {hb(fit['next_peak_bytes'])}" if fit.get("next_peak_bytes") else ""
        lines.append(("Fit", f"batch {fit['batch']} is the largest that fits {hb(fit['budget'])} "
                             f"({hb(tt.peak_bytes)}, {tt.dominant} dominate){more}"))
    return lines


def train_table(t, width: int = 140, fit: Optional[dict] = None):
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    from .table import simple_grid

    heads = ["Layer", "Type", "Fwd FLOPs", "dInput FLOPs", "dWeight FLOPs", "Saved", "Grads", "Opt. state"]
    rows = []
    for r in t.layers:
        name = r.name + (" ⟳" if r.checkpointed else "") + ("" if r.trainable else " ❄")
        rows.append([name, r.type, units.human(r.forward_flops), units.human(r.input_grad_flops),
                     units.human(r.weight_grad_flops), units.human_bytes(r.saved_bytes) if r.saved_bytes else "—",
                     units.human_bytes(r.grad_bytes) if r.grad_bytes else "—",
                     units.human_bytes(r.optimizer_bytes) if r.optimizer_bytes else "—"])
    title = Text(f"{t.analysis.network.name} training step — {_settings(t)}", style="italic")
    box = Table.grid(padding=(0, 2))
    box.add_column(style="bold")
    box.add_column()
    for label, text in totals_lines(t, fit):
        box.add_row(label, text)
    notes = list(t.notes)
    if any(r.checkpointed for r in t.layers):
        notes.append("⟳ checkpointed: recomputed in the backward pass")
    if any(not r.trainable for r in t.layers):
        notes.append("❄ frozen (trainable: false)")
    parts = [title, simple_grid(heads, rows, {0, 1}, width)]
    if notes:
        parts.append(Text("\n".join(notes), style="dim"))
    parts.append(Panel(box, title="Training step", title_align="left", expand=False))
    return Group(*parts)


def render_markdown(steps: List, fits: List[Optional[dict]]) -> str:
    parts = []
    for t, f in zip(steps, fits):
        lines = [f"### {t.analysis.network.name} (training)", "", _settings(t).capitalize() + ".", "",
                 "| Layer | Type | Forward FLOPs | Input-grad FLOPs | Weight-grad FLOPs | Saved bytes | Grad bytes "
                 "| Optimizer bytes |", "|---|---|---:|---:|---:|---:|---:|---:|"]
        for r in t.layers:
            lines.append(f"| `{r.name}` | {r.type} | {r.forward_flops:,} | {r.input_grad_flops:,} | "
                         f"{r.weight_grad_flops:,} | {r.saved_bytes:,} | {r.grad_bytes:,} | {r.optimizer_bytes:,} |")
        lines.append("")
        lines += [f"**{label}**: {text}." for label, text in totals_lines(t, f)]
        lines += [f"- {n}" for n in t.notes]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def run_text(report) -> str:
    """The NumPy step's outcome: loss, gradients, time per phase and per layer type, measured against predicted peak."""
    hb = units.human_bytes
    lines = [f"NumPy training step: loss {report.loss:.6g}, {report.gradients} weight gradients "
             f"({'shapes match' if report.ok else 'MISMATCH'})",
             f"  time: forward {report.forward_seconds:.3f} s, backward {report.backward_seconds:.3f} s, "
             f"update {report.update_seconds:.3f} s",
             f"  peak memory: measured {hb(report.peak_measured)} (tracemalloc), predicted {hb(report.peak_predicted)}, "
             f"ratio {report.peak_ratio:.3f}",
             "  backward time by layer type: " + ", ".join(
                 f"{t} {s:.3f} s" for t, s in sorted(report.backward_seconds_by_type.items(), key=lambda kv: -kv[1]))]
    return "\n".join(lines + report.errors)
