"""A PyTorch module → the importers' neutral form → a cnncalc spec: `to_spec(module, input_shape)`.

The module is traced with `torch.fx` (symbolically: no data runs through it); each leaf module and each functional
call becomes a cnncalc layer, named by its module path, with PyTorch's own arguments. Where tracing fails (control
flow that depends on values), module forward hooks record one real forward pass instead; that fallback sees modules
only, so it accepts a network whose every step is a module (a chain, or cnncalc's own `build`). This is the one
importer that runs user code: `cnncalc import file.py:factory` imports file.py and calls factory().
"""
from __future__ import annotations

import operator
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import fx, nn

from ..errors import Location, SpecError
from ..importers.ir import INPUT, Builder, Imported
from . import modules as helpers


def to_spec(module: nn.Module, input_shape: Sequence[int], fold: bool = True, name: Optional[str] = None,
            source: str = "<module>") -> str:
    """The module as a cnncalc spec (YAML text): folded into blocks and repeats unless `fold` is false.

    `input_shape` is one sample's shape, channels first, no batch: (3, 224, 224)."""
    from ..importers.emit import emit
    from ..importers.fold import fold as folded, unfolded

    imported = to_imported(module, input_shape, name, source)
    return emit(folded(imported) if fold else unfolded(imported))


def to_imported(module: nn.Module, input_shape: Sequence[int], name: Optional[str] = None,
                source: str = "<module>") -> Imported:
    """The module in the importers' neutral form (see cnncalc/importers/ir.py)."""
    label = name or type(module).__name__
    try:
        graph = fx.symbolic_trace(module).graph
    except Exception as e:  # noqa: BLE001  (fx raises many kinds for untraceable code)
        return _hooked(module, input_shape, label, source, e)
    b = Builder()
    made: Dict[fx.Node, Any] = {}  # fx node → op name, INPUT, or a plain value (sizes, constants)
    mods = dict(module.named_modules())
    for node in graph.nodes:
        loc = Location(source, len(made) + 1, 1)
        if node.op == "placeholder":
            if INPUT in made.values():
                raise SpecError(f"{label}.forward takes more than one input; cnncalc networks have one", loc)
            made[node] = INPUT
        elif node.op == "output":
            continue
        elif node.op == "call_module":
            made[node] = _module(b, mods[node.target], node.target, _args(node, made), loc)
        elif node.op in ("call_function", "call_method"):
            made[node] = _function(b, node, _args(node, made), node.kwargs, loc)
        elif node.op == "get_attr":
            raise SpecError(f"{label}: reads the parameter or buffer '{node.target}' in forward directly; cnncalc "
                            "counts layers that are modules or functional calls on activations", loc)
    return b.build(label, source, "PyTorch module (torch.fx)", input_shape, Location(source, 1, 1))


def _args(node: fx.Node, made) -> List[Any]:
    def value(a):
        if isinstance(a, fx.Node):
            return made[a]
        return type(a)(value(v) for v in a) if isinstance(a, (list, tuple)) else a
    return [value(a) for a in node.args]


class _Size:
    """x.size(0) / x.shape[0]: the batch, as `x.view(x.size(0), -1)` uses it."""


def _scope(path: str) -> Tuple[str, ...]:
    parts = path.split(".")
    return tuple(".".join(parts[:i + 1]) for i in range(len(parts)))


def _tensor(value, what: str, loc: Location) -> str:
    if not isinstance(value, str):
        raise SpecError(f"{what}: an argument cnncalc cannot follow ({type(value).__name__} where a tensor is needed)", loc)
    return value


def _module(b: Builder, m: nn.Module, path: str, args: List[Any], loc: Location, scope=None) -> str:
    """One leaf module call → one (or two) cnncalc layers."""
    what = f"module '{path}' ({type(m).__name__})"
    scope = _scope(path) if scope is None else scope
    if isinstance(m, (helpers.Add, helpers.Mul, helpers.Concat)):
        kind = {helpers.Add: "add", helpers.Mul: "mul", helpers.Concat: "concat"}[type(m)]
        return b.add(path, kind, {}, [_tensor(a, what, loc) for a in args], loc, scope)
    x = _tensor(args[0], what, loc) if args else None
    for cls, convert in _MODULES:
        if isinstance(m, cls):
            kind, config = convert(m, what, loc)
            return b.add(path, kind, config, [x], loc, scope)
    raise SpecError(f"{what}: cnncalc has no layer for {type(m).__module__}.{type(m).__name__}", loc,
                    hint="supported: " + ", ".join(sorted({c.__name__ for c, _ in _MODULES})))


