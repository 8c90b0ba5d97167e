"""Lint settings: rule choice, rule options and budgets, from a config file, the command line and the spec.

The same section is read in three places, validated by one function, and merged in this order (later wins):
`.cnncalc.yaml` / `[tool.cnncalc.lint]` in pyproject.toml → command-line flags → the spec's own `lint:`.

    lint:
      select: [ALL]                # codes, prefixes (CNN1) or names; default ALL
      ignore: [CNN204]             # added to the ignores of earlier levels
      strict: false                # warnings fail too
      budgets: {params: 25M, macs: 4G, peak-memory: 512MiB}   # null lifts a budget
      rules: {CNN106: {factor: 8}}
      growth: {params: 5%, macs: 10%}   # with a baseline (--baseline REV|FILE, or `baseline:`): CNN31x
      baseline: {params: 25.6M}         # the figures at the base, kept in the spec or config itself
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, Dict, Iterable, Mapping, Optional, Tuple

from ..errors import Location, OptionError, SpecError, did_you_mean
from ..spec.options import parse_quantity
from ..spec.source import Node
from .baseline import METRICS, Baseline, parse_share
from .core import REGISTRY, matches

KEYS = ("select", "ignore", "strict", "budgets", "rules", "growth", "baseline")
CONFIG_NAMES = (".cnncalc.yaml", ".cnncalc.yml")


@dataclass(frozen=True)
class Limit:
    """One budget: its name (`--max-NAME` on the command line), the `Totals` field it limits (`total`), its kind of
    quantity and an example value. Counts take K/M/G/T (powers of 1000); bytes KiB/MiB/GiB/TiB (powers of 1024) or
    KB/MB/GB/TB (powers of 1000)."""

    name: str
    total: str
    kind: str  # "count" or "bytes"
    example: str

    @property
    def flag(self) -> str:
        return f"--max-{self.name}"

    def parse(self, value: Any) -> int:
        """A limit as written ('25M', '512MiB'); a bad one is an `OptionError` naming this budget's flag."""
        try:
            if self.kind == "latency":
                return parse_latency(value)
            return parse_quantity(value, self.kind)
        except OptionError as e:
            raise OptionError(e.message, e.hint, option=self.flag) from None


# The one table of budgets: config files, the spec's `lint:`, the budget rules and the --max-* flags all read it.
BUDGETS: Dict[str, Limit] = {b.name: b for b in (
    Limit("params", "params", "count", "25M"),
    Limit("macs", "macs", "count", "4G"),
    Limit("flops", "flops", "count", "8G"),
    Limit("peak-memory", "peak_activation_bytes", "bytes", "512MiB"),
    Limit("param-memory", "param_bytes", "bytes", "100MiB"),
    Limit("latency", "time", "latency", "20ms@raspberry-pi-5"),  # the roofline estimate on a device (CNN306)
    Limit("train-memory", "peak_bytes", "bytes", "16GiB"),  # a training step's totals (cnncalc.core.train)
    Limit("train-flops", "step_flops", "count", "1T"),
)}


@dataclass(frozen=True)
class Latency:
    """A latency budget: at most `seconds` estimated on `device` (a bundled profile's name or a profile file)."""

    seconds: float
    device: str

    def __str__(self) -> str:
        return f"{self.seconds * 1e3:g}ms@{self.device}"


_LATENCY = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*(s|ms|us|µs|ns)\s*@\s*(\S+)\s*$")
_SECONDS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def parse_latency(value: Any) -> Latency:
    """'20ms@raspberry-pi-5' → Latency(0.02, 'raspberry-pi-5'); the device must exist (bundled or a file)."""
    from ..core.device import load_device

    m = _LATENCY.match(value) if isinstance(value, str) else None
    if m is None:
        raise OptionError(f"expected a time and a device like 20ms@raspberry-pi-5 or 5ms@box.yaml, got {value!r}",
                          hint="units: s, ms, us, ns; the device is a bundled profile's name or a profile file")
    load_device(m.group(3))  # an unknown device is an error where the budget is written
    return Latency(float(m.group(1)) * _SECONDS[m.group(2)], m.group(3))


