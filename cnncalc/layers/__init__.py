"""Layer families; importing this package fills the registry that maps spec names to layer classes."""
from . import activation, conv, dense, merge, norm, pool, reshape  # noqa: F401  (registration)
from .base import GLOBAL, REGISTRY, Arg, Layer, Shape, Weight, Window

__all__ = ["GLOBAL", "REGISTRY", "Arg", "Layer", "Shape", "Weight", "Window"]
