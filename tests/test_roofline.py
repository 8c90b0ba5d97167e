"""The roofline estimate (time = max(FLOPs / peak, bytes / bandwidth) per layer) on synthetic and bundled devices,
device profiles and their located errors, and the --device output of summary, compare and kernels."""
from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET

import pytest

import cnncalc
from cnncalc.core.device import DEVICE_DIR, dump_device, load_device, names, parse_device
from cnncalc.core.roofline import COMPUTE, MEMORY, NONE, estimate, row_times
from cnncalc.errors import SpecError

# A made-up device with round figures: 1 GFLOP/s at float32, 2 GFLOP/s at float16, 1 GB/s; ridge 1 FLOP/B
TOY = """\
name: toy
peak:
  float32: {value: 1 GFLOP/s, source: made up for the test}
  float16: {value: 2 GFLOP/s, source: made up for the test}
bandwidth: {value: 1000 MB/s, source: made up for the test}
"""


@pytest.fixture
def toy(tmp_path):
    path = tmp_path / "toy.yaml"
    path.write_text(TOY, encoding="utf-8")
    return str(path)


def test_compute_bound_and_memory_bound_layers_by_hand():
    device = parse_device(TOY, "toy.yaml")
    # conv 4 → 6, 3×3, padding 1, bias on [4, 8, 8] (tests/test_traffic.py): 28,032 FLOPs; bytes 1,024 input +
    # 888 weights + 1,536 output = 3,448. Compute 28,032 / 1e9 = 28.032 µs > memory 3,448 / 1e9 = 3.448 µs.
    # relu on its output: 384 FLOPs; 1,536 + 1,536 = 3,072 bytes → memory 3.072 µs > compute 0.384 µs.
    a = cnncalc.load("input: [4, 8, 8]\nlayers:\n  - {conv: {out: 6, kernel: 3, padding: 1}}\n  - relu\n"
                     "  - flatten\n").analyze()
    r = estimate(a, device)
    conv, relu, flatten = r.layers
    assert conv.compute_seconds == pytest.approx(28.032e-6) and conv.memory_seconds == pytest.approx(3.448e-6)
    assert conv.seconds == pytest.approx(28.032e-6) and conv.bound == COMPUTE
    assert relu.compute_seconds == pytest.approx(0.384e-6) and relu.memory_seconds == pytest.approx(3.072e-6)
    assert relu.seconds == pytest.approx(3.072e-6) and relu.bound == MEMORY
    assert flatten.seconds == 0 and flatten.bound == NONE  # a view: no bytes, no FLOPs
    assert r.seconds == pytest.approx(31.104e-6)
    assert r.count(COMPUTE) == 1 and r.count(MEMORY) == 1
    assert r.ridge == pytest.approx(1.0)
    # a point on the roof: the conv reaches the peak, the relu its intensity × bandwidth = 384 / 3.072e-6 FLOP/s
    assert conv.achieved == pytest.approx(1e9) and relu.achieved == pytest.approx(125e6)
    share = r.share_by_type(info.type for info in a.layers)
    assert list(share) == ["conv", "relu", "flatten"]
    assert share["conv"] == pytest.approx(28.032 / 31.104) and share["flatten"] == 0


def test_dtype_picks_the_peak_and_halves_the_bytes():
    # the same conv at float16 on the toy device: peak 2 GFLOP/s, bytes halved to 1,724 →
    # compute 14.016 µs, memory 1.724 µs
    a = cnncalc.load("input: [4, 8, 8]\nlayers:\n  - {conv: {out: 6, kernel: 3, padding: 1}}\n").analyze(dtype="float16")
    (conv,) = estimate(a, parse_device(TOY, "toy.yaml")).layers
    assert conv.compute_seconds == pytest.approx(14.016e-6) and conv.memory_seconds == pytest.approx(1.724e-6)


def test_folded_rows_sum_their_layers():
    a = cnncalc.load("resnet50").analyze()
    r = estimate(a, load_device("t4"))
    rows = a.rows(1)
    times = row_times(r, rows)
    assert len(times) == len(rows)
    assert sum(t.seconds for t in times) == pytest.approx(r.seconds)
    assert sum(t.traffic.bytes for t in times) == r.traffic.bytes


