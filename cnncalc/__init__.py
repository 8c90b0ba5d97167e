"""cnncalc: what a CNN costs, exactly, before any framework is involved."""

__version__ = "0.1.0"
