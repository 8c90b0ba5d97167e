"""Keras configs → specs, read without TensorFlow or Keras: configs written here by hand in Keras 3's format
(`.keras` zip and `model.to_json()`), Keras 2's, and Sequential; checked against hand counts (Keras' own rule:
trainable = cnncalc's params, non-trainable = batch norm's moving statistics = cnncalc's buffers)."""
import json
import zipfile

import pytest

import cnncalc
from cnncalc.importers import spec_text


def tensor(name):
    return {"class_name": "__keras_tensor__", "config": {"shape": None, "dtype": "float32", "keras_history": [name, 0, 0]}}


def layer(kind, name, inputs, **config):
    args = [tensor(i) for i in inputs] if len(inputs) == 1 else [[tensor(i) for i in inputs]]
    return {"module": "keras.layers", "class_name": kind, "config": {"name": name, **config}, "name": name,
            "inbound_nodes": [{"args": args, "kwargs": {}}] if inputs else []}


FUNCTIONAL = {"module": "keras", "class_name": "Functional", "config": {"name": "mini", "layers": [
    layer("InputLayer", "input", [], batch_shape=[None, 32, 32, 3]),
    layer("ZeroPadding2D", "pad1", ["input"], padding=[[3, 3], [3, 3]]),
    layer("Conv2D", "conv1", ["pad1"], filters=8, kernel_size=[7, 7], strides=[2, 2], padding="valid", use_bias=True,
          activation="linear"),
    layer("BatchNormalization", "bn1", ["conv1"], epsilon=1.001e-5),
    layer("Activation", "relu1", ["bn1"], activation="relu"),
    layer("ZeroPadding2D", "pad2", ["relu1"], padding=[[1, 1], [1, 1]]),
    layer("MaxPooling2D", "pool", ["pad2"], pool_size=[3, 3], strides=[2, 2], padding="valid"),
    layer("DepthwiseConv2D", "dw", ["pool"], kernel_size=[3, 3], strides=[1, 1], padding="same", use_bias=False,
          depth_multiplier=1, activation="linear"),
    layer("ReLU", "dw_relu", ["dw"], max_value=6.0, negative_slope=0.0, threshold=0.0),
    layer("Conv2D", "pw", ["dw_relu"], filters=8, kernel_size=[1, 1], use_bias=False, activation="linear"),
    layer("Add", "add", ["pw", "pool"]),
    layer("GlobalAveragePooling2D", "se_pool", ["add"], keepdims=False),
    layer("Reshape", "se_reshape", ["se_pool"], target_shape=[1, 1, 8]),
    layer("Conv2D", "se_conv", ["se_reshape"], filters=8, kernel_size=[1, 1], activation="sigmoid"),
    layer("Multiply", "se_mul", ["add", "se_conv"]),
    layer("Concatenate", "cat", ["se_mul", "add"], axis=-1),
    layer("GlobalAveragePooling2D", "gap", ["cat"]),
    layer("Dropout", "drop", ["gap"], rate=0.2),
    layer("Dense", "fc", ["drop"], units=10, activation="softmax"),
], "input_layers": [["input", 0, 0]], "output_layers": [["fc", 0, 0]]}}


def check_mini(a):
    assert a.error is None, a.error.format()
    out = {r.name.rsplit(".", 1)[-1]: r.output for r in a.layers}  # folded: residual1.body.se_pool …
    assert out["conv1"] == (8, 16, 16)  # (32 + 6 − 7) // 2 + 1: the ZeroPadding folded into the conv
    assert out["pool"] == (8, 8, 8)  # (16 + 2 − 3) // 2 + 1
    assert out["se_pool"] == (8, 1, 1) and "se_pool_flatten" not in out  # the Reshape undid the flatten
    assert (16, 8, 8) in out.values()  # the concatenation (`cat`, or the parallel's merge once folded)
    # trainable: conv1 8·147 + 8; bn1 γ, β 16; dw 8·9; pw 8·8; se_conv 8·8 + 8; fc 16·10 + 10 = 1,578
    assert a.totals.params == 1184 + 16 + 72 + 64 + 72 + 170 == 1578
    assert a.totals.buffers == 16  # Keras' non-trainable: bn1's moving mean and variance
    assert a.totals.macs == 8 * 256 * 147 + 8 * 64 * 9 + 8 * 64 * 8 + 64 + 160