def test_depthwise_is_memory_bound_on_a_datacentre_gpu():
    # MobileNet v2 at float16 on an A100 (ridge 312e12 / 2.039e12 = 153 FLOP/B): no layer of it reaches the ridge
    a = cnncalc.load("mobilenet_v2").analyze(dtype="float16")
    r = estimate(a, load_device("a100"))
    assert r.count(COMPUTE) == 0
    assert r.ridge == pytest.approx(312e12 / 2039e9)


# -- profiles ---------------------------------------------------------------------------------------------------------
def test_every_bundled_profile_loads_and_cites_every_figure():
    assert {"a100", "h100", "l4", "t4", "rtx4090", "jetson-orin", "apple-m2", "raspberry-pi-5", "xeon-core"} <= set(names())
    for name in names():
        d = load_device(name)
        assert "float32" in d.peak
        for figure in [*d.peak.values(), d.bandwidth]:
            assert re.search(r"https://|derived", figure.source), (name, figure)


def test_bundled_figures_match_the_datasheets():
    # spot checks against the cited documents (see each file's sources)
    assert load_device("a100").peak["float16"].value == 312e12  # A100 datasheet: FP16 Tensor Core 312 TFLOPS
    assert load_device("a100").bandwidth.value == 2039e9  # 80GB SXM: 2,039 GB/s
    assert load_device("t4").peak["float32"].value == 8.1e12  # T4 datasheet: 8.1 TFLOPS
    assert load_device("raspberry-pi-5").peak["float32"].value == pytest.approx(4 * 2.4e9 * 16)  # derived


def test_calibrate_output_reads_back():
    text = dump_device("box", "a box", {"float32": (12.5e9, "measured"), "float16": (3.2e7, "measured")},
                       (9.75e9, "measured"), notes="x86_64, it's loaded")
    d = parse_device(text, "box.yaml")
    assert d.peak["float32"].value == pytest.approx(12.5e9) and d.peak["float16"].value == pytest.approx(3.2e7)
    assert d.bandwidth.value == pytest.approx(9.75e9) and d.notes == "x86_64, it's loaded"


BAD = [
    # (profile text, line, column, message fragment)
    ("name: x\npeak: {float32: {value: 1 TFLOP/s, source: s}}\n", 1, 1, "no `bandwidth`"),
    ("name: x\npeak: {float32: {value: 1 TB/s, source: s}}\nbandwidth: {value: 1 GB/s, source: s}\n", 2, 25,
     "a peak needs a number and a unit in FLOP/s or OP/s, got '1 TB/s'"),
    ("name: x\npeak: {float32: {value: 1 TFLOP/s, source: s}}\nbandwidth: {value: 1 GFLOP/s, source: s}\n", 3, 20,
     "bandwidth needs a number and a unit in B/s"),
    ("name: x\npeak: {float32: {value: 1 TFLOP/s, source: s}}\nbandwidth: {value: 100, source: s}\n", 3, 20,
     "got 100"),
    ("name: x\npeak: {float32: {value: 1 TFLOP/s}}\nbandwidth: {value: 1 GB/s, source: s}\n", 2, 17, "no `source`"),
    ("name: x\npeak: {float64: {value: 1 TFLOP/s, source: s}}\nbandwidth: {value: 1 GB/s, source: s}\n", 2, 8,
     "no dtype 'float64'"),
    ("name: x\npeak: {float32: {value: 1 TFLOP/s, source: s}}\nbandwith: {value: 1 GB/s, source: s}\n", 3, 1,
     "no key 'bandwith'"),
    ("name: x\npeak: {float32: {value: 1 TFLOP/s, source: s, unit: x}}\nbandwidth: {value: 1 GB/s, source: s}\n", 2, 47,
     "no key 'unit'"),
    ("name: x\npeak: {float32: {value: 0 TFLOP/s, source: s}}\nbandwidth: {value: 1 GB/s, source: s}\n", 2, 25,
     "out of range"),
    ("- a list\n", 1, 1, "a device profile is a mapping"),
]


@pytest.mark.parametrize("text, line, col, fragment", BAD, ids=[b[3][:30] for b in BAD])
def test_profile_errors_are_located(text, line, col, fragment):
    with pytest.raises(SpecError) as e:
        parse_device(text, "p.yaml")
    assert fragment in e.value.message
    assert (e.value.loc.file, e.value.loc.line, e.value.loc.col) == ("p.yaml", line, col)


