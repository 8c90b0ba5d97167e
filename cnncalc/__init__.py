"""cnncalc: what a CNN costs, exactly, before any framework is involved.

    import cnncalc
    net = cnncalc.load("resnet50")          # a path, a zoo name, or YAML text
    result = net.analyze(batch=1)           # shapes, params, MACs, FLOPs, memory, receptive fields
"""

__version__ = "0.1.0"

from .errors import CnncalcError, Location, ShapeError, SpecError  # noqa: E402
from .network import Network, load  # noqa: E402

__all__ = ["CnncalcError", "Location", "Network", "ShapeError", "SpecError", "load", "__version__"]
