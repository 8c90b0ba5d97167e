"""`cnncalc lint`: design rules and budgets checked on an `Analysis`, reported with spec locations.

    from cnncalc import load
    from cnncalc.lint import Settings, lint
    findings = lint(load("specs/vgg16.yaml").analyze(), Settings(budgets={"params": 25_000_000}))

Rules live in `rules` (design: `rules.shape` CNN1xx, `rules.cost` CNN2xx) and `budgets` (limits, CNN3xx), the
registry and finding types in `core`, settings and the budget table in `config`, and the output formats in `emit`.
"""
from __future__ import annotations

from typing import List

from . import rules, budgets, baseline, train_budgets  # noqa: F401  (registration)
from .config import Settings, codes, section
from .core import REGISTRY, Finding, Rule, Severity, run

__all__ = ["REGISTRY", "Finding", "Rule", "Settings", "Severity", "lint", "settings_for"]


def settings_for(network, base: Settings) -> Settings:
    """`base` overridden by the spec's own `lint:` section; that section and every `lint-ignore:` are validated
    here, so a typo is an error pointing into the spec rather than a silently ignored rule."""
    checked = set()
    for node in network.nodes:
        if node.ignore and (node.ignore, node.loc) not in checked:
            checked.add((node.ignore, node.loc))
            codes(sorted(node.ignore), node.loc, "lint-ignore")
    return base.merged(section(network.lint, "lint"))


def lint(analysis, settings: Settings = Settings()) -> List[Finding]:
    """The findings of every selected rule on one analysis, with the spec's `lint:` section applied."""
    return run(analysis, settings_for(analysis.network, settings))