def test_bad_profile_on_the_command_line_exits_2_with_its_location(cli, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD[1][0], encoding="utf-8")
    r = cli("summary", "resnet50", "--device", str(path))
    assert r.exit_code == 2
    assert f"{path}:2:25: error: a peak needs a number and a unit" in r.stderr and "Traceback" not in r.stderr


def test_unknown_device_and_missing_dtype_are_usage_errors(cli):
    r = cli("summary", "resnet50", "--device", "a10")
    assert r.exit_code == 2 and "no device named 'a10'" in r.stderr and "did you mean 'a100'" in r.stderr
    r = cli("kernels", "--device", "apple-m2", "--dtype", "float16")
    assert r.exit_code == 2 and "device apple-m2 has no peak for float16" in r.stderr
    r = cli("summary", "resnet50", "--columns", "time")
    assert r.exit_code == 2 and "need --device" in r.stderr
    r = cli("summary", "resnet50", "--roofline", "x.svg")
    assert r.exit_code == 2 and "needs a device" in r.stderr


# -- command line -----------------------------------------------------------------------------------------------------
def test_summary_json_and_csv_carry_the_estimate(cli, toy):
    spec = "input: [4, 8, 8]\nlayers:\n  - {conv: {out: 6, kernel: 3, padding: 1}}\n  - relu\n"
    data = json.loads(cli("summary", "-", "--device", toy, "--format", "json", input=spec).stdout)
    conv, relu = data["layers"]
    # the figures of test_compute_bound_and_memory_bound_layers_by_hand
    assert (conv["bytes_read"], conv["bytes_written"], conv["bound"]) == (1912, 1536, "compute")
    assert conv["time_s"] == pytest.approx(28.032e-6) and relu["time_s"] == pytest.approx(3.072e-6)
    assert data["totals"]["time_s"] == pytest.approx(31.104e-6)
    assert data["totals"]["bytes_read"] + data["totals"]["bytes_written"] == 3448 + 3072
    assert data["device"]["name"] == "toy" and data["device"]["ridge"] == pytest.approx(1.0)
    rows = list(csv.DictReader(io.StringIO(cli("summary", "-", "--device", toy, "--format", "csv", input=spec).stdout)))
    assert [(r["name"], r["bytes_read"], r["bound"], r["device"]) for r in rows] == \
        [("conv1", "1912", "compute", "toy"), ("relu1", "1536", "memory", "toy")]
    assert float(rows[0]["time_s"]) == pytest.approx(28.032e-6)


def test_summary_table_bars_and_svg(cli, toy, tmp_path):
    spec = "input: [4, 8, 8]\nlayers:\n  - {conv: {out: 6, kernel: 3, padding: 1}}\n  - relu\n  - flatten\n"
    out = cli("summary", "-", "--device", toy, input=spec).stdout
    assert "Est. time" in out and "28 µs" in out and "3.07 µs" in out and "Roofline estimate on toy" in out
    assert "conv 90%, relu 10%" in out  # 28.032 / 31.104 = 90.1 %
    bars = cli("summary", "-", "--device", toy, "--bars", input=spec).stdout
    assert "Est. time" in bars and "90.1 %" in bars
    svg = tmp_path / "r.svg"
    r = cli("summary", "-", "--device", toy, "--roofline", str(svg), input=spec)
    assert r.exit_code == 0
    root = ET.fromstring(svg.read_text(encoding="utf-8"))
    circles = root.findall("{http://www.w3.org/2000/svg}circle")
    assert len(circles) == 2  # conv and relu; flatten moves nothing and is not drawn
    titles = sorted(c.find("{http://www.w3.org/2000/svg}title").text for c in circles)
    assert titles[0].startswith("conv1 (conv): 8.13 FLOP/B") and "compute-bound" in titles[0]  # 28,032 / 3,448
    assert titles[1].startswith("relu1 (relu): 0.125 FLOP/B") and "memory-bound" in titles[1]  # 384 / 3,072


def test_traffic_columns_without_a_device(cli):
    out = cli("summary", "-", "--columns", "read,written,intensity",
              input="input: [10]\nlayers:\n  - dense: 5\n").stdout
    # dense 10 → 5: reads 40 + 220 bytes, writes 20; 105 / 280 = 0.375 FLOP/B
    assert "260 B" in out and "20 B" in out and "0.375" in out


