"""What subcommands share: the spec options (--input, --batch, --set, --dtype), loading, consoles, failures.

Errors are not handled here: the `cnncalc` group (cnncalc.cli) turns every cnncalc error into its message and exit
code in one place, so a command only raises.
"""
from __future__ import annotations

import functools
import os
import sys
from typing import Any, Dict, Optional, Sequence

import click


class Failure(click.ClickException):
    """A message for the user printed as is (no 'Error:' prefix, no traceback) with its exit code."""

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file=None) -> None:
        click.echo(self.message, err=True)


def spec_options(f=None, *, batch: int = 1, dtypes: Optional[Sequence[str]] = None):
    """--input, --batch, --set and --dtype, the options of every command that analyses specs.

    `@spec_options`, or `@spec_options(batch=2)` for a command whose batch defaults to another size;
    `dtypes` narrows --dtype's choices to what a command can do (verify computes in two of them).
    """
    if f is None:
        return functools.partial(spec_options, batch=batch, dtypes=dtypes)
    from ..core.analysis import DTYPE_BYTES, MAX_BATCH

    f = click.option("--dtype", type=click.Choice(list(dtypes or DTYPE_BYTES)), default="float32", show_default=True,
                     help="Element type for memory figures." if dtypes is None else "Element type to compute in.")(f)
    f = click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
                     help="Override a spec variable (repeatable).")(f)
    f = click.option("--batch", type=click.IntRange(1, MAX_BATCH), default=batch, show_default=True,
                     help="Batch size (MACs, FLOPs and memory scale with it).")(f)
    f = click.option("--input", "input_shape", metavar="C,H,W|SIZE",
                     help="Override the spec's input shape (no batch); one number sets every spatial size.")(f)
    return f


def load_network(arg: str, sets: Sequence[str] = (), input_shape: Optional[str] = None,
                 overrides: Optional[Dict[str, Any]] = None):
    """One spec argument with the command line's overrides, through the one loader (`cnncalc.core.load`)."""
    from ..core.load import load
    from ..spec.options import parse_sets, parse_shape

    values = {**parse_sets(sets), **(overrides or {})}
    shape = parse_shape(input_shape, option="--input") if input_shape is not None else None
    return load(arg, vars=values, input=shape)


def console(stderr: bool = False, width: Optional[int] = None):
    """A rich console: colour only on a terminal, never with NO_COLOR; wide when writing to a file or pipe (or
    `width` columns wide when given)."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    terminal = stream.isatty()
    return Console(file=stream, no_color=bool(os.environ.get("NO_COLOR")) or not terminal,
                   highlight=False, width=width or (None if terminal else 140), soft_wrap=False,
                   color_system="auto" if terminal else None)


class ByteSize(click.ParamType):
    """A memory size, read as lint's budgets are: 2GiB, 512MiB (powers of 1024), 100MB (powers of 1000), 4096."""

    name = "size"

    def convert(self, value, param, ctx):
        from ..spec.options import parse_quantity

        if isinstance(value, int):
            return value
        try:
            return parse_quantity(value, "bytes")
        except ValueError as e:
            self.fail(e.message if hasattr(e, "message") else str(e), param, ctx)