@dataclass(frozen=True)
class Settings:
    """What to check and against which limits; immutable, each level of overrides makes a new one."""

    select: Tuple[str, ...] = ("ALL",)
    ignore: Tuple[str, ...] = ()
    strict: bool = False
    budgets: Dict[str, Optional[int]] = field(default_factory=dict)  # BUDGETS name → limit (None: none)
    rules: Dict[str, Dict[str, Any]] = field(default_factory=dict)  # code → option → value
    growth: Dict[str, Optional[Fraction]] = field(default_factory=dict)  # baseline.METRICS name → share allowed
    baseline: Optional[Baseline] = None  # the figures at the base, for the growth rules
    convention: Optional[str] = None  # budgets of counts measured as this tool counts (cnncalc.conventions)

    def selects(self, code: str) -> bool:
        return matches(code, self.select) and not matches(code, self.ignore)

    def rule_options(self, code: str) -> Dict[str, Any]:
        given = self.rules.get(code, {})
        return {name: given.get(name, opt.default) for name, opt in REGISTRY[code].options.items()}

    def merged(self, part: Dict[str, Any]) -> "Settings":
        """These settings overridden by a validated partial section (from `section()`)."""
        rules = {code: {**self.rules.get(code, {}), **opts} for code, opts in part.get("rules", {}).items()}
        return replace(self, select=part.get("select", self.select), ignore=self.ignore + part.get("ignore", ()),
                       strict=part.get("strict", self.strict), budgets={**self.budgets, **part.get("budgets", {})},
                       rules={**self.rules, **rules}, growth={**self.growth, **part.get("growth", {})},
                       baseline=part.get("baseline", self.baseline), convention=part.get("convention", self.convention))


def codes(values: Iterable[Any], loc: Optional[Location], what: str) -> Tuple[str, ...]:
    """Rule codes, prefixes (CNN1), names (dropped-pixels) or ALL → normalised upper-case patterns."""
    names = {rule.name: code for code, rule in REGISTRY.items()}
    out = []
    for value in values:
        text = str(value).strip()
        if text.lower() in names:
            out.append(names[text.lower()])
            continue
        text = text.upper()
        if text != "ALL" and not (re.match(r"^CNN\d{1,3}$", text) and any(code.startswith(text) for code in REGISTRY)):
            hint = did_you_mean(text, list(REGISTRY) + list(names)) or "`cnncalc rules` lists the codes"
            raise SpecError(f"{what}: unknown rule {value!r}", loc, hint=hint)
        out.append(text)
    return tuple(out)


def split_codes(value: Any) -> list:
    """A list of codes, or one string of them separated by commas or spaces."""
    if isinstance(value, (list, tuple)):
        return list(value)
    return str(value).replace(",", " ").split()


def section(node: Optional[Node], where: str) -> Dict[str, Any]:
    """Validate one `lint:` section (a located Node) into a partial settings dict; errors point at the value."""
    if node is None or node.kind == "scalar" and node.value is None:
        return {}
    if node.kind != "map":
        raise SpecError(f"`{where}` must be a mapping with keys {', '.join(KEYS)}", node.loc)
    part: Dict[str, Any] = {}
    for key, value in node.value.items():
        loc = value.loc
        if key in ("select", "ignore"):
            if value.kind == "map":
                raise SpecError(f"`{where}.{key}` takes a list of rule codes", loc)
            items = value.value if value.kind == "seq" else [value]  # each code checked where it is written
            part[key] = sum((codes(split_codes(item.plain()), item.loc, f"{where}.{key}") for item in items), ())
        elif key == "strict":
            if not isinstance(value.value, bool):
                raise SpecError(f"`{where}.strict` must be true or false, got {value.plain()!r}", loc)
            part[key] = value.value
        elif key == "budgets":
            part[key] = _budgets(value, f"{where}.budgets")
        elif key == "rules":
            part[key] = _rule_options(value, f"{where}.rules")
        elif key == "growth":
            part[key] = _growth(value, f"{where}.growth")
        elif key == "baseline":
            part[key] = _baseline(value, f"{where}.baseline")
        else:
            raise SpecError(f"`{where}` has no key '{key}'", node.key_loc(key),
                            hint=did_you_mean(key, KEYS) or f"keys: {', '.join(KEYS)}")
    return part


def _budgets(node: Node, where: str) -> Dict[str, Optional[int]]:
    if node.kind != "map":
        raise SpecError(f"`{where}` must be a mapping like {{params: 25M, peak-memory: 512MiB}}", node.loc)
    out: Dict[str, Optional[int]] = {}
    for name, value in node.value.items():
        key = budget_name(name, node.key_loc(name), where)
        out[key] = budget_value(key, value.plain(), value.loc, f"{where}.{name}")
    return out


def budget_name(name: str, loc: Optional[Location], where: str) -> str:
    return _known(name, BUDGETS, "budget", loc, where)


def _known(name: str, table: Mapping[str, Any], what: str, loc: Optional[Location], where: str) -> str:
    """`name` (`_` read as `-`) as a key of `table`; else a located error naming the `what`s there are."""
    key = name.replace("_", "-")
    if key not in table:
        raise SpecError(f"`{where}` has no {what} '{name}'", loc,
                        hint=did_you_mean(key, table) or f"{what}s: {', '.join(table)}")
    return key


