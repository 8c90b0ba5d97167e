"""A diff of two networks: which layers were added, removed, changed or renamed, and what that did to the costs.

Layers are matched in passes that keep spec order:

1. by structure: the two layer sequences aligned on (type, arguments) by a patience diff (common prefix and suffix,
   then what occurs once on each side as anchors), so what did not change is matched whatever it is called now —
   a renamed stage (`layer1` → `stage1`), or a positional name shifted by an inserted layer (`conv2` → `conv3`),
   is a rename, not a removal and an addition. A pair with the same name is matched "by name", else "by structure";
2. in each gap the alignment leaves, by name (same name and type: a layer whose arguments changed), and then by
   type in order (a layer renamed *and* changed).

Anything unmatched is added or removed. Stages are the top-level rows of `summary --depth 1` (a block, repeat,
residual or a top-level layer); a new stage is paired with the old stage most of its matched layers came from, so a
renamed stage keeps its figures side by side. Totals are `cnncalc.compare.metrics` of both analyses; every delta
is exact (new − old) with its share of the old value. Formatting lives in `cnncalc.render.diff`.
"""
from __future__ import annotations

import difflib
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any, Dict, Hashable, Iterable, List, Optional, Sequence, Tuple

from ..core.analysis import Analysis, LayerInfo, tensor_bytes
from ..spec.graph import INPUT
from . import metrics

STATUSES = ("added", "removed", "changed", "renamed", "unchanged")
# How a pair was matched (see the module docstring); "" for added and removed layers.
MATCHED_BY = ("name", "structure", "type")
# Totals compared, in order: (key of `cnncalc.compare.metrics`, label, kind).
TOTALS = (
    ("params", "Params", "count"),
    ("macs", "MACs", "count"),
    ("flops", "FLOPs", "count"),
    ("param_bytes", "Param memory", "bytes"),
    ("peak_activation_bytes", "Peak activations", "bytes"),
    ("depth", "Depth", "layers"),
    ("weighted_layers", "Weighted layers", "layers"),
)
STAGE_KEYS = ("params", "macs", "flops")


@dataclass(frozen=True)
class Delta:
    """An old and a new value; for numbers, their exact difference and its share of the old value."""

    old: Any
    new: Any

    @property
    def change(self) -> Any:
        return self.new - self.old

    @property
    def share(self) -> Optional[float]:
        """(new − old) / old, or None when old is 0 (a share of nothing)."""
        return (self.new - self.old) / self.old if self.old else None

    @property
    def same(self) -> bool:
        return self.old == self.new


@dataclass(frozen=True)
class LayerChange:
    """One layer of either network: what happened to it. `args` lists the arguments that differ (name, old, new)."""

    status: str  # one of STATUSES
    old: Optional[LayerInfo]
    new: Optional[LayerInfo]
    matched_by: str = ""  # one of MATCHED_BY, "" when unmatched
    args: Tuple[Tuple[str, Any, Any], ...] = ()

    @property
    def name(self) -> str:
        return (self.new or self.old).name  # type: ignore[union-attr]

    @property
    def type(self) -> str:
        return (self.new or self.old).type  # type: ignore[union-attr]

    @property
    def renamed(self) -> bool:
        return self.old is not None and self.new is not None and self.old.name != self.new.name

    def delta(self, key: str) -> Delta:
        """params, macs, flops or activation_bytes of this layer; 0 on the side where it does not exist."""
        return Delta(getattr(self.old, key) if self.old else 0, getattr(self.new, key) if self.new else 0)

    @property
    def output(self) -> Delta:
        return Delta(self.old.output if self.old else None, self.new.output if self.new else None)


@dataclass(frozen=True)
class StageChange:
    """One top-level stage: its names in both networks (None where it does not exist) and its summed costs."""

    status: str  # one of STATUSES
    old_name: Optional[str]
    new_name: Optional[str]
    type: str  # the block's name or the container's kind, or the layer type of a top-level layer
    costs: Dict[str, Delta]  # STAGE_KEYS → Delta (0 on the missing side)

    @property
    def name(self) -> str:
        return self.new_name or self.old_name  # type: ignore[return-value]


@dataclass(frozen=True)
class Peak:
    """Where the inference pass peaks: the bytes live then and the layer running at that moment."""

    bytes: int
    layer: str  # "input" when the peak is the input alone


