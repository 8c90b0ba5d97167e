"""What goes wrong, and where: the one place where 0-based YAML marks become 1-based FILE:LINE:COL.

Every error a user can cause is a `CnncalcError`; most are `SpecError`s that carry a location and a hint. Anything
else that escapes cnncalc is a bug in cnncalc, and the command line says so (exit code `INTERNAL_EXIT`).
"""
from __future__ import annotations

import difflib
import reprlib
from typing import Iterable, NamedTuple, Optional

INTERNAL_EXIT = 70  # sysexits.h's EX_SOFTWARE: distinct from 1 (a failed check) and 2 (bad input)
MAX_SHOWN = 200  # characters of a user's value that an error message repeats


class Location(NamedTuple):
    """A 1-based position in a spec file (a named tuple: specs make one per YAML node, so it must be cheap)."""

    file: str
    line: int
    col: int

    @classmethod
    def from_mark(cls, file: str, mark) -> "Location":
        # PyYAML marks are 0-based; users and editors count from 1.
        return cls(file, mark.line + 1, mark.column + 1)

    def shifted(self, cols: int) -> "Location":
        return Location(self.file, self.line, self.col + cols)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class CnncalcError(Exception):
    """Base of every error cnncalc reports to a user (never a traceback); `exit_code` is the command's status."""

    exit_code = 2

    def format(self) -> str:
        return f"error: {self}"


class SpecError(CnncalcError):
    """A problem in a spec (or in a value given for one), pointing at the offending node."""

    def __init__(self, message: str, loc: Optional[Location] = None, hint: Optional[str] = None):
        super().__init__(message)
        self.message = message
        self.loc = loc
        self.hint = hint

    def format(self) -> str:
        where = f"{self.loc}: " if self.loc else ""
        text = f"{where}error: {one_line(self.message)}"
        if self.hint:
            text += f"\n  hint: {hint_lines(self.hint)}"
        return text

    def __str__(self) -> str:
        return self.format()


class ShapeError(SpecError):
    """A layer cannot accept its input shape (raised during analysis, after expansion succeeded)."""


class OptionError(SpecError, ValueError):
    """A bad value for an option: a command-line flag, a variant (`net@width=32`) or a library call's argument.

    It is also a ValueError, as the library raised before. `option` names the flag (`--input`); with `text`,
    `format()` shows the argument as written with a caret under the offending columns.
    """

    def __init__(self, message: str, hint: Optional[str] = None, text: Optional[str] = None, col: int = 0,
                 width: int = 1, option: Optional[str] = None):
        super().__init__(message, None, hint)
        self.text, self.col, self.width, self.option = text, col, max(width, 1), option

    def __str__(self) -> str:  # as the plain ValueError it also is: the reason alone
        return self.message

    def caret(self) -> str:
        """The argument as written with a caret under the offending columns, cut to a window of `MAX_SHOWN`."""
        if not self.text:
            return ""
        text, col, width = self.text, self.col, min(self.width, MAX_SHOWN // 2)
        if len(text) > MAX_SHOWN:
            start = max(0, min(col - MAX_SHOWN // 4, len(text) - MAX_SHOWN))
            head, tail = ("…" if start else ""), ("…" if start + MAX_SHOWN < len(text) else "")
            text, col = head + text[start:start + MAX_SHOWN] + tail, col - start + len(head)
            width = max(1, min(width, MAX_SHOWN - (col - len(head))))
        return f"\n  {text}\n  {' ' * col}{'^' * width}"

    def explained(self, whole_caret: bool = True) -> str:
        """The message, the caret (left out with `whole_caret` false when it would underline the whole argument)
        and the hint."""
        show = self.text and (whole_caret or self.width < len(self.text))
        return one_line(self.message) + (self.caret() if show else "") + (f"\n  hint: {hint_lines(self.hint)}" if self.hint else "")

    def format(self) -> str:
        if self.text is None:
            return super().format()
        return f"error: {self.explained()}"


class InternalError(Exception):
    """A bug in cnncalc, wrapped with what it was doing (the layer a kernel failed on); never a user's mistake."""


# control characters a user's text may carry into a message, written as escapes: a message stays one line, and a
# spec cannot send terminal escape sequences to whoever reads the error
_CONTROLS = {c: f"\\x{c:02x}" for c in [*range(32), 127]} | {9: "\\t", 10: "\\n", 13: "\\r"}


def one_line(text: str) -> str:
    """`text` with its control characters (a raw newline, an escape sequence) written as escapes."""
    return text.translate(_CONTROLS)


def hint_lines(hint: str) -> str:
    """A hint, whose lines are its own (the input shapes under a shape error), each line made safe by `one_line`."""
    return "\n".join(map(one_line, hint.split("\n")))


def did_you_mean(word: object, choices: Iterable[str]) -> Optional[str]:
    """A 'did you mean …?' hint, or None when nothing is close."""
    close = difflib.get_close_matches(str(word), sorted(set(choices)), n=3, cutoff=0.6)
    if not close:
        return None
    return "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"


def shown(value: object) -> str:
    """A user's value as an error message repeats it: its repr, cut to `MAX_SHOWN` characters.

    Containers are written by `reprlib` with bounded work, so a huge nested list (shared rows make a billion elements
    cheap to build) is never written out in full only to be cut."""
    if isinstance(value, (list, tuple, dict, set)):
        text = _BOUNDED.repr(value)
    elif isinstance(value, int) and value.bit_length() > 4_000:  # repr refuses (or takes long) past ~4,300 digits
        return f"<an integer of {value.bit_length():,} bits>"
    else:
        text = repr(value)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN - 12] + f"… ({len(text):,} characters)"


_BOUNDED = reprlib.Repr()
_BOUNDED.maxlevel, _BOUNDED.maxstring, _BOUNDED.maxother, _BOUNDED.maxlong = 4, MAX_SHOWN, MAX_SHOWN, MAX_SHOWN
_BOUNDED.maxlist = _BOUNDED.maxtuple = _BOUNDED.maxdict = _BOUNDED.maxset = 24
