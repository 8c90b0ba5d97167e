"""Importers: model files of other frameworks → cnncalc specs, so every command takes them directly.

Each format has a reader (`darknet.py`, `caffe.py`, `onnx.py`) that translates the file into the neutral form of
`ir.py`, reproducing the framework's own arithmetic; `ir.spec_node` makes the flat spec every command expands, and
`fold.py` + `emit.py` the folded, editable YAML that `cnncalc import` writes. Nothing here runs code from a file;
the readers are imported only when a file of their format is read (ONNX needs the `onnx` package).
"""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import Optional

from ..errors import SpecError

# file suffix → the reader module; the one table `cnncalc.core.load` and `cnncalc import` dispatch on
SUFFIXES = {".cfg": "darknet", ".prototxt": "caffe", ".onnx": "onnx", ".keras": "keras"}
# a JSON file is a YAML spec to every command (JSON is YAML); `cnncalc import` reads one as a Keras config
IMPORT_ONLY = {".json": "keras"}


def format_of(path: str) -> Optional[str]:
    """The reader module for a file name, or None for anything else (a YAML spec, a zoo name)."""
    return SUFFIXES.get(Path(str(path)).suffix.lower())


def read(path: str, filename: Optional[str] = None, **options):
    """Read a model file into the neutral form (`ir.Imported`); `filename` is the name errors show."""
    module = format_of(path) or IMPORT_ONLY.get(Path(str(path)).suffix.lower())
    if module is None:
        raise SpecError(f"cnncalc cannot import {path}: its suffix is none of {', '.join(SUFFIXES)}")
    name = filename or str(path)
    p = Path(path)
    if not p.is_file():
        raise SpecError(f"no such file: {path}")
    try:
        return importlib.import_module(f"{__name__}.{module}").read(str(p), name, **options)
    except OSError as e:
        raise SpecError(f"cannot read {path}: {e.strerror}") from None


def spec_text(path: str, filename: Optional[str] = None, fold: bool = True, **options) -> str:
    """The YAML spec `cnncalc import` writes for a model file: folded into blocks and repeats (or flat), with a
    header naming the source and what was folded."""
    from .emit import emit
    from .fold import fold as folded, unfolded

    imported = read(path, filename, **options)
    return emit(folded(imported) if fold else unfolded(imported))
