"""Protocol Buffers text format (Caffe's `.prototxt`) → nested messages with locations; bounded, no protobuf needed.

A message is a list of (field, value, location) in file order (fields repeat); a value is a number, a string, an
identifier (an enum or a bool) or a nested message. Enough of the format for network definitions: `name: value`,
`name { … }` or `name: { … }` (or `< … >`), `#` comments, quoted strings with escapes, adjacent strings joined.
"""
from __future__ import annotations

import re
from typing import Any, List, Tuple

from ..errors import Location, SpecError

MAX_BYTES = 16 * 1024 * 1024  # deploy files of the largest Caffe networks are < 1 MiB (no weights inside)
MAX_DEPTH = 32
MAX_FIELDS = 1_000_000

Message = List[Tuple[str, Any, Location]]
_TOKEN = re.compile(r"""
    (?P<space>[ \t\r\f\v]+|\#[^\n]*) | (?P<newline>\n)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<number>[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)[fF]?(?![A-Za-z_])|[-+]?(?:inf|nan)\b)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_.]*) | (?P<punct>[{}<>:;,\[\]])
""", re.X)
_CLOSE = {"{": "}", "<": ">"}


def parse(text: str, filename: str) -> Message:
    """The whole file as one message."""
    if len(text) > MAX_BYTES:
        raise SpecError(f"prototxt is larger than {MAX_BYTES:,} bytes", Location(filename, 1, 1))
    tokens = list(_tokens(text, filename))
    msg, at = _message(tokens, 0, None, filename, 0)
    return msg


def _tokens(text: str, filename: str):
    line, start, pos = 1, 0, 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise SpecError(f"prototxt syntax: unexpected {text[pos]!r}", Location(filename, line, pos - start + 1))
        kind = m.lastgroup
        if kind == "newline":
            line, start = line + 1, m.end()
        elif kind != "space":
            yield kind, m.group(), Location(filename, line, pos - start + 1)
        pos = m.end()
    yield "end", "", Location(filename, line, pos - start + 1)


def _message(tokens, at: int, close, filename: str, depth: int) -> Tuple[Message, int]:
    if depth > MAX_DEPTH:
        raise SpecError(f"prototxt nested deeper than {MAX_DEPTH} levels", tokens[at][2])
    msg: Message = []
    while True:
        kind, text, loc = tokens[at]
        if kind == "end":
            if close is not None:
                raise SpecError(f"prototxt syntax: the file ends before this message's closing '{close}'", loc)
            return msg, at
        if kind == "punct" and text == close:
            return msg, at + 1
        if kind == "punct" and text in ";,":
            at += 1
            continue
        if kind != "ident":
            raise SpecError(f"prototxt syntax: expected a field name, got {text!r}", loc)
        at += 1
        colon = tokens[at][1] == ":" and tokens[at][0] == "punct"
        if colon:
            at += 1
        kind, value_text, value_loc = tokens[at]
        if kind == "punct" and value_text in _CLOSE:
            value, at = _message(tokens, at + 1, _CLOSE[value_text], filename, depth + 1)
        elif not colon:
            raise SpecError(f"prototxt syntax: expected ':' or '{{' after '{text}'", value_loc)
        elif kind == "punct" and value_text == "[":
            raise SpecError("prototxt syntax: list values [..] are not supported; repeat the field", value_loc)
        elif kind in ("number", "ident"):
            value, at = _scalar(kind, value_text), at + 1
        elif kind == "string":
            value, at = "", at
            while tokens[at][0] == "string":  # adjacent strings are one value
                value += _unquote(tokens[at][1], tokens[at][2])
                at += 1
        else:
            raise SpecError(f"prototxt syntax: expected a value for '{text}', got {value_text or 'the end of the file'!r}", value_loc)
        msg.append((text, value, loc))
        if len(msg) > MAX_FIELDS:
            raise SpecError(f"prototxt message has more than {MAX_FIELDS:,} fields", loc)


def _scalar(kind: str, text: str):
    if kind == "ident":
        return {"true": True, "false": False, "True": True, "False": False}.get(text, text)
    body = text.rstrip("fF") if not text.lower().endswith(("inf", "nan")) else text
    try:
        return int(body)
    except ValueError:
        return float(body)


def _unquote(text: str, loc: Location) -> str:
    body = text[1:-1]
    try:
        return body.encode("latin-1", "backslashreplace").decode("unicode_escape")
    except UnicodeDecodeError:
        raise SpecError("prototxt syntax: a bad escape in this string", loc) from None


def fields(msg: Message, name: str) -> List[Tuple[Any, Location]]:
    return [(v, loc) for k, v, loc in msg if k == name]


def first(msg: Message, name: str, default=None):
    found = fields(msg, name)
    return found[0][0] if found else default
