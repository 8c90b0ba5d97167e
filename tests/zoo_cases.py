"""Which zoo networks the PyTorch cross-checks run end to end, and at what input size (shared by test_torch and
test_export; no torch needed to decide)."""
from __future__ import annotations

import cnncalc
from cnncalc import zoo

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
