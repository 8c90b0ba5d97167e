"""PyTorch modules → specs: `cnncalc.torch.to_spec` (torch.fx, with a forward-hook fallback) and
`cnncalc import FILE.py:FACTORY`.

The round trip needs no exporter: every zoo network built in PyTorch (`cnncalc.torch.build`) and traced back must
count exactly what its spec counts — params, buffers, MACs, FLOPs and every layer — since tracing folds nothing.
A hand-written module in torchvision's style (in-place `+=`, `F.relu`, `x.view(x.size(0), -1)`) is checked against
PyTorch's own parameter count and hand counts.
"""
import textwrap

import pytest

import cnncalc
from cnncalc.errors import SpecError
from cnncalc.spec import zoo

torch = pytest.importorskip("torch")
import cnncalc.torch  # noqa: E402
from torch import nn  # noqa: E402

MODULE = '''
import torch
from torch import nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += x
        return F.relu(out)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.layer1 = nn.Sequential(Block(16), Block(16), Block(16))
        self.side = nn.Conv2d(16, 8, 1)
        self.fc = nn.Linear(24, 10)

    def forward(self, x):
        x = self.layer1(torch.relu(self.stem(x)))
        x = torch.cat([x, self.side(x)], 1)
        x = F.adaptive_avg_pool2d(x, 1)
        return self.fc(x.view(x.size(0), -1))


def make():
    return Net()
'''


def layer_key(r):
    return r.type, r.output, r.params, r.buffers, r.macs, r.flops


@pytest.mark.parametrize("name", sorted(zoo.names()))
def test_zoo_round_trip_through_torch_fx(name):
    net = cnncalc.load(name)
    a = net.analyze()
    text = cnncalc.torch.to_spec(cnncalc.torch.build(net), net.input)
    b = cnncalc.load(text).analyze()
    assert b.error is None, b.error.format()
    assert b.totals == a.totals
    assert sorted(map(layer_key, b.layers)) == sorted(map(layer_key, a.layers))
    flat = cnncalc.load(cnncalc.torch.to_spec(cnncalc.torch.build(net), net.input, fold=False)).analyze()
    assert list(map(layer_key, flat.layers)) == list(map(layer_key, a.layers))  # unfolded: the same rows in order


def test_a_module_in_torchvision_style(tmp_path):
    namespace = {}
    exec(compile(MODULE, "net.py", "exec"), namespace)
    module = namespace["make"]()
    a = cnncalc.load(cnncalc.torch.to_spec(module, (3, 32, 32))).analyze()
    assert a.error is None, a.error.format()
    assert a.totals.params == sum(p.numel() for p in module.parameters())  # PyTorch's own count
    # by hand: stem 16·27 + 16 = 448; 3 blocks × (2 × 16·16·9 + 2 × 32 norm params) = 14,016; side 16·8 + 8 = 136;
    # fc 24·10 + 10 = 250
    assert a.totals.params == 448 + 3 * (2 * 2304 + 64) + 136 + 250 == 14_850
    assert a.totals.buffers == 3 * 2 * 32  # running mean and variance of 6 norms of 16 channels
    # MACs: 32² positions × (16·27 + 3 × 2 × 16·144 + 8·16) + 24·10
    assert a.totals.macs == 1024 * (16 * 27 + 6 * 16 * 144 + 8 * 16) + 240
    assert a.totals.output == (10,)


def test_cli_imports_a_factory_from_a_python_file(cli, tmp_path):
    (tmp_path / "net.py").write_text(MODULE)
    result = cli("import", f"{tmp_path / 'net.py'}:make", "--input", "3,32,32")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"# Imported by cnncalc from {tmp_path / 'net.py'}:make (PyTorch module")
    assert "- repeat: 3\n" in result.stdout  # the three identical blocks
    assert cnncalc.load(result.stdout).analyze().totals.params == 14_850
    assert cli("import", f"{tmp_path / 'net.py'}:make").exit_code == 2  # no input shape
    missing = cli("import", f"{tmp_path / 'net.py'}:nothing", "--input", "3,32,32")
    assert missing.exit_code == 2 and "has no function or class 'nothing'" in missing.stderr


class Branchy(nn.Module):
    """Control flow on values: torch.fx cannot trace it, the hook fallback can (every step is a module)."""

    def __init__(self, functional=False):
        super().__init__()
        self.conv, self.relu, self.fc = nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Linear(4 * 6 * 6, 2)
        self.flat, self.functional = nn.Flatten(), functional

    def forward(self, x):
        x = self.relu(self.conv(x))
        if x.sum() > -1:  # always true, but fx cannot know
            x = x * 2 if self.functional else x
        return self.fc(self.flat(x))


def test_hooks_take_over_where_fx_cannot_trace():
    module = Branchy()
    a = cnncalc.load(cnncalc.torch.to_spec(module, (3, 8, 8))).analyze()
    assert a.totals.params == sum(p.numel() for p in module.parameters()) == 4 * 27 + 4 + 144 * 2 + 2
    assert [r.type for r in a.layers] == ["conv", "relu", "flatten", "dense"]
    with pytest.raises(SpecError, match="in the module-hook fallback the input of 'flat' comes from a step that is not a module"):
        cnncalc.torch.to_spec(Branchy(functional=True), (3, 8, 8))


def test_unsupported_modules_and_calls_are_named():
    with pytest.raises(SpecError, match=r"module 'rnn' \(GRU\): cnncalc has no layer for torch.nn.modules.rnn.GRU"):
        cnncalc.torch.to_spec(_WithGRU(), (4, 4))
    with pytest.raises(SpecError, match=r"'sub' \(sub\): cnncalc cannot express this call"):
        cnncalc.torch.to_spec(_Subtract(), (3, 4, 4))


class _WithGRU(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(4, 4)

    def forward(self, x):
        return self.rnn(x)


class _Subtract(nn.Module):
    def forward(self, x):
        return x - 1
