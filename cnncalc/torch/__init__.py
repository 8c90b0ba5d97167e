"""The PyTorch bridge: a cnncalc network as an `nn.Module`, weights both ways, and code export.

    import cnncalc, cnncalc.torch
    net = cnncalc.load("resnet50")
    model = cnncalc.torch.build(net).eval()              # submodules nested like the layer names
    model.load_state_dict(cnncalc.torch.to_state_dict(net, weights), strict=False)
    weights = cnncalc.torch.from_state_dict(net, model.state_dict())   # → cnncalc.forward's .npz keys

`calls` maps each layer type to a module constructor call (it imports no torch), `modules` holds the helper modules
PyTorch lacks, `graph` the in-memory module, `export` the code generator. Only this package imports torch, and only
when one of those is used: `import cnncalc.torch.calls` works without it.
"""
from importlib import import_module

INSTALL_HINT = "pip install 'cnncalc[torch]'"
_LAZY = {"build": "graph", "Graph": "graph", "to_state_dict": "graph", "from_state_dict": "graph",
         "module_paths": "graph", "segment": "graph", "BN_COUNTER": "graph",
         "Call": "calls", "CALLS": "calls", "module_call": "calls", "UnsupportedError": "calls",
         "HELPERS": "modules", "HELPER_NAMES": "modules", "to_spec": "trace", "to_imported": "trace"}

__all__ = ["INSTALL_HINT", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
