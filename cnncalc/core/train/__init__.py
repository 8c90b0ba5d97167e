"""The cost of training: backward FLOPs, what autograd saves, gradients, optimizer state and the step's peak memory.

`rules` holds one rule per layer type (backward FLOPs, saved tensors); `step` walks a training step over the
network's schedule and solves for the largest batch that fits a budget.
"""
from .rules import RULES, Grads, Rule, Save, rule
from .step import DEVICES, OPTIMIZERS, PRECISIONS, TrainAnalysis, TrainLayer, TrainTotals, checkpoint_segments, fit, train

__all__ = ["DEVICES", "OPTIMIZERS", "PRECISIONS", "RULES", "Grads", "Rule", "Save", "TrainAnalysis", "TrainLayer",
           "TrainTotals", "checkpoint_segments", "fit", "rule", "train"]
