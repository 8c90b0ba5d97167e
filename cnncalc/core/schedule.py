"""When each tensor is made, read and freed in an inference pass: the one answer to "who reads this tensor last".

The network runs its nodes in order (they are topologically sorted). While node i runs, its inputs and its new
output are live; right after it, every input it was the last reader of is freed, and so is its own output if nothing
reads it. The network's output is never freed, nor the network input when nothing reads it. The peak-memory
prediction, the NumPy executor, the torch module, export and lint all take these facts from here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import AbstractSet, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from ..spec.graph import INPUT, readers


@dataclass(frozen=True)
class Schedule:
    """Readers and frees of every tensor, for nodes run in order."""

    output: int
    readers: Mapping[int, Tuple[int, ...]]  # tensor (INPUT or node index) → the nodes reading it, in order
    frees: Tuple[Tuple[int, ...], ...]  # per node: the tensors dropped right after it runs

    @classmethod
    def of(cls, inputs: Sequence[Sequence[int]], output: int) -> "Schedule":
        """The schedule of nodes with these inputs (node i reads the tensors `inputs[i]`)."""
        read = {j: tuple(users) for j, users in readers(inputs).items()}
        frees = []
        for i, ins in enumerate(inputs):
            done = [j for j in dict.fromkeys(ins) if read[j][-1] == i and j != output]
            if i not in read and i != output:  # a dead end: nothing reads it
                done.append(i)
            frees.append(tuple(done))
        return cls(output, read, tuple(frees))

    def readers_of(self, tensor: int) -> Tuple[int, ...]:
        return self.readers.get(tensor, ())

    def last_reader(self, tensor: int) -> int:
        """The last node that reads `tensor` (-1 when none does)."""
        users = self.readers.get(tensor, ())
        return users[-1] if users else -1

    def walk(self) -> Iterator[Tuple[int, AbstractSet[int], Tuple[int, ...]]]:
        """(node, the tensors live while it runs, the tensors freed right after it), for each node in order.

        One set, updated in place from step to step: read it at each step, copy it to keep it.
        """
        live = {INPUT}
        for i, done in enumerate(self.frees):
            live.add(i)
            yield i, live, done
            live.difference_update(done)

    def peak(self, tensor_bytes: Mapping[int, int],
             in_place: Optional[Mapping[int, int]] = None) -> Tuple[int, List[int]]:
        """(peak bytes, the tensors live at the peak, sorted) of a pass with these tensor sizes.

        `in_place` maps a node to the tensor whose buffer its output reuses (an activation computed in place, a
        batch norm folded into its conv): that output costs no new bytes, and the shared buffer is freed when the
        last tensor in it is. The first walk finds the step of the peak, a second one stops there to read the live
        set: copying the set at every new peak is quadratic when the peak keeps rising (thousands of branches).
        """
        in_place = in_place or {}
        owner = {INPUT: INPUT}  # tensor → the tensor whose buffer holds it
        holders = {INPUT: 1}    # buffer → how many live tensors it holds
        total = peak = tensor_bytes[INPUT]
        at = -1  # the node running at the peak (-1: before any runs)
        for i, live, done in self.walk():
            if i in in_place:
                o = owner[i] = owner[in_place[i]]
                holders[o] += 1
            else:
                owner[i], holders[i] = i, 1
                total += tensor_bytes[i]
            if total > peak:
                peak, at = total, i
            for j in done:
                o = owner[j]
                holders[o] -= 1
                if not holders[o]:
                    total -= tensor_bytes[o]
        if at < 0:
            return peak, [INPUT]
        for i, live, done in self.walk():
            if i == at:
                return peak, sorted(live)
        raise AssertionError("unreachable: the peak's step is one of the walk's")  # pragma: no cover

    def pending_after(self) -> Iterator[Tuple[int, AbstractSet[int]]]:
        """(node, the tensors some later node still reads), right after each node runs.

        One set, updated in place from step to step (linear in the graph, not in steps × tensors): read it at each
        step, copy it to keep it.
        """
        ends: List[List[int]] = [[] for _ in self.frees]  # per node: the tensors it is the last reader of
        for tensor, users in self.readers.items():
            ends[users[-1]].append(tensor)
        pending = {INPUT} if INPUT in self.readers else set()
        for i, done in enumerate(ends):
            pending.difference_update(done)
            if self.last_reader(i) > i:
                pending.add(i)
            yield i, pending
