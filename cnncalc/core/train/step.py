"""One training step, counted: per-layer forward and backward FLOPs, saved bytes, gradients, optimizer state, and the
peak memory of the step walked with the inference schedule (`Schedule`) forward and in reverse.

    t = train(network, batch=8, optimizer="adamw", precision="bf16-mixed")
    t.totals.peak_bytes, t.totals.step_flops, [(r.name, r.saved_bytes) for r in t.layers]
    batch, at, over = fit(network, 24 * 2**30, optimizer="adam")   # the largest batch whose peak fits

The memory model (the README's "Training" section says it for users):

* Persistent: parameters (fp32; master copies in the mixed precisions), buffers, optimizer state, and for fp16 the
  loss scale. Weight gradients (fp32) appear as each layer's backward runs (`zero_grad(set_to_none=True)`).
* Forward: as inference (each output a new tensor, freed after its last reader) except that what autograd saves
  stays until the backward of the last (lowest) layer that saved it. Views (flatten, identity) share storage.
* Loss: the sum of the output times a fixed random tensor; its gradient (the output's size) starts the backward.
* Backward, layer by layer in reverse: the gradient of a tensor appears at the backward of its last reader and is
  freed after the backward of the layer that made it; further contributions are added in place (a temporary of the
  tensor's size while computed, except for add / flatten / identity, whose contribution is the output gradient
  itself). A layer whose input gradient is its output gradient (add, flatten, identity) hands that buffer on to its
  first input that has none yet. Checkpointed layers save only the tensors they read from outside their segment;
  at the backward of the segment's last layer the segment is recomputed and its saved tensors reappear.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import Dict, List, Optional, Sequence, Tuple

from ...errors import OptionError, ShapeError, did_you_mean
from ...spec.graph import INPUT
from ..analysis import MAX_BATCH, Analysis, analyze
from .rules import ITEM_BYTES, Grads, Rule, aliases_input, rule

# precision → (activation bytes, half copies of conv/dense weights kept by autocast, loss-scale bytes)
PRECISIONS = {"fp32": (4, False, 0), "fp16-mixed": (2, True, 8), "bf16-mixed": (2, True, 0)}


@dataclass(frozen=True)
class Optimizer:
    """An optimizer's state (fp32 values per parameter) and the FLOPs of its update per parameter."""

    name: str
    states: int
    flops: int
    update: str  # the update it counts, for the README


OPTIMIZERS: Dict[str, Optimizer] = {o.name: o for o in (
    Optimizer("sgd", 0, 2, "p −= lr·g"),
    Optimizer("momentum", 1, 4, "b = μ·b + g; p −= lr·b"),
    Optimizer("adam", 2, 12, "m = β1·m + (1−β1)·g (3); v = β2·v + (1−β2)·g² (4); p −= lr·m / (√v + ε) (5)"),
    Optimizer("adamw", 2, 14, "adam, and p −= lr·λ·p (2)"),
    Optimizer("rmsprop", 1, 9, "v = α·v + (1−α)·g² (4); p −= lr·g / (√v + ε) (5)"),
)}
DEVICES = ("cuda", "cpu")  # where the step runs: only dropout's saved mask differs (bool on CUDA, float on the CPU)


@dataclass(frozen=True, slots=True)
class TrainLayer:
    """One layer in a training step; FLOPs and bytes include the batch."""

    index: int
    name: str
    type: str
    trainable: bool
    needs_grad: bool  # its output requires a gradient (else autograd records nothing for it)
    forward_flops: int
    input_grad_flops: int
    weight_grad_flops: int
    saved_bytes: int  # what autograd keeps for this layer's backward (each storage once; shared ones in every row)
    saved: Tuple[str, ...]  # what those tensors are
    grad_bytes: int  # its weight gradients
    optimizer_bytes: int
    checkpointed: bool = False

    @property
    def backward_flops(self) -> int:
        return self.input_grad_flops + self.weight_grad_flops


