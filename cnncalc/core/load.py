"""The one loader: a spec argument (a path, a zoo name, '-' for standard input, or YAML text) → a `Network`.

The Python API (`cnncalc.load`), every command and `compare`'s variants go through `open_spec` and `load`, so the
same spec error reads the same everywhere: a zoo spec is reported at its file's full path, standard input as
`<stdin>`, text given to the API as `<string>`.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

from ..errors import Location, SpecError
from ..importers import format_of
from ..spec import zoo
from ..spec.expand import expand
from ..spec.options import resolve_input
from ..spec.source import MAX_BYTES, parse_yaml, read_text
from .network import Network


@dataclass(frozen=True)
class Source:
    """A spec's text and where it came from: `name` is the file name errors show; a zoo variant presets `vars`
    and gives the network its own name."""

    name: str
    text: str
    vars: Mapping[str, Any] = field(default_factory=dict)
    network_name: Optional[str] = None


def open_spec(arg: Union[str, Path], filename: Optional[str] = None) -> Source:
    """Read a spec argument: '-' (standard input), YAML text, a file, or a zoo name or variant."""
    if isinstance(arg, str) and arg == "-":
        return Source(filename or "<stdin>", read_stdin(filename or "<stdin>"))
    if isinstance(arg, str) and ("\n" in arg or arg.lstrip().startswith("{")):
        return Source(filename or "<string>", arg)
    found = zoo.resolve(str(arg))
    name = filename or (str(arg) if Path(str(arg)) == found.path else str(found.path))
    return Source(name, read_text(str(found.path)), found.vars, found.name)


def read_stdin(name: str) -> str:
    """Standard input as UTF-8 text, at most MAX_BYTES."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:  # a text stream (tests, embedding): already decoded
        return sys.stdin.read(MAX_BYTES + 1)
    data = stream.read(MAX_BYTES + 1)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SpecError(f"spec is not UTF-8 text ({e.reason})", Location(name, 1, 1)) from None


def load(spec: Union[str, Path, Source], vars: Optional[Mapping[str, Any]] = None,
         input: Optional[Sequence[int]] = None, filename: Optional[str] = None) -> Network:
    """Load a spec from a path, a zoo name, YAML text ('-': standard input), or a model file that `cnncalc.importers`
    reads (.onnx, .cfg, .prototxt), and expand it into a `Network`.

    `vars` overrides the spec's variables (like `--set`); `input` its input shape (like `--input`): a full shape,
    or one number that sets every spatial size and keeps the channels.
    """
    shape = None
    if input is not None:  # resolved against the spec's own input during expansion: layers may read it (`in`)
        given = tuple(input)
        shape = partial(resolve_input, given, label=f"input {','.join(map(str, given))}")
    if isinstance(spec, (str, Path)) and "\n" not in str(spec) and format_of(str(spec)):  # an ONNX, Darknet or Caffe file: imported first
        from ..importers import read
        from ..importers.ir import spec_node

        imported = read(str(spec), filename, input=input)  # ONNX with dynamic sizes needs it
        graph = expand(spec_node(imported), imported.source, dict(vars or {}), shape)
        source = Source(imported.source, "")
    else:
        source = spec if isinstance(spec, Source) else open_spec(spec, filename)
        graph = expand(parse_yaml(source.text, source.name), source.name, {**source.vars, **(vars or {})}, shape)
    net = Network.of(graph)
    if source.network_name:
        net = replace(net, name=source.network_name)
    return net
