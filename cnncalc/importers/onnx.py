"""ONNX files → the neutral form, read straight from the protobuf wire format (protobuf.py): no `onnx` package.

Only the graph and the initializers' shapes are read; weights are skipped by their length in a memory-mapped file,
so a 500 MB file costs what its graph costs. An ONNX file has no lines: an error names the node, and its location
is FILE:N:1 where N is the node's position in the graph (1-based), so lint and editors still get a number.
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from math import isinf, prod
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..errors import Location, SpecError, did_you_mean
from .ir import INPUT, Builder, Imported, Op
from .protobuf import I32, LEN, WireError, fields, packed_floats, packed_varints, signed, text

MAX_BYTES = 2 * 1024 ** 3  # protobuf's own limit for one message: larger models keep their weights outside
MAX_NODES = 200_000
BN_FOLD_NOTE = ("PyTorch's ONNX exporters fold each batch norm that follows a conv into the conv's weight and bias: "
                "the file has C fewer parameters (and no running statistics) per folded norm than the module "
                "(ResNet-50: 25,530,472 against 25,557,032)")
_STRUCT = {1: "f", 6: "i", 7: "q", 11: "d", 10: "e", 9: "?", 2: "B", 3: "b", 5: "h", 12: "I", 13: "Q"}


@dataclass
class Tensor:
    """An initializer or constant: its shape, and its values when small enough to matter (pads, scales, bounds)."""

    dims: Tuple[int, ...]
    values: Optional[list] = None


@dataclass
class Node:
    index: int
    name: str
    op_type: str
    domain: str
    inputs: List[str]
    outputs: List[str]
    attrs: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Graph:
    producer: str
    nodes: List[Node]
    constants: Dict[str, Tensor]
    inputs: List[Tuple[str, List[Any]]]  # (name, dims: ints or dim_param strings)
    outputs: List[str]


# -- reading the file ---------------------------------------------------------------------------------------------------

def read(path: str, name: str, input: Optional[Sequence[int]] = None) -> Imported:
    size = Path(path).stat().st_size
    if size > MAX_BYTES:
        raise SpecError(f"ONNX file is {size:,} bytes; the limit is {MAX_BYTES:,}", Location(name, 1, 1),
                        hint="export larger models with their weights as external data: cnncalc needs only the graph")
    if size == 0:
        raise SpecError("ONNX file is empty", Location(name, 1, 1))
    with open(path, "rb") as f:
        buf = _Blocks(f.fileno(), size)
        try:
            graph = _model(buf, size)
        except WireError as e:
            raise SpecError(f"not a valid ONNX file: {e} (truncated or corrupt?)", Location(name, 1, 1)) from None
        except (UnicodeDecodeError, struct.error) as e:
            raise SpecError(f"not a valid ONNX file: {e}", Location(name, 1, 1)) from None
    return convert(graph, name, input)


class _Blocks:
    """The file read in 4 KiB blocks as the parser asks for bytes (indexing and slicing like `bytes`): the blocks that
    hold the graph and the initializers' headers are read, the weights between them never are. (A memory map would
    do the same with less code, but the kernel maps whole folios around each touched page: 55 of ResNet-50's 98 MiB.)"""

    SIZE = 4096

    def __init__(self, fd: int, size: int):
        self.fd, self.size, self.blocks = fd, size, {}
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)  # no read-ahead of weights into the page cache

    def block(self, k: int) -> bytes:
        data = self.blocks.get(k)
        if data is None:
            data = self.blocks[k] = os.pread(self.fd, self.SIZE, k * self.SIZE)
        return data

    def __getitem__(self, key):
        if isinstance(key, slice):
            start, stop = key.start, min(key.stop, self.size)
            return b"".join(self.block(k)[max(start - k * self.SIZE, 0):stop - k * self.SIZE]
                            for k in range(start // self.SIZE, (stop - 1) // self.SIZE + 1)) if stop > start else b""
        return self.block(key // self.SIZE)[key % self.SIZE]


def _model(buf, size: int) -> Graph:
    producer, graph, ir = "", None, None
    for number, wire, value in fields(buf, 0, size):
        if number == 1 and wire == 0:
            ir = value
        elif number == 2 and wire == LEN:
            producer = text(buf, value)
        elif number == 7 and wire == LEN:
            graph = value
    if graph is None or ir is None:
        raise WireError("no ONNX graph found", 0)
    return _graph(buf, graph, producer)


def _graph(buf, span, producer: str) -> Graph:
    nodes, constants, inputs, outputs = [], {}, [], []
    for number, wire, value in fields(buf, *span):
        if wire != LEN:
            continue
        if number == 1:
            nodes.append(_node(buf, value, len(nodes)))
            if len(nodes) > MAX_NODES:
                raise WireError(f"more than {MAX_NODES:,} nodes", value[0])
        elif number == 5:
            name, tensor = _tensor(buf, value)
            constants[name] = tensor
        elif number == 11:
            inputs.append(_value_info(buf, value))
        elif number == 12:
            outputs.append(_value_info(buf, value)[0])
    inputs = [(n, dims) for n, dims in inputs if n not in constants]  # old exports list initializers as inputs
    return Graph(producer, nodes, constants, inputs, outputs)


def _node(buf, span, index: int) -> Node:
    node = Node(index, "", "", "", [], [])
    for number, wire, value in fields(buf, *span):
        if wire != LEN:
            continue
        if number == 1:
            node.inputs.append(text(buf, value))
        elif number == 2:
            node.outputs.append(text(buf, value))
        elif number == 3:
            node.name = text(buf, value)
        elif number == 4:
            node.op_type = text(buf, value)
        elif number == 7:
            node.domain = text(buf, value)
        elif number == 5:
            key, attr = _attribute(buf, value)
            node.attrs[key] = attr
    return node


def _attribute(buf, span) -> Tuple[str, Any]:
    name, kind, found = "", 0, {}
    for number, wire, value in fields(buf, *span):
        if number == 1 and wire == LEN:
            name = text(buf, value)
        elif number == 20 and wire == 0:
            kind = value
        elif number == 2 and wire == I32:
            found["f"] = struct.unpack("<f", value)[0]
        elif number == 3 and wire == 0:
            found["i"] = signed(value)
        elif number == 4 and wire == LEN:
            found["s"] = text(buf, value)
        elif number == 5 and wire == LEN:
            found["t"] = _tensor(buf, value)[1]
        elif number == 7:
            found.setdefault("floats", []).extend(packed_floats(buf, wire, value))
        elif number == 8:
            found.setdefault("ints", []).extend(packed_varints(buf, wire, value))
        elif number == 9 and wire == LEN:
            found.setdefault("strings", []).append(text(buf, value))
        elif number == 6:
            found["g"] = "subgraph"
    by_type = {1: "f", 2: "i", 3: "s", 4: "t", 5: "g", 6: "floats", 7: "ints", 8: "strings"}
    key = by_type.get(kind) or next(iter(found), None)
    return name, found.get(key, [] if key in ("floats", "ints", "strings") else None)


def _tensor(buf, span, small: int = 64) -> Tuple[str, Tensor]:
    """An initializer: its name, shape, and values when it has at most `small` elements (weights are skipped)."""
    name, dims, dtype, raw, typed = "", [], 0, None, []
    for number, wire, value in fields(buf, *span):
        if number == 1:
            dims.extend(packed_varints(buf, wire, value))
        elif number == 2 and wire == 0:
            dtype = value
        elif number == 8 and wire == LEN:
            name = text(buf, value)
        elif number == 9 and wire == LEN:
            raw = value  # (start, end): read only if small
        elif number in (4, 5, 7, 10, 11) and prod(dims or [1]) <= small:
            typed.append((number, wire, value))
    count = prod(dims) if dims else 1
    values = None
    if count <= small:
        if raw is not None and dtype in _STRUCT:
            start, end = raw
            fmt = "<" + _STRUCT[dtype] * count
            if end - start == struct.calcsize(fmt):
                values = list(struct.unpack(fmt, bytes(buf[start:end])))
        elif typed:
            values = []
            for number, wire, value in typed:
                values += packed_floats(buf, wire, value) if number == 4 else packed_varints(buf, wire, value)
    return name, Tensor(tuple(dims), values)


def _value_info(buf, span) -> Tuple[str, List[Any]]:
    name, dims = "", []
    for number, wire, value in fields(buf, *span):
        if number == 1 and wire == LEN:
            name = text(buf, value)
        elif number == 2 and wire == LEN:  # TypeProto → tensor_type → shape → dim
            for n2, w2, v2 in fields(buf, *value):
                if n2 == 1 and w2 == LEN:
                    for n3, w3, v3 in fields(buf, *v2):
                        if n3 == 2 and w3 == LEN:
                            for n4, w4, v4 in fields(buf, *v3):
                                if n4 == 1 and w4 == LEN:
                                    dims.append(_dim(buf, v4))
    return name, dims


def _dim(buf, span) -> Any:
    for number, wire, value in fields(buf, *span):
        if number == 1 and wire == 0:
            return signed(value)
        if number == 2 and wire == LEN:
            return text(buf, value) or "?"
    return "?"


# -- converting the graph -----------------------------------------------------------------------------------------------

class _Converter:
    """Walks the nodes in order: tensor name → the op that makes it, or a constant."""

    def __init__(self, graph: Graph, name: str):
        self.g, self.file = graph, name
        self.b = Builder()
        self.made: Dict[str, str] = {}  # tensor → op name (or INPUT)
        self.consts: Dict[str, Tensor] = dict(graph.constants)
        self.by_op: Dict[str, Op] = {}

    def loc(self, node: Node) -> Location:
        return Location(self.file, node.index + 1, 1)

    def what(self, node: Node) -> str:
        return f"ONNX node '{node.name or node.outputs[0] if node.outputs else node.index}' ({node.op_type}, node {node.index + 1})"

    def error(self, node: Node, message: str, hint: Optional[str] = None) -> SpecError:
        return SpecError(f"{self.what(node)}: {message}", self.loc(node), hint)

    def x(self, node: Node, i: int = 0) -> str:
        """The op that makes the node's input i (an activation, not a constant)."""
        if i >= len(node.inputs) or not node.inputs[i]:
            raise self.error(node, f"input {i + 1} is missing")
        name = node.inputs[i]
        if name in self.made:
            return self.made[name]
        if name in self.consts:
            raise self.error(node, f"input {i + 1} ('{name}') is a constant where cnncalc needs a tensor the network computes")
        raise self.error(node, f"reads '{name}', which no earlier node makes (or which cnncalc does not follow)")

    def const(self, node: Node, i: int, values: bool = False) -> Optional[Tensor]:
        if i >= len(node.inputs) or not node.inputs[i]:
            return None
        found = self.consts.get(node.inputs[i])
        if found is None or values and found.values is None:
            raise self.error(node, f"input {i + 1} ('{node.inputs[i]}') must be a constant" + (" small enough to read" if values else ""))
        return found

    def scope(self, node: Node) -> Tuple[Tuple[str, ...], str]:
        """The module path of a PyTorch-exported node ('/layer1/layer1.0/conv1/Conv' → layer1, layer1.0, conv1) and
        a row name made from it (layer1_0_conv1)."""
        parts = [p for p in node.name.split("/") if p]
        if len(parts) >= 2 and node.name.startswith("/"):
            parts = parts[:-1]  # the last part is the op (Conv, Relu_1)
            path = ""
            for p in parts:
                path = p if path and p.startswith(path + ".") or not path else f"{path}.{p}"
            return tuple(parts), path
        return (), node.name or f"{node.op_type}_{node.index}"

    def add(self, node: Node, kind: str, args: Dict[str, Any], inputs: List[str], suffix: str = "") -> str:
        scope, name = self.scope(node)
        op = self.b.add(name + suffix, kind, args, inputs, self.loc(node), scope)
        self.by_op[op] = self.b.ops[-1]
        return op

    def output(self, node: Node, op: str) -> None:
        if node.outputs:
            self.made[node.outputs[0]] = op

    def run(self, input_shape) -> None:
        for node in self.g.nodes:
            if node.domain not in ("", "ai.onnx"):
                raise self.error(node, f"custom operator domain '{node.domain}' is not ONNX's own")
            handler = _OPS.get(node.op_type)
            if handler is None:
                raise self.error(node, f"cnncalc cannot express the ONNX operator {node.op_type}",
                                 hint=did_you_mean(node.op_type, _OPS) or "supported: " + ", ".join(sorted(_OPS)))
            handler(self, node)


def convert(graph: Graph, name: str, input: Optional[Sequence[int]]) -> Imported:
    if not graph.inputs:
        raise SpecError("the ONNX graph has no input", Location(name, 1, 1))
    in_name, dims = graph.inputs[0]
    # further inputs are weights supplied at run time (torch.onnx.export(..., export_params=False)): shapes suffice
    for other, other_dims in graph.inputs[1:]:
        if not all(isinstance(d, int) and d >= 0 for d in other_dims):
            raise SpecError(f"the ONNX graph has a second input '{other}' with dynamic sizes; cnncalc networks have "
                            "one input", Location(name, 1, 1))
        graph.constants[other] = Tensor(tuple(other_dims))
    shape = dims[1:]  # the first axis is the batch
    if input is not None:
        shape = list(input)
    elif not shape or not all(isinstance(d, int) and d > 0 for d in shape):
        raise SpecError(f"the ONNX input '{in_name}' has dynamic sizes {['N', *shape]}", Location(name, 1, 1),
                        hint="give the input shape (no batch): --input 3,224,224")
    c = _Converter(graph, name)
    c.made[in_name] = INPUT
    c.run(shape)
    if not any(n.op_type == "BatchNormalization" for n in graph.nodes) and graph.producer == "pytorch" \
            and any(n.op_type == "Conv" for n in graph.nodes):
        c.b.note(BN_FOLD_NOTE)
    out_ops = {c.made[o] for o in graph.outputs if o in c.made}
    if c.b.ops and c.b.ops[-1].name not in out_ops and out_ops:
        c.b.note(f"the graph has {len(graph.outputs)} outputs; cnncalc reports the last layer's")
    return c.b.build(Path(name).stem, name, "ONNX", shape, Location(name, 1, 1))


# -- operators ---------------------------------------------------------------------------------------------------------

def _spatial(c: _Converter, node: Node, kernel: Sequence[int]) -> Dict[str, Any]:
    """stride, padding, dilation of a conv or pool, from ONNX's strides, pads [begins…, ends…], auto_pad."""
    r = len(kernel)
    strides = node.attrs.get("strides") or [1] * r
    dilations = node.attrs.get("dilations") or [1] * r
    auto = node.attrs.get("auto_pad") or "NOTSET"
    args: Dict[str, Any] = {"kernel": _one(kernel), "stride": _one(strides)}
    if auto == "SAME_UPPER":
        args["padding"] = "same"  # cnncalc's same: ceil(N / S), the odd unit at the end, as SAME_UPPER
    elif auto == "SAME_LOWER":
        raise c.error(node, "auto_pad SAME_LOWER puts the odd padding unit first; cnncalc's `same` puts it last")
    elif auto == "VALID":
        args["padding"] = 0
    else:
        pads = node.attrs.get("pads") or [0] * (2 * r)
        begins, ends = pads[:r], pads[r:]
        args["padding"] = _one(begins) if begins == ends else [[b, e] for b, e in zip(begins, ends)]
    if any(d != 1 for d in dilations):
        args["dilation"] = _one(dilations)
    return args


def _one(values: Sequence[int]):
    values = list(values)
    return values[0] if len(set(values)) == 1 else values


def _conv(c: _Converter, node: Node) -> None:
    w = c.const(node, 1)
    kernel = node.attrs.get("kernel_shape") or list(w.dims[2:])
    group = node.attrs.get("group") or 1
    args = {"out": w.dims[0], **_spatial(c, node, kernel)}
    if group != 1:
        args["groups"] = group
    args["bias"] = c.const(node, 2) is not None
    c.output(node, c.add(node, "conv", args, [c.x(node)]))


def _conv_transpose(c: _Converter, node: Node) -> None:
    w = c.const(node, 1)
    kernel = node.attrs.get("kernel_shape") or list(w.dims[2:])
    group = node.attrs.get("group") or 1
    if node.attrs.get("output_shape"):
        raise c.error(node, "output_shape is not supported; export with pads and output_padding")
    args = {"out": w.dims[1] * group, **_spatial(c, node, kernel)}
    if isinstance(args["padding"], (list, str)) and not isinstance(args["padding"], int) and args["padding"] != 0:
        if args["padding"] == "same" or any(isinstance(p, list) for p in args["padding"]):
            raise c.error(node, "asymmetric or automatic padding on a transposed conv is not supported")
    if node.attrs.get("output_padding") and any(node.attrs["output_padding"]):
        args["output_padding"] = _one(node.attrs["output_padding"])
    if group != 1:
        args["groups"] = group
    args["bias"] = c.const(node, 2) is not None
    c.output(node, c.add(node, "conv_transpose", args, [c.x(node)]))


def _gemm(c: _Converter, node: Node) -> None:
    w = c.const(node, 1)
    if node.attrs.get("transA") or node.attrs.get("alpha", 1.0) != 1.0 or node.attrs.get("beta", 1.0) != 1.0:
        raise c.error(node, "Gemm with transA, alpha or beta other than the defaults is not a dense layer")
    out = w.dims[0] if node.attrs.get("transB") else w.dims[1]
    c.output(node, c.add(node, "dense", {"out": out, "bias": c.const(node, 2) is not None}, [c.x(node)]))


def _matmul(c: _Converter, node: Node) -> None:
    w = c.const(node, 1)
    if len(w.dims) != 2:
        raise c.error(node, f"MatMul with a {len(w.dims)}-D constant is not a dense layer")
    c.output(node, c.add(node, "dense", {"out": w.dims[1], "bias": False}, [c.x(node)]))


def _merge(kind: str):
    def handle(c: _Converter, node: Node) -> None:
        consts = [name for name in node.inputs if name in c.consts]
        if kind == "mul" and len(node.inputs) == 2:
            silu = _silu(c, node)
            if silu:
                return
        if consts:
            _with_constant(c, node, kind, consts)
            return
        c.output(node, c.add(node, kind, {}, [c.x(node, i) for i in range(len(node.inputs))]))
    return handle


def _silu(c: _Converter, node: Node) -> bool:
    """x · sigmoid(x), as PyTorch exports SiLU: one silu layer."""
    a, b = node.inputs
    for x, s in ((a, b), (b, a)):
        op = c.by_op.get(c.made.get(s, ""))
        if op is not None and op.type == "sigmoid" and c.b.ops and c.b.ops[-1] is op and op.inputs == (c.made.get(x),):
            c.b.ops.pop()
            c.b.taken.discard(op.name)
            c.output(node, c.add(node, "silu", {}, [c.made[x]]))
            return True
    return False


def _with_constant(c: _Converter, node: Node, kind: str, consts: List[str]) -> None:
    other = [i for i, n in enumerate(node.inputs) if n not in consts]
    if len(other) != 1:
        raise c.error(node, "an operation on constants only")
    x = c.x(node, other[0])
    tensor = c.consts[consts[0]]
    op = c.by_op.get(x)
    if kind == "add" and op is not None and op.type == "dense" and not op.args.get("bias") \
            and c.b.ops[-1] is op and prod(tensor.dims or [1]) == op.args["out"]:
        i = c.b.ops.index(op)  # MatMul + Add of a vector: a dense layer with a bias
        c.b.ops[i] = c.by_op[x] = Op(op.name, op.type, {**op.args, "bias": True}, op.inputs, op.loc, op.scope)
        c.output(node, x)
        return
    if kind == "mul" and tensor.values is not None and len(set(tensor.values)) == 1:
        c.output(node, c.add(node, "scale", {"factor": float(tensor.values[0])}, [x]))
        return
    raise c.error(node, f"{node.op_type} with a constant operand of shape {list(tensor.dims)} has no cnncalc layer",
                  hint="cnncalc merges computed tensors; a constant shift or per-channel scale is no layer of its own")


def _simple(kind: str, args=None):
    def handle(c: _Converter, node: Node) -> None:
        c.output(node, c.add(node, kind, args(c, node) if callable(args) else dict(args or {}), [c.x(node)]))
    return handle


def _bn(c: _Converter, node: Node) -> None:
    eps = node.attrs.get("epsilon", 1e-5)
    c.output(node, c.add(node, "bn", {"eps": float(eps)} if abs(eps - 1e-5) > 1e-12 else {}, [c.x(node)]))


def _clip(c: _Converter, node: Node) -> None:
    low = c.const(node, 1, True)
    high = c.const(node, 2, True)
    lo = low.values[0] if low else node.attrs.get("min", float("-inf"))
    hi = high.values[0] if high else node.attrs.get("max", float("inf"))
    if lo == 0 and hi == 6:
        kind = "relu6"
    elif lo == 0 and isinf(hi):
        kind = "relu"
    else:
        raise c.error(node, f"Clip to [{lo}, {hi}] is neither relu ([0, ∞)) nor relu6 ([0, 6])")
    c.output(node, c.add(node, kind, {}, [c.x(node)]))


def _hardsigmoid(c: _Converter, node: Node) -> None:
    alpha, beta = node.attrs.get("alpha", 0.2), node.attrs.get("beta", 0.5)
    if abs(alpha - 1 / 6) > 1e-6 or beta != 0.5:
        raise c.error(node, f"HardSigmoid with alpha {alpha}, beta {beta}: cnncalc's is PyTorch's (alpha 1/6, beta 0.5)")
    c.output(node, c.add(node, "hardsigmoid", {}, [c.x(node)]))


def _pool(kind: str):
    def handle(c: _Converter, node: Node) -> None:
        if len(node.outputs) > 1 and node.outputs[1]:
            raise c.error(node, "max pooling's indices output is not supported")
        kernel = node.attrs.get("kernel_shape") or []
        args = _spatial(c, node, kernel)
        if node.attrs.get("ceil_mode"):
            args["ceil_mode"] = True
        if kind == "avgpool":
            args["count_include_pad"] = bool(node.attrs.get("count_include_pad", 0))
        c.output(node, c.add(node, kind, args, [c.x(node)]))
    return handle


def _flatten(c: _Converter, node: Node) -> None:
    if node.attrs.get("axis", 1) != 1:
        raise c.error(node, f"Flatten at axis {node.attrs['axis']}: cnncalc flattens everything but the batch")
    c.output(node, c.add(node, "flatten", {}, [c.x(node)]))


def _reshape(c: _Converter, node: Node) -> None:
    shape = c.const(node, 1, True).values
    if len(shape) == 2 and shape[1] == -1 and shape[0] in (0, 1, -1):
        c.output(node, c.add(node, "flatten", {}, [c.x(node)]))
        return
    raise c.error(node, f"Reshape to {shape}: cnncalc follows only the flatten [N, -1]")


def _reduce_mean(c: _Converter, node: Node) -> None:
    axes = node.attrs.get("axes") or (c.const(node, 1, True).values if len(node.inputs) > 1 else None)
    if not axes or sorted(axes) not in ([2, 3], [2], [2, 3, 4], [-2, -1]):
        raise c.error(node, f"ReduceMean over axes {axes}: only the spatial axes (global average pooling)")
    y = c.add(node, "global_avgpool", {}, [c.x(node)])
    if not node.attrs.get("keepdims", 1):
        y = c.add(node, "flatten", {}, [y], "_flatten")
    c.output(node, y)


def _resize(c: _Converter, node: Node) -> None:
    mode = node.attrs.get("mode", "nearest")
    scales = None
    if node.op_type == "Upsample":
        scales = c.const(node, 1, True).values if len(node.inputs) > 1 else node.attrs.get("scales")
    else:
        for i in (2, 3):
            t = c.const(node, i, False) if len(node.inputs) > i and node.inputs[i] else None
            if t is not None and t.dims and prod(t.dims) and t.values is None:
                raise c.error(node, f"input {i + 1} must be a small constant")
            if t is not None and t.values:
                if i == 2:
                    scales = t.values
                else:
                    args = {"size": _one([int(v) for v in t.values[2:]])}
                    break
        else:
            args = None
        if scales is None and args is not None:
            scales = None
    if scales is not None:
        spatial = scales[2:]
        if scales[:2] != [1.0, 1.0] or any(s != int(s) or s < 1 for s in spatial):
            raise c.error(node, f"Resize by {scales}: cnncalc upsamples spatial axes by whole factors")
        args = {"scale": _one([int(s) for s in spatial])}
        rank = len(spatial)
    elif args is None:
        raise c.error(node, "Resize without constant scales or sizes")
    else:
        rank = len(c.consts[node.inputs[3]].values) - 2
    if mode == "linear":
        args["mode"] = {1: "linear", 2: "bilinear", 3: "trilinear"}[rank]
        if node.attrs.get("coordinate_transformation_mode") == "align_corners":
            args["align_corners"] = True
    elif mode != "nearest":
        raise c.error(node, f"Resize mode {mode} is not supported (nearest and linear are)")
    c.output(node, c.add(node, "upsample", args, [c.x(node)]))


def _softmax(c: _Converter, node: Node) -> None:
    if node.attrs.get("axis", 1 if node.op_type == "Softmax" else 1) not in (1, -1):
        raise c.error(node, f"Softmax over axis {node.attrs['axis']}: cnncalc's runs over channels")
    c.output(node, c.add(node, "softmax", {}, [c.x(node)]))


def _concat(c: _Converter, node: Node) -> None:
    if node.attrs.get("axis") != 1:
        raise c.error(node, f"Concat along axis {node.attrs.get('axis')}: cnncalc concatenates channels (axis 1)")
    c.output(node, c.add(node, "concat", {}, [c.x(node, i) for i in range(len(node.inputs))]))


def _identity(c: _Converter, node: Node) -> None:
    if node.inputs and node.inputs[0] in c.consts:  # an initializer under another name (shared weights)
        c.consts[node.outputs[0]] = c.consts[node.inputs[0]]
        return
    c.output(node, c.add(node, "identity", {}, [c.x(node)]))


def _constant(c: _Converter, node: Node) -> None:
    value = node.attrs.get("value")
    if isinstance(value, Tensor):
        c.consts[node.outputs[0]] = value
    elif "value_float" in node.attrs or "value_int" in node.attrs:
        c.consts[node.outputs[0]] = Tensor((), [node.attrs.get("value_float", node.attrs.get("value_int"))])
    elif "value_ints" in node.attrs or "value_floats" in node.attrs:
        values = node.attrs.get("value_ints") or node.attrs.get("value_floats")
        c.consts[node.outputs[0]] = Tensor((len(values),), list(values))
    else:
        raise c.error(node, "a Constant without a value cnncalc can read")


def _dropout(c: _Converter, node: Node) -> None:
    ratio = c.const(node, 1, True) if len(node.inputs) > 1 and node.inputs[1] else None
    p = ratio.values[0] if ratio else node.attrs.get("ratio", 0.5)
    c.output(node, c.add(node, "dropout", {"p": float(p)}, [c.x(node)]))


_OPS = {
    "Conv": _conv, "ConvTranspose": _conv_transpose, "Gemm": _gemm, "MatMul": _matmul,
    "BatchNormalization": _bn, "Relu": _simple("relu"), "Sigmoid": _simple("sigmoid"), "Tanh": _simple("tanh"),
    "LeakyRelu": _simple("leaky_relu", lambda c, n: {"slope": float(n.attrs.get("alpha", 0.01))}),
    "Clip": _clip, "HardSigmoid": _hardsigmoid, "HardSwish": _simple("hardswish"),
    "Gelu": _simple("gelu", lambda c, n: {"approximate": n.attrs.get("approximate") or "none"}),
    "Softmax": _softmax, "MaxPool": _pool("maxpool"), "AveragePool": _pool("avgpool"),
    "GlobalAveragePool": _simple("global_avgpool"), "GlobalMaxPool": _simple("global_maxpool"),
    "Add": _merge("add"), "Sum": _merge("add"), "Mul": _merge("mul"), "Concat": _concat,
    "Flatten": _flatten, "Reshape": _reshape, "ReduceMean": _reduce_mean, "Resize": _resize, "Upsample": _resize,
    "LRN": _simple("lrn", lambda c, n: {"size": n.attrs["size"], "alpha": float(n.attrs.get("alpha", 1e-4)),
                                        "beta": float(n.attrs.get("beta", 0.75)), "k": float(n.attrs.get("bias", 1.0))}),
    "Dropout": _dropout, "Identity": _identity, "Constant": _constant,
}