def test_keras_file_and_to_json_config(tmp_path):
    path = tmp_path / "mini.keras"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.8.0"}))
        z.writestr("config.json", json.dumps(FUNCTIONAL))
        z.writestr("model.weights.h5", b"\0" * 1000)  # never opened
    check_mini(cnncalc.load(str(path)).analyze())
    (tmp_path / "mini.json").write_text(json.dumps(FUNCTIONAL))
    text = spec_text(str(tmp_path / "mini.json"))
    assert text.startswith(f"# Imported by cnncalc from {tmp_path / 'mini.json'} (Keras config)")
    check_mini(cnncalc.load(text).analyze())


def test_keras2_sequential_config(tmp_path):
    model = {"class_name": "Sequential", "config": {"name": "seq", "layers": [
        {"class_name": "Conv2D", "config": {"name": "c", "batch_input_shape": [None, 28, 28, 1], "filters": 4,
                                            "kernel_size": [3, 3], "activation": "relu", "padding": "same"}},
        {"class_name": "AveragePooling2D", "config": {"name": "p", "pool_size": [2, 2], "padding": "valid"}},
        {"class_name": "Flatten", "config": {"name": "f"}},
        {"class_name": "Dense", "config": {"name": "d", "units": 10, "use_bias": False}}]}}
    (tmp_path / "seq.json").write_text(json.dumps(model))
    a = cnncalc.load(spec_text(str(tmp_path / "seq.json"))).analyze()
    # conv 4·9 + 4 = 40; dense 4·14·14·10 = 7,840 (no bias)
    assert [r.output for r in a.layers] == [(4, 28, 28), (4, 28, 28), (4, 14, 14), (784,), (10,)]
    assert a.totals.params == 40 + 7840


@pytest.mark.parametrize("config, message", [
    ({"class_name": "MyModel", "config": {"units": 32}}, "a Keras MyModel config does not describe its layers"),
    ({"class_name": "Functional", "config": {"layers": [layer("InputLayer", "i", [], batch_shape=[None, 8, 8, 3]),
                                                        layer("LSTM", "rnn", ["i"], units=4)]}},
     "mini.json:2:1: error: Keras layer 'rnn' (LSTM): cnncalc cannot express a LSTM"),
    ({"class_name": "Functional", "config": {"layers": [layer("InputLayer", "i", [], batch_shape=[None, None, None, 3])]}},
     "Keras layer 'i' (InputLayer): the input shape [None, None, None, 3] is not fixed"),
])
def test_bad_configs_are_located_errors(cli, tmp_path, monkeypatch, config, message):
    (tmp_path / "mini.json").write_text(json.dumps(config))
    monkeypatch.chdir(tmp_path)
    result = cli("import", "mini.json")
    assert result.exit_code == 2 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_a_keras_file_that_is_no_zip(cli, tmp_path, monkeypatch):
    (tmp_path / "m.keras").write_bytes(b"PK\x03\x04 broken")
    monkeypatch.chdir(tmp_path)
    result = cli("summary", "m.keras")
    assert result.exit_code == 2 and result.stderr.startswith("m.keras:1:1: error: not a valid .keras file")


@pytest.mark.parametrize("application", ["ResNet50", "MobileNetV2"])
def test_keras_applications_count_what_keras_counts(tmp_path, application):
    # Keras 3 on the torch backend builds the application (weights=None); its own weights lists are the reference
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip("Keras runs on another backend here")
    model = getattr(keras.applications, application)(weights=None)
    path = tmp_path / f"{application}.keras"
    model.save(path)
    a = cnncalc.load(str(path)).analyze()
    assert a.error is None, a.error.format()
    assert a.totals.params == sum(int(w.numpy().size) for w in model.trainable_weights)
    assert a.totals.buffers == sum(int(w.numpy().size) for w in model.non_trainable_weights)
    rows = {r.name: r.output for r in a.layers}
    compared = 0
    for keras_layer in model.layers:  # every layer that is a row: its output, channels last → first
        shape = tuple(keras_layer.output.shape[1:])
        if keras_layer.name in rows and not type(keras_layer).__name__.startswith("Global"):  # [C] vs [C, 1, 1]
            assert rows[keras_layer.name] == (shape[-1], *shape[:-1]), keras_layer.name
            compared += 1
    assert compared > 100
    assert len(spec_text(str(path)).splitlines()) < 120  # folded: blocks and repeats