def _axes(value):
    if isinstance(value, (tuple, list)):
        return value[0] if len(set(value)) == 1 else list(value)
    return value


def _conv(m, what, loc):
    if m.padding_mode != "zeros":
        raise SpecError(f"{what}: padding_mode '{m.padding_mode}' (cnncalc pads with zeros)", loc)
    if isinstance(m, helpers.Padded):  # cnncalc's own asymmetric padding, last axis first
        pairs = [m.pads[i:i + 2] for i in range(0, len(m.pads), 2)][::-1]
        padding = [[lo, hi] for lo, hi in pairs]
    else:
        padding = m.padding if isinstance(m.padding, str) else _axes(m.padding)
    args = {"out": m.out_channels, "kernel": _axes(m.kernel_size), "stride": _axes(m.stride), "padding": padding,
            "dilation": _axes(m.dilation), "groups": m.groups, "bias": m.bias is not None}
    if isinstance(m, nn.modules.conv._ConvTransposeNd):
        args["output_padding"] = _axes(m.output_padding)
        return "conv_transpose", args
    return "conv", args


def _bn(m, what, loc):
    if not m.track_running_stats or m.momentum is None:
        raise SpecError(f"{what}: a batch norm without running statistics (or with a cumulative average) "
                        "is not cnncalc's bn", loc)
    return "bn", {"eps": m.eps, "momentum": m.momentum, "affine": m.affine}


def _pool(kind):
    def convert(m, what, loc):
        args = {"kernel": _axes(m.kernel_size), "stride": _axes(m.stride), "padding": _axes(m.padding),
                "ceil_mode": m.ceil_mode}
        if kind == "maxpool":
            if m.return_indices:
                raise SpecError(f"{what}: return_indices is not supported", loc)
            args["dilation"] = _axes(m.dilation)
        else:
            if getattr(m, "divisor_override", None):
                raise SpecError(f"{what}: divisor_override is not supported", loc)
            args["count_include_pad"] = m.count_include_pad
        return kind, args
    return convert


def _adaptive(kind):
    def convert(m, what, loc):
        out = m.output_size
        if out == 1 or isinstance(out, (tuple, list)) and all(o == 1 for o in out):
            return f"global_{kind}", {}
        if isinstance(out, (tuple, list)) and None in out:
            raise SpecError(f"{what}: an output size of None keeps the input's; give the size", loc)
        return f"adaptive_{kind}", {"out": _axes(out)}
    return convert


def _upsample(m, what, loc):
    mode = m.mode
    args: Dict[str, Any] = {}
    if m.size is not None:
        args["size"] = _axes(m.size)
    else:
        scale = m.scale_factor
        values = scale if isinstance(scale, (tuple, list)) else (scale,)
        if any(float(s) != int(s) for s in values):
            raise SpecError(f"{what}: a fractional scale factor {scale}", loc)
        args["scale"] = _axes([int(s) for s in values])
    if mode != "nearest":
        args["mode"] = mode
        args["align_corners"] = bool(m.align_corners)
    return "upsample", args


def _flatten(m, what, loc):
    if m.start_dim != 1 or m.end_dim != -1:
        raise SpecError(f"{what}: Flatten({m.start_dim}, {m.end_dim}); cnncalc flattens all but the batch", loc)
    return "flatten", {}


def _softmax(m, what, loc):
    if m.dim not in (1, -1):
        raise SpecError(f"{what}: softmax over dim {m.dim} (cnncalc's runs over channels)", loc)
    return "softmax", {}


def _plain(kind, config=None):
    return lambda m, what, loc: (kind, config(m) if config else {})