@dataclass(frozen=True)
class Diff:
    """Everything `cnncalc diff` shows; both analyses complete."""

    old: Analysis
    new: Analysis
    layers: Tuple[LayerChange, ...]  # in the new network's order, removed layers after their old predecessor
    stages: Tuple[StageChange, ...]
    totals: Dict[str, Delta]  # TOTALS keys
    output: Delta  # shapes
    input: Delta
    receptive_field: Delta  # ReceptiveField objects
    local_receptive_field: Delta  # the field before the network goes global (`compare`'s "RF before global")
    peak: Delta  # Peak objects

    def count(self, status: str) -> int:
        return sum(1 for c in self.layers if c.status == status)

    @property
    def counts(self) -> Dict[str, int]:
        return {s: self.count(s) for s in STATUSES}

    @property
    def changed(self) -> bool:
        """Whether anything differs: a layer, a total, the input or output shape, a receptive field."""
        return (any(c.status != "unchanged" for c in self.layers) or not self.input.same or not self.output.same
                or any(not d.same for d in self.totals.values()) or not self.receptive_field.same)


def diff(old: Analysis, new: Analysis) -> Diff:
    """The diff of two complete analyses (a failed one raises its ShapeError)."""
    old, new = old.complete(), new.complete()
    pairs = match(old.layers, new.layers)
    partner = {i: (j, how) for i, j, how in pairs}
    matched_new = {j for _, j, _ in pairs}
    changes_new: Dict[int, LayerChange] = {}
    for i, (j, how) in partner.items():
        changes_new[j] = _pair(old.layers[i], new.layers[j], how)
    for j, info in enumerate(new.layers):
        if j not in matched_new:
            changes_new[j] = LayerChange("added", None, info)
    removed = {i: LayerChange("removed", info, None) for i, info in enumerate(old.layers) if i not in partner}
    ordered = _interleave([changes_new[j] for j in range(len(new.layers))], len(old.layers),
                          {i: j for i, (j, _) in partner.items()}, removed)
    m_old, m_new = metrics(old), metrics(new)
    return Diff(old, new, tuple(ordered), tuple(_stages(old, new, pairs, ordered)),
                {key: Delta(m_old[key], m_new[key]) for key, _, _ in TOTALS},
                Delta(m_old["output"], m_new["output"]), Delta(_net(old).input, _net(new).input),
                Delta(m_old["receptive_field"], m_new["receptive_field"]),
                Delta(m_old["local_receptive_field"], m_new["local_receptive_field"]),
                Delta(peak(old), peak(new)))


def _net(a: Analysis) -> Any:
    return a.network  # a Network (typed loosely on Analysis, whose module cannot import it)


def peak(a: Analysis) -> Peak:
    """The peak of live activations and the layer that runs at that moment (the newest live tensor's maker)."""
    size, live = _net(a).schedule.peak(tensor_bytes(a))
    last = max(live)
    return Peak(size, "input" if last == INPUT else a.layers[last].name)


# -- matching ---------------------------------------------------------------------------------------------------
def signature(info: LayerInfo) -> Tuple[str, str]:
    """What a layer is, apart from its name: its type and every argument value (defaults included)."""
    return info.type, repr(tuple(info.layer.values.items()))


def match(old: Sequence[LayerInfo], new: Sequence[LayerInfo]) -> List[Tuple[int, int, str]]:
    """(old index, new index, how) for every matched pair, by the passes of the module docstring."""
    pairs: List[Tuple[int, int, str]] = []
    sig_old, sig_new = [signature(info) for info in old], [signature(info) for info in new]
    for a0, a1, b0, b1, same in _blocks(sig_old, sig_new, 0, len(old), 0, len(new)):
        if same:
            pairs += [(a0 + k, b0 + k, "name" if old[a0 + k].name == new[b0 + k].name else "structure")
                      for k in range(a1 - a0)]
        elif a1 > a0 and b1 > b0:
            pairs += _leftovers(old, new, range(a0, a1), range(b0, b1))
    return sorted(pairs)


MAX_DENSE = 250_000  # old × new items beyond which a gap without unique anchors is not aligned item by item


