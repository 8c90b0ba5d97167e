"""Output formats for lint findings: text, json, github (workflow commands) and sarif (2.1.0).

Every emitter takes the same list of findings and returns a string; none of them knows about any rule.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Dict, List, Sequence

from .core import REGISTRY, Finding, Severity

JSON_FIELDS = ("code", "name", "severity", "file", "line", "col", "layer", "message", "why", "fix", "also")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _where(f: Finding) -> str:
    return f"{f.loc}: " if f.loc else ""


def _subject(f: Finding) -> str:
    """The message with the layer it is about, and how many other copies of that spec line share it."""
    also = f" (and {len(f.also)} more layer{'s' if len(f.also) != 1 else ''} from this line)" if f.also else ""
    return f"{f.layer}: {f.message}{also}" if f.layer else f"{f.message}{also}"


def text(findings: Sequence[Finding], color: bool = False) -> str:
    """`FILE:LINE:COL: CODE severity: layer: message`, then the why and the fix, indented."""
    import click

    colours = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
    lines = []
    for f in findings:
        sev = click.style(f.severity.value, fg=colours[f.severity], bold=True) if color else f.severity.value
        code = click.style(f.code, bold=True) if color else f.code
        lines.append(f"{_where(f)}{code} {sev}: {_subject(f)}")
        lines.append(f"  why: {f.why}")
        if f.fix:
            lines.append(f"  fix: {f.fix}")
    return "".join(line + "\n" for line in lines)


def summary(findings: Sequence[Finding], specs: int, unread: int = 0) -> str:
    """'3 findings (1 error, 2 infos) in 2 specs' for the end of a text report; `unread` specs (of `specs`) failed to
    load and count as failures: '1 finding (1 info) in 1 spec; 1 spec failed to load', 'no spec checked: …'."""
    checked = specs - unread
    failed = f"{unread} spec{'s' if unread != 1 else ''} failed to load"
    if unread and not checked:
        return f"no spec checked: {failed}"
    counts = {s: sum(1 for f in findings if f.severity is s) for s in Severity}
    parts = [f"{n} {s.value}{'s' if n != 1 else ''}" for s, n in counts.items() if n]
    total = len(findings)
    head = f"{total} finding{'s' if total != 1 else ''}" + (f" ({', '.join(parts)})" if parts else "")
    return f"{head} in {checked} spec{'s' if checked != 1 else ''}" + (f"; {failed}" if unread else "")


def as_dict(f: Finding) -> Dict:
    """One finding as the documented JSON object (fields only ever added)."""
    return {"code": f.code, "name": f.rule.name, "severity": f.severity.value,
            "file": f.loc.file if f.loc else None, "line": f.loc.line if f.loc else None,
            "col": f.loc.col if f.loc else None, "layer": f.layer, "message": f.message, "why": f.why,
            "fix": f.fix, "also": list(f.also)}


def json_list(findings: Sequence[Finding]) -> str:
    return json.dumps([as_dict(f) for f in findings], indent=2, ensure_ascii=False) + "\n"


def _escape_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(s: str) -> str:
    return _escape_data(s).replace(":", "%3A").replace(",", "%2C")


def github(findings: Sequence[Finding]) -> str:
    """GitHub Actions workflow commands: each finding becomes an annotation on its spec line."""
    command = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
    lines = []
    for f in findings:
        props = [f"file={_escape_property(f.loc.file)}", f"line={f.loc.line}", f"col={f.loc.col}"] if f.loc else []
        props.append(f"title={_escape_property(f'{f.code} {f.rule.name}')}")
        body = _subject(f) + f"\nwhy: {f.why}" + (f"\nfix: {f.fix}" if f.fix else "")
        lines.append(f"::{command[f.severity]} {','.join(props)}::{_escape_data(body)}")
    return "".join(line + "\n" for line in lines)


def _uri(file: str) -> str:
    """A spec path as SARIF wants it: relative to the working directory with '/' where possible, else a file URI."""
    path = Path(file)
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.resolve().as_uri()
    except OSError:  # pragma: no cover - an unresolvable path
        return file


def sarif(findings: Sequence[Finding]) -> str:
    """A SARIF 2.1.0 log with one run; the rules list is the whole registry, so results index into it."""
    from .. import __version__

    level = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
    codes = sorted(REGISTRY)
    rules = [{"id": code, "name": REGISTRY[code].name,
              "shortDescription": {"text": REGISTRY[code].doc.what},
              "fullDescription": {"text": REGISTRY[code].why},
              "help": {"text": f"{REGISTRY[code].doc.what}\nWhy: {REGISTRY[code].why}\n`cnncalc rules {code}` shows examples."},
              "defaultConfiguration": {"level": level[REGISTRY[code].severity]}} for code in codes]
    results = []
    for f in findings:
        result = {"ruleId": f.code, "ruleIndex": codes.index(f.code), "level": level[f.severity],
                  "message": {"text": _subject(f) + (f"\nfix: {f.fix}" if f.fix else "")}}
        if f.loc:
            result["locations"] = [{"physicalLocation": {
                "artifactLocation": {"uri": _uri(f.loc.file)},
                "region": {"startLine": f.loc.line, "startColumn": f.loc.col}}}]
        results.append(result)
    log = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [{
        "tool": {"driver": {"name": "cnncalc", "version": __version__, "rules": rules}},
        "results": results}]}
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


FORMATS: Dict[str, Callable[[List[Finding]], str]] = {"text": text, "json": json_list, "github": github, "sarif": sarif}
