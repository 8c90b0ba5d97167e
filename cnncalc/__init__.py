"""cnncalc: what a CNN costs, exactly, before any framework is involved.

    import cnncalc
    net = cnncalc.load("resnet50")          # a path, a zoo name, or YAML text
    result = net.analyze(batch=1)           # shapes, params, MACs, FLOPs, memory, receptive fields
    y = cnncalc.forward(net, x)             # run it in NumPy (x: batch, C, H, W)
"""

__version__ = "0.1.0"

from .errors import CnncalcError, Location, OptionError, ShapeError, SpecError  # noqa: E402
from .core.network import Network  # noqa: E402
from .core.load import load  # noqa: E402

__all__ = ["CnncalcError", "Location", "Network", "OptionError", "ShapeError", "SpecError", "forward", "load",
           "__version__"]


def __getattr__(name):
    # `cnncalc.forward` (cnncalc.runtime.forward) imports NumPy only when first used.
    if name == "forward":
        from .runtime import forward

        return forward
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
