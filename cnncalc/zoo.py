"""The bundled model zoo: specs shipped as package data, found by bare name (`cnncalc summary resnet50`)."""
from __future__ import annotations

from pathlib import Path
from typing import List

from .errors import SpecError
from .source import did_you_mean

ZOO_DIR = Path(__file__).parent / "specs"


def names() -> List[str]:
    return sorted(p.stem for p in ZOO_DIR.glob("*.yaml"))


def resolve(arg: str) -> Path:
    """A spec argument as a path: an existing file, else a zoo network's bundled spec."""
    path = Path(arg)
    if path.is_file():
        return path
    if path.suffix not in (".yaml", ".yml") and "/" not in arg and (ZOO_DIR / f"{arg}.yaml").is_file():
        return ZOO_DIR / f"{arg}.yaml"
    hint = did_you_mean(path.stem, names()) if path.suffix not in (".yaml", ".yml") else None
    raise SpecError(f"no such file or zoo network: {arg}", hint=hint or "`cnncalc zoo` lists the bundled networks")
