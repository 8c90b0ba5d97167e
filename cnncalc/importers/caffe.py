"""Caffe `.prototxt` network definitions (deploy files) → the neutral form, with Caffe's own arithmetic; no Caffe.

Caffe's conventions, where they differ from PyTorch's:
- pooling rounds up (`round_mode: CEIL`, the default): ceil((N + 2P − F) / S) + 1, the last window dropped when it
  would start in the end padding — PyTorch's ceil_mode rule, which cnncalc's pools use; pooling's stride defaults
  to 1; `global_pooling` pools everything.
- `InnerProduct` flattens its input by itself (a `flatten` row is added before the `dense`).
- `BatchNorm` has no scale or shift of its own: with the `Scale` layer (bias_term: true) that follows it in place it
  is one `bn`; alone it is `bn` with `affine: false`. Its third blob (the moving-average factor) is not counted.
- `LRN`'s alpha is divided by local_size, as in PyTorch (so the values carry over unchanged).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from ..errors import Location, SpecError, did_you_mean
from .ir import INPUT, Builder, Imported
from .prototxt import MAX_BYTES, Message, fields, first, parse

SKIPPED = ("Silence",)  # layers that compute nothing a deploy network reports
TRAINING = ("Data", "ImageData", "HDF5Data", "MemoryData", "WindowData", "DummyData", "SoftmaxWithLoss",
            "EuclideanLoss", "Accuracy", "HingeLoss", "SigmoidCrossEntropyLoss", "InfogainLoss",
            "MultinomialLogisticLoss", "ContrastiveLoss")


def read(path: str, name: str, input=None) -> Imported:
    size = Path(path).stat().st_size
    if size > MAX_BYTES:
        raise SpecError(f"prototxt is {size:,} bytes; the limit is {MAX_BYTES:,}", Location(name, 1, 1),
                        hint="a deploy prototxt holds no weights; a .caffemodel is not read")
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise SpecError(f"prototxt is not UTF-8 text ({e.reason}); a binary .caffemodel is not read", Location(name, 1, 1)) from None
    return convert(parse(text, name), name)


class _Net:
    """Blob name → the op that currently holds it (in-place layers rebind their blob)."""

    def __init__(self, name: str):
        self.b = Builder()
        self.blobs: Dict[str, str] = {}
        self.shape: Optional[Tuple[int, ...]] = None
        self.shape_loc = Location(name, 1, 1)
        self.name = name
        self.scale_of: Optional[str] = None  # a bn whose in-place Scale is still to come

    def blob(self, name: str, loc: Location) -> str:
        if name not in self.blobs:
            raise SpecError(f"bottom '{name}' is no earlier layer's top or the network input", loc,
                            hint=did_you_mean(name, self.blobs))
        return self.blobs[name]

    def set_input(self, blob: str, dims: List[int], loc: Location) -> None:
        if self.shape is not None:
            raise SpecError("a second network input; cnncalc networks have one input", loc)
        if len(dims) < 2:
            raise SpecError(f"input shape {dims} needs a batch and channels: [N, C, H, W]", loc)
        self.shape, self.shape_loc = tuple(dims[1:]), loc  # the batch is cnncalc's --batch
        self.blobs[blob] = INPUT


def convert(net: Message, name: str) -> Imported:
    n = _Net(name)
    if fields(net, "layers"):
        raise SpecError("this is an old (V1) prototxt with `layers {…}`", fields(net, "layers")[0][1],
                        hint="upgrade it with Caffe's upgrade_net_proto_text, which writes `layer {…}`")
    inputs = fields(net, "input")
    if inputs:  # the old way: input: "data" with input_dim: × 4 or input_shape { dim: … }
        dims = [v for v, _ in fields(net, "input_dim")] or [v for v, _ in fields(first(net, "input_shape", []), "dim")]
        n.set_input(inputs[0][0], [_int(d, "dim", inputs[0][1]) for d in dims], inputs[0][1])
    layers = [(v, loc) for v, loc in fields(net, "layer")]
    for i, (layer, loc) in enumerate(layers):
        if not isinstance(layer, list):
            raise SpecError("`layer` must be a message { … }", loc)
        if any(first(inc, "phase") == "TRAIN" for inc, _ in fields(layer, "include") if isinstance(inc, list)):
            continue
        kind = first(layer, "type")
        if kind is None:
            raise SpecError("a layer without `type:`", loc)
        if kind in TRAINING:
            raise SpecError(f"layer type '{kind}' belongs to a training net", loc,
                            hint="import the deploy prototxt (with an Input layer or input_shape)")
        if kind in SKIPPED:
            continue
        if kind not in _LAYERS:
            lname = first(layer, "name", "?")
            raise SpecError(f"Caffe layer '{lname}' has type '{kind}', which cnncalc cannot express", loc,
                            hint=did_you_mean(kind, _LAYERS) or "supported: " + ", ".join(sorted(_LAYERS)))
        _LAYERS[kind](n, layer, loc, layers[i + 1][0] if i + 1 < len(layers) else None)
    if n.shape is None:
        raise SpecError("the prototxt gives no input shape", Location(name, 1, 1),
                        hint="a deploy file has an Input layer (input_param { shape { dim: 1 dim: 3 … } }) or input_shape")
    n.b.note("Caffe: pooling rounds up (ceil mode); BatchNorm + Scale is one bn; InnerProduct flattens its input")
    return n.b.build(str(first(net, "name", Path(name).stem)), name, "Caffe prototxt", n.shape, n.shape_loc)


def _int(value: Any, key: str, loc: Location) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"`{key}` must be an integer, got {value!r}", loc)
    return value


def _param(layer: Message, key: str) -> Message:
    value = first(layer, key, [])
    return value if isinstance(value, list) else []


def _io(n: _Net, layer: Message, loc: Location) -> Tuple[str, List[str], List[str]]:
    lname = str(first(layer, "name", first(layer, "type")))
    bottoms = [n.blob(str(v), l) for v, l in fields(layer, "bottom")]
    tops = [str(v) for v, _ in fields(layer, "top")]
    return lname, bottoms, tops


def _single(n: _Net, layer: Message, loc: Location, kind: str, args: Dict[str, Any], *, count: int = 1) -> str:
    lname, bottoms, tops = _io(n, layer, loc)
    if len(bottoms) < count or (count == 1 and len(bottoms) != 1):
        raise SpecError(f"layer '{lname}' needs {'one bottom' if count == 1 else f'{count} or more bottoms'}", loc)
    if len(tops) != 1:
        raise SpecError(f"layer '{lname}' needs one top", loc)
    op = n.b.add(lname, kind, args, bottoms, loc)
    n.blobs[tops[0]] = op
    return op


def _axes(p: Message, key: str, loc: Location, default: Optional[int]) -> Any:
    """Caffe's kernel_size/stride/pad: repeated (one value for all axes or one per axis), or key_h and key_w."""
    short = key.replace("_size", "")  # kernel_size → kernel_h, kernel_w
    h, w = first(p, f"{short}_h"), first(p, f"{short}_w")
    if h is not None or w is not None:
        base = [_int(v, key, loc) for v, _ in fields(p, key)] or [default]
        return [_int(h if h is not None else base[0], f"{short}_h", loc), _int(w if w is not None else base[-1], f"{short}_w", loc)]
    values = [_int(v, key, l) for v, l in fields(p, key)]
    if not values:
        if default is None:
            raise SpecError(f"`{key}` is required here", loc)
        return default
    return values[0] if len(values) == 1 else values