def _blocks(a: Sequence[Hashable], b: Sequence[Hashable], a0: int, a1: int, b0: int, b1: int):
    """a[a0:a1] and b[b0:b1] cut into blocks (a0, a1, b0, b1, equal), in order: a patience diff.

    Common prefix and suffix first; in between, the items that occur once on each side anchor the alignment (the
    longest run of them in the same order), and the gaps between anchors are aligned the same way. A gap with no
    such anchors is handed to difflib when small, and left as one unequal block when large: a CNN repeats the same
    (type, arguments) thousands of times, where difflib's matching grows with the square of the length.
    """
    out: List[Tuple[int, int, int, int, bool]] = []
    stack: List[Tuple] = [("align", a0, a1, b0, b1)]  # tasks, last first: no recursion, however deep the gaps nest
    while stack:
        task = stack.pop()
        if task[0] == "block":
            out.append(task[1])
            continue
        _, a0, a1, b0, b1 = task
        start0, start1, end0, end1 = a0, b0, a1, b1
        while a0 < a1 and b0 < b1 and a[a0] == b[b0]:
            a0, b0 = a0 + 1, b0 + 1
        while a1 > a0 and b1 > b0 and a[a1 - 1] == b[b1 - 1]:
            a1, b1 = a1 - 1, b1 - 1
        tasks: List[Tuple] = []
        if a0 > start0:
            tasks.append(("block", (start0, a0, start1, b0, True)))
        anchors = _anchors(a, b, a0, a1, b0, b1) if a0 < a1 and b0 < b1 else []
        if anchors:
            i, j = a0, b0
            for x, y in anchors:
                tasks += [("align", i, x, j, y), ("block", (x, x + 1, y, y + 1, True))]
                i, j = x + 1, y + 1
            tasks.append(("align", i, a1, j, b1))
        elif a0 < a1 and b0 < b1 and (a1 - a0) * (b1 - b0) <= MAX_DENSE:
            tasks += [("block", (a0 + c0, a0 + c1, b0 + d0, b0 + d1, tag == "equal"))
                      for tag, c0, c1, d0, d1 in _opcodes(a[a0:a1], b[b0:b1])]
        elif a0 < a1 or b0 < b1:
            tasks.append(("block", (a0, a1, b0, b1, False)))
        if a1 < end0 or b1 < end1:
            tasks.append(("block", (a1, end0, b1, end1, True)))
        stack.extend(reversed(tasks))
    return out


def _anchors(a, b, a0, a1, b0, b1) -> List[Tuple[int, int]]:
    """Positions of the items unique on both sides, the longest subsequence of them in the same order on both."""
    once_a: Dict[Hashable, int] = {}
    for i in range(a0, a1):
        once_a[a[i]] = -1 if a[i] in once_a else i
    once_b: Dict[Hashable, int] = {}
    for j in range(b0, b1):
        once_b[b[j]] = -1 if b[j] in once_b else j
    common = sorted((i, once_b[key]) for key, i in once_a.items() if i >= 0 and once_b.get(key, -1) >= 0)
    # the longest increasing run of new positions, by patience sorting (n log n)
    tails: List[int] = []  # tails[n]: the index into `common` ending the best increasing run of length n + 1
    back: List[int] = []
    for k, (_, j) in enumerate(common):
        lo, hi = 0, len(tails)
        while lo < hi:
            mid = (lo + hi) // 2
            if common[tails[mid]][1] < j:
                lo = mid + 1
            else:
                hi = mid
        back.append(tails[lo - 1] if lo else -1)
        if lo == len(tails):
            tails.append(k)
        else:
            tails[lo] = k
    run, k = [], tails[-1] if tails else -1
    while k >= 0:
        run.append(common[k])
        k = back[k]
    return run[::-1]


def _opcodes(a: Sequence[Hashable], b: Sequence[Hashable]):
    # autojunk off: in a CNN the same (type, arguments) recurs everywhere (relu, bn), and that is no reason to skip it
    return difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()


def _leftovers(old: Sequence[LayerInfo], new: Sequence[LayerInfo], olds: Iterable[int],
               news: Iterable[int]) -> List[Tuple[int, int, str]]:
    """Pairs within one gap of the structural alignment: same name and type first, then same type in order."""
    olds, free = list(olds), dict.fromkeys(news)  # free: new indices not yet paired, in order
    pairs = []
    by_name = {new[j].name: j for j in free}
    rest = []
    for i in olds:
        j = by_name.get(old[i].name)
        if j is not None and j in free and new[j].type == old[i].type:
            pairs.append((i, j, "name"))
            del free[j]
        else:
            rest.append(i)
    queues: Dict[str, deque] = {}
    for j in free:
        queues.setdefault(new[j].type, deque()).append(j)
    last = -1  # pairs by type keep their order: each new layer after the previous one paired
    for i in rest:
        queue = queues.get(old[i].type)
        while queue and queue[0] <= last:
            queue.popleft()
        if queue:
            j = queue.popleft()
            pairs.append((i, j, "type"))
            last = j
    return pairs