@dataclass(frozen=True, slots=True)
class TrainTotals:
    forward_flops: int
    input_grad_flops: int
    weight_grad_flops: int
    recompute_flops: int
    optimizer_flops: int
    param_bytes: int  # fp32 parameters (the master copies in mixed precision)
    buffer_bytes: int
    grad_bytes: int
    optimizer_bytes: int
    loss_scale_bytes: int
    saved_bytes: int  # every saved storage once, at the end of the forward pass
    peak_bytes: int  # the whole step: persistent state + the largest total of tensors live at one moment
    peak_phase: str  # "forward", "backward" or "update"
    peak_layer: str  # the layer running at the peak ("" for the update)
    peak_parts: Tuple[Tuple[str, int], ...]  # (what, bytes) at the peak, largest first

    @property
    def backward_flops(self) -> int:
        return self.input_grad_flops + self.weight_grad_flops

    @property
    def step_flops(self) -> int:
        return self.forward_flops + self.backward_flops + self.recompute_flops + self.optimizer_flops

    @property
    def dominant(self) -> str:
        return self.peak_parts[0][0] if self.peak_parts else ""


@dataclass(frozen=True)
class TrainAnalysis:
    """A training step of an analysed network: its settings, one `TrainLayer` per layer and the totals."""

    analysis: Analysis
    batch: int
    optimizer: str
    precision: str
    device: str
    checkpoint: Tuple[str, ...]
    layers: Tuple[TrainLayer, ...]
    totals: TrainTotals
    notes: Tuple[str, ...]


# -- checkpointing ------------------------------------------------------------------------------------------------

def checkpoint_segments(network, spec: Sequence[str]) -> List[Tuple[str, Tuple[int, ...]]]:
    """[(segment name, node indices)] for `--checkpoint` values: layer or container names, or one depth N (every
    container N levels down). A name that matches nothing is an `OptionError` with the closest names."""
    spec = [s for s in spec if s]
    if not spec:
        return []
    nodes = network.nodes
    if len(spec) == 1 and spec[0].isdigit():
        depth = int(spec[0])
        if depth < 1:
            raise OptionError(f"checkpoint depth must be at least 1, got {depth}", option="--checkpoint")
        found: Dict[str, List[int]] = {}
        for i, node in enumerate(nodes):
            if len(node.groups) >= depth:
                found.setdefault(node.groups[depth - 1], []).append(i)
        if not found:
            raise OptionError(f"no container is {depth} level(s) deep in {network.name}", option="--checkpoint",
                              hint="`cnncalc summary --depth N` shows the containers of each level")
        return [(name, tuple(ix)) for name, ix in found.items()]
    out = []
    for name in spec:
        ix = tuple(i for i, node in enumerate(nodes) if node.name == name or name in node.groups)
        if not ix:
            known = list(network.groups) + [n.name for n in nodes]
            hint = did_you_mean(name, known) or "give layer or container names as `cnncalc summary` shows them, or a depth"
            raise OptionError(f"checkpoint {name!r} matches no layer or container of {network.name}",
                              hint=hint, option="--checkpoint")
        out.append((name, ix))
    return out


# -- the analysis -------------------------------------------------------------------------------------------------

def check_choices(optimizer: str, precision: str, device: str) -> None:
    for value, table, option in ((optimizer, OPTIMIZERS, "--optimizer"), (precision, PRECISIONS, "--precision"),
                                 (device, DEVICES, "--device")):
        if value not in table:
            raise OptionError(f"unknown {option[2:]} {value!r}; choose from {', '.join(table)}", option=option)


def train(network, batch: int = 1, optimizer: str = "adam", precision: str = "fp32",
          checkpoint: Sequence[str] = (), device: str = "cuda") -> TrainAnalysis:
    """The cost of one training step of `network` at `batch` (see the module docstring for the model)."""
    check_choices(optimizer, precision, device)
    dtype = "float32" if precision == "fp32" else "float16"
    a = analyze(network, batch=batch, dtype=dtype).complete()
    return _step(a, OPTIMIZERS[optimizer], precision, device, tuple(checkpoint))