def _conv(n: _Net, layer: Message, loc: Location, nxt, kind: str = "conv") -> None:
    p = _param(layer, "convolution_param")
    if first(p, "num_output") is None:
        raise SpecError("a convolution needs convolution_param { num_output: … }", loc)
    args = {"out": _int(first(p, "num_output"), "num_output", loc), "kernel": _axes(p, "kernel_size", loc, None),
            "stride": _axes(p, "stride", loc, 1), "padding": _axes(p, "pad", loc, 0)}
    dilation = _axes(p, "dilation", loc, 1)
    if dilation != 1:
        args["dilation"] = dilation
    if first(p, "group", 1) != 1:
        args["groups"] = _int(first(p, "group"), "group", loc)
    if first(p, "bias_term", True) is False:
        args["bias"] = False
    if first(p, "axis", 1) != 1:
        raise SpecError("convolution over an axis other than 1 (channels) is not supported", loc)
    _single(n, layer, loc, kind, args)


def _deconv(n, layer, loc, nxt) -> None:
    _conv(n, layer, loc, nxt, "conv_transpose")


def _pool(n: _Net, layer: Message, loc: Location, nxt) -> None:
    p = _param(layer, "pooling_param")
    method = first(p, "pool", "MAX")
    if method not in ("MAX", "AVE", 0, 1):
        raise SpecError(f"pooling method {method} is not supported (MAX and AVE are)", loc)
    kind = "maxpool" if method in ("MAX", 0) else "avgpool"
    if first(p, "global_pooling", False):
        _single(n, layer, loc, "global_" + kind, {})
        return
    kernel, stride, pad = _axes(p, "kernel_size", loc, None), _axes(p, "stride", loc, 1), _axes(p, "pad", loc, 0)
    ceil_mode = first(p, "round_mode", "CEIL") in ("CEIL", 0)
    if ceil_mode and any(pd == 0 and k < s for k, s, pd in zip(*(_two(v) for v in (kernel, stride, pad)))):
        # Caffe keeps a last window that starts past the input when there is no padding; PyTorch's rule (cnncalc's)
        # drops it. They agree whenever the window is at least the stride.
        raise SpecError("Caffe's ceil-mode pooling with a window smaller than its stride and no padding "
                        "differs from PyTorch's rule; cnncalc cannot reproduce it", loc)
    _single(n, layer, loc, kind, {"kernel": kernel, "stride": stride, "padding": pad, "ceil_mode": ceil_mode})


