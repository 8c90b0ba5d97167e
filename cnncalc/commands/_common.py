"""What subcommands share: spec options (--input, --batch, --set, --dtype), loading, consoles, errors."""
from __future__ import annotations

import functools
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import click

from ..errors import CnncalcError, SpecError


class Failure(click.ClickException):
    """A located error for the user: printed as is (no 'Error:' prefix, no traceback) with its exit code."""

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file=None) -> None:
        click.echo(self.message, err=True)


def parse_set(values: Sequence[str]) -> Dict[str, Any]:
    """`--set k=v` pairs; values are read as YAML scalars (64, 0.5, true, text)."""
    import yaml

    out = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint="--set")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        if isinstance(value, (dict, list)) and not isinstance(value, list):
            raise click.BadParameter(f"value of {key} must be a number, a string or a list", param_hint="--set")
        out[key.strip()] = value
    return out


def parse_shape(text: Optional[str]) -> Optional[Tuple[int, ...]]:
    """`--input 3,160,160` (or 3x160x160)."""
    if text is None:
        return None
    parts = text.replace("x", ",").replace("×", ",").split(",")
    try:
        shape = tuple(int(p) for p in parts if p.strip())
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers like 3,224,224, got {text!r}", param_hint="--input")
    if not shape or any(d < 1 for d in shape):
        raise click.BadParameter(f"expected positive sizes, got {text!r}", param_hint="--input")
    return shape


def spec_options(f=None, *, batch: int = 1):
    """--input, --batch, --set and --dtype, the options of every command that analyses specs.

    `@spec_options`, or `@spec_options(batch=2)` for a command whose batch defaults to another size.
    """
    if f is None:
        return functools.partial(spec_options, batch=batch)
    f = click.option("--dtype", type=click.Choice(["float32", "float16", "bfloat16", "int8"]), default="float32",
                     show_default=True, help="Element type for memory figures.")(f)
    f = click.option("--set", "sets", multiple=True, metavar="NAME=VALUE", help="Override a spec variable (repeatable).")(f)
    f = click.option("--batch", type=click.IntRange(1, 1 << 20), default=batch, show_default=True,
                     help="Batch size (MACs, FLOPs and memory scale with it).")(f)
    f = click.option("--input", "input_shape", metavar="C,H,W", help="Override the spec's input shape (no batch).")(f)
    return f


def read_spec(arg: str):
    """(display name, text, zoo.Found) for a spec argument: '-' for stdin, a file, or a zoo name or variant."""
    from ..source import MAX_BYTES, read_text
    from .. import zoo

    if arg == "-":
        text = sys.stdin.read(MAX_BYTES + 1)
        return "<stdin>", text, zoo.Found(Path("-"), {})
    found = zoo.resolve(arg)
    return (arg if str(found.path) == arg else str(found.path)), read_text(str(found.path)), found


def load_network(arg: str, sets: Sequence[str] = (), input_shape: Optional[str] = None,
                 overrides: Optional[Dict[str, Any]] = None):
    """Read, parse and expand one spec argument with the command line's overrides."""
    from ..expand import expand
    from ..source import parse_yaml

    name, text, found = read_spec(arg)
    values = {**found.vars, **parse_set(sets), **(overrides or {})}
    net = expand(parse_yaml(text, name), name, values)
    net = replace(net, name=found.name) if found.name else net
    shape = parse_shape(input_shape)
    return net.with_input(shape) if shape else net


def reports_errors(f):
    """Turn cnncalc's errors into located messages and exit codes; never a traceback for bad input."""
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        try:
            return f(*args, **kwargs)
        except CnncalcError as e:
            raise Failure(e.format() if isinstance(e, SpecError) else f"error: {e}", e.exit_code) from None
    return wrapper


def console(stderr: bool = False):
    """A rich console: colour only on a terminal, never with NO_COLOR; wide when writing to a file or pipe."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    terminal = stream.isatty()
    return Console(file=stream, no_color=bool(os.environ.get("NO_COLOR")) or not terminal,
                   highlight=False, width=None if terminal else 140, soft_wrap=False,
                   color_system="auto" if terminal else None)
