"""Keras models → the neutral form, from their config alone: a `.keras` file (a zip whose config.json describes the
network) or the JSON of `model.to_json()`. No TensorFlow, no Keras: nothing in the file is run.

Keras' conventions, where they differ from cnncalc's: tensors are channels-last ([H, W, C] becomes [C, H, W]);
`padding: same` is TensorFlow's (the odd unit at the end, as cnncalc's `same`); a `ZeroPadding2D` is folded into the
conv or pool that reads it; an activation given to a layer becomes a layer of its own; global pooling drops the
spatial axes unless `keepdims` (a `flatten` row). Keras counts batch norm's moving mean and variance as
non-trainable parameters: cnncalc calls them buffers. JSON has no lines here: FILE:N:1 is the config's N-th layer.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from ..errors import Location, SpecError, did_you_mean
from .ir import INPUT, Builder, Imported, Op

MAX_BYTES = 4 * 1024 ** 3  # a .keras file: weights included
MAX_CONFIG = 64 * 1024 * 1024  # its config.json, or a to_json() file
ACTIVATIONS = {"relu": "relu", "relu6": "relu6", "sigmoid": "sigmoid", "tanh": "tanh", "softmax": "softmax",
               "swish": "silu", "silu": "silu", "hard_sigmoid": "hardsigmoid", "hard_swish": "hardswish",
               "hard_silu": "hardswish", "gelu": "gelu", "linear": None}


def read(path: str, name: str, input=None) -> Imported:
    size = Path(path).stat().st_size
    limit = MAX_BYTES if path.endswith(".keras") else MAX_CONFIG
    if size > limit:
        raise SpecError(f"Keras file is {size:,} bytes; the limit is {limit:,}", Location(name, 1, 1))
    if path.endswith(".keras"):
        try:
            with zipfile.ZipFile(path) as z:
                info = z.getinfo("config.json")
                if info.file_size > MAX_CONFIG:
                    raise SpecError(f"config.json is {info.file_size:,} bytes; the limit is {MAX_CONFIG:,}", Location(name, 1, 1))
                with z.open(info) as f:
                    data = f.read(MAX_CONFIG + 1)
        except KeyError:
            raise SpecError("a .keras file without config.json", Location(name, 1, 1)) from None
        except (zipfile.BadZipFile, EOFError, OSError) as e:
            raise SpecError(f"not a valid .keras file (a zip): {e}", Location(name, 1, 1)) from None
    else:
        data = Path(path).read_bytes()
    try:
        config = json.loads(data)
    except (ValueError, RecursionError) as e:
        raise SpecError(f"Keras config is not valid JSON: {str(e)[:200]}", Location(name, 1, 1)) from None
    return convert(config, name)


def convert(config: Any, name: str) -> Imported:
    loc = Location(name, 1, 1)
    if not isinstance(config, dict) or "class_name" not in config:
        raise SpecError("not a Keras model config (no class_name)", loc)
    kind, body = config.get("class_name"), config.get("config") or {}
    if kind not in ("Functional", "Model", "Sequential") or not isinstance(body.get("layers"), list):
        raise SpecError(f"a Keras {kind} config does not describe its layers (a subclassed model's config holds only "
                        "its constructor arguments)", loc, hint="build it as a Functional or Sequential model, or "
                        "import it from ONNX")
    k = _Converter(name)
    layers = body["layers"]
    if kind == "Sequential":
        prev: Optional[str] = None
        for i, layer in enumerate(layers):
            prev = k.layer(i, layer, [prev] if prev is not None else [])
    else:
        for i, layer in enumerate(layers):
            k.layer(i, layer, _inbound(layer, Location(name, i + 1, 1)))
    if k.shape is None:
        raise SpecError("the config gives no input shape (no InputLayer or batch_shape)", loc)
    k.drop_unread()
    return k.b.build(str(body.get("name") or Path(name).stem), name, "Keras config", k.shape, loc)


def _inbound(layer: dict, loc: Location) -> List[str]:
    nodes = layer.get("inbound_nodes") or []
    if len(nodes) > 1:
        raise SpecError(f"Keras layer '{layer.get('name')}' is called {len(nodes)} times (shared weights)", loc)
    if not nodes:
        return []
    node = nodes[0]
    names: List[str] = []
    if isinstance(node, dict):  # Keras 3: {"args": [keras tensors or lists of them], "kwargs": {}}
        def walk(value):
            if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
                names.append(value["config"]["keras_history"][0])
            elif isinstance(value, list):
                for v in value:
                    walk(v)
        walk(node.get("args", []))
    else:  # Keras 2: [[name, node index, tensor index, kwargs], ...]
        names = [entry[0] for entry in node]
    return names


class _Converter:
    def __init__(self, name: str):
        self.file, self.b = name, Builder()
        self.made: Dict[str, str] = {}  # Keras layer name → op name (or INPUT)
        self.channels: Dict[str, int] = {}
        self.pads: Dict[str, Tuple[str, list]] = {}  # a ZeroPadding2D: its input and the padding it adds
        self.shape: Optional[Tuple[int, ...]] = None
        self.rank = 2

    def error(self, i: int, layer: dict, message: str, hint: Optional[str] = None) -> SpecError:
        return SpecError(f"Keras layer '{layer.get('name') or layer.get('config', {}).get('name')}' "
                         f"({layer.get('class_name')}): {message}", Location(self.file, i + 1, 1), hint)

    def layer(self, i: int, layer: dict, inputs: List[str]) -> Optional[str]:
        kind, c = layer.get("class_name"), layer.get("config") or {}
        lname = str(c.get("name") or layer.get("name") or f"layer{i}")
        loc = Location(self.file, i + 1, 1)
        if c.get("data_format") == "channels_first":
            raise self.error(i, layer, "channels_first data is not supported (Keras' default is channels_last)")
        shape = c.get("batch_shape") or c.get("batch_input_shape")
        if kind == "InputLayer" or (shape and not inputs):
            self._input(i, layer, shape)
            self.made[lname] = INPUT
            self.channels[lname] = self.shape[0]
            if kind == "InputLayer":
                return lname
            inputs = [lname + "_input"]
            self.made[inputs[0]], self.channels[inputs[0]] = INPUT, self.shape[0]
        handler = _LAYERS.get(kind)
        if handler is None:
            raise self.error(i, layer, f"cnncalc cannot express a {kind}",
                             hint=did_you_mean(kind, _LAYERS) or "supported: " + ", ".join(sorted(_LAYERS)))
        for x in inputs:
            if x not in self.made and x not in self.pads:
                raise self.error(i, layer, f"reads '{x}', which no earlier layer makes")
        out, channels = handler(self, i, layer, c, lname, inputs, loc)
        self.made[lname], self.channels[lname] = out, channels
        return lname

    def _input(self, i, layer, shape) -> None:
        if self.shape is not None:
            raise self.error(i, layer, "a second input; cnncalc networks have one")
        if not shape or not all(isinstance(d, int) and d > 0 for d in shape[1:]):
            raise self.error(i, layer, f"the input shape {shape} is not fixed", hint="build the model with a fixed input shape")
        self.shape = (shape[-1], *shape[1:-1])  # channels last → first, no batch
        self.rank = len(shape) - 2

    def x(self, i, layer, name: str) -> str:
        if name in self.pads:
            raise self.error(i, layer, f"reads the ZeroPadding '{name}', which only a conv or pool can take in")
        return self.made[name]

    def add(self, lname, kind, args, inputs, loc, suffix="") -> str:
        op = self.b.add(lname + suffix, kind, args, inputs, loc)
        return op

    def activation(self, act, lname, y, loc, i, layer) -> str:
        if act in (None, "linear"):
            return y
        if isinstance(act, dict):  # Keras 3 may serialise a function as {"module": …, "config": …}
            act = act.get("config", act.get("class_name"))
        if act not in ACTIVATIONS:
            raise self.error(i, layer, f"activation '{act}' has no cnncalc layer", hint=did_you_mean(str(act), ACTIVATIONS))
        return self.add(lname, ACTIVATIONS[act], {}, [y], loc, "_" + str(act))

    def padded(self, i, layer, x: str, padding: str) -> Tuple[str, Any]:
        """The input and padding of a conv or pool: a ZeroPadding in front is folded into it."""
        if x not in self.pads:
            return self.made[x], padding
        if padding != "valid":
            raise self.error(i, layer, "a ZeroPadding before a layer with padding 'same'")
        source, pairs = self.pads.pop(x)
        return self.made[source], pairs

    def drop_unread(self) -> None:
        """Flatten rows a Reshape back to [1, 1, C] made needless (Keras' squeeze-excitation)."""
        read = {x for op in self.b.ops for x in op.inputs}
        last = self.b.ops[-1].name if self.b.ops else None
        self.b.ops = [op for op in self.b.ops if not (op.type == "flatten" and op.name not in read and op.name != last)]


def _tuple(value, rank: int) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value] * rank


