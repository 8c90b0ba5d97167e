"""Output formats for lint findings: text, json, github (workflow commands) and sarif (2.1.0).

Every emitter takes the same list of findings (and github and sarif the specs that could not be read) and returns a
string; none of them knows about any rule. GitHub's escaping is @actions/core's (actions/toolkit,
packages/core/src/command.ts); SARIF follows the OASIS 2.1.0 schema, which the tests validate against.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple
from urllib.parse import quote

from ..errors import Location, SpecError
from .core import REGISTRY, Finding, Severity

JSON_FIELDS = ("code", "name", "severity", "file", "line", "col", "layer", "message", "why", "fix", "also")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/cnncalc/cnncalc"
# A spec that cannot be read is reported under this id (not a lint rule: it cannot be selected or ignored)
UNREADABLE_ID, UNREADABLE_NAME = "CNN000", "unreadable-spec"
UNREADABLE_ANCHOR = "cnn000-unreadable-spec"
Failures = Sequence[Tuple[str, SpecError]]  # (the spec argument, why it could not be read)


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


def failure_dict(spec: str, e: SpecError) -> Dict:
    """A spec that could not be read, as a JSON finding `CNN000 unreadable-spec` (the code SARIF gives it)."""
    loc = _failure_where(spec, e)
    return {"code": UNREADABLE_ID, "name": UNREADABLE_NAME, "severity": "error",
            "file": loc.file if loc else spec, "line": loc.line if loc else None, "col": loc.col if loc else None,
            "layer": None, "message": e.message, "why": "the spec could not be read, so no rule checked it",
            "fix": e.hint, "also": []}


def json_list(findings: Sequence[Finding], failures: Failures = ()) -> str:
    """The findings as a JSON list, each spec that could not be read first (so a broken spec is never `[]`)."""
    return json.dumps([*(failure_dict(spec, e) for spec, e in failures), *(as_dict(f) for f in findings)],
                      indent=2, ensure_ascii=False) + "\n"


def escape_data(s: str) -> str:
    """A workflow command's message, escaped as GitHub's @actions/core `escapeData` does."""
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(s: str) -> str:
    """A workflow command's property value, escaped as @actions/core `escapeProperty` does (also ':' and ',')."""
    return escape_data(s).replace(":", "%3A").replace(",", "%2C")


def command(name: str, props: Sequence[Tuple[str, object]], message: str) -> str:
    """One workflow command line, `::name key=value,...::message`; empty properties are left out, as @actions/core
    leaves them out."""
    given = ",".join(f"{k}={escape_property(str(v))}" for k, v in props if v not in (None, ""))
    return f"::{name}{' ' + given if given else ''}::{escape_data(message)}"


def _failure_where(spec: str, e: SpecError) -> Optional[Location]:
    """Where an unreadable spec is reported: its error's location, else the file itself (line 1) when it is one."""
    if e.loc is not None:
        return e.loc
    return Location(spec, 1, 1) if spec != "-" and Path(spec).is_file() else None


def github(findings: Sequence[Finding], failures: Failures = ()) -> str:
    """GitHub Actions workflow commands: each finding becomes an annotation on its spec line, and each spec that
    could not be read an `::error` (so a broken spec is never a silent pass)."""
    kind = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
    lines = []
    for spec, e in failures:
        loc = _failure_where(spec, e)
        props = [("file", loc.file), ("line", loc.line), ("col", loc.col)] if loc else []
        lines.append(command("error", props + [("title", f"{UNREADABLE_ID} {UNREADABLE_NAME}")],
                             f"{spec}: {e.message}" + (f"\nhint: {e.hint}" if e.hint else "")))
    for f in findings:
        props = [("file", f.loc.file), ("line", f.loc.line), ("col", f.loc.col)] if f.loc else []
        body = _subject(f) + f"\nwhy: {f.why}" + (f"\nfix: {f.fix}" if f.fix else "")
        lines.append(command(kind[f.severity], props + [("title", f"{f.code} {f.rule.name}")], body))
    return "".join(line + "\n" for line in lines)


# -- SARIF 2.1.0 ------------------------------------------------------------------------------------------------
SRCROOT = "SRCROOT"  # originalUriBaseIds: the working directory; spec paths under it are relative to it
FILESYSTEM = "FILESYSTEM"  # ... and the file system's root, for specs elsewhere (a zoo spec inside the package)
PSEUDO_FILES = {"<stdin>": "standard input", "<string>": "text given to the Python API"}


def help_uri(code: str) -> str:
    """The rule's documentation page (docs/rules.md at this version's tag), at the rule's own heading."""
    from .. import __version__

    anchor = f"{code}-{REGISTRY[code].name}".lower() if code in REGISTRY else UNREADABLE_ANCHOR
    return f"{INFORMATION_URI}/blob/v{__version__}/docs/rules.md#{anchor}"


