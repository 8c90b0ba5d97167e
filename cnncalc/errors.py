"""Errors with source locations: the one place where 0-based YAML marks become 1-based FILE:LINE:COL."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Location:
    """A 1-based position in a spec file."""

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
    """Base of every error cnncalc reports to a user (never a traceback)."""

    exit_code = 2


class SpecError(CnncalcError):
    """A problem in a spec, pointing at the offending node."""

    def __init__(self, message: str, loc: Optional[Location] = None, hint: Optional[str] = None):
        super().__init__(message)
        self.message = message
        self.loc = loc
        self.hint = hint

    def format(self) -> str:
        where = f"{self.loc}: " if self.loc else ""
        text = f"{where}error: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def __str__(self) -> str:
        return self.format()


class ShapeError(SpecError):
    """A layer cannot accept its input shape (raised during analysis, after expansion succeeded)."""