def _two(v):
    return v if isinstance(v, list) else [v, v]


def _dense(n: _Net, layer: Message, loc: Location, nxt) -> None:
    p = _param(layer, "inner_product_param")
    lname, bottoms, tops = _io(n, layer, loc)
    if len(bottoms) != 1 or len(tops) != 1 or first(p, "num_output") is None:
        raise SpecError(f"layer '{lname}' needs one bottom, one top and inner_product_param {{ num_output: … }}", loc)
    if first(p, "axis", 1) != 1 or first(p, "transpose", False):
        raise SpecError("InnerProduct with axis ≠ 1 or transpose is not supported", loc)
    flat = n.b.add(f"{lname}_flatten", "flatten", {}, bottoms, loc)
    args = {"out": _int(first(p, "num_output"), "num_output", loc)}
    if first(p, "bias_term", True) is False:
        args["bias"] = False
    n.blobs[tops[0]] = n.b.add(lname, "dense", args, [flat], loc)


def _relu(n, layer, loc, nxt) -> None:
    slope = first(_param(layer, "relu_param"), "negative_slope", 0)
    _single(n, layer, loc, "leaky_relu" if slope else "relu", {"slope": slope} if slope else {})


def _batchnorm(n: _Net, layer: Message, loc: Location, nxt) -> None:
    p = _param(layer, "batch_norm_param")
    top = [str(v) for v, _ in fields(layer, "top")]
    affine = (isinstance(nxt, list) and first(nxt, "type") == "Scale"
              and [str(v) for v, _ in fields(nxt, "bottom")] == top)  # the Scale right after, reading this output
    if affine and first(_param(nxt, "scale_param"), "bias_term", False) is not True:
        raise SpecError("a Scale without bias_term after a BatchNorm learns C values, not a bn's 2·C", loc,
                        hint="cnncalc's bn is affine with a scale and a shift, or neither")
    args: Dict[str, Any] = {"eps": float(first(p, "eps", 1e-5))}
    if not affine:
        args["affine"] = False
    op = _single(n, layer, loc, "bn", args)
    if affine:
        n.scale_of = op  # the Scale that follows is this bn's affine part


