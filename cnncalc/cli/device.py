"""`--device NAME|FILE`, shared by summary, compare and kernels: a bundled profile's name or a profile file."""
from __future__ import annotations

from pathlib import Path

import click

DEVICE_DIR = Path(__file__).parent.parent / "devices"  # as cnncalc.core.device has it, without loading YAML for --help


def device_option(f):
    bundled = ", ".join(sorted(p.stem for p in DEVICE_DIR.glob("*.yaml")))
    return click.option("--device", "device", metavar="NAME|FILE",
                        help=f"Estimate each layer's time on a device (roofline): a bundled profile ({bundled}) "
                             "or a profile YAML file (see `cnncalc calibrate`).")(f)


def load_profile(arg):
    """The profile named by --device, or None; a bad name or file raises a located error (exit 2)."""
    if arg is None:
        return None
    from ..core.device import load_device

    return load_device(arg)
