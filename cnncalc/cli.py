"""The `cnncalc` command: a click group whose subcommands load lazily, so start-up imports only what runs."""
from __future__ import annotations

import importlib

import click

from . import __version__

# name → (module, function, one-line help). Each command lives in its own module under cnncalc.commands.
COMMANDS = {
    "summary": ("cnncalc.commands.summary", "summary", "Every layer's shape, params, MACs, FLOPs and receptive field."),
    "compare": ("cnncalc.commands.compare", "compare", "Compare specs or variants side by side, by stage, or over a sweep."),
    "diagram": ("cnncalc.commands.diagram", "diagram", "Draw the network as a Mermaid, DOT or SVG graph."),
    "kernels": ("cnncalc.commands.kernels", "kernels", "One F×F conv against the alternatives with the same receptive field."),
    "schema": ("cnncalc.commands.schema", "schema", "Print the JSON Schema of the spec language."),
    "export": ("cnncalc.commands.export", "export", "Write a spec as a runnable PyTorch module (needs torch)."),
    "zoo": ("cnncalc.commands.zoo", "zoo", "List the bundled networks with their params, MACs and source."),
    "lint": ("cnncalc.commands.lint", "lint", "Check specs against design rules and budgets (for CI)."),
    "rules": ("cnncalc.commands.rules", "rules", "List the lint rules, or explain one with examples."),
    "verify": ("cnncalc.commands.verify", "verify", "Run the network in NumPy; check every shape and count."),
}


class LazyGroup(click.Group):
    """Imports a subcommand's module only when that subcommand runs (or its help is shown)."""

    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[name]
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx, formatter):
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="cnncalc")
def cli():
    """What a CNN costs, exactly: shapes, parameters, MACs, FLOPs, memory and receptive fields from a YAML spec.

    \b
    Example:
      cnncalc summary resnet50
      cnncalc summary net.yaml --set width=32 --input 3,160,160 --format json
    """


def main():  # the console script
    cli(prog_name="cnncalc")
