"""The zoo against torchvision's own modules, output for output: the reference module's state_dict (random init,
no download) becomes cnncalc's weights (tests/zoo_weights.py) and cnncalc's NumPy forward must give the module's
output (float32, rtol 1e-4 of the output's scale). Skips where torchvision is not installed; CI installs it."""
import pytest

from zoo_weights import assert_same_output, randomize_norms

tv = pytest.importorskip("torchvision.models")


CASES = {
    # zoo name: (torchvision builder, input (C, H, W) small enough to run fast, extra load() arguments)
    "resnet18": (lambda: tv.resnet18(), (3, 64, 64), {}),
    "resnet50": (lambda: tv.resnet50(), (3, 64, 64), {}),
    "mobilenet_v2": (lambda: tv.mobilenet_v2(), (3, 64, 64), {}),
    "vgg11_bn": (lambda: tv.vgg11_bn(), (3, 64, 64), {}),
    "densenet121": (lambda: tv.densenet121(), (3, 64, 64), {}),
    "alexnet_torchvision": (lambda: tv.alexnet(), (3, 96, 96), {}),
    "googlenet_torchvision": (lambda: tv.googlenet(aux_logits=False, init_weights=True), (3, 64, 64), {}),
    "inception_v3": (lambda: tv.inception_v3(aux_logits=False, init_weights=True), (3, 96, 96), {}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_zoo_output_equals_torchvision(name):
    build, shape, args = CASES[name]
    assert_same_output(name, randomize_norms(build()), shape, **args)
