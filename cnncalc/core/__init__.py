"""Stage 2, the core: the network and its schedule, the analysis (per-layer frozen facts, receptive fields, totals),
folding rows by depth, and the one loader. Pure Python arithmetic: no NumPy, no framework."""