def budget_value(key: str, value: Any, loc: Optional[Location], where: str) -> Optional[int]:
    """A budget limit (None lifts it); a bad number or unit is an error at `loc`."""
    if value is None:
        return None
    try:
        return BUDGETS[key].parse(value)
    except OptionError as e:
        raise SpecError(f"`{where}`: {e.message}", loc, e.hint) from None


def _metric(name: str, loc: Optional[Location], where: str) -> str:
    return _known(name, METRICS, "metric", loc, where)


def _growth(node: Node, where: str) -> Dict[str, Optional[Fraction]]:
    if node.kind != "map":
        raise SpecError(f"`{where}` must be a mapping like {{params: 5%, macs: 10%}}", node.loc)
    out: Dict[str, Optional[Fraction]] = {}
    for name, value in node.value.items():
        key = _metric(name, node.key_loc(name), where)
        try:
            out[key] = None if value.plain() is None else parse_share(value.plain())
        except OptionError as e:
            raise SpecError(f"`{where}.{name}`: {e.message}", value.loc, e.hint) from None
    return out


def _baseline(node: Node, where: str) -> Baseline:
    if node.kind != "map":
        raise SpecError(f"`{where}` must be a mapping like {{params: 25.6M, peak-memory: 12MiB}}", node.loc)
    totals: Dict[str, int] = {}
    for name, value in node.value.items():
        key = _metric(name, node.key_loc(name), where)
        try:
            totals[key] = parse_quantity(value.plain(), METRICS[key].kind)
        except OptionError as e:
            raise SpecError(f"`{where}.{name}`: {e.message}", value.loc, e.hint) from None
    return Baseline(f"`{where}` at {node.loc}", totals)


def _rule_options(node: Node, where: str) -> Dict[str, Dict[str, Any]]:
    if node.kind != "map":
        raise SpecError(f"`{where}` must map rule codes to options, like {{CNN106: {{factor: 8}}}}", node.loc)
    out: Dict[str, Dict[str, Any]] = {}
    for key, opts in node.value.items():
        found = codes([key], node.key_loc(key), where)[0]
        if found not in REGISTRY:
            raise SpecError(f"`{where}`: options belong to one rule, got '{key}'", node.key_loc(key))
        rule = REGISTRY[found]
        if opts.kind != "map":
            raise SpecError(f"`{where}.{key}` must be a mapping of options", opts.loc)
        for name, value in opts.value.items():
            if name not in rule.options:
                hint = did_you_mean(name, rule.options) or (f"its options: {', '.join(rule.options)}" if rule.options else f"{found} has no options")
                raise SpecError(f"rule {found} has no option '{name}'", opts.key_loc(name), hint=hint)
            kind, v = rule.options[name].kind, value.value
            ok = not isinstance(v, bool) and (isinstance(v, int) if kind == "int" else isinstance(v, (int, float)))
            if not ok or v <= 0:
                raise SpecError(f"option '{name}' of {found} must be a positive {'integer' if kind == 'int' else 'number'}, "
                                f"got {value.plain()!r}", value.loc)
            out.setdefault(found, {})[name] = v
    return out


# -- config files ------------------------------------------------------------------------------------------
def find_config(start: Path) -> Optional[Path]:
    """The nearest `.cnncalc.yaml` (or a pyproject.toml with a [tool.cnncalc] table) in `start` or above."""
    for folder in (start, *start.parents):
        for name in CONFIG_NAMES:
            if (folder / name).is_file():
                return folder / name
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and re.search(r"^\[tool\.cnncalc[.\]]", pyproject.read_text(encoding="utf-8"), re.M):
            return pyproject
    return None


def read_config(path: Path) -> Dict[str, Any]:
    """The validated `lint` section of a config file (YAML, or pyproject.toml's [tool.cnncalc.lint])."""
    from ..spec.source import parse_yaml, read_text

    text = read_text(str(path))
    if path.suffix == ".toml":
        root = _toml_section(text, str(path))
    else:
        root = parse_yaml(text, str(path))
        if root.kind != "map":
            raise SpecError("a config file is a mapping with a `lint:` section", root.loc)
    return section(root.get("lint"), "lint")


def _toml_section(text: str, filename: str) -> Node:
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        import tomli as tomllib
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SpecError(f"TOML syntax: {e}", Location(filename, 1, 1)) from None
    header = re.search(r"^\[tool\.cnncalc[.\]]", text, re.M)
    loc = Location(filename, text.count("\n", 0, header.start()) + 1 if header else 1, 1)  # TOML keeps no positions
    return _as_node(data.get("tool", {}).get("cnncalc", {}), loc)


def _as_node(value: Any, loc: Location) -> Node:
    if isinstance(value, dict):
        return Node("map", {k: _as_node(v, loc) for k, v in value.items()}, loc)
    if isinstance(value, list):
        return Node("seq", [_as_node(v, loc) for v in value], loc)
    return Node("scalar", value, loc)