def _step(a: Analysis, opt: Optimizer, precision: str, device: str, checkpoint: Tuple[str, ...]) -> TrainAnalysis:
    net = a.network
    batch = a.batch
    act, half_weights, loss_scale = PRECISIONS[precision]
    item = {**ITEM_BYTES, "act": act, "mask": 1 if device == "cuda" else act}
    segments = checkpoint_segments(net, checkpoint)
    segment_of: Dict[int, int] = {}
    for s, (_, ix) in enumerate(segments):
        for i in ix:
            segment_of.setdefault(i, s)

    infos = a.layers
    tensor_bytes = {INPUT: a.totals.input_bytes, **{r.index: r.activation_bytes for r in infos}}
    base = {INPUT: INPUT}  # tensor → the tensor whose storage it is
    requires = {INPUT: False}
    rules: List[Rule] = []
    saves: List[Dict[object, int]] = []  # per node: storage key → bytes it keeps for backward
    rows: List[TrainLayer] = []
    fwd = ig = wg = grad_total = opt_total = 0
    for r in infos:
        node = r.node
        if r.type == "bn" and batch * prod(r.output[1:]) == 1:
            raise ShapeError(f"'bn' in training needs more than one value per channel; at batch {batch} it has "
                             f"{list(r.output)} per sample", r.node.loc,
                             hint="batch statistics of one value are undefined (PyTorch refuses them): a larger --batch")
        trainable = node.trainable and r.params > 0
        grads = Grads(tuple(requires[j] for j in node.inputs), trainable)
        ru = rule(r.layer, r.facts, grads)
        rules.append(ru)
        requires[r.index] = grads.output
        k = aliases_input(r.layer)
        base[r.index] = base[node.inputs[k]] if k is not None else r.index
        kept: Dict[object, int] = {}
        what = []
        for s in ru.saves:
            if isinstance(s.ref, tuple):
                t = node.inputs[s.ref[1]] if s.ref[0] == "in" else r.index
                key, size = ("t", base[t]), tensor_bytes[base[t]]
            else:
                key = ("x", r.index, s.ref)
                size = s.elements * (batch if s.per_sample else 1) * item[s.kind]
            kept[key] = size
            what.append(s.why)
        if half_weights and r.layer.weighted and grads.output:  # autocast's half copy of the weights, kept for backward
            kept[("x", r.index, "half weights")] = r.params * act
            what.append("half weights")
        saves.append(kept)
        weight_grads = r.params * 4 if trainable else 0
        states = r.params * 4 * opt.states if trainable else 0
        row = TrainLayer(r.index, r.name, r.type, node.trainable, grads.output, ru.forward_flops * batch,
                         ru.input_flops * batch, ru.weight_flops * batch, sum(kept.values()), tuple(what),
                         weight_grads, states, r.index in segment_of)
        rows.append(row)
        fwd += row.forward_flops
        ig += row.input_grad_flops
        wg += row.weight_grad_flops
        grad_total += weight_grads
        opt_total += states
    recompute = sum(rows[i].forward_flops for _, ix in segments for i in set(ix))
    trainable_params = sum(r.params for r in infos if r.node.trainable)
    persistent = {"parameters": a.totals.params * 4, "buffers": a.totals.buffers * 4, "optimizer state": opt_total,
                  "loss scale": loss_scale}
    peak, phase, where, parts, saved_total = _walk(a, rows, rules, saves, tensor_bytes, base, requires, segments, segment_of,
                                      persistent)
    totals = TrainTotals(fwd, ig, wg, recompute, opt.flops * trainable_params, persistent["parameters"],
                         persistent["buffers"], grad_total, opt_total, loss_scale, saved_total, peak, phase,
                         where, parts)
    notes = _notes(a, rows, opt, precision, device)
    return TrainAnalysis(a, batch, opt.name, precision, device, checkpoint, tuple(rows), totals, notes)


