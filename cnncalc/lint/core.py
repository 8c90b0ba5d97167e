"""The lint machinery: severities, findings, the `Rule` protocol, the registry, and the run over one analysis.

A rule is a small class carrying its metadata (code, name, default severity, options); its docstring, in a
fixed template, *is* its documentation (`cnncalc rules CODE`):

    One paragraph: what it reports.

    Why: one line, the rationale (shown under every finding).

    Bad:
        a spec that triggers the rule
    Good:
        the same spec fixed

Rules read the `Analysis` and yield `Finding`s; they never print and never change shared settings.
"""
from __future__ import annotations

import enum
import inspect
import re
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Dict, Iterable, List, Optional, Sequence, Tuple

from ..errors import Location
from ..spec.graph import INPUT


class Severity(enum.Enum):
    """How much a finding matters: errors fail the check, warnings fail it under --strict, infos never do."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "info": 2}[self.value]


@dataclass(frozen=True)
class Finding:
    """One thing a rule found, pointing at a place in a spec."""

    code: str
    severity: Severity
    message: str
    loc: Optional[Location]
    layer: Optional[str] = None  # the row name of the layer, when the finding is about one
    fix: Optional[str] = None  # a concrete change and its computed effect
    also: Tuple[str, ...] = ()  # other layers built from the same spec line with the same finding
    ignored: frozenset = field(default=frozenset(), compare=False, repr=False)  # `lint-ignore:` of its layer

    @property
    def rule(self) -> "Rule":
        return REGISTRY[self.code]

    @property
    def why(self) -> str:
        return self.rule.why


@dataclass(frozen=True)
class Option:
    """A rule option: default value, kind ('int' or 'number', both > 0) and a one-line doc."""

    default: Any
    kind: str
    doc: str


@dataclass(frozen=True)
class Doc:
    """A rule's documentation, parsed once from its docstring."""

    what: str
    why: str
    bad: str
    good: str


_SECTION = re.compile(r"^(Why|Bad|Good):[ \t]*", re.M)


def parse_doc(cls: type) -> Doc:
    text = inspect.cleandoc(cls.__doc__ or "")
    parts = _SECTION.split(text)  # [what, 'Why', why, 'Bad', bad, 'Good', good]
    sections = dict(zip(parts[1::2], parts[2::2]))
    if set(sections) != {"Why", "Bad", "Good"}:
        raise AssertionError(f"{cls.__name__}: the docstring needs Why:, Bad: and Good: sections")  # pragma: no cover
    block = lambda s: inspect.cleandoc(s).rstrip() + "\n"  # noqa: E731  (an indented spec)
    return Doc(" ".join(parts[0].split()), " ".join(sections["Why"].split()), block(sections["Bad"]), block(sections["Good"]))


class Rule:
    """Base of every lint rule: subclasses set the metadata and implement `check`."""

    code: ClassVar[str] = ""
    name: ClassVar[str] = ""
    severity: ClassVar[Severity] = Severity.WARNING
    options: ClassVar[Dict[str, Option]] = {}
    always: ClassVar[bool] = False  # reported even when not selected or ignored (a network that cannot be built)
    doc: ClassVar[Doc]

    @property
    def why(self) -> str:
        return self.doc.why

    def check(self, ctx: "Context", opts: Dict[str, Any]) -> Iterable[Finding]:
        raise NotImplementedError

    def finding(self, info, message: str, fix: Optional[str] = None, loc: Optional[Location] = None) -> Finding:
        """A finding about a layer (`info`, a LayerInfo) or, with info None, about the spec at `loc`."""
        node = info.node if info is not None else None
        return Finding(self.code, self.severity, message, loc or (node.loc if node else None),
                       node.name if node else None, fix, ignored=node.ignore if node else frozenset())

    def __repr__(self) -> str:
        return f"<rule {self.code} {self.name} ({self.severity.value})>"


REGISTRY: Dict[str, Rule] = {}
_CODE = re.compile(r"^CNN\d{3}$")


def register(cls: type) -> type:
    """Add a rule class to the registry (one instance; rules hold no state)."""
    assert _CODE.match(cls.code) and cls.code not in REGISTRY, cls.code
    assert cls.name and all(r.name != cls.name for r in REGISTRY.values()), cls.name
    cls.doc = parse_doc(cls)
    REGISTRY[cls.code] = cls()
    return cls


def matches(code: str, patterns: Iterable[str]) -> bool:
    """Whether a rule is chosen by codes, prefixes (`CNN1`: every CNN1xx rule), names (`dropped-pixels`) or `ALL`."""
    return any(p == "ALL" or code.startswith(p) or p.lower() == REGISTRY[code].name for p in patterns)


class Context:
    """What rules read: the analysis, its network, and the graph around each layer (from the network's schedule)."""

    def __init__(self, analysis, settings):
        self.analysis = analysis
        self.settings = settings
        self.net = analysis.network
        self.layers = analysis.layers  # LayerInfo per node index, up to a failing layer

    def producer(self, info, k: int = 0):
        """The LayerInfo feeding input k of a layer, or None for the network input."""
        j = info.node.inputs[k]
        return None if j == INPUT else self.layers[j]

    def readers(self, info) -> List[Any]:
        """The analysed layers that read a layer's output, in order."""
        return [self.layers[i] for i in self.net.schedule.readers_of(info.index) if i < len(self.layers)]


def run(analysis, settings) -> List[Finding]:
    """Every selected rule over one analysis: findings not ignored, repeated ones folded, in spec order."""
    ctx = Context(analysis, settings)
    found: List[Finding] = []
    for code, rule in REGISTRY.items():
        if not (rule.always or settings.selects(code)):
            continue
        for f in rule.check(ctx, settings.rule_options(code)):
            if not matches(f.code, f.ignored):
                found.append(f)
    return sorted(fold(found), key=lambda f: (f.loc.line if f.loc else 0, f.loc.col if f.loc else 0, f.code))


def fold(findings: Sequence[Finding]) -> List[Finding]:
    """A block or repeat used many times yields one finding per copy at the same spec line: keep the first.

    The other copies' layer names are kept in `also`, so the count is visible but the output stays short.
    """
    first: Dict[Tuple, int] = {}
    out: List[Finding] = []
    for f in findings:
        key = (f.code, f.loc)
        if f.loc is None or key not in first:
            first[key] = len(out)
            out.append(f)
        else:
            k = first[key]
            out[k] = replace(out[k], also=out[k].also + ((f.layer,) if f.layer else ()))
    return out
