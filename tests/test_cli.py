"""The command line through click's CliRunner (stdout and stderr apart), plus one real subprocess."""
import csv
import io
import json
import subprocess
import sys

import pytest

import cnncalc
from conftest import SPECS_DIR

TINY = str(SPECS_DIR / "tiny_cnn.yaml")
RESIDUAL = str(SPECS_DIR / "residual.yaml")
CORE_COMMANDS = ("summary", "schema")


def test_version(cli):
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout == f"cnncalc, version {cnncalc.__version__}\n"


def test_group_help_lists_the_commands_with_an_example(cli):
    for flag in ("--help", "-h"):
        result = cli(flag)
        assert result.exit_code == 0
        assert "Example:" in result.stdout and "cnncalc summary resnet50" in result.stdout
        for name in CORE_COMMANDS:
            assert f"  {name} " in result.stdout


@pytest.mark.parametrize("command", CORE_COMMANDS)
def test_command_help_has_a_runnable_example(cli, command):
    result = cli(command, "--help")
    assert result.exit_code == 0
    assert f"cnncalc {command}" in result.stdout.split("Options:")[0]


def test_summary_help_documents_the_options(cli):
    text = cli("summary", "--help").stdout
    for option in ("--input", "--batch", "--set", "--dtype", "--format", "--depth", "--columns"):
        assert option in text


def test_default_table(cli):
    result = cli("summary", TINY)
    assert result.exit_code == 0 and result.stderr == ""
    out = result.stdout
    assert out.startswith("tiny-cnn — input 1×28×28, batch 1, float32")
    assert "│ conv1 " in out and "│ 117.60K │" in out  # 6·28·28·25 MACs in human units
    assert "Params           61,706 (61.71K): 61,706 trainable, 0 frozen; 0 buffers" in out
    assert "Receptive field  global (every output sees the whole input)" in out


def test_json(cli):
    result = cli("summary", TINY, "--format", "json")
    data = json.loads(result.stdout)
    assert data["schema_version"] == 1
    assert (data["name"], data["source"], data["input"], data["batch"], data["dtype"]) == \
        ("tiny-cnn", TINY, [1, 28, 28], 1, "float32")
    assert data["error"] is None
    first = data["layers"][0]
    assert set(first) == {"name", "type", "inputs", "output", "params", "trainable", "buffers", "macs", "flops",
                          "receptive_field", "dropped", "location"}
    assert first["receptive_field"] == {"size": [5, 5], "stride": [1, 1], "padding": [2, 2], "global": False,
                                        "aligned": True}
    assert first["location"] == f"{TINY}:6:5"
    assert set(data["totals"]) == {"params", "trainable_params", "non_trainable_params", "buffers", "macs", "flops",
                                   "param_bytes", "buffer_bytes", "input_bytes", "activation_bytes",
                                   "peak_activation_bytes", "output", "receptive_field", "layers"}
    assert data["totals"]["receptive_field"]["global"] is True


def test_csv(cli):
    rows = list(csv.DictReader(io.StringIO(cli("summary", TINY, "--format", "csv").stdout)))
    assert len(rows) == 13
    assert rows[0] == {"network": "tiny-cnn", "name": "conv1", "type": "conv", "output": "6x28x28", "params": "156",
                       "trainable": "1", "buffers": "0", "macs": "117600",
                       "flops": str(2 * 117_600 + 6 * 28 * 28),  # 2·MACs + bias adds
                       "rf_size": "5x5", "rf_stride": "1x1", "rf_padding": "2x2", "dropped": ""}
    assert rows[-1]["rf_size"] == "global"


def test_markdown(cli):
    out = cli("summary", TINY, "--format", "markdown").stdout
    assert out.startswith("### tiny-cnn\n\nInput 1×28×28, batch 1, float32.\n")
    assert "| `conv1` | conv | 6×28×28 | 156 | 117,600 | 5 |" in out


