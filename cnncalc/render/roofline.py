"""The roofline estimate rendered: table cells, a totals panel, JSON/CSV fields and an SVG roofline chart.

Formatting only: every figure comes from `cnncalc.core.traffic` and `cnncalc.core.roofline`.
"""
from __future__ import annotations

import csv
import io
from .jsonout import dumps
import math
from typing import Any, Dict, List, Optional, Sequence, Tuple
from xml.sax.saxutils import escape

from .. import units
from ..core.analysis import Analysis
from ..core.roofline import COMPUTE, MEMORY, Roofline, RowTime
from ..core.traffic import Traffic
from .data import analysis_dict

TRAFFIC_COLUMNS = ("read", "written", "intensity")
TIME_COLUMNS = ("time", "bound")
HEADS = {"read": "Read", "written": "Written", "intensity": "FLOP/B", "time": "Est. time", "bound": "Bound"}


seconds_text = units.seconds  # 0.00123 → "1.23 ms"


def rate_text(per_second: float, unit: str) -> str:
    """2.039e12, 'B/s' → '2.04 TB/s' (powers of 1000, as vendors quote them)."""
    for prefix, scale in (("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if per_second >= scale:
            return f"{per_second / scale:.3g} {prefix}{unit}"
    return f"{per_second:.3g} {unit}"


def intensity_text(x: Optional[float]) -> str:
    return "-" if x is None else f"{x:.3g}"


def traffic_cells(per_row: Sequence[Traffic]) -> Dict[str, List[str]]:
    """The read, written and intensity cells of each display row."""
    return {"read": [units.human_bytes(t.read) if t.bytes else "-" for t in per_row],
            "written": [units.human_bytes(t.written) if t.bytes else "-" for t in per_row],
            "intensity": [intensity_text(t.intensity) for t in per_row]}


def time_cells(per_row: Sequence[RowTime]) -> Dict[str, List[str]]:
    return {"time": [seconds_text(t.seconds) if t.seconds else "-" for t in per_row],
            "bound": [t.bound for t in per_row]}


def totals_panel(a: Analysis, r: Roofline, types_shown: int = 6):
    """Totals of the estimate: time, traffic, the split between compute- and memory-bound layers, time per type."""
    from rich.panel import Panel
    from rich.table import Table

    t = r.traffic
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    d = r.device
    grid.add_row("Device", f"{d.description}: {rate_text(r.peak, 'FLOP/s')} at {r.dtype}, "
                           f"{rate_text(r.bandwidth, 'B/s')}; ridge at {r.ridge:.3g} FLOP/B")
    grid.add_row("Est. time", f"{seconds_text(r.seconds)} (batch {a.batch}; roofline: max(FLOPs / peak, bytes / "
                              f"bandwidth) per layer, summed)")
    grid.add_row("Traffic", f"{units.human_bytes(t.bytes)} moved: {units.human_bytes(t.input_bytes)} inputs + "
                            f"{units.human_bytes(t.weight_bytes)} weights read, {units.human_bytes(t.output_bytes)} "
                            f"written; {intensity_text(t.intensity)} FLOP/B overall")
    whole = r.seconds or 1.0
    grid.add_row("Bound", f"{r.count(COMPUTE)} layers compute-bound ({r.seconds_by_bound(COMPUTE) / whole:.0%} of the "
                          f"time), {r.count(MEMORY)} memory-bound ({r.seconds_by_bound(MEMORY) / whole:.0%})")
    shares = r.share_by_type(info.type for info in a.layers)
    shown = [f"{k} {v:.0%}" for k, v in list(shares.items())[:types_shown] if v > 0]
    grid.add_row("Time by type", ", ".join(shown))
    return Panel(grid, title=f"Roofline estimate on {d.name}", title_align="left", expand=False)


# -- exact data -----------------------------------------------------------------------------------------------------
def device_dict(r: Roofline) -> Dict[str, Any]:
    d = r.device
    return {"name": d.name, "description": d.description, "file": d.file, "dtype": r.dtype, "peak_flops": r.peak,
            "bandwidth_bytes": r.bandwidth, "ridge": r.ridge}


def layer_fields(r: Roofline, i: int) -> Dict[str, Any]:
    lt = r.layers[i]
    t = lt.traffic
    return {"bytes_read": t.read, "bytes_written": t.written, "intensity": t.intensity,
            "time_s": lt.seconds, "bound": lt.bound}


def estimate_dict(a: Analysis, r: Roofline) -> Dict[str, Any]:
    """The analysis's JSON object (render.data) with the estimate's fields added: per layer bytes_read,
    bytes_written, intensity, time_s and bound; totals bytes_read, bytes_written, time_s; and `device`."""
    data = analysis_dict(a)
    data["layers"] = [{**layer, **layer_fields(r, i)} for i, layer in enumerate(data["layers"])]
    t = r.traffic
    data["totals"] = {**data["totals"], "bytes_read": t.read, "bytes_written": t.written, "intensity": t.intensity,
                      "time_s": r.seconds, "compute_bound_layers": r.count(COMPUTE),
                      "memory_bound_layers": r.count(MEMORY),
                      "time_share_by_type": r.share_by_type(info.type for info in a.layers)}
    data["device"] = device_dict(r)
    return data


def render_json(pairs: Sequence[Tuple[Analysis, Optional[Roofline]]]) -> str:
    """Like `summary --format json`, with the estimate's fields (none for an analysis that failed: its r is None)."""
    data = [analysis_dict(a) if r is None else estimate_dict(a, r) for a, r in pairs]
    return dumps(data[0] if len(data) == 1 else data)


CSV_FIELDS = ["bytes_read", "bytes_written", "intensity", "time_s", "bound"]


def render_csv(pairs: Sequence[Tuple[Analysis, Optional[Roofline]]]) -> str:
    """`summary`'s CSV (render.text) with the estimate's fields appended to every layer's row (left blank for an
    analysis that failed: its r is None)."""
    from .text import render_csv as plain_csv

    rows = list(csv.reader(io.StringIO(plain_csv([a for a, _ in pairs]))))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(rows[0] + CSV_FIELDS + ["device"])
    fields = [(r, i) for a, r in pairs for i in range(len(a.layers))]
    for row, (r, i) in zip(rows[1:], fields):
        if r is None:
            writer.writerow(row + [""] * (len(CSV_FIELDS) + 1))
            continue
        f = layer_fields(r, i)
        writer.writerow(row + [f["bytes_read"], f["bytes_written"], "" if f["intensity"] is None else
                               repr(f["intensity"]), repr(f["time_s"]), f["bound"], r.device.name])
    return out.getvalue()


# -- the chart --------------------------------------------------------------------------------------------------------
W, H = 720, 460
LEFT, RIGHT, TOP, BOTTOM = 78, 24, 40, 56
COLOURS = {COMPUTE: "#c0392b", MEMORY: "#2471a3"}


def _decades(lo: float, hi: float) -> Tuple[int, int]:
    return math.floor(math.log10(lo)), math.ceil(math.log10(hi))


def roofline_svg(a: Analysis, r: Roofline) -> str:
    """A log–log roofline chart: x the layer's arithmetic intensity (FLOP/B), y the FLOP/s it reaches at its
    estimated time; the roof is min(peak, intensity × bandwidth). Each layer with FLOPs is a point (red:
    compute-bound, blue: memory-bound) whose area grows with its share of the time."""
    points = [(info, lt) for info, lt in zip(a.layers, r.layers) if lt.traffic.flops and lt.traffic.bytes]
    xs = [lt.traffic.intensity for _, lt in points] + [r.ridge]
    x0, x1 = _decades(min(xs + [r.ridge / 100]), max(xs + [r.ridge * 10]))
    ys = [lt.achieved for _, lt in points]
    y0, y1 = _decades(min(ys + [r.peak / 1e4]), r.peak * 1.0001)
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def px(x: float) -> float:
        return LEFT + (math.log10(x) - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        return TOP + ph - (math.log10(y) - y0) / (y1 - y0) * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
           f'font-family="sans-serif" font-size="11">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{LEFT}" y="22" font-size="14" font-weight="bold">{escape(a.network.name)} on '
           f'{escape(r.device.name)} — batch {a.batch}, {r.dtype}: {escape(seconds_text(r.seconds))} estimated</text>']
    for k in range(x0, x1 + 1):  # grid and tick labels, one per decade
        x = px(10.0 ** k)
        out.append(f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{TOP + ph}" stroke="#eee"/>')
        out.append(f'<text x="{x:.1f}" y="{TOP + ph + 16}" text-anchor="middle">{10.0 ** k:g}</text>')
    for k in range(y0, y1 + 1):
        y = py(10.0 ** k)
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + pw}" y2="{y:.1f}" stroke="#eee"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_rate_label(10.0 ** k)}</text>')
    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>')
    out.append(f'<text x="{LEFT + pw / 2}" y="{H - 14}" text-anchor="middle">arithmetic intensity (FLOPs per byte '
               f'moved)</text>')
    out.append(f'<text transform="translate(16 {TOP + ph / 2}) rotate(-90)" text-anchor="middle">FLOP/s at the '
               f'estimated time</text>')
    # the roof: the bandwidth slope up to the ridge, then the flat peak
    lo = 10.0 ** x0
    start = max(lo, 10.0 ** y0 / r.bandwidth)
    out.append(f'<polyline fill="none" stroke="black" stroke-width="2" points="{px(start):.1f},{py(start * r.bandwidth):.1f} '
               f'{px(r.ridge):.1f},{py(r.peak):.1f} {px(10.0 ** x1):.1f},{py(r.peak):.1f}"/>')
    out.append(f'<text x="{px(r.ridge) + 6:.1f}" y="{py(r.peak) - 6:.1f}">peak {escape(rate_text(r.peak, "FLOP/s"))}; '
               f'ridge {r.ridge:.3g} FLOP/B</text>')
    out.append(f'<text x="{px(start) + 4:.1f}" y="{py(start * r.bandwidth) - 16:.1f}">'
               f'{escape(rate_text(r.bandwidth, "B/s"))}</text>')
    whole = r.seconds or 1.0
    for info, lt in sorted(points, key=lambda p: -p[1].seconds):  # big points first, small ones on top
        radius = 2 + 14 * math.sqrt(lt.seconds / whole)
        out.append(f'<circle cx="{px(lt.traffic.intensity):.1f}" cy="{py(lt.achieved):.1f}" r="{radius:.1f}" '
                   f'fill="{COLOURS.get(lt.bound, "#777")}" fill-opacity="0.45" stroke="{COLOURS.get(lt.bound, "#777")}">'
                   f'<title>{escape(info.name)} ({escape(info.type)}): {lt.traffic.intensity:.3g} FLOP/B, '
                   f'{escape(seconds_text(lt.seconds))}, {lt.bound}-bound</title></circle>')
    out.append(f'<text x="{LEFT + 8}" y="{TOP + 16}" fill="{COLOURS[COMPUTE]}">● compute-bound</text>')
    out.append(f'<text x="{LEFT + 8}" y="{TOP + 30}" fill="{COLOURS[MEMORY]}">● memory-bound (area: share of time)'
               f'</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _rate_label(v: float) -> str:
    return rate_text(v, "").strip()
