"""`--device NAME|FILE`, shared by summary, compare and kernels: a bundled profile's name or a profile file."""
from __future__ import annotations

import click


def device_option(f):
    return click.option("--device", "device", metavar="NAME|FILE",
                        help="Estimate each layer's time on a device (roofline): a bundled profile "
                             "(a100, h100, l4, t4, rtx4090, jetson-orin, apple-m2, raspberry-pi-5, xeon-core) "
                             "or a profile YAML file (see `cnncalc calibrate`).")(f)


def load_profile(arg):
    """The profile named by --device, or None; a bad name or file raises a located error (exit 2)."""
    if arg is None:
        return None
    from ..core.device import load_device

    return load_device(arg)
