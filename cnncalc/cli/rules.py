"""`cnncalc rules`: the lint rules, or one rule explained with a failing and a passing spec."""
from __future__ import annotations

import textwrap
from typing import Optional

import click

from .options import Failure


@click.command()
@click.argument("code", required=False, metavar="[CODE]")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown"]), default="text", show_default=True,
              help="markdown: the rules table of the README.")
def rules(code: Optional[str], fmt: str):
    """List every lint rule (code, name, default severity, why), or explain one.

    \b
    Examples:
      cnncalc rules
      cnncalc rules CNN201
      cnncalc rules dropped-pixels
    """
    from ..lint import REGISTRY
    from ..lint.config import codes

    if code is None and fmt == "markdown":
        click.echo(markdown_table(), nl=False)
        return
    if code is None:
        width = max(len(r.name) for r in REGISTRY.values())
        for c in sorted(REGISTRY):
            r = REGISTRY[c]
            click.echo(f"{c}  {r.name:<{width}}  {r.severity.value:<7}  {r.why}")
        return
    found = codes([code], None, "cnncalc rules")[0]
    if found not in REGISTRY:
        raise Failure(f"error: {code} names several rules; `cnncalc rules` lists them", 2)
    click.echo(explain(REGISTRY[found]), nl=False)


def explain(rule) -> str:
    """The rule's documentation page: what, why, options, and the example specs from its docstring."""
    doc = rule.doc
    lines = [f"{rule.code} {rule.name} ({rule.severity.value})", "", *textwrap.wrap(doc.what, 100), "",
             f"Why: {doc.why}"]
    if rule.options:
        lines += ["", "Options (config `rules: {" + rule.code + ": {...}}`):"]
        lines += [f"  {name} = {opt.default!r}: {opt.doc}" for name, opt in rule.options.items()]
    lines += ["", "Fails:", textwrap.indent(doc.bad, "    ").rstrip(), "", "Passes:", textwrap.indent(doc.good, "    ").rstrip()]
    return "\n".join(lines) + "\n"


def markdown_table() -> str:
    """Every rule as a Markdown table row, generated from the registry (the README embeds this output)."""
    from ..lint import REGISTRY

    lines = ["| code | name | severity | reports |", "|---|---|---|---|"]
    lines += [f"| {c} | `{REGISTRY[c].name}` | {REGISTRY[c].severity.value} | {REGISTRY[c].doc.what} |" for c in sorted(REGISTRY)]
    return "\n".join(lines) + "\n"
