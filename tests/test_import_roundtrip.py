"""The round trip: zoo spec → PyTorch module (`cnncalc.torch.build`) → PyTorch's own ONNX exporter → `cnncalc import`.

The imported network must count what the spec counts: MACs and every layer's output shape equal, and params and
buffers equal once the exporter's folding is allowed for — PyTorch's exporters fold a batch norm that directly
follows a conv into the conv (its 2C params and 2C running statistics become the conv's C biases), and drop dropout
and identity modules in eval mode. Each network is exported without weights (`export_params=False`: the weights are
graph inputs whose shapes the importer reads), so the files stay small; `test_weights_in_the_file` keeps them.
"""
import warnings
from math import prod

import pytest

import cnncalc
from cnncalc.errors import SpecError
from cnncalc.importers import spec_text
from cnncalc.spec import zoo

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")  # torch's exporter needs it
import cnncalc.torch  # noqa: E402

DROPPED = ("dropout", "identity")  # modules the exporter leaves out in eval mode


def export(net, path, params=False):
    model = cnncalc.torch.build(net).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter warns that it is legacy
        torch.onnx.export(model, (torch.zeros(1, *net.input),), str(path), dynamo=False, export_params=params)
    return str(path)


def folded_norms(a):
    """The batch norms the exporter folds: those reading a conv whose only reader they are."""
    readers = {}
    for r in a.layers:
        for name in r.inputs:
            readers.setdefault(name, []).append(r)
    by_name = {r.name: r for r in a.layers}
    out = []
    for r in a.layers:
        if r.type == "bn" and len(r.inputs) == 1 and r.inputs[0] in by_name:
            conv = by_name[r.inputs[0]]
            if conv.type == "conv" and len(readers[conv.name]) == 1:
                out.append((conv, r))
    return out


def expected(a):
    """(params, buffers, rows) the exported file should give for the spec's analysis `a`."""
    folds = folded_norms(a)
    params, buffers = a.totals.params, a.totals.buffers
    for conv, bn in folds:
        c = bn.output[0]
        params += -bn.params + (0 if conv.layer.bias else c)  # the norm's scale and shift become the conv's bias
        buffers -= bn.buffers
    gone = {bn.name for _, bn in folds}
    rows = [(_type(r), r.output) for r in a.layers if r.name not in gone and r.type not in DROPPED]
    return params, buffers, rows


def _type(r):
    if r.type == "adaptive_avgpool":  # exported as global pooling, or as a plain pool where the sizes divide
        return "global_avgpool" if all(d == 1 for d in r.output[1:]) else "avgpool"
    return r.type


def smallest(name):
    """The zoo network at a small input it accepts (export time grows with the graph, not the input; small keeps
    every check quick)."""
    net = cnncalc.load(name)
    if any(n.type == "adaptive_avgpool" for n in net.nodes):
        return net  # the exporter needs the pooled size to divide the input's: at full size it does
    for size in (32, 64, 96, 128, 160, 224, 299):
        if size > min(net.input[1:]):
            break
        candidate = net.with_input((net.input[0],) + (size,) * (len(net.input) - 1))
        if candidate.analyze().error is None:
            return candidate
    return net


def representatives():
    """One zoo network per spec file and set of layer types (vgg16_bn for batch norm, not vgg13 beside vgg11), as
    the PyTorch cross-checks choose them: exporting is slow, and variants of one file add nothing new."""
    seen, out = set(), []
    for name in sorted(zoo.names()):
        net = cnncalc.load(name)
        key = (net.source, frozenset(n.type for n in net.nodes))
        if key not in seen:
            seen.add(key)
            out.append(name)
    return out


@pytest.mark.parametrize("name", representatives())
def test_zoo_round_trip_through_onnx(tmp_path, name):
    net = smallest(name)
    a = net.analyze()
    lrn = any(r.type == "lrn" for r in a.layers)
    try:
        path = export(net, tmp_path / f"{name}.onnx")
    except Exception as e:  # noqa: BLE001
        if not lrn:
            raise
        pytest.skip(f"PyTorch's exporter cannot export it: {str(e).splitlines()[0][:120]}")
    if lrn:
        # PyTorch exports LocalResponseNorm as its decomposition (Mul, Reshape, Pad, AveragePool, Pow, Div), not as
        # ONNX's LRN: the importer stops at the first op it cannot follow, naming it (a known limit)
        with pytest.raises(SpecError, match=r"ONNX node '/[^']*/Reshape' \(Reshape, node \d+\)"):
            cnncalc.load(path)
        return
    b = cnncalc.load(path).analyze()
    assert b.error is None, b.error.format()
    params, buffers, rows = expected(a)
    assert b.totals.macs == a.totals.macs
    assert (b.totals.params, b.totals.buffers) == (params, buffers)
    got = [(_type(r), r.output) for r in b.layers if r.type not in DROPPED]
    if got != rows:  # the exporter may move a concat to its reader and merge a concat of concats into one
        assert sorted(k for k in got if k[0] != "concat") == sorted(k for k in rows if k[0] != "concat")
        # flops too: a folded norm's go, and the conv gains one bias add per output element where it had no bias
        assert b.totals.flops == a.totals.flops - sum(bn.flops - (0 if conv.layer.bias else prod(conv.output))
                                                      for conv, bn in folded_norms(a))
    # the folded, editable spec counts what the file counts
    assert cnncalc.load(spec_text(path)).analyze().totals == b.totals


def test_resnet50_exported_holds_the_folded_parameter_count(tmp_path):
    # the figure PyTorch's exporters give for torchvision's ResNet-50: 25,557,032 − 26,560 (one C per folded norm)
    b = cnncalc.load(export(cnncalc.load("resnet50"), tmp_path / "r50.onnx")).analyze()
    assert b.totals.params == 25_530_472 == 25_557_032 - 26_560
    assert b.totals.macs == 4_089_184_256  # unchanged by folding: cnncalc's figure for the spec


@pytest.mark.parametrize("name", ["resnet50", "mobilenet_v2"])
def test_imported_spec_is_about_as_long_as_the_zoo_spec(tmp_path, name):
    from pathlib import Path

    net = cnncalc.load(name)
    text = spec_text(export(net, tmp_path / f"{name}.onnx"))
    assert len(text.splitlines()) <= 1.5 * len(Path(net.source).read_text().splitlines()), text


def test_weights_in_the_file_are_skipped_not_read(tmp_path):
    net = smallest("resnet18")
    path = export(net, tmp_path / "r18.onnx", params=True)
    assert (tmp_path / "r18.onnx").stat().st_size > 4 * 11_000_000  # the weights are in the file
    params, buffers, _ = expected(net.analyze())
    assert cnncalc.load(path).analyze().totals.params == params
