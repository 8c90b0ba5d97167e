"""The real tools, run on every zoo network: cnncalc under `--convention X` must equal what X reports, in total and
per layer where X reports per layer. A new release of a tool that counts differently fails here.

Each tool is installed from PyPI beside torch without touching it (.ci/run: `pip install --no-deps …`); a tool that
is absent skips. The networks are cnncalc's own torch modules (`cnncalc.torch.build`, the modules torchvision uses:
nn.Conv2d, nn.BatchNorm2d, …), run once per network in eval mode at the spec's input size, batch 1 (torchscan only
takes batch 1); ptflops is also run at batch 2, where it divides its hook counts by the batch and its functional
counts not.
"""
from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import pytest

import cnncalc
from cnncalc.conventions import count
from cnncalc.spec.zoo import names

from conventions_tools import RUNNERS

torch = pytest.importorskip("torch")
import cnncalc.torch  # noqa: E402  (after the skip: it needs torch to build)
pytestmark = pytest.mark.filterwarnings("ignore")

VERSIONS = {"fvcore": "0.1.5.post20221221", "ptflops": "0.7.5", "thop": "0.1.1-2209072238", "torchinfo": "1.8.0",
            "torchscan": "0.2.0", "calflops": "0.3.2"}  # the releases whose source the tables cite


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ValueError:  # a module in sys.modules without a spec (see conventions_tools._calflops_package)
        return True


@functools.lru_cache(maxsize=1)
def built(spec: str, batch: int = 1):
    """(network, model, input) for one network; the tests run network by network, so one is kept at a time."""
    network = cnncalc.load(spec)
    torch.manual_seed(0)
    model = cnncalc.torch.build(network).eval()
    return network, model, torch.randn(batch, *network.input)


SPECS = Path(__file__).parent / "specs" / "conventions"
# the zoo, then every layer type the zoo leaves out, in 1-D, 2-D and 3-D
NETWORKS = [*names(), *(str(SPECS / f"{d}.yaml") for d in ("1d", "2d", "3d"))]
CASES = [(spec, tool) for spec in NETWORKS for tool in RUNNERS]


@pytest.mark.parametrize("spec,tool", CASES, ids=[f"{s if '/' not in s else 'spec-' + Path(s).stem}-{t}" for s, t in CASES])
def test_tool_reports_what_its_convention_says(spec, tool):
    runner, module = RUNNERS[tool]
    if not _installed(module):
        pytest.skip(f"{module} is not installed (pip install --no-deps {module})")
    network, model, x = built(spec)
    totals, layers = runner(model, network, x)
    counted = count(network.analyze(batch=x.shape[0]), tool)
    assert totals == dict(counted.totals)
    per_layer = {l.name: l.values for l in counted.layers}
    wrong = [(name, key, value, per_layer[name][key]) for name, values in layers.items()
             for key, value in values.items() if value != per_layer[name][key]]
    assert wrong == [], f"{tool} per layer (layer, metric, tool, convention): {wrong[:5]}"


@pytest.mark.parametrize("spec", ["alexnet", "mobilenet_v2", str(SPECS / "2d.yaml")])
def test_ptflops_at_batch_2(spec):
    if not _installed("ptflops"):
        pytest.skip("ptflops is not installed")
    network = cnncalc.load(spec)
    model = cnncalc.torch.build(network).eval()
    totals, layers = RUNNERS["ptflops"][0](model, network, torch.randn(2, *network.input))
    counted = count(network.analyze(batch=2), "ptflops")
    assert totals == dict(counted.totals)
    assert all(values["module_macs"] == {l.name: l.values for l in counted.layers}[name]["module_macs"]
               for name, values in layers.items())


@pytest.mark.parametrize("module", sorted(VERSIONS))
def test_the_installed_release_is_the_one_the_tables_cite(module):
    # a new release may count differently: the tables cite the files and lines of these releases
    from importlib.metadata import version

    if not _installed(module):
        pytest.skip(f"{module} is not installed")
    assert version(module) == VERSIONS[module], f"{module}: check cnncalc/conventions/tables.py against the new release"
