"""ONNX import: cnncalc's own reader of the protobuf wire format (no `onnx` package at run time).

Hand-made graphs (written with the `onnx` package's helpers, checked against hand counts) cover each operator and
the bad-input paths; the round trip exports zoo networks through PyTorch's own ONNX exporter and compares.
"""
import pytest

import cnncalc
from cnncalc.errors import SpecError
from cnncalc.importers import spec_text

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402


def weight(name, *dims):
    """An initializer with real (zero) data, so the file holds weights the reader must skip."""
    import numpy as np

    return onnx.numpy_helper.from_array(np.zeros(dims, dtype=np.float32), name)


def small(name, values, dtype=TensorProto.FLOAT):
    return helper.make_tensor(name, dtype, [len(values)], values)


def save(tmp_path, nodes, inits, shape=(1, 3, 8, 8), name="m.onnx", out="y"):
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
                              [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)], inits)
    path = tmp_path / name
    onnx.save(helper.make_model(graph, producer_name="hand"), str(path))
    return str(path)


def test_every_operator_by_hand(tmp_path):
    nodes = [
        # conv 3→4, kernel 3, pads 0 before and 1 after: (8 + 1 − 3) // 2 + 1 = 4
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="/stem/conv/Conv", kernel_shape=[3, 3],
                         strides=[2, 2], pads=[0, 0, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "s", "o", "m", "v"], ["n1"], name="bn", epsilon=1e-3),
        helper.make_node("Clip", ["n1", "lo", "hi"], ["r1"], name="clip"),  # → relu6
        helper.make_node("Sigmoid", ["r1"], ["sg"], name="sig"),
        helper.make_node("Mul", ["r1", "sg"], ["si"], name="silu"),  # x · sigmoid(x) → silu
        helper.make_node("Conv", ["si", "w2"], ["c2"], name="dw", group=4, auto_pad="SAME_UPPER", kernel_shape=[3, 3]),
        helper.make_node("Add", ["c2", "si"], ["a"], name="add"),
        helper.make_node("MaxPool", ["a"], ["p"], name="pool", kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
        helper.make_node("Resize", ["p", "", "scales"], ["u"], name="up", mode="nearest"),
        helper.make_node("Concat", ["u", "a"], ["cat"], name="cat", axis=1),
        helper.make_node("LeakyRelu", ["cat"], ["lr"], name="lrelu", alpha=0.2),
        helper.make_node("AveragePool", ["lr"], ["ap"], name="avg", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("GlobalAveragePool", ["ap"], ["g"], name="gap"),
        helper.make_node("Flatten", ["g"], ["f"], name="flat"),
        helper.make_node("MatMul", ["f", "w3"], ["mm"], name="fc/MatMul"),
        helper.make_node("Add", ["mm", "b3"], ["fc"], name="fc/Add"),  # MatMul + bias → one dense layer
        helper.make_node("Gemm", ["fc", "w4", "b4"], ["gm"], name="head", transB=1),
        helper.make_node("Softmax", ["gm"], ["y"], name="prob", axis=1),
    ]
    inits = [weight("w1", 4, 3, 3, 3), weight("b1", 4), weight("s", 4), weight("o", 4), weight("m", 4),
             weight("v", 4), small("lo", [0.0]), small("hi", [6.0]), weight("w2", 4, 1, 3, 3),
             small("scales", [1.0, 1.0, 2.0, 2.0]), weight("w3", 8, 5), weight("b3", 5), weight("w4", 3, 5),
             weight("b4", 3)]
    inits[6].dims[:] = []  # Clip's bounds are scalars
    inits[7].dims[:] = []
    a = cnncalc.load(save(tmp_path, nodes, inits)).analyze()
    assert a.error is None, a.error.format()
    rows = [(r.name, r.type, r.output, r.params) for r in a.layers]
    assert rows == [
        ("stem_conv", "conv", (4, 4, 4), 4 * 27 + 4),  # 112
        ("bn", "bn", (4, 4, 4), 8),
        ("clip", "relu6", (4, 4, 4), 0),
        ("silu", "silu", (4, 4, 4), 0),
        ("dw", "conv", (4, 4, 4), 4 * 9),  # depthwise, no bias; SAME_UPPER keeps 4
        ("add", "add", (4, 4, 4), 0),
        ("pool", "maxpool", (4, 2, 2), 0),  # ceil((4 − 3) / 2) + 1 = 2 (floor would give 1)
        ("up", "upsample", (4, 4, 4), 0),
        ("cat", "concat", (8, 4, 4), 0),
        ("lrelu", "leaky_relu", (8, 4, 4), 0),
        ("avg", "avgpool", (8, 2, 2), 0),
        ("gap", "global_avgpool", (8, 1, 1), 0),
        ("flat", "flatten", (8,), 0),
        ("fc_MatMul", "dense", (5,), 8 * 5 + 5),  # the Add became its bias
        ("head", "dense", (3,), 5 * 3 + 3),
        ("prob", "softmax", (3,), 0),
    ]
    assert a.layers[1].buffers == 8 and abs(a.layers[0].facts.flops) >= 0
    assert cnncalc.load(spec_text(save(tmp_path, nodes, inits))).analyze().totals == a.totals


BAD_NODES = {
    "unknown op": ([helper.make_node("Conv", ["x", "w"], ["c"], name="/layer1/conv/Conv", kernel_shape=[1, 1]),
                    helper.make_node("Einsum", ["c"], ["y"], name="/layer1/mix/Einsum", equation="ij->ij")],
                   "m.onnx:2:1: error: ONNX node '/layer1/mix/Einsum' (Einsum, node 2): cnncalc cannot express the "
                   "ONNX operator Einsum"),
    "constant add": ([helper.make_node("Add", ["x", "w"], ["y"], name="shift")],
                     "m.onnx:1:1: error: ONNX node 'shift' (Add, node 1): Add with a constant operand of shape [3, 3, 1, 1]"),
    "clip": ([helper.make_node("Clip", ["x"], ["y"], name="c", min=-1.0, max=1.0)],
             "m.onnx:1:1: error: ONNX node 'c' (Clip, node 1): Clip to [-1.0, 1.0] is neither relu"),
}


@pytest.mark.parametrize("case", sorted(BAD_NODES))
def test_unsupported_nodes_are_named(cli, tmp_path, monkeypatch, case):
    nodes, expected = BAD_NODES[case]
    save(tmp_path, nodes, [weight("w", 3, 3, 1, 1)])
    monkeypatch.chdir(tmp_path)
    result = cli("summary", "m.onnx")
    assert result.exit_code == 2 and result.stderr.startswith(expected), result.stderr
    assert "Traceback" not in result.stderr


def test_dynamic_input_needs_input_option(cli, tmp_path, monkeypatch):
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="conv", kernel_shape=[3, 3])]
    save(tmp_path, nodes, [weight("w", 2, 3, 3, 3)], shape=("N", 3, "H", "W"))
    monkeypatch.chdir(tmp_path)
    result = cli("summary", "m.onnx")
    assert result.exit_code == 2
    assert result.stderr.startswith("m.onnx:1:1: error: the ONNX input 'x' has dynamic sizes ['N', 3, 'H', 'W']")
    assert "hint: give the input shape (no batch): --input 3,224,224" in result.stderr
    ok = cli("summary", "m.onnx", "--input", "3,10,10", "--format", "json")
    assert ok.exit_code == 0 and '"macs": 3456' in ok.stdout  # 2 × 8 × 8 outputs × 27 (3 × 3 × 3)
    assert cli("import", "m.onnx", "--input", "3,10,10").stdout.count("input: [3, 10, 10]") == 1


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "text"])
def test_corrupt_files_are_refused_with_a_located_error(cli, tmp_path, monkeypatch, damage):
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="conv", kernel_shape=[3, 3])]
    data = open(save(tmp_path, nodes, [weight("w", 64, 3, 3, 3)]), "rb").read()
    bad = {"truncated": data[:len(data) // 2], "garbage": bytes(range(256)) * 4, "empty": b"",
           "text": b"name: 'not onnx'\n"}[damage]
    (tmp_path / "m.onnx").write_bytes(bad)
    monkeypatch.chdir(tmp_path)
    result = cli("summary", "m.onnx")
    assert result.exit_code == 2 and result.stderr.startswith("m.onnx:1:1: error: "), result.stderr
    assert "Traceback" not in result.stderr


def test_a_file_beyond_the_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    from cnncalc.importers import onnx as reader

    monkeypatch.setattr(reader, "MAX_BYTES", 1000)
    (tmp_path / "big.onnx").write_bytes(b"\x00" * 1001)  # not even protobuf: refused on its size alone
    with pytest.raises(SpecError, match="ONNX file is 1,001 bytes; the limit is 1,000"):
        cnncalc.load(str(tmp_path / "big.onnx"))
