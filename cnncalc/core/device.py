"""Device profiles: a processor's peak FLOP/s per precision and its memory bandwidth, each figure with its source.

A profile is a small YAML file, read with the spec loader's safe parser (`cnncalc.spec.source`) and checked here key
by key, so a missing field, an unknown key or a wrong unit is a located error (exit 2):

    name: t4
    description: NVIDIA T4 (dense tensor-core peaks)
    peak:                                   # per --dtype; a dtype left out cannot be estimated on this device
      float32: {value: 8.1 TFLOP/s, source: https://…/t4-tensor-core-datasheet-951643.pdf}
      float16: {value: 65 TFLOP/s, source: https://…}
    bandwidth: {value: 320 GB/s, source: https://…}

Bundled profiles live in `cnncalc/devices/NAME.yaml`; `--device` takes such a NAME or a path to a file.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Tuple

from ..errors import Location, OptionError, SpecError, did_you_mean, shown
from ..spec.source import Node, parse_yaml, read_text
from .analysis import DTYPE_BYTES

DEVICE_DIR = Path(__file__).parent.parent / "devices"
MAX_PROFILE_BYTES = 64 * 1024  # a profile is a dozen lines
KEYS = ("name", "description", "peak", "bandwidth", "notes")
FIGURE_KEYS = ("value", "source")
PREFIX = {"": 1, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15,
          "Ki": 1024, "Mi": 1024 ** 2, "Gi": 1024 ** 3, "Ti": 1024 ** 4}
# "19.5 TFLOP/s", "624 TOP/s" (integer peaks), "2039 GB/s", "100 GiB/s": a number, a prefix and the unit
_QUANTITY = re.compile(r"^\s*(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)\s*(Ki|Mi|Gi|Ti|[kKMGTP]?)(FLOP/s|OP/s|B/s)\s*$")
UNITS = {"peak": ("FLOP/s", "OP/s"), "bandwidth": ("B/s",)}


@dataclass(frozen=True)
class Figure:
    """One published or measured figure (per second) and where it comes from."""

    value: float
    source: str
    text: str  # as written: "19.5 TFLOP/s"


@dataclass(frozen=True)
class Device:
    """A device profile: peak FLOP/s per dtype (`peak`) and memory bandwidth in bytes per second."""

    name: str
    description: str
    peak: Dict[str, Figure]
    bandwidth: Figure
    file: str
    notes: str = ""

    def peak_for(self, dtype: str) -> float:
        """Peak FLOP/s at `dtype`; an `OptionError` when the profile gives none."""
        if dtype not in self.peak:
            raise OptionError(f"device {self.name} has no peak for {dtype} in {self.file}; it gives "
                              f"{', '.join(self.peak)}", hint="choose one of those with --dtype, or add the figure "
                              "to the profile", option="--dtype")
        return self.peak[dtype].value

    def ridge(self, dtype: str) -> float:
        """The intensity (FLOPs per byte) where the roof turns: below it a layer is memory-bound."""
        return self.peak_for(dtype) / self.bandwidth.value

    def __repr__(self) -> str:
        peaks = ", ".join(f"{k} {f.text}" for k, f in self.peak.items())
        return f"Device({self.name}: {peaks}; {self.bandwidth.text})"


def names() -> List[str]:
    """The bundled profiles."""
    return sorted(p.stem for p in DEVICE_DIR.glob("*.yaml"))


def load_device(arg: str) -> Device:
    """A bundled profile by name, or a profile file by path (anything with a '/' or a .yaml/.yml suffix)."""
    bundled = DEVICE_DIR / f"{arg}.yaml"
    if "/" not in arg and not arg.endswith((".yaml", ".yml")):
        if not bundled.is_file():
            raise OptionError(f"no device named {shown(arg)}; bundled: {', '.join(names())}",
                              hint=did_you_mean(arg, names()) or "or give a profile file: --device my-box.yaml",
                              option="--device")
        path = str(bundled)
    else:
        path = arg
    if Path(path).is_file() and Path(path).stat().st_size > MAX_PROFILE_BYTES:
        raise SpecError(f"device profile is larger than {MAX_PROFILE_BYTES:,} bytes", Location(path, 1, 1))
    return parse_device(read_text(path), path)


def parse_device(text: str, filename: str) -> Device:
    """A profile from YAML text; every problem is a `SpecError` at its key or value."""
    root = parse_yaml(text, filename)
    if root.kind != "map":
        raise SpecError("a device profile is a mapping with name, peak and bandwidth", root.loc)
    _known_keys(root, KEYS, "a device profile")
    for key in ("name", "peak", "bandwidth"):
        if key not in root.value:
            raise SpecError(f"device profile has no `{key}`", root.loc, hint=_EXAMPLE)
    name = _string(root, "name")
    description = _string(root, "description") if "description" in root.value else name
    notes = _string(root, "notes") if "notes" in root.value else ""
    peak_node = root.value["peak"]
    if peak_node is None or peak_node.kind != "map" or not peak_node.value:
        raise SpecError("`peak` must map dtypes to figures", _at(root, "peak"),
                        hint="peak: {float32: {value: 19.5 TFLOP/s, source: https://…}}")
    peak = {}
    for dtype, node in peak_node.value.items():
        if dtype not in DTYPE_BYTES:
            raise SpecError(f"`peak` has no dtype {shown(dtype)}", peak_node.key_loc(dtype),
                            hint=did_you_mean(dtype, DTYPE_BYTES) or f"dtypes: {', '.join(DTYPE_BYTES)}")
        peak[dtype] = _figure(peak_node, dtype, "peak")
    return Device(name, description, peak, _figure(root, "bandwidth", "bandwidth"), filename, notes)


_EXAMPLE = "name: my-box\npeak: {float32: {value: 1.2 TFLOP/s, source: measured}}\nbandwidth: {value: 40 GB/s, source: …}"


def _at(parent: Node, key: str) -> Location:
    node = parent.value.get(key)
    return node.loc if node is not None else parent.key_loc(key)


def _known_keys(node: Node, keys, what: str) -> None:
    for key in node.value:
        if key not in keys:
            raise SpecError(f"{what} has no key {shown(key)}", node.key_loc(key),
                            hint=did_you_mean(key, keys) or f"keys: {', '.join(keys)}")


def _string(parent: Node, key: str) -> str:
    node = parent.value[key]
    if node is None or node.kind != "scalar" or not isinstance(node.value, str) or not node.value.strip():
        raise SpecError(f"`{key}` must be a non-empty string", _at(parent, key))
    return node.value


def _figure(parent: Node, key: str, kind: str) -> Figure:
    """`{value: '19.5 TFLOP/s', source: …}` under `parent[key]`, its unit one of UNITS[kind]."""
    node = parent.value[key]
    example = "19.5 TFLOP/s" if kind == "peak" else "2039 GB/s"
    if node is None or node.kind != "map":
        raise SpecError(f"`{key}` must be a mapping with value and source", _at(parent, key),
                        hint=f"{key}: {{value: {example}, source: https://…}}")
    _known_keys(node, FIGURE_KEYS, f"`{key}`")
    for field in FIGURE_KEYS:
        if field not in node.value:
            raise SpecError(f"`{key}` has no `{field}`", node.loc,
                            hint="every figure names where it comes from" if field == "source" else
                            f"value: {example}")
    source = _string(node, "source")
    value_node = node.value["value"]
    text = value_node.value if value_node is not None and value_node.kind == "scalar" else None
    match = _QUANTITY.match(text) if isinstance(text, str) else None
    units = UNITS[kind]
    if match is None or match.group(3) not in units:
        raise SpecError(f"{'a peak' if kind == 'peak' else 'bandwidth'} needs a number and a unit in "
                        f"{' or '.join(units)}, got {shown(text if text is not None else value_node and value_node.plain())}",
                        _at(node, "value"), hint=f"value: {example}")
    value = float(match.group(1)) * PREFIX[match.group(2)]
    if not 0 < value < 1e21:
        raise SpecError(f"{shown(text)} is out of range", _at(node, "value"))
    return Figure(value, source, text.strip())


def dump_device(name: str, description: str, peak: Dict[str, Tuple[float, str]], bandwidth: Tuple[float, str],
                notes: str = "") -> str:
    """A profile's YAML text (what `cnncalc calibrate` writes); `peak` maps dtype → (FLOP/s, source)."""
    def quote(s: str) -> str:
        return "'" + s.replace("'", "''") + "'"

    lines = [f"name: {quote(name)}", f"description: {quote(description)}"]
    if notes:
        lines.append(f"notes: {quote(notes)}")
    lines.append("peak:")
    for dtype, (value, source) in peak.items():
        lines.append(f"  {dtype}: {{value: {value / 1e9:.4g} GFLOP/s, source: {quote(source)}}}")
    lines.append(f"bandwidth: {{value: {bandwidth[0] / 1e9:.4g} GB/s, source: {quote(bandwidth[1])}}}")
    return "\n".join(lines) + "\n"
