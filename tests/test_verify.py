"""`cnncalc verify` through the CLI: exit codes, located messages, the JSON fields, the memory guard, --weights."""
from __future__ import annotations

import json

import numpy as np
import pytest

import cnncalc
from cnncalc.cli.options import ByteSize
from cnncalc.runtime import init_weights, save_weights

SPEC = """\
name: small
input: [3, 16, 16]
layers:
  - conv: {out: 8, kernel: 3, padding: 1, bias: false}
  - bn
  - relu
  - residual:
      body: [conv: {out: 8, kernel: 3, padding: 1}, relu]
  - maxpool: 2
  - global_avgpool
  - flatten
  - dense: 10
"""


@pytest.fixture
def spec(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(SPEC)
    return str(path)


@pytest.fixture(autouse=True)
def fixed_matmul(monkeypatch, tmp_path_factory):
    """The 2048³ reference matmul costs ~0.1 s per run; a fixed 100 GFLOP/s keeps these tests fast and exact.
    The per-machine cache lives in a fresh folder, so the stub's rate never reaches the real one."""
    monkeypatch.setattr("cnncalc.runtime.verify.matmul_gflops", lambda: 100.0)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


def test_exit_0_and_a_table_when_everything_matches(cli, spec):
    r = cli("verify", spec)
    assert r.exit_code == 0, r.output
    assert r.stderr == ""  # no progress bar off a terminal, no complaints
    assert "small — verify at batch 2, float32, seed 0" in r.stdout
    assert "maxpool1" in r.stdout and "2×8×8×8" in r.stdout  # batch 2, 8 channels, 16/2 = 8
    assert "✗" not in r.stdout and "✓ all 10 layers computed their analysed shapes" in r.stdout


def test_json_fields(cli, spec):
    r = cli("verify", spec, "--format", "json", "--seed", "3")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    summary = json.loads(cli("summary", spec, "--format", "json", "--batch", "2").stdout)["totals"]
    assert (d["batch"], d["seed"], d["dtype"], d["input"]) == (2, 3, "float32", [3, 16, 16])  # --batch defaults to 2
    names = [layer["name"] for layer in d["layers"]]
    assert names[:3] == ["conv1", "bn1", "relu1"] and len(names) == 10
    first = d["layers"][0]
    assert set(first) == {"name", "type", "expected", "actual", "ok", "seconds", "error"}
    assert first["expected"] == first["actual"] == [2, 8, 16, 16] and first["ok"] is True and first["seconds"] > 0
    t = d["totals"]
    assert t["ok"] is True and t["mismatches"] == 0 and t["layers"] == 10
    # conv1 8·3·3·3 = 216; bn 16 (+16 buffers); residual conv 8·8·3·3 + 8 = 584; dense 8·10 + 10 = 90
    assert t["params"] == t["params_allocated"] == 216 + 16 + 584 + 90 == summary["params"]
    assert t["buffers"] == t["buffers_allocated"] == 16
    assert t["peak_bytes_predicted"] == summary["peak_activation_bytes"] + summary["param_bytes"] + summary["buffer_bytes"]
    assert t["peak_bytes_measured"] > 0 and t["peak_ratio"] == t["peak_bytes_measured"] / t["peak_bytes_predicted"]
    assert t["forward_seconds"] >= sum(layer["seconds"] for layer in d["layers"])
    assert t["gflops"] == pytest.approx(2 * t["macs"] / t["forward_seconds"] / 1e9)
    assert t["matmul_gflops"] == 100.0 and t["efficiency"] == pytest.approx(t["gflops"] / 100)
    assert d["errors"] == []


def test_measured_peak_is_close_to_the_prediction(cli, tmp_path):
    # 16 × 512 × 512 float32 activations are 16 MiB each, the predicted peak 2 of them (a layer's input and output);
    # the kernels add bounded temporaries (an im2col buffer of at most ops.COL_BUDGET = 4 MiB), nothing per element
    path = tmp_path / "wide.yaml"
    path.write_text("input: [16, 512, 512]\nlayers:\n  - conv: {out: 16, kernel: 3, padding: 1}\n  - relu\n"
                    "  - conv: {out: 16, kernel: 3, padding: 1}\n  - maxpool: 2\n")
    t = json.loads(cli("verify", str(path), "--format", "json", "--batch", "1").stdout)["totals"]
    assert 0.9 <= t["peak_ratio"] <= 1.3, t


def test_exit_1_names_the_layer_that_computed_the_wrong_shape(cli, spec, monkeypatch):
    from cnncalc.runtime.backend import FORWARD

    monkeypatch.setitem(FORWARD, "maxpool", lambda layer, facts, xs, w: xs[0][:, :, ::2, :])  # halves H, forgets W
    r = cli("verify", spec, "--format", "json")
    assert r.exit_code == 1
    assert r.stderr == f"{spec}:9:14: error: maxpool1 (maxpool) computed [2, 8, 8, 16], the analysis says [2, 8, 8, 8]\n"
    d = json.loads(r.stdout)
    bad = [layer for layer in d["layers"] if not layer["ok"]]
    assert [(b["name"], b["expected"], b["actual"]) for b in bad] == [("maxpool1", [2, 8, 8, 8], [2, 8, 8, 16])]
    assert d["totals"]["ok"] is False and d["totals"]["mismatches"] == 1
    assert len(d["layers"]) == 10  # global pooling absorbs the error: the rest still ran


def test_exit_70_when_a_kernel_crashes(cli, spec, monkeypatch):
    # a kernel raising on checked input is a bug in cnncalc, not a failed check of the user's network: it says so,
    # names the layer, keeps the traceback for the report, and exits 70 (EX_SOFTWARE), apart from 1 and 2
    from cnncalc.runtime.backend import FORWARD

    def broken(layer, facts, xs, w):
        raise ValueError("matmul: shapes do not align")

    monkeypatch.setitem(FORWARD, "dense", broken)
    r = cli("verify", spec)
    assert r.exit_code == 70 and r.stdout == ""
    assert "Traceback" in r.stderr and 'raise ValueError("matmul: shapes do not align")' in r.stderr
    assert "internal error: dense1 (dense) failed: ValueError: matmul: shapes do not align\n" in r.stderr
    assert "this is a bug in cnncalc" in r.stderr


def test_exit_2_on_a_bad_spec(cli, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("input: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 9}\n")
    r = cli("verify", str(path))
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.startswith(f"{path}:3:20: error: 'conv' output would be empty along H")


def test_refuses_to_start_beyond_max_memory(cli, spec):
    # predicted: summary's peak activations + params + buffers at batch 64, float32
    t = json.loads(cli("summary", spec, "--format", "json", "--batch", "64").stdout)["totals"]
    needed = t["peak_activation_bytes"] + t["param_bytes"] + t["buffer_bytes"]
    assert 2**20 < needed < 2 * 2**20
    r = cli("verify", spec, "--batch", "64", "--max-memory", "1MiB")
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.startswith(f"error: verifying small at batch 64 needs about {needed / 2**20:.2f} MiB (")
    assert "more than --max-memory 1.00 MiB\n  hint: lower --batch or --input, or raise --max-memory" in r.stderr
    assert cli("verify", spec, "--batch", "64", "--max-memory", "2MiB").exit_code == 0


@pytest.mark.parametrize("text, value", [("2GiB", 2 * 2**30), ("512 MiB", 512 * 2**20), ("1.5GiB", 3 * 2**29),
                                         ("100MB", 10**8), ("4096", 4096), ("1KiB", 1024)])
def test_memory_sizes(text, value):
    # the same reading as lint's byte budgets (cnncalc.spec.options.parse_quantity): KiB… are powers of 1024, KB… powers of 1000
    assert ByteSize().convert(text, None, None) == value


def test_ambiguous_memory_unit_exit_2(cli, spec):
    r = cli("verify", spec, "--max-memory", "2G")
    assert r.exit_code == 2 and "unknown unit 'G' for bytes" in r.stderr and "GiB is 1024-based, GB 1000-based" in r.stderr


def test_usage_errors_exit_2(cli, spec):
    r = cli("verify", spec, "--max-memory", "lots")
    assert r.exit_code == 2 and "expected a number with an optional unit, got 'lots'" in r.stderr
    r = cli("verify", spec, "--dtype", "int8")
    # --dtype offers only what NumPy computes in
    assert r.exit_code == 2 and "'int8' is not one of 'float32', 'float16'" in r.stderr


def test_float16_runs_in_float16(cli, spec):
    d = json.loads(cli("verify", spec, "--dtype", "float16", "--format", "json").stdout)
    assert d["dtype"] == "float16" and d["totals"]["ok"] is True


def test_trained_weights_from_npz(cli, spec, tmp_path):
    weights = init_weights(cnncalc.load(spec), seed=7)
    save_weights(tmp_path / "w.npz", weights)
    assert cli("verify", spec, "--weights", str(tmp_path / "w.npz")).exit_code == 0
    weights["dense1.weight"] = np.zeros((10, 4), np.float32)
    save_weights(tmp_path / "bad.npz", weights)
    r = cli("verify", spec, "--weights", str(tmp_path / "bad.npz"), "--format", "json")
    assert r.exit_code == 1
    assert r.stderr == "error: weights: dense1.weight: expected [10, 8], got [10, 4]\n"
    assert json.loads(r.stdout)["layers"] == []


@pytest.mark.parametrize("write, reason", [
    (lambda p: np.save(p, np.zeros(3)), "it holds one array (.npy), not an .npz archive of named arrays"),
    (lambda p: np.savez(p, w=np.array([{"x": 1}], dtype=object)), "Object arrays cannot be loaded when allow_pickle=False"),
    (lambda p: p.write_bytes(b"PK\x03\x04 not really a zip"), "File is not a zip file"),
], ids=["npy", "pickled objects", "corrupt"])
def test_unreadable_weights_exit_2_and_are_never_unpickled(cli, spec, tmp_path, write, reason):
    path = tmp_path / "w.npz"
    write(path)
    path = next(tmp_path.glob("w.np*"))  # np.save names its file w.npz.npy
    r = cli("verify", spec, "--weights", str(path))
    assert (r.exit_code, r.stdout) == (2, "")
    assert r.stderr == f"error: cannot read weights from {path}: {reason}\n"


def test_the_real_matmul_reference_is_measured_once_per_machine(cli, spec, monkeypatch, tmp_path):
    monkeypatch.undo()  # the autouse stub off: the 2048³ matmul really runs
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = json.loads(cli("verify", spec, "--format", "json").stdout)["totals"]
    assert first["matmul_gflops"] > 1 and 0 < first["efficiency"] < 2 and first["matmul_cached"] is False
    again = json.loads(cli("verify", spec, "--format", "json").stdout)["totals"]
    assert again["matmul_cached"] is True and again["matmul_gflops"] == first["matmul_gflops"]
    assert (tmp_path / "cnncalc" / "matmul.json").is_file()


def test_remeasure_and_threads_are_reported(cli, spec):
    from cnncalc.runtime import machine

    d = json.loads(cli("verify", spec, "--format", "json", "--threads", "1").stdout)["totals"]
    assert d["matmul_cached"] is False
    assert d["threads"] == (1 if machine.blas_threads() is not None else None)
    assert json.loads(cli("verify", spec, "--format", "json", "--threads", "1").stdout)["totals"]["matmul_cached"]
    assert not json.loads(cli("verify", spec, "--format", "json", "--threads", "1", "--remeasure").stdout)["totals"]["matmul_cached"]
    table = cli("verify", spec, "--threads", "1").stdout
    assert "(100.0 GFLOP/s, cached), 1 BLAS thread " in table or machine.blas_threads() is None


def test_bad_thread_counts_exit_2(cli, spec, monkeypatch):
    assert cli("verify", spec, "--threads", "0").exit_code == 2
    monkeypatch.setenv("CNNCALC_THREADS", "many")
    r = cli("verify", spec)
    assert r.exit_code == 2 and "CNNCALC_THREADS must be a whole number of threads, not 'many'" in r.stderr