def _notes(a, rows, opt, precision, device) -> Tuple[str, ...]:
    notes = []
    grouped = [r for r in a.layers if r.layer.weighted and getattr(r.layer, "groups", 1) > 1]
    if grouped:
        notes.append(f"{len(grouped)} grouped convolution(s): their weight gradient is 2 × MACs; "
                     "torch.utils.flop_counter counts groups × that (it leaves groups out of the weight-gradient term)")
    if precision != "fp32":
        notes.append("mixed precision: activations and autocast's weight copies in half precision; parameters, "
                     "gradients and optimizer state fp32" + ("; fp16 adds a loss scale" if precision == "fp16-mixed" else ""))
    if any(r.type == "dropout" for r in rows):
        notes.append(f"dropout keeps a {'bool' if device == 'cuda' else 'float'} mask ({device})")
    return tuple(notes)


class _Pool:
    """Storages by key with reference counts: the bytes live now, and the largest total seen with what made it."""

    def __init__(self):
        self.bytes: Dict[object, int] = {}
        self.refs: Dict[object, int] = {}
        self.now = 0
        self.peak = -1
        self.at: Tuple[str, str, Dict[str, int]] = ("", "", {})

    def hold(self, key, size: int) -> None:
        n = self.refs.get(key, 0)
        if n == 0:
            self.bytes[key] = size
            self.now += size
        self.refs[key] = n + 1

    def drop(self, key) -> None:
        n = self.refs[key] - 1
        if n == 0:
            del self.refs[key]
            self.now -= self.bytes.pop(key)
        else:
            self.refs[key] = n

    def check(self, phase: str, layer: str, extra: int = 0) -> None:
        if self.now + extra > self.peak:
            self.peak = self.now + extra
            kinds: Dict[str, int] = {}
            for key, size in self.bytes.items():
                kinds[_KIND[key[0]]] = kinds.get(_KIND[key[0]], 0) + size
            if extra:
                kinds["activation gradients"] = kinds.get("activation gradients", 0) + extra
            self.at = (phase, layer, kinds)


_KIND = {"t": "activations", "x": "activations", "g": "activation gradients", "w": "weight gradients"}


def _walk(a, rows, rules, saves, tensor_bytes, base, requires, segments, segment_of, persistent):
    """The peak of the step: (bytes, phase, layer, ((what, bytes), …), saved bytes at the end of the forward)."""
    net = a.network
    sched = net.schedule
    nodes = net.nodes
    # forward: checkpointed layers keep only the tensors they read from outside their segment
    kept_fwd: List[Dict[object, int]] = []
    for i, kept in enumerate(saves):
        s = segment_of.get(i)
        if s is None:
            kept_fwd.append(kept)
            continue
        inside = set(segments[s][1])
        outer = {("t", base[j]): tensor_bytes[base[j]] for j in nodes[i].inputs if j == INPUT or j not in inside}
        kept_fwd.append(outer if rows[i].needs_grad else {})
    merged: Dict[object, int] = {}
    for kept in kept_fwd:
        merged.update(kept)
    saved_end = sum(merged.values())  # every saved storage once, at the end of the forward pass
    pool = _Pool()
    pool.hold(("t", INPUT), tensor_bytes[INPUT])
    for i, live, done in sched.walk():
        pool.hold(("t", base[i]), tensor_bytes[base[i]])
        for key, size in kept_fwd[i].items():
            pool.hold(key, size)
        pool.check("forward", rows[i].name)
        for j in done:
            pool.drop(("t", base[j]))
    out = net.output
    if out == INPUT or not requires.get(out):
        return _result(pool, persistent, rows, saved_end)
    # the loss: its gradient seeds the backward; the output itself goes unless something saved it
    gkey: Dict[int, object] = {out: ("g", out)}
    pool.hold(("g", out), tensor_bytes[out])
    pool.drop(("t", base[out]))
    recomputed = set()
    for i in range(len(rows) - 1, -1, -1):
        row = rows[i]
        if row.needs_grad and i in gkey:  # else no gradient reaches it (a dead end)
            s = segment_of.get(i)
            if s is not None and s not in recomputed:  # rerun the segment's forward: its saved tensors reappear
                recomputed.add(s)
                for j in segments[s][1]:
                    for key, size in saves[j].items():
                        if key not in kept_fwd[j]:
                            pool.hold(key, size)
                            kept_fwd[j][key] = size
            transient = 0
            handed = False
            for j in dict.fromkeys(nodes[i].inputs):
                if j == INPUT or not requires[j]:
                    continue
                if j in gkey:  # added into the existing gradient
                    if not rules[i].passes_grad:
                        transient += tensor_bytes[j]
                elif rules[i].passes_grad and not handed:  # the output gradient itself becomes this input's
                    gkey[j] = gkey[i]
                    pool.hold(gkey[j], 0)
                    handed = True
                else:
                    gkey[j] = ("g", j)
                    pool.hold(gkey[j], tensor_bytes[j])
            if row.grad_bytes:
                pool.hold(("w", i), row.grad_bytes)
            pool.check("backward", row.name, transient)
            pool.drop(gkey.pop(i))
        for key in kept_fwd[i]:
            pool.drop(key)
    return _result(pool, persistent, rows, saved_end, update=True)


