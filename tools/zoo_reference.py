"""Reference figures for the zoo: parameters, MACs and output shape of each network's reference implementation.

A developer tool, not run by CI or the tests (it needs torch, torchvision and timm). tests/test_zoo.py asserts the
figures it printed; rerun it when a spec or a reference changes:

    python -m venv /tmp/tvenv && /tmp/tvenv/bin/pip install torch==2.14.1 torchvision==0.29.1 timm
    /tmp/tvenv/bin/python tools/zoo_reference.py            # every network
    /tmp/tvenv/bin/python tools/zoo_reference.py resnet50   # some

Params are `sum(p.numel() for p in model.parameters())`. MACs follow the README: forward hooks on Conv, ConvTranspose
and Linear modules count output elements × (C_in / groups) × kernel volume, input elements × (C_out / groups) ×
kernel volume, and in × out per row respectively; bias excluded. Networks with no torchvision/timm model (LeNet-5,
the paper's AlexNet, VGG configuration C, FCN-VGG16) are written out below in a few lines of torch.
"""
import math
import sys

import timm
import torch
import torchvision.models as tv
from timm.models.efficientnet import _gen_mobilenet_v1  # timm's builder, with a channel multiplier
from torch import nn


def count_macs(model: nn.Module, shape) -> tuple:
    """(MACs, output shape without the batch) of one forward pass of a batch of one."""
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            total += output.numel() * (module.in_channels // module.groups) * math.prod(module.kernel_size)
        elif isinstance(module, nn.ConvTranspose2d):
            total += inputs[0].numel() * (module.out_channels // module.groups) * math.prod(module.kernel_size)
        elif isinstance(module, nn.Linear):
            total += inputs[0].numel() // module.in_features * module.in_features * module.out_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    with torch.no_grad():
        out = model.eval()(torch.zeros(1, *shape))
    for h in handles:
        h.remove()
    return total, tuple(out.shape[1:])


def lenet5():
    # LeCun et al. 1998 as commonly implemented: tanh, 2×2 average pooling, C5 a 5×5 conv with 120 maps
    return nn.Sequential(nn.Conv2d(1, 6, 5), nn.Tanh(), nn.AvgPool2d(2), nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),
                         nn.Conv2d(16, 120, 5), nn.Tanh(), nn.Flatten(), nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10))


def alexnet_paper():
    # Krizhevsky et al. 2012: 227×227, LRN, overlapping pooling, conv2/4/5 split over two GPUs (groups=2)
    lrn = lambda: nn.LocalResponseNorm(5, 1e-4, 0.75, 2)  # noqa: E731
    return nn.Sequential(
        nn.Conv2d(3, 96, 11, 4), nn.ReLU(), lrn(), nn.MaxPool2d(3, 2),
        nn.Conv2d(96, 256, 5, padding=2, groups=2), nn.ReLU(), lrn(), nn.MaxPool2d(3, 2),
        nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(), nn.Conv2d(384, 384, 3, padding=1, groups=2), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1, groups=2), nn.ReLU(), nn.MaxPool2d(3, 2), nn.Flatten(),
        nn.Linear(9216, 4096), nn.ReLU(), nn.Dropout(), nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(), nn.Linear(4096, 1000))


def vgg_c():
    # Simonyan & Zisserman 2015, Table 1 configuration C: D with the last conv of stages 3-5 a 1×1
    layers, c = [], 3
    for stage in ([64, 64], [128, 128], [256, 256, 1], [512, 512, 1], [512, 512, 1]):
        for v in stage:
            k = 1 if v == 1 else 3
            v = c if v == 1 else v
            layers += [nn.Conv2d(c, v, k, padding=k // 2), nn.ReLU()]
            c = v
        layers.append(nn.MaxPool2d(2))
    model = tv.vgg16()
    model.features = nn.Sequential(*layers)
    return model


def fcn_vgg16():
    # VGG-16 made fully convolutional: fc6/fc7/fc8 as 7×7, 1×1 and 1×1 convs
    return nn.Sequential(tv.vgg16().features, nn.Conv2d(512, 4096, 7), nn.ReLU(), nn.Dropout(), nn.Conv2d(4096, 4096, 1),
                         nn.ReLU(), nn.Dropout(), nn.Conv2d(4096, 1000, 1))


S224, S299 = (3, 224, 224), (3, 299, 299)
REFERENCES = {  # zoo name: (model constructor, input shape)
    "lenet5": (lenet5, (1, 32, 32)),
    "alexnet": (alexnet_paper, (3, 227, 227)),
    "alexnet_torchvision": (tv.alexnet, S224),
    **{f"vgg{d}": (getattr(tv, f"vgg{d}"), S224) for d in (11, 13, 16, 19)},
    **{f"vgg{d}_bn": (getattr(tv, f"vgg{d}_bn"), S224) for d in (11, 13, 16, 19)},
    "vgg_c": (vgg_c, S224),
    "googlenet_torchvision": (lambda: tv.googlenet(aux_logits=False, init_weights=False), S224),
    "inception_v3": (lambda: tv.inception_v3(aux_logits=False, init_weights=False), S299),
    "inception_v4": (lambda: timm.create_model("inception_v4"), S299),
    "inception_resnet_v2": (lambda: timm.create_model("inception_resnet_v2"), S299),
    **{f"resnet{d}": (getattr(tv, f"resnet{d}"), S224) for d in (18, 34, 50, 101, 152)},
    "mobilenet_v1": (lambda: timm.create_model("mobilenetv1_100"), S224),
    "mobilenet_v1 alpha=0.5 160": (lambda: _gen_mobilenet_v1("mobilenetv1_100", 0.5), (3, 160, 160)),
    "mobilenet_v2": (tv.mobilenet_v2, S224),
    "mobilenet_v2 alpha=0.5 160": (lambda: tv.mobilenet_v2(width_mult=0.5), (3, 160, 160)),
    "mobilenet_v2 alpha=0.35 224": (lambda: tv.mobilenet_v2(width_mult=0.35), S224),
    "densenet121": (tv.densenet121, S224),
    "fcn_vgg16": (fcn_vgg16, S224),
    "fcn_vgg16 384": (fcn_vgg16, (3, 384, 384)),
}


def main(names):
    for name in names or REFERENCES:
        make, shape = REFERENCES[name]
        model = make()
        params = sum(p.numel() for p in model.parameters())
        macs, out = count_macs(model, shape)
        print(f"{name:30} input {shape}  params {params:,}  MACs {macs:,}  output {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