def _scale(n: _Net, layer: Message, loc: Location, nxt) -> None:
    lname, bottoms, tops = _io(n, layer, loc)
    folded = getattr(n, "scale_of", None)
    if folded is None or bottoms != [folded]:
        raise SpecError(f"a Scale layer ('{lname}') not right after a BatchNorm: cnncalc has no learned per-channel scale", loc)
    n.scale_of = None
    n.blobs[tops[0]] = folded


def _lrn(n, layer, loc, nxt) -> None:
    p = _param(layer, "lrn_param")
    if first(p, "norm_region", "ACROSS_CHANNELS") not in ("ACROSS_CHANNELS", 0):
        raise SpecError("LRN WITHIN_CHANNEL is not supported (cnncalc's lrn runs across channels)", loc)
    _single(n, layer, loc, "lrn", {"size": _int(first(p, "local_size", 5), "local_size", loc),
                                   "alpha": float(first(p, "alpha", 1.0)), "beta": float(first(p, "beta", 0.75)),
                                   "k": float(first(p, "k", 1.0))})


def _concat(n, layer, loc, nxt) -> None:
    p = _param(layer, "concat_param")
    if first(p, "axis", first(p, "concat_dim", 1)) != 1:
        raise SpecError("Concat along an axis other than 1 (channels) is not supported", loc)
    _single(n, layer, loc, "concat", {}, count=2)


def _eltwise(n, layer, loc, nxt) -> None:
    p = _param(layer, "eltwise_param")
    op = first(p, "operation", "SUM")
    if op not in ("SUM", "PROD", 0, 1) or any(v != 1 for v, _ in fields(p, "coeff")):
        raise SpecError(f"Eltwise {op} (or coefficients other than 1) is not supported: SUM and PROD are", loc)
    _single(n, layer, loc, "add" if op in ("SUM", 1) else "mul", {}, count=2)


def _input(n: _Net, layer: Message, loc: Location, nxt) -> None:
    shape = first(_param(layer, "input_param"), "shape", [])
    dims = [_int(v, "dim", l) for v, l in fields(shape if isinstance(shape, list) else [], "dim")]
    tops = [str(v) for v, _ in fields(layer, "top")]
    if len(tops) != 1:
        raise SpecError("an Input layer with one top is supported", loc)
    n.set_input(tops[0], dims, loc)


def _split(n, layer, loc, nxt) -> None:
    lname, bottoms, tops = _io(n, layer, loc)
    for top in tops:  # every top is the bottom itself: no op
        n.blobs[top] = bottoms[0]


def _simple(kind: str, args=None):
    def add(n, layer, loc, nxt) -> None:
        _single(n, layer, loc, kind, args(layer) if callable(args) else {})
    return add


_LAYERS = {"Input": _input, "Convolution": _conv, "Deconvolution": _deconv, "Pooling": _pool, "InnerProduct": _dense,
           "ReLU": _relu, "Sigmoid": _simple("sigmoid"), "TanH": _simple("tanh"), "BatchNorm": _batchnorm,
           "Scale": _scale, "LRN": _lrn, "Concat": _concat, "Eltwise": _eltwise, "Split": _split,
           "Softmax": _simple("softmax"), "Flatten": _simple("flatten"),
           "Dropout": _simple("dropout", lambda l: {"p": float(first(_param(l, "dropout_param"), "dropout_ratio", 0.5))})}
