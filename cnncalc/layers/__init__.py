"""Layer types; importing this package fills the registry that maps spec names (and aliases) to layer classes.

Each family is a module: conv, pool, dense, norm, activation, merge, reshape. Shared pieces: `base` (the Layer
protocol, Facts, the registry), `args` (argument kinds) and `geometry` (the size formula, per axis).
"""
from . import activation, conv, dense, merge, norm, pool, reshape  # noqa: F401  (registration)
from .args import Arg
from .base import GLOBAL, REGISTRY, Facts, Layer, Shape, Weight, types
from .geometry import Geometry, Window

__all__ = ["GLOBAL", "REGISTRY", "Arg", "Facts", "Geometry", "Layer", "Shape", "Weight", "Window", "flops_rules", "types"]


def flops_rules():
    """The README's FLOP rules: [(layer types sharing a rule, the rule)], in registration order."""
    rules = {}
    for name, cls in types().items():
        rule = cls.flops_rule or (f"{cls.flops_per_element} per element" if cls.flops_per_element else "0")
        rules.setdefault(rule, []).append(name)
    return [(names, rule) for rule, names in rules.items()]