def test_kernels_and_compare_show_time_beside_macs(cli):
    data = json.loads(cli("kernels", "--device", "raspberry-pi-5", "--format", "json").stdout)
    items = {i["label"]: i for i in data["items"]}
    single, separable = items["one 7×7"], items["depthwise 7×7 + 1×1"]
    # 7×7 conv 64 → 64 on 56×56 at float32 on a Pi 5: 2 · 629,407,744 FLOPs / 153.6e9 = 8.195 ms (compute-bound),
    # then its relu: 64·56·56 = 200,704 elements read and written, 2 · 802,816 bytes / 17.07e9 = 94.1 µs
    assert single["values"]["time"] == pytest.approx(2 * 629_407_744 / 153.6e9 + 2 * 802_816 / 17.07e9, rel=1e-6)
    assert separable["ratios"]["time"] > separable["ratios"]["macs"]  # memory traffic costs the depthwise time
    assert data["device"]["name"] == "raspberry-pi-5"
    r = cli("compare", "resnet50", "mobilenet_v2", "--device", "t4", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert float(rows[1]["time_ratio"]) == pytest.approx(float(rows[1]["time"]) / float(rows[0]["time"]), rel=1e-5)
    assert "Est. time" in cli("compare", "resnet50", "--device", "t4").stdout


def test_calibrate_writes_a_profile_that_reads_back(cli, tmp_path, monkeypatch):
    pytest.importorskip("numpy")
    from cnncalc.cli import calibrate

    monkeypatch.setattr(calibrate, "NUMPY_SIZES", {"float32": 64, "float16": 16})  # small: this is not a benchmark
    monkeypatch.setattr(calibrate, "STREAM_BYTES", 1 << 20)
    out = tmp_path / "box.yaml"
    r = cli("calibrate", "--repeat", "1", "--name", "box", "-o", str(out))
    assert r.exit_code == 0, r.stderr
    d = load_device(str(out))
    assert d.name == "box" and set(d.peak) == {"float32", "float16"} and d.bandwidth.value > 0
    assert "measured by cnncalc calibrate" in d.peak["float32"].source
    assert cli("summary", "resnet50", "--device", str(out)).exit_code == 0


def test_profiles_dir_ships_with_the_package():
    from pathlib import Path

    cfg = (Path(__file__).parents[1] / "setup.cfg").read_text(encoding="utf-8")
    assert "devices/*.yaml" in cfg and DEVICE_DIR.is_dir()


def test_the_readme_profile_example_is_a_valid_profile():
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(# box\.yaml.*?)```", readme, re.S).group(1)
    d = parse_device(block, "box.yaml")
    assert d.peak["float32"].value == 1.2e12 and d.bandwidth.value == 40e9


def test_latency_budget_errors_are_located(cli, tmp_path):
    spec = tmp_path / "net.yaml"
    spec.write_text("input: [512]\nlint: {budgets: {latency: 5ms@a10}}\nlayers:\n  - dense: 256\n", encoding="utf-8")
    r = cli("lint", str(spec))
    assert r.exit_code == 2 and f"{spec}:2:27: error:" in r.stderr and "no device named 'a10'" in r.stderr
    spec.write_text("input: [512]\nlint: {budgets: {latency: 5 parsecs}}\nlayers:\n  - dense: 256\n", encoding="utf-8")
    r = cli("lint", str(spec))
    assert r.exit_code == 2 and "expected a time and a device like 20ms@raspberry-pi-5" in r.stderr


def test_latency_budget_on_the_command_line_and_a_profile_file(cli, toy):
    # dense 512 → 256 on the toy device: 528,384 bytes / 1e9 B/s = 528 µs (tests/lint/CNN306.fail.yaml's bytes)
    spec = "input: [512]\nlayers:\n  - dense: 256\n"
    r = cli("lint", "-", "--max-latency", f"500us@{toy}", input=spec)
    assert r.exit_code == 1 and "estimated time on toy 528 µs exceeds the budget of 500 µs" in r.stdout
    assert cli("lint", "-", "--max-latency", f"600us@{toy}", input=spec).exit_code == 0


def test_device_help_lists_the_bundled_profiles(cli):
    from cnncalc.cli.device import DEVICE_DIR as CLI_DIR

    assert CLI_DIR.resolve() == DEVICE_DIR.resolve()
    text = "".join(cli("summary", "--help").stdout.split())  # click wraps at hyphens: compare without whitespace
    assert all(name in text for name in names())