_MODULES: List[Tuple[type, Callable]] = [
    (nn.modules.conv._ConvNd, _conv), (nn.Linear, lambda m, w, l: ("dense", {"out": m.out_features, "bias": m.bias is not None})),
    (nn.modules.batchnorm._BatchNorm, _bn), (nn.modules.pooling._MaxPoolNd, _pool("maxpool")),
    (nn.modules.pooling._AvgPoolNd, _pool("avgpool")), (nn.modules.pooling._AdaptiveAvgPoolNd, _adaptive("avgpool")),
    (nn.modules.pooling._AdaptiveMaxPoolNd, _adaptive("maxpool")), (nn.Upsample, _upsample), (nn.Flatten, _flatten),
    (nn.ReLU, _plain("relu")), (nn.ReLU6, _plain("relu6")), (nn.Sigmoid, _plain("sigmoid")), (nn.Tanh, _plain("tanh")),
    (nn.SiLU, _plain("silu")), (nn.Hardswish, _plain("hardswish")), (nn.Hardsigmoid, _plain("hardsigmoid")),
    (nn.GELU, _plain("gelu", lambda m: {"approximate": m.approximate})), (nn.Softmax, _softmax),
    (nn.LeakyReLU, _plain("leaky_relu", lambda m: {"slope": m.negative_slope})),
    (nn.modules.dropout._DropoutNd, _plain("dropout", lambda m: {"p": m.p})), (nn.Identity, _plain("identity")),
    (nn.LocalResponseNorm, _plain("lrn", lambda m: {"size": m.size, "alpha": m.alpha, "beta": m.beta, "k": m.k})),
    (helpers.Scale, _plain("scale", lambda m: {"factor": float(m.factor)})),
]

_ACTIVATIONS = {F.relu: "relu", torch.relu: "relu", F.relu6: "relu6", torch.sigmoid: "sigmoid", F.sigmoid: "sigmoid",
                torch.tanh: "tanh", F.tanh: "tanh", F.silu: "silu", F.hardswish: "hardswish",
                F.hardsigmoid: "hardsigmoid", F.gelu: "gelu"}
_METHODS = {"relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh"}


def _function(b: Builder, node: fx.Node, args: List[Any], kwargs, loc: Location) -> Any:
    """A functional call or tensor method → a cnncalc layer (or a size value that a later view uses)."""
    target = node.target
    stack = node.meta.get("nn_module_stack") or {}
    path = (list(stack.values())[-1][0] if stack else "") or ""
    name = f"{path}.{node.name}" if path else node.name
    scope = _scope(path) if path else ()
    what = f"'{node.name}' ({getattr(target, '__name__', target)})"
    if target in (getattr, operator.getitem) and isinstance(args[0], _Size):
        return args[0]
    if node.op == "call_method" and target == "size" or target is getattr and args[1:] == ["shape"]:
        return _Size()
    if target is operator.getitem and isinstance(args[0], _Size):
        return args[0]
    if node.op == "call_method" and target in ("contiguous",):
        return args[0]
    if target in (operator.add, operator.iadd, torch.add) or node.op == "call_method" and target in ("add", "add_"):
        return _merge(b, "add", args[:2], name, loc, scope, what)
    if target in (operator.mul, operator.imul, torch.mul) or node.op == "call_method" and target in ("mul", "mul_"):
        return _merge(b, "mul", args[:2], name, loc, scope, what)
    if target is torch.cat:
        dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
        if dim != 1:
            raise SpecError(f"{what}: concatenation along dim {dim} (cnncalc concatenates channels)", loc)
        return b.add(name, "concat", {}, [_tensor(a, what, loc) for a in args[0]], loc, scope)
    if target is torch.flatten or node.op == "call_method" and target == "flatten":
        start = args[1] if len(args) > 1 else kwargs.get("start_dim", 0 if target is torch.flatten else 0)
        if start != 1:
            raise SpecError(f"{what}: flatten from dim {start}; cnncalc flattens all but the batch (start_dim=1)", loc)
        return b.add(name, "flatten", {}, [_tensor(args[0], what, loc)], loc, scope)
    if node.op == "call_method" and target in ("view", "reshape") or target is torch.reshape:
        shape = args[1:] if node.op == "call_method" else list(args[1])
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = list(shape[0])
        if len(shape) == 2 and shape[1] == -1 and (isinstance(shape[0], _Size) or shape[0] in (1, -1)):
            return b.add(name, "flatten", {}, [_tensor(args[0], what, loc)], loc, scope)
        raise SpecError(f"{what}: reshaping to {shape}; cnncalc follows only x.view(x.size(0), -1)", loc)
    if target in _ACTIVATIONS or node.op == "call_method" and target in _METHODS:
        kind = _ACTIVATIONS.get(target) or _METHODS[target]
        return b.add(name, kind, {}, [_tensor(args[0], what, loc)], loc, scope)
    if target is F.adaptive_avg_pool2d and args[1:] in ([1], [(1, 1)]):
        return b.add(name, "global_avgpool", {}, [_tensor(args[0], what, loc)], loc, scope)
    if node.op == "call_method" and target == "mean" and list(args[1] if len(args) > 1 else kwargs.get("dim", [])) in ([2, 3], [-2, -1]):
        y = b.add(name, "global_avgpool", {}, [_tensor(args[0], what, loc)], loc, scope)
        return y if kwargs.get("keepdim") else b.add(name + "_flatten", "flatten", {}, [y], loc, scope)
    if target in (F.dropout,):
        return b.add(name, "dropout", {"p": kwargs.get("p", args[1] if len(args) > 1 else 0.5)}, [_tensor(args[0], what, loc)], loc, scope)
    raise SpecError(f"{what}: cnncalc cannot express this call", loc,
                    hint="make it a module cnncalc knows, or file an issue naming the function")