class _Artifacts:
    """SARIF artifact locations: a percent-encoded URI relative to a stated base, or for standard input an entry
    of `run.artifacts` with a description (standard input has no URI)."""

    def __init__(self) -> None:
        self.cwd = Path.cwd().resolve()
        self.pseudo: Dict[str, int] = {}
        self.artifacts: List[Dict] = []

    def location(self, file: str) -> Dict:
        if file in PSEUDO_FILES:
            if file not in self.pseudo:
                self.pseudo[file] = len(self.artifacts)
                self.artifacts.append({"location": {"description": {"text": PSEUDO_FILES[file]}},
                                       "roles": ["analysisTarget", "standardStream"] if file == "<stdin>"
                                       else ["analysisTarget"]})
            return {"index": self.pseudo[file], "description": {"text": PSEUDO_FILES[file]}}
        path = Path(file)
        try:
            path = path.resolve()
        except OSError:  # pragma: no cover - an unresolvable path
            path = Path(os.path.abspath(file))
        try:
            return {"uri": uri_reference(path.relative_to(self.cwd).as_posix()), "uriBaseId": SRCROOT}
        except ValueError:
            return {"uri": uri_reference(path.as_posix().lstrip("/")), "uriBaseId": FILESYSTEM}

    def bases(self) -> Dict[str, Dict]:
        return {SRCROOT: {"uri": self.cwd.as_uri().rstrip("/") + "/",
                          "description": {"text": "the working directory cnncalc ran in"}},
                FILESYSTEM: {"uri": "file:///", "description": {"text": "the file system's root"}}}


def uri_reference(posix_path: str) -> str:
    """A relative path as an RFC 3986 relative reference: every byte but unreserved characters and '/'
    percent-encoded (a space, '%', ',' or ':' would make it invalid or read as a scheme)."""
    return quote(posix_path, safe="/")


def _physical(artifacts: _Artifacts, loc: Location, region: bool = True) -> Dict:
    out: Dict = {"artifactLocation": artifacts.location(loc.file)}
    if region:
        out["region"] = {"startLine": loc.line, "startColumn": loc.col}
    return {"physicalLocation": out}


def sarif(findings: Sequence[Finding], failures: Failures = ()) -> str:
    """A SARIF 2.1.0 log with one run. The rules list is the whole registry (so results index into it) and, last,
    the unreadable-spec descriptor: a spec that cannot be read is an error-level result at its file and a tool
    execution notification, never an empty (clean) log."""
    from .. import __version__

    level = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
    codes = sorted(REGISTRY)
    rules = [{"id": code, "name": REGISTRY[code].name,
              "shortDescription": {"text": REGISTRY[code].doc.what},
              "fullDescription": {"text": REGISTRY[code].why},
              "help": {"text": f"{REGISTRY[code].doc.what}\nWhy: {REGISTRY[code].why}\n"
                               f"`cnncalc rules {code}` shows examples."},
              "helpUri": help_uri(code),
              "defaultConfiguration": {"level": level[REGISTRY[code].severity]}} for code in codes]
    rules.append({"id": UNREADABLE_ID, "name": UNREADABLE_NAME,
                  "shortDescription": {"text": "A spec that cannot be read, parsed or expanded into a network."},
                  "fullDescription": {"text": "Nothing in it was checked; fix the error first."},
                  "help": {"text": "The message gives the file, line and column of the problem and a hint."},
                  "helpUri": help_uri(UNREADABLE_ID), "defaultConfiguration": {"level": "error"}})
    artifacts = _Artifacts()
    results, notifications = [], []
    for spec, e in failures:
        loc = _failure_where(spec, e)
        text = f"{spec}: {e.message}" + (f"\nhint: {e.hint}" if e.hint else "")
        if loc is not None:
            where = [_physical(artifacts, loc)]
        elif spec == "-":
            where = [_physical(artifacts, Location("<stdin>", 1, 1), region=False)]
        else:
            where = []  # no such file: the message says which argument
        results.append({"ruleId": UNREADABLE_ID, "ruleIndex": len(rules) - 1, "level": "error",
                        "message": {"text": text}, **({"locations": where} if where else {})})
        notifications.append({"level": "error", "message": {"text": text}, **({"locations": where} if where else {})})
    for f in findings:
        result = {"ruleId": f.code, "ruleIndex": codes.index(f.code), "level": level[f.severity],
                  "message": {"text": _subject(f) + (f"\nfix: {f.fix}" if f.fix else "")}}
        if f.loc:
            result["locations"] = [_physical(artifacts, f.loc)]
        results.append(result)
    run: Dict = {"tool": {"driver": {"name": "cnncalc", "version": __version__, "semanticVersion": __version__,
                                     "informationUri": INFORMATION_URI, "rules": rules}},
                 "invocations": [{"executionSuccessful": not failures,
                                  **({"toolExecutionNotifications": notifications} if notifications else {})}],
                 "originalUriBaseIds": artifacts.bases()}
    if artifacts.artifacts:
        run["artifacts"] = artifacts.artifacts
    run["results"] = results
    log = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


FORMATS: Dict[str, Callable[..., str]] = {"text": text, "json": json_list, "github": github, "sarif": sarif}
