"""Darknet `.cfg` files (YOLO and friends) → the neutral form, with Darknet's own arithmetic.

Darknet's conventions, where they differ from PyTorch's:
- `[convolutional]` `pad=1` means padding size/2 (`padding=N` sets it outright); `batch_normalize=1` drops the
  conv's bias (Darknet's biases become the norm's shift), and the default activation is `logistic`.
- `[maxpool]`'s `padding` is a total, default size − 1, split as padding//2 before and the rest after; its output is
  (N + padding − size) / stride + 1, rounded down, stride defaulting to 1 and size to the stride.
- `[avgpool]` is global; `[route]` concatenates the listed layers (negative = relative to itself); `[shortcut]` adds
  `from` to the previous layer; `[yolo]`/`[region]`/`[detection]` are output heads, counted as identity (their decode
  is not a layer cnncalc models).
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Tuple

from ..errors import Location, SpecError, did_you_mean
from .ir import INPUT, Builder, Fields, Imported

MAX_BYTES = 4 * 1024 * 1024  # Darknet's largest shipped cfgs are ~40 KiB

ACTIVATIONS = {"linear": None, "relu": ("relu", {}), "leaky": ("leaky_relu", {"slope": 0.1}),
               "logistic": ("sigmoid", {}), "tanh": ("tanh", {}), "swish": ("silu", {}), "relu6": ("relu6", {}),
               "gelu": ("gelu", {}), "hard_sigmoid": ("hardsigmoid", {})}  # hard_sigmoid: AlexeyAB's, relu6(x+3)/6
HEADS = ("yolo", "region", "detection", "gaussian_yolo")
# settings that change what a layer computes but that cnncalc cannot follow: refused, never ignored
UNSUPPORTED = {"convolutional": ("dilation", "binary", "xnor", "share_index", "antialiasing", "deform", "stride_x",
                                 "stride_y", "assisted_excitation"),
               "maxpool": ("stride_x", "stride_y", "maxpool_depth", "antialiasing", "out_channels"),
               "route": ("groups", "group_id"), "shortcut": ("weights_type", "weights_normalization"),
               "upsample": ()}
SECTIONS = ("net", "network", "convolutional", "conv", "maxpool", "max", "avgpool", "avg", "connected", "route",
            "shortcut", "upsample", "dropout", "softmax", "batchnorm") + HEADS


def read(path: str, name: str, input=None) -> Imported:
    data = Path(path).read_bytes() if Path(path).stat().st_size <= MAX_BYTES else None
    if data is None:
        raise SpecError(f"Darknet cfg is {Path(path).stat().st_size:,} bytes; the limit is {MAX_BYTES:,}", Location(name, 1, 1))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SpecError(f"Darknet cfg is not UTF-8 text ({e.reason})", Location(name, 1, 1)) from None
    return convert(parse(text, name), name)


def parse(text: str, name: str) -> List[Tuple[str, Fields]]:
    """The sections in order: (section type, its settings), each located at its `[header]`."""
    sections: List[Tuple[str, Fields]] = []
    for number, line in enumerate(text.split("\n"), 1):
        body = line.split("#", 1)[0].split(";", 1)[0]
        stripped = body.strip()
        if not stripped:
            continue
        col = len(body) - len(body.lstrip()) + 1
        if stripped.startswith("["):
            if not stripped.endswith("]"):
                raise SpecError("a section header is `[name]`", Location(name, number, col))
            kind = stripped[1:-1].strip().lower()
            if kind not in SECTIONS:
                raise SpecError(f"unknown Darknet section [{kind}]", Location(name, number, col),
                                hint=did_you_mean(kind, SECTIONS) or "cnncalc reads: " + ", ".join(f"[{s}]" for s in SECTIONS))
            sections.append((kind, Fields(f"[{kind}]", Location(name, number, col))))
        elif "=" in stripped:
            if not sections:
                raise SpecError("a setting before the first [section]", Location(name, number, col))
            key, value = body.split("=", 1)
            value_col = len(body) - len(value) + len(value) - len(value.lstrip()) + 1
            sections[-1][1].add(key.strip().lower(), value.strip(), Location(name, number, value_col))
        else:
            raise SpecError(f"expected `[section]` or `key=value`, got {stripped[:60]!r}", Location(name, number, col))
    if not sections or sections[0][0] not in ("net", "network"):
        raise SpecError("a Darknet cfg starts with a [net] section", Location(name, 1, 1),
                        hint="[net] gives the input: width=, height=, channels=")
    return sections


def convert(sections: List[Tuple[str, Fields]], name: str) -> Imported:
    net = sections[0][1]
    shape = tuple(net.get(k, 0, int) for k in ("channels", "height", "width"))
    if min(shape) < 1:
        raise SpecError("[net] needs positive width=, height= and channels=", net.loc)
    b = Builder()
    b.note("Darknet: pad=1 is size/2; a max pool's padding is a total (default size − 1) split padding//2 before, "
           "the rest after; yolo/region heads are counted as identity")
    outputs: List[str] = []  # Darknet layer index → the op that holds its output
    for index, (kind, f) in enumerate(sections[1:]):
        if _CANONICAL.get(kind, kind) == "net":
            raise SpecError("a second [net] section; a cfg has one, first", f.loc)
        for key in UNSUPPORTED.get(_CANONICAL.get(kind, kind), ()):
            harmless = "1" if key == "dilation" else "0"  # the value that means the setting is off
            if key in f.values and str(f.get(key)).strip() != harmless:
                raise SpecError(f"{f.what}: `{key}` is not something cnncalc can count", f.where(key),
                                hint="cnncalc has no layer for it; remove it or file an issue")
        prev = outputs[-1] if outputs else INPUT
        outputs.append(_LAYER[_CANONICAL.get(kind, kind)](b, f, index, prev, outputs))
    return b.build(Path(name).stem, name, "Darknet cfg", shape, net.loc)


def _activation(b: Builder, f: Fields, base: str, x: str, default: str) -> str:
    act = str(f.get("activation", default)).lower()
    if act not in ACTIVATIONS:
        raise SpecError(f"{f.what}: Darknet activation '{act}' has no cnncalc layer", f.where("activation"),
                        hint=did_you_mean(act, ACTIVATIONS) or "supported: " + ", ".join(ACTIVATIONS))
    if ACTIVATIONS[act] is None:
        return x
    kind, args = ACTIVATIONS[act]
    return b.add(f"{base}_{act}", kind, args, [x], f.where("activation"))


def _conv(b: Builder, f: Fields, i: int, x: str, outputs) -> str:
    size, stride = f.get("size", 1, int), f.get("stride", 1, int)
    padding = size // 2 if f.get("pad", 0, int) else f.get("padding", 0, int)  # Darknet: pad=1 overrides padding
    bn = bool(f.get("batch_normalize", 0, int))
    args = {"out": f.get("filters", 1, int), "kernel": size, "stride": stride, "padding": padding}
    if f.get("groups", 1, int) != 1:
        args["groups"] = f.get("groups", 1, int)
    args["bias"] = not bn
    y = b.add(f"conv{i}", "conv", args, [x], f.loc)
    if bn:
        y = b.add(f"conv{i}_bn", "bn", {}, [y], f.where("batch_normalize"))
    return _activation(b, f, f"conv{i}", y, "logistic")


def _maxpool(b: Builder, f: Fields, i: int, x: str, outputs) -> str:
    stride = f.get("stride", 1, int)
    size = f.get("size", stride, int)
    total = f.get("padding", size - 1, int)
    return b.add(f"maxpool{i}", "maxpool", {"kernel": size, "stride": stride, "padding": [[total // 2, total - total // 2]] * 2},
                 [x], f.loc)


def _avgpool(b: Builder, f: Fields, i: int, x: str, outputs) -> str:
    return b.add(f"avgpool{i}", "global_avgpool", {}, [x], f.loc)


def _connected(b: Builder, f: Fields, i: int, x: str, outputs) -> str:
    flat = b.add(f"connected{i}_flatten", "flatten", {}, [x], f.loc)
    bn = bool(f.get("batch_normalize", 0, int))
    if bn:
        raise SpecError(f"{f.what}: batch_normalize on a connected layer is not supported", f.where("batch_normalize"))
    y = b.add(f"connected{i}", "dense", {"out": f.get("output", 1, int)}, [flat], f.loc)
    return _activation(b, f, f"connected{i}", y, "logistic")


def _source(f: Fields, key: str, raw: str, i: int, outputs: List[str]) -> str:
    """A layer index as Darknet reads it: negative counts back from layer i, else absolute."""
    try:
        k = int(raw.strip())
    except ValueError:
        raise SpecError(f"{f.what}: `{key}` lists layer indices, got {raw.strip()[:40]!r}", f.where(key)) from None
    j = i + k if k < 0 else k
    if not 0 <= j < i:
        raise SpecError(f"{f.what}: layer {k} (index {j}) is not an earlier layer of this one (index {i})", f.where(key))
    return outputs[j]


def _route(b: Builder, f: Fields, i: int, x: str, outputs) -> str:
    if "layers" not in f.values:
        raise SpecError(f"{f.what} needs `layers=`", f.loc)
    srcs = [_source(f, "layers", r, i, outputs) for r in str(f.get("layers")).split(",") if r.strip()]
    if len(srcs) == 1:
        return b.add(f"route{i}", "identity", {}, srcs, f.loc)
    return b.add(f"route{i}", "concat", {}, srcs, f.loc)


def _shortcut(b: Builder, f: Fields, i: int, x: str, outputs) -> str:
    if "from" not in f.values:
        raise SpecError(f"{f.what} needs `from=`", f.loc)
    others = [_source(f, "from", r, i, outputs) for r in str(f.get("from")).split(",")]
    y = b.add(f"shortcut{i}", "add", {}, [x, *others], f.loc)
    return _activation(b, f, f"shortcut{i}", y, "linear")


def _upsample(b: Builder, f: Fields, i: int, x: str, outputs) -> str:
    stride = f.get("stride", 2, int)
    if stride < 1:
        raise SpecError(f"{f.what}: a negative stride (downsampling) is not supported", f.where("stride"))
    if f.get("scale", 1.0, float) != 1.0:
        raise SpecError(f"{f.what}: `scale` multiplies values; cnncalc's upsample does not", f.where("scale"))
    return b.add(f"upsample{i}", "upsample", {"scale": stride}, [x], f.loc)


def _dropout(b: Builder, f: Fields, i: int, x: str, outputs) -> str:
    return b.add(f"dropout{i}", "dropout", {"p": f.get("probability", 0.5, float)}, [x], f.loc)


def _softmax(b: Builder, f: Fields, i: int, x: str, outputs) -> str:
    return b.add(f"softmax{i}", "softmax", {}, [x], f.loc)


def _batchnorm(b: Builder, f: Fields, i: int, x: str, outputs) -> str:
    return b.add(f"batchnorm{i}", "bn", {}, [x], f.loc)


def _head(b: Builder, f: Fields, i: int, x: str, outputs) -> str:
    return b.add(f"{f.what.strip('[]')}{i}", "identity", {}, [x], f.loc)


_CANONICAL = {"conv": "convolutional", "max": "maxpool", "avg": "avgpool", "network": "net"}
_LAYER: Dict[str, object] = {"convolutional": _conv, "maxpool": _maxpool, "avgpool": _avgpool, "connected": _connected,
                             "route": _route, "shortcut": _shortcut, "upsample": _upsample, "dropout": _dropout,
                             "softmax": _softmax, "batchnorm": _batchnorm, **{h: _head for h in HEADS}}
