"""The `cnncalc` command: a click group whose subcommands load lazily, so start-up imports only what runs.

Errors are handled here, once, for every command: a cnncalc error (bad spec, bad option, failed shape) prints its
located message and exits with its code (2 for bad input, 1 for a failed check); an option's bad value reads like
click's own; anything else is a bug in cnncalc and says so, with the traceback to report, exit 70.
"""
from __future__ import annotations

import functools
import importlib
import keyword
import sys
import traceback

import click

from .. import __version__
from ..errors import INTERNAL_EXIT, CnncalcError, InternalError, OptionError

# name → (module, function, one-line help). Each command lives in its own module under cnncalc.cli.
COMMANDS = {
    "summary": ("summary", "Every layer's shape, params, MACs, FLOPs and receptive field."),
    "compare": ("compare", "Compare specs or variants side by side, by stage, or over a sweep."),
    "diff": ("diff", "What changed between two networks: layers, stages, costs (for pull requests)."),
    "diagram": ("diagram", "Draw the network as a Mermaid, DOT or SVG graph."),
    "kernels": ("kernels", "One F×F conv against the alternatives with the same receptive field."),
    "schema": ("schema", "Print the JSON Schema of the spec language."),
    "export": ("export", "Write a spec as a runnable PyTorch module (needs torch)."),
    "zoo": ("zoo", "List the bundled networks with their params, MACs and source."),
    "lint": ("lint", "Check specs against design rules and budgets (for CI)."),
    "rules": ("rules", "List the lint rules, or explain one with examples."),
    "verify": ("verify", "Run the network in NumPy; check every shape and count."),
    "calibrate": ("calibrate", "Measure this machine's FLOP/s and bandwidth as a --device profile."),
    "import": ("import_", "Write an editable spec for an ONNX, Darknet or Caffe model file."),
    "report": ("report", "Write an interactive, self-contained HTML report of one or more specs."),
    "train": ("train", "What a training step costs: backward FLOPs, saved bytes, peak memory, --fit."),
    "explain": ("explain", "Why another tool's FLOPs or params differ from cnncalc's, rule by rule."),
}
ISSUES = "https://github.com/cnncalc/cnncalc/issues"


class LazyGroup(click.Group):
    """Imports a subcommand's module only when that subcommand runs (or its help is shown)."""

    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module = name + "_" if keyword.iskeyword(name) else name  # `import` lives in import_.py
        command = getattr(importlib.import_module(f"{__name__}.{module}"), COMMANDS[name][0])
        if not getattr(command.callback, "reported", False):
            command.callback = reported(command.callback)
        return command

    def format_commands(self, ctx, formatter):
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def reported(callback):
    """A command's callback with cnncalc's errors turned into messages and exit codes (see the module docstring)."""
    @functools.wraps(callback)
    def run(*args, **kwargs):
        try:
            return callback(*args, **kwargs)
        except OptionError as e:
            if e.option is None:
                raise _failure(e.format(), e.exit_code) from None
            # click adds the command's usage line and names the flag; a caret under the whole value adds nothing
            raise click.BadParameter(e.explained(whole_caret=False), param_hint=e.option) from None
        except CnncalcError as e:
            raise _failure(e.format(), e.exit_code) from None
        except (click.exceptions.Exit, click.ClickException, click.Abort, KeyboardInterrupt, BrokenPipeError):
            raise
        except Exception as e:  # noqa: BLE001  (a bug: say so, never pass it off as the user's mistake)
            detail = "".join(traceback.format_exception(e))
            what = f"{e}" if isinstance(e, InternalError) else f"{type(e).__name__}: {e}"
            click.echo(f"{detail}\ninternal error: {what}\n  this is a bug in cnncalc {__version__}, not in your "
                       f"input; please report it with the command and spec at {ISSUES}", err=True)
            sys.exit(INTERNAL_EXIT)

    run.reported = True
    return run


def _failure(message: str, exit_code: int):
    from .options import Failure

    return Failure(message, exit_code)


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