def _pair(old: LayerInfo, new: LayerInfo, how: str) -> LayerChange:
    args = tuple((k, v, new.layer.values.get(k)) for k, v in old.layer.values.items()
                 if new.layer.values.get(k) != v or type(new.layer.values.get(k)) is not type(v))
    differs = bool(args) or old.output != new.output or old.params != new.params or old.macs != new.macs
    status = "changed" if differs else "renamed" if old.name != new.name else "unchanged"
    return LayerChange(status, old, new, how, args)


def _interleave(news: List[Any], n_old: int, partner: Dict[int, int], removed: Dict[int, Any]) -> List[Any]:
    """The new sequence with each removed old item placed after the partner of its nearest matched predecessor
    (at the start when it has none), removed runs kept in their old order."""
    after: Dict[int, List[Any]] = {}  # new index (-1: the start) → removed items that follow it
    anchor = -1
    for i in range(n_old):
        if i in partner:
            anchor = partner[i]
        elif i in removed:
            after.setdefault(anchor, []).append(removed[i])
    out = list(after.get(-1, []))
    for j, item in enumerate(news):
        out.append(item)
        out += after.get(j, [])
    return out


# -- stages -----------------------------------------------------------------------------------------------------
def stage_of(info: LayerInfo) -> str:
    """The top-level row a layer folds into at `--depth 1`: its outermost container, or itself."""
    return info.groups[0] if info.groups else info.name


def _stage_type(a: Analysis, name: str, info: LayerInfo) -> str:
    group = _net(a).groups.get(name)
    return group.label if group is not None and info.groups else info.type


def _stage_sums(a: Analysis) -> Dict[str, Dict[str, Any]]:
    """Per stage, in order: its type and the sums of STAGE_KEYS over its layers."""
    out: Dict[str, Dict[str, Any]] = {}
    for info in a.layers:
        name = stage_of(info)
        sums = out.setdefault(name, {"type": _stage_type(a, name, info), **{k: 0 for k in STAGE_KEYS}})
        for k in STAGE_KEYS:
            sums[k] += getattr(info, k)
    return out


def _stages(old: Analysis, new: Analysis, pairs: Sequence[Tuple[int, int, str]],
            layers: Sequence[LayerChange]) -> List[StageChange]:
    s_old, s_new = _stage_sums(old), _stage_sums(new)
    votes = Counter((stage_of(old.layers[i]), stage_of(new.layers[j])) for i, j, _ in pairs)
    partner: Dict[str, str] = {}  # old stage → new stage
    taken = set()  # new stages already paired
    # most shared layers first; on a tie, a stage that kept its name
    for (a, b), _ in sorted(votes.items(), key=lambda kv: (-kv[1], kv[0][0] != kv[0][1])):
        if a not in partner and b not in taken:
            partner[a] = b
            taken.add(b)
    for name in s_old:  # a stage every layer of which changed type still keeps its name
        if name not in partner and name in s_new and name not in taken:
            partner[name] = name
            taken.add(name)
    touched = {stage_of(c.new) for c in layers if c.new is not None and c.status in ("added", "changed")}
    touched |= {stage_of(c.old) for c in layers if c.old is not None and c.status == "removed"}
    back = {b: a for a, b in partner.items()}
    news = []
    for b, sums in s_new.items():
        was = back.get(b)
        costs = {k: Delta(s_old[was][k] if was else 0, sums[k]) for k in STAGE_KEYS}
        if was is None:
            status = "added"
        elif b in touched or was in touched or any(not d.same for d in costs.values()):
            status = "changed"
        else:
            status = "renamed" if was != b else "unchanged"
        news.append(StageChange(status, was, b, sums["type"], costs))
    order_new = {b: j for j, b in enumerate(s_new)}
    removed = {i: StageChange("removed", a, None, s_old[a]["type"], {k: Delta(s_old[a][k], 0) for k in STAGE_KEYS})
               for i, a in enumerate(s_old) if a not in partner}
    index_partner = {i: order_new[partner[a]] for i, a in enumerate(s_old) if a in partner}
    return _interleave(news, len(s_old), index_partner, removed)
