"""Other tools' counting conventions as data, and the engine that applies them to cnncalc's per-layer facts.

    from cnncalc.conventions import count, explain
    count(analysis, "fvcore").totals["flops"]       # fvcore's FlopCountAnalysis(...).total(), exactly
    explain(analysis, "ptflops")                    # why ptflops' MACs differ from cnncalc's, rule by rule

`tables` holds one table of rules per tool (fvcore, ptflops and its aten backend, thop, torchinfo, torchscan,
calflops, Keras, torchvision's metadata, the papers), each rule with the tool's version and source lines; adding a
convention is one entry in `tables.CONVENTIONS`. Pure Python: no tool, and no torch, is imported.
"""
from .engine import OURS, Counted, Difference, Explanation, LayerCount, convention, count, explain
from .model import Convention, Metric
from .rules import Rule, Site
from .tables import CONVENTIONS

__all__ = ["CONVENTIONS", "OURS", "Convention", "Counted", "Difference", "Explanation", "LayerCount", "Metric", "Rule",
           "Site", "convention", "count", "explain"]