def _merge(b: Builder, kind: str, args, name, loc, scope, what) -> str:
    tensors = [a for a in args if isinstance(a, str)]
    numbers = [a for a in args if isinstance(a, (int, float)) and not isinstance(a, bool)]
    if len(tensors) == 2:
        return b.add(name, kind, {}, tensors, loc, scope)
    if kind == "mul" and len(tensors) == 1 and len(numbers) == 1:
        return b.add(name, "scale", {"factor": float(numbers[0])}, tensors, loc, scope)
    raise SpecError(f"{what}: {kind} of a tensor and a constant has no cnncalc layer", loc)


def _hooked(module: nn.Module, input_shape, label: str, source: str, reason: Exception) -> Imported:
    """The fallback when fx cannot trace: one forward pass with hooks on the leaf modules. Each module's input must be
    the network input or an earlier module's output (found by identity), so any functional step between them is an
    error that says so."""
    b = Builder()
    made: Dict[int, str] = {}
    paths = {m: p for p, m in module.named_modules() if not list(m.children())}
    failure: List[SpecError] = []

    def hook(m, inputs, output):
        if failure:
            return
        loc = Location(source, len(b.ops) + 1, 1)
        try:
            ins = []
            for t in inputs:
                if id(t) not in made:
                    raise SpecError(f"{label} cannot be traced by torch.fx ({type(reason).__name__}: "
                                    f"{str(reason).splitlines()[0][:200]}), and in the module-hook fallback the "
                                    f"input of '{paths[m]}' comes from a step that is not a module", loc,
                                    hint="make every step a module, or make forward traceable by torch.fx")
                ins.append(made[id(t)])
            made[id(output)] = _module(b, m, paths[m], ins, loc)
            keep.append(output)  # alive, so no later tensor can have its id
        except SpecError as e:
            failure.append(e)

    keep: List[Any] = []  # every output stays alive while the pass runs, so ids are never reused
    x = torch.zeros(1, *input_shape)
    made[id(x)] = INPUT
    handles = [m.register_forward_hook(hook) for m in paths]
    try:
        was = module.training
        module.eval()
        with torch.no_grad():
            keep.append(module(x))
        module.train(was)
    finally:
        for h in handles:
            h.remove()
    if failure:
        raise failure[0]
    return b.build(label, source, "PyTorch module (hooks)", input_shape, Location(source, 1, 1))