def _one(values):
    values = list(values)
    return values[0] if len(set(map(str, values))) == 1 else values


def _conv(k: _Converter, i, layer, c, lname, inputs, loc):
    x, padding = k.padded(i, layer, inputs[0], c.get("padding", "valid"))
    kind = layer["class_name"]
    cin = k.channels[inputs[0]]
    kernel, strides = _tuple(c["kernel_size"], k.rank), _tuple(c.get("strides", 1), k.rank)
    dilation = _tuple(c.get("dilation_rate", 1), k.rank)
    args: Dict[str, Any] = {"kernel": _one(kernel), "stride": _one(strides),
                            "padding": 0 if padding == "valid" else padding}
    if any(d != 1 for d in dilation):
        args["dilation"] = _one(dilation)
    if kind.startswith("DepthwiseConv"):
        out = cin * c.get("depth_multiplier", 1)
        y = k.add(lname, "conv", {"out": out, **args, "groups": cin, "bias": bool(c.get("use_bias", True))}, [x], loc)
    elif kind.startswith("SeparableConv"):
        out = c["filters"]
        y = k.add(lname, "conv", {"out": cin * c.get("depth_multiplier", 1), **args, "groups": cin, "bias": False},
                  [x], loc, "_depthwise")
        y = k.add(lname, "conv", {"out": out, "kernel": 1, "bias": bool(c.get("use_bias", True))}, [y], loc, "_pointwise")
    elif "Transpose" in kind:
        out = c["filters"]
        if args["padding"] == "same":
            total = [kk - s for kk, s in zip(kernel, strides)]
            if any(t < 0 or t % 2 for t in total):
                raise k.error(i, layer, "padding 'same' on a transposed conv whose kernel − stride is odd")
            args["padding"] = _one([t // 2 for t in total])
        y = k.add(lname, "conv_transpose", {"out": out, **args, "bias": bool(c.get("use_bias", True))}, [x], loc)
    else:
        out = c["filters"]
        if c.get("groups", 1) != 1:
            args["groups"] = c["groups"]
        y = k.add(lname, "conv", {"out": out, **args, "bias": bool(c.get("use_bias", True))}, [x], loc)
    return k.activation(c.get("activation"), lname, y, loc, i, layer), out


def _zeropad(k: _Converter, i, layer, c, lname, inputs, loc):
    p = c.get("padding", 1)
    if isinstance(p, int):
        pairs = [[p, p]] * k.rank
    elif all(isinstance(v, int) for v in p):
        pairs = [[v, v] for v in p]
    else:
        pairs = [list(v) for v in p]
    k.pads[lname] = (inputs[0], pairs)
    return None, k.channels[inputs[0]]


def _pool(kind):
    def handle(k: _Converter, i, layer, c, lname, inputs, loc):
        x, padding = k.padded(i, layer, inputs[0], c.get("padding", "valid"))
        size = _tuple(c.get("pool_size", 2), k.rank)
        strides = _tuple(c.get("strides") or size, k.rank)
        args: Dict[str, Any] = {"kernel": _one(size), "stride": _one(strides), "padding": 0 if padding == "valid" else padding}
        if kind == "avgpool" and padding == "same":
            args["count_include_pad"] = False  # TensorFlow averages over the window's real inputs
        return k.add(lname, kind, args, [x], loc), k.channels[inputs[0]]
    return handle


def _global(kind):
    def handle(k: _Converter, i, layer, c, lname, inputs, loc):
        y = k.add(lname, kind, {}, [k.x(i, layer, inputs[0])], loc)
        if not c.get("keepdims", False):
            y = k.add(lname, "flatten", {}, [y], loc, "_flatten")
        return y, k.channels[inputs[0]]
    return handle


def _dense(k: _Converter, i, layer, c, lname, inputs, loc):
    y = k.add(lname, "dense", {"out": c["units"], "bias": bool(c.get("use_bias", True))}, [k.x(i, layer, inputs[0])], loc)
    return k.activation(c.get("activation"), lname, y, loc, i, layer), c["units"]


def _bn(k: _Converter, i, layer, c, lname, inputs, loc):
    if not (c.get("center", True) and c.get("scale", True)):
        raise k.error(i, layer, "a batch norm without center or scale learns C values, not cnncalc's bn 2·C")
    eps = float(c.get("epsilon", 1e-3))
    return k.add(lname, "bn", {"eps": eps}, [k.x(i, layer, inputs[0])], loc), k.channels[inputs[0]]


def _activation(k: _Converter, i, layer, c, lname, inputs, loc):
    x = k.x(i, layer, inputs[0])
    act = c.get("activation")
    act = act.get("config", act.get("class_name")) if isinstance(act, dict) else act
    if act in (None, "linear"):
        return k.add(lname, "identity", {}, [x], loc), k.channels[inputs[0]]
    if act not in ACTIVATIONS:
        raise k.error(i, layer, f"activation '{act}' has no cnncalc layer", hint=did_you_mean(str(act), ACTIVATIONS))
    return k.add(lname, ACTIVATIONS[act], {}, [x], loc), k.channels[inputs[0]]


def _relu(k: _Converter, i, layer, c, lname, inputs, loc):
    x = k.x(i, layer, inputs[0])
    top, slope, threshold = c.get("max_value"), c.get("negative_slope", 0.0), c.get("threshold", 0.0)
    if threshold:
        raise k.error(i, layer, "a ReLU with a threshold")
    if top is None and not slope:
        return k.add(lname, "relu", {}, [x], loc), k.channels[inputs[0]]
    if top == 6 and not slope:
        return k.add(lname, "relu6", {}, [x], loc), k.channels[inputs[0]]
    if top is None:
        return k.add(lname, "leaky_relu", {"slope": float(slope)}, [x], loc), k.channels[inputs[0]]
    raise k.error(i, layer, f"a ReLU capped at {top} with slope {slope}")


def _merge(kind):
    def handle(k: _Converter, i, layer, c, lname, inputs, loc):
        if kind == "concat" and c.get("axis", -1) not in (-1, k.rank + 1):
            raise k.error(i, layer, f"concatenation along axis {c.get('axis')} (cnncalc concatenates channels)")
        xs = [k.x(i, layer, x) for x in inputs]
        channels = sum(k.channels[x] for x in inputs) if kind == "concat" else max(k.channels[x] for x in inputs)
        return k.add(lname, kind, {}, xs, loc), channels
    return handle


def _reshape(k: _Converter, i, layer, c, lname, inputs, loc):
    target = list(c.get("target_shape") or [])
    op = next((o for o in k.b.ops if o.name == k.made.get(inputs[0])), None)
    if target[:-1] == [1] * k.rank and op is not None and op.type == "flatten":
        pooled = op.inputs[0]  # Reshape((1, 1, C)) undoes the pooling's flatten: keep the pooled [C, 1, 1]
        return pooled, k.channels[inputs[0]]
    raise k.error(i, layer, f"Reshape to {target}: cnncalc follows only (1, 1, C) after global pooling")


def _simple(kind, args=None):
    def handle(k: _Converter, i, layer, c, lname, inputs, loc):
        return k.add(lname, kind, args(c) if args else {}, [k.x(i, layer, inputs[0])], loc), k.channels[inputs[0]]
    return handle


def _flatten(k: _Converter, i, layer, c, lname, inputs, loc):
    return k.add(lname, "flatten", {}, [k.x(i, layer, inputs[0])], loc), k.channels[inputs[0]]


def _upsample(k: _Converter, i, layer, c, lname, inputs, loc):
    args: Dict[str, Any] = {"scale": _one(_tuple(c.get("size", 2), k.rank))}
    if c.get("interpolation", "nearest") != "nearest":
        args["mode"] = {1: "linear", 2: "bilinear", 3: "trilinear"}[k.rank]
    return k.add(lname, "upsample", args, [k.x(i, layer, inputs[0])], loc), k.channels[inputs[0]]


_LAYERS = {}
for _d in ("1D", "2D", "3D"):
    _LAYERS.update({f"Conv{_d}": _conv, f"DepthwiseConv{_d}": _conv, f"SeparableConv{_d}": _conv,
                    f"Conv{_d}Transpose": _conv, f"ZeroPadding{_d}": _zeropad, f"MaxPooling{_d}": _pool("maxpool"),
                    f"AveragePooling{_d}": _pool("avgpool"), f"GlobalAveragePooling{_d}": _global("global_avgpool"),
                    f"GlobalMaxPooling{_d}": _global("global_maxpool"), f"UpSampling{_d}": _upsample})
_LAYERS.update({"Dense": _dense, "BatchNormalization": _bn, "Activation": _activation, "ReLU": _relu,
                "LeakyReLU": _simple("leaky_relu", lambda c: {"slope": float(c.get("negative_slope", c.get("alpha", 0.3)))}),
                "Softmax": _simple("softmax"), "Dropout": _simple("dropout", lambda c: {"p": float(c.get("rate", 0.5))}),
                "Flatten": _flatten, "Add": _merge("add"), "Multiply": _merge("mul"), "Concatenate": _merge("concat"),
                "Reshape": _reshape})