def test_depth_folds_rows(cli):
    text = cli("summary", RESIDUAL, "--format", "markdown", "--depth", "1").stdout
    assert "| `stage1` | repeat | 16×32×32 | 9,344 |" in text  # 4 convs · 2,304 + 4 bn · 32
    assert "stage1.1" not in text
    assert "stage1.1.basic1" in cli("summary", RESIDUAL, "--format", "markdown", "--depth", "3").stdout
    assert cli("summary", RESIDUAL, "--depth", "0").exit_code == 2


def test_columns(cli):
    out = cli("summary", TINY, "--columns", "flops,memory").stdout
    header = next(line for line in out.splitlines() if "Layer" in line)
    assert "FLOPs" in header and "Act. mem" in header and "Buffers" not in header
    assert "RF stride" in cli("summary", TINY, "--columns", "all").stdout
    bad = cli("summary", TINY, "--columns", "flops,foo")
    assert bad.exit_code == 2
    assert "unknown column 'foo'; choose from flops, buffers, memory, stride, inputs" in bad.stderr


def test_set_input_batch_dtype(cli):
    data = json.loads(cli("summary", TINY, "--format", "json", "--set", "classes=5", "--input", "1,32,32",
                          "--batch", "4", "--dtype", "float16").stdout)
    assert data["input"] == [1, 32, 32] and data["batch"] == 4 and data["dtype"] == "float16"
    t = data["totals"]
    assert t["output"] == [5]
    # 32×32 input: conv1 → 6×32×32, pool → 16, conv2 → 16×12×12, pool → 6: 16·6·6 = 576 features into dense1
    assert data["layers"][7]["params"] == 576 * 120 + 120
    assert t["input_bytes"] == 4 * 1 * 32 * 32 * 2  # batch · elements · 2 bytes
    assert t["param_bytes"] == t["params"] * 2


def test_input_accepts_x_separators(cli):
    data = json.loads(cli("summary", TINY, "--format", "json", "--input", "1x32x32").stdout)
    assert data["input"] == [1, 32, 32]


