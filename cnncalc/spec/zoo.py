"""The bundled model zoo: specs shipped as package data, found by bare name (`cnncalc summary resnet50`).

A zoo name is either a spec file's stem (`specs/resnet50.yaml`) or a named variant: a spec plus variable
values, listed in `specs/variants.yaml` (`vgg16_bn: {spec: vgg16, vars: {bn: true}}`), so one parameterised
spec serves a whole family without copies. `--set` and `load(vars=...)` still override a variant's values.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any, Dict, List, NamedTuple, Optional

from ..errors import SpecError, did_you_mean

ZOO_DIR = Path(__file__).parent.parent / "specs"
VARIANTS = ZOO_DIR / "variants.yaml"


class Found(NamedTuple):
    """A spec argument resolved: the file to read, the variable values a zoo variant presets, and its name."""

    path: Path
    vars: Dict[str, Any]
    name: Optional[str] = None  # a variant's zoo name, which becomes the network's name


@functools.lru_cache(maxsize=1)
def variants() -> Dict[str, Found]:
    """Named variants from `specs/variants.yaml`: name → (spec file, vars)."""
    import yaml

    table = yaml.safe_load(VARIANTS.read_text(encoding="utf-8")) or {}
    return {name: Found(ZOO_DIR / f"{entry['spec']}.yaml", dict(entry.get("vars") or {}), name) for name, entry in table.items()}


def names() -> List[str]:
    """Every zoo name: the bundled spec files and the named variants."""
    files = [p.stem for p in ZOO_DIR.glob("*.yaml") if p != VARIANTS]
    return sorted(set(files) | set(variants()), key=_natural)


def _natural(name: str):
    """Sort key that orders embedded numbers by value: resnet18 before resnet101."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def resolve(arg: str) -> Found:
    """A spec argument as a file plus preset vars: an existing file, else a zoo spec or variant."""
    path = Path(arg)
    if path.is_file():
        return Found(path, {})
    if path.suffix not in (".yaml", ".yml") and "/" not in arg:
        if arg in variants():
            return variants()[arg]
        spec = ZOO_DIR / f"{arg}.yaml"
        if spec.is_file() and spec != VARIANTS:
            return Found(spec, {})
    hint = did_you_mean(path.stem, names()) if path.suffix not in (".yaml", ".yml") else None
    raise SpecError(f"no such file or zoo network: {arg}", hint=hint or "`cnncalc zoo` lists the bundled networks")


def source(net) -> str:
    """The spec's `description:` (its paper and reference implementation), with its `${…}` filled in."""
    return net.description