def _result(pool: _Pool, persistent, rows, saved_end: int, update: bool = False):
    grads = sum(r.grad_bytes for r in rows)
    if update and grads > pool.peak:  # the update: every weight gradient at once (activations are gone)
        pool.peak, pool.at = grads, ("update", "", {"weight gradients": grads})
    phase, layer, kinds = pool.at
    parts = {**{k: v for k, v in persistent.items() if v}, **{k: v for k, v in kinds.items() if v}}
    total = pool.peak + sum(persistent.values())
    return total, phase, layer, tuple(sorted(parts.items(), key=lambda kv: -kv[1])), saved_end


# -- the largest batch that fits ----------------------------------------------------------------------------------

def fit(network, budget: int, optimizer: str = "adam", precision: str = "fp32", checkpoint: Sequence[str] = (),
        device: str = "cuda") -> Tuple[int, TrainAnalysis, Optional[TrainAnalysis]]:
    """(the largest batch whose training peak fits `budget` bytes, its step, the step at one more batch or None at
    the largest batch cnncalc accepts). An impossible budget is an `OptionError` saying what batch 1 needs."""
    check_choices(optimizer, precision, device)

    def at(b: int) -> TrainAnalysis:
        return train(network, b, optimizer, precision, checkpoint, device)

    one = at(1)
    if one.totals.peak_bytes > budget:
        from ...units import human_bytes

        t = one.totals
        fixed = t.param_bytes + t.buffer_bytes + t.optimizer_bytes + t.loss_scale_bytes
        raise OptionError(f"even batch 1 needs {human_bytes(t.peak_bytes)} ({t.dominant} the largest part; "
                          f"parameters, buffers and optimizer state alone {human_bytes(fixed)}), more than the budget "
                          f"of {human_bytes(budget)}", option="--fit",
                          hint="a larger budget, another --optimizer or --precision, or --checkpoint")
    lo, hi = 1, 2  # lo fits; find an hi that does not
    while hi <= MAX_BATCH and at(hi).totals.peak_bytes <= budget:
        lo, hi = hi, hi * 2
    hi = min(hi, MAX_BATCH + 1)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if at(mid).totals.peak_bytes <= budget:
            lo = mid
        else:
            hi = mid
    return lo, at(lo), at(lo + 1) if lo < MAX_BATCH else None


__all__ = ["DEVICES", "OPTIMIZERS", "PRECISIONS", "Optimizer", "TrainAnalysis", "TrainLayer", "TrainTotals",
           "checkpoint_segments", "fit", "train"]