@pytest.mark.parametrize("args, message", [
    (("--set", "classes"), "Invalid value for --set: expected NAME=VALUE, got 'classes'"),
    # --input is read by the same reader as compare's @input= (one wording, one meaning of a single number)
    (("--input", "1,a"), "Invalid value for --input: expected positive integers like 3,160,160 or one spatial size "
                         "like 160, got '1,a'"),
    (("--input", "1,0,5"), "Invalid value for --input: expected positive integers like 3,160,160 or one spatial "
                           "size like 160, got '1,0,5'"),
    (("--batch", "0"), "Invalid value for '--batch': 0 is not in the range 1<=x<=1048576."),
    (("--dtype", "float64"), "Invalid value for '--dtype': 'float64' is not one of"),
    (("--format", "xml"), "Invalid value for '--format': 'xml' is not one of"),
])
def test_bad_options_are_usage_errors(cli, args, message):
    result = cli("summary", TINY, *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_set_unknown_variable(cli):
    result = cli("summary", TINY, "--set", "clases=5")
    assert result.exit_code == 2
    assert result.stderr == f"{TINY}:4:7: error: --set: the spec has no variable 'clases'\n" \
                            "  hint: did you mean 'classes'?\n"


def test_input_of_another_rank_is_refused(cli):
    # a 2-D network given a 1-D input would silently become another network: refused, and said in JSON too
    result = cli("summary", TINY, "--input", "1,28")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == ("error: input 1,28 has 2 sizes, but the network's input [1, 28, 28] has 3 (a 2-D "
                             "network); a network keeps its rank\n"
                             "  hint: give 3 sizes, channels first, or one number for every spatial size\n")
    data = json.loads(cli("summary", TINY, "--input", "1,28", "--format", "json").stdout)
    assert data["error"]["message"].startswith("input 1,28 has 2 sizes") and data["layers"] == []
    assert json.loads(cli("summary", TINY, "--input", "32", "--format", "json").stdout)["input"] == [1, 32, 32]


def test_every_failure_has_its_json_object(cli):
    result = cli("summary", TINY, "nope.yaml", "--format", "json")
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert [d["source"] for d in data] == [TINY, "nope.yaml"]
    assert data[0]["error"] is None
    assert data[1]["error"] == {"message": "no such file or zoo network: nope.yaml", "location": None}
    assert data[1]["totals"] is None


def test_compare_json_reports_a_spec_that_did_not_load(cli):
    result = cli("compare", "nope.yaml", "--format", "json")
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["items"] == [] and data["errors"] == [{"message": "no such file or zoo network: nope.yaml",
                                                       "location": None}]


def test_set_text_for_a_number_names_the_variable(cli):
    result = cli("summary", "lenet5", "--set", "classes=abc")
    assert result.exit_code == 2
    assert "error: --set classes=abc: 'classes' is a number in the spec (10 by default), got the text 'abc'" \
        in result.stderr


def test_missing_file(cli):
    result = cli("summary", "nope.yaml")
    assert result.exit_code == 2
    assert result.stderr == "error: no such file or zoo network: nope.yaml\n" \
                            "  hint: `cnncalc zoo` lists the bundled networks\n"


def test_missing_argument(cli):
    result = cli("summary")
    assert result.exit_code == 2 and "Missing argument 'SPEC...'" in result.stderr


def test_several_specs(cli):
    data = json.loads(cli("summary", TINY, RESIDUAL, "--format", "json").stdout)
    assert [d["name"] for d in data] == ["tiny-cnn", "small-resnet"]
    table = cli("summary", TINY, RESIDUAL).stdout
    assert table.index("tiny-cnn —") < table.index("small-resnet —")
    rows = list(csv.DictReader(io.StringIO(cli("summary", TINY, RESIDUAL, "--format", "csv").stdout)))
    assert {r["network"] for r in rows} == {"tiny-cnn", "small-resnet"}


def test_stdin(cli):
    text = (SPECS_DIR / "tiny_cnn.yaml").read_text()
    data = json.loads(cli("summary", "-", "--format", "json", input=text).stdout)
    assert data["source"] == "<stdin>" and data["name"] == "tiny-cnn"
    assert data["layers"][0]["location"] == "<stdin>:6:5"
    assert data["totals"]["params"] == 61_706


def test_no_ansi_codes_off_terminal(cli, monkeypatch):
    monkeypatch.delenv("NO_COLOR")
    out = cli("summary", RESIDUAL, "--columns", "all").stdout
    assert "⚠" in out  # a coloured mark in a terminal
    assert "\x1b[" not in out


def test_no_color_on_a_terminal(monkeypatch):
    from rich.text import Text

    from cnncalc.cli.options import console

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    for no_color, coloured in (("1", False), ("", True)):
        stream = Terminal()
        monkeypatch.setattr(sys, "stdout", stream)
        monkeypatch.setenv("NO_COLOR", no_color)
        monkeypatch.setenv("TERM", "xterm-256color")
        console().print(Text("⚠", style="yellow"))
        assert ("\x1b[" in stream.getvalue()) is coloured


def test_schema_command(cli):
    result = cli("schema")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["title"] == "cnncalc network spec"


def test_real_process_and_python_m():
    for cmd in (["cnncalc"], [sys.executable, "-m", "cnncalc"]):
        proc = subprocess.run(cmd + ["summary", TINY, "--format", "json"], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["totals"]["params"] == 61_706
    proc = subprocess.run(["cnncalc", "summary", "-"], input="input: [3]\nlayers: [reluu]\n", capture_output=True,
                          text=True)
    assert proc.returncode == 2
    assert proc.stderr == "<stdin>:2:10: error: unknown layer type or block 'reluu'\n" \
                          "  hint: did you mean 'relu' or 'relu6' or 'gelu'?\n"
    assert "Traceback" not in proc.stderr
