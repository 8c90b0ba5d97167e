"""What test_torch and test_export share: which zoo networks run end to end and at what input size (no torch needed
to decide), and the check that exported code runs as written and computes what build() computes."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import cnncalc
from cnncalc.spec import zoo

SMALL_SIZES = (32, 64, 96, 128, 192)  # spatial sizes tried for numeric runs, smallest first


def distinct_zoo_names():
    """One zoo name per spec file and set of layer types: a variant is run when it brings a layer type its
    siblings lack (vgg16_bn's batch norm, vgg_a_lrn's LRN); vgg13 adds only more of vgg16's convolutions."""
    seen, names = set(), []
    for name in zoo.names():
        key = (zoo.resolve(name).path, frozenset(n.type for n in cnncalc.load(name).nodes))
        if key not in seen:
            seen.add(key)
            names.append(name)
    return names


def small_input(network):
    """The smallest of SMALL_SIZES at which the spec's layers still fit (Inception needs 75), else the full input:
    a NumPy forward of Inception at 299×299 takes a minute on CI's two cores, at 96×96 a few seconds."""
    for size in SMALL_SIZES:
        shape = (network.input[0], *(min(n, size) for n in network.input[1:]))
        if network.analyze(input=shape).error is None:
            return network.with_input(shape)
    return network


def check_export(network, folder: Path) -> str:
    """Write the code to a file, import it, give build()'s module the exported one's values (strict: the same keys)
    and compare the outputs exactly; return the code."""
    torch = pytest.importorskip("torch")
    import cnncalc.torch as ct
    from cnncalc.torch import export

    path = Path(folder) / "model.py"
    path.write_text(export.export(network))
    spec = importlib.util.spec_from_file_location("exported", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = getattr(module, export.camel(network.name))().eval()
    with torch.device("meta"):  # PyTorch initialises one of the two; the other gets its values
        reference = ct.build(network).to_empty(device="cpu").eval()
    reference.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(2, *network.input, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference(x), rtol=0, atol=0, equal_nan=True)  # a window all padding: -inf
    return path.read_text()
