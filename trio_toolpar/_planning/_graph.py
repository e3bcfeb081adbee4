"""Graph algorithms on a turn's calls, by index: cycles, topological order, generations.

Pure and iterative (a turn may hold 100,000 calls; Python's stack would
not), each linear in the nodes it is given plus their edges. ``edges(i)``
gives the calls that call ``i`` waits for. The planner hands over only the
calls that may wait for others: a call outside ``nodes`` waits for none, so
it is on no cycle, counts as done, and is in generation 0.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence

__all__ = ["find_cycle", "generations", "topological_order"]

Edges = Callable[[int], Collection[int]]

_DONE = 2


def find_cycle(nodes: Collection[int], edges: Edges) -> list[int] | None:
    """The first cycle met walking ``nodes`` in order, as indices with the start repeated, or None."""
    state = dict.fromkeys(nodes, 0)  # 0 new, 1 on the path, 2 done (calls outside `nodes` are done)
    for root in nodes:
        if state[root]:
            continue
        state[root] = 1
        path = [root]
        # Per node on the path: its predecessors, sorted, and how many of them were walked.
        stack: list[tuple[Sequence[int], int]] = [(sorted(edges(root)), 0)]
        while stack:
            pending, walked = stack[-1]
            if walked == len(pending):
                state[path.pop()] = _DONE
                stack.pop()
                continue
            stack[-1] = (pending, walked + 1)
            nxt = pending[walked]
            seen = state.get(nxt, _DONE)
            if seen == 1:
                return [*path[path.index(nxt) :], nxt]
            if seen == 0:
                state[nxt] = 1
                path.append(nxt)
                stack.append((sorted(edges(nxt)), 0))
    return None


def topological_order(nodes: Collection[int], edges: Edges) -> list[int]:
    """``nodes``, each after those of them it waits for, the smallest index first among those ready (if acyclic)."""
    indegree = dict.fromkeys(nodes, 0)
    successors: defaultdict[int, list[int]] = defaultdict(list)
    for i in nodes:
        for j in edges(i):
            if j in indegree:
                indegree[i] += 1
                successors[j].append(i)
    ready = [i for i, count in indegree.items() if count == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for k in successors.get(i, ()):
            indegree[k] -= 1
            if indegree[k] == 0:
                heapq.heappush(ready, k)
    return order


def generations(order: Sequence[int], edges: Edges, runnable: Callable[[int], bool]) -> dict[int, int]:
    """Each runnable call's generation: 0 without predecessors, else one more than its latest predecessor's.

    ``order`` is a topological order; predecessors that are not runnable, or
    not in ``order``, count as generation 0.
    """
    generation: dict[int, int] = {}
    for i in order:
        if runnable(i):
            latest = -1
            for j in edges(i):
                latest = max(latest, generation.get(j, 0))
            generation[i] = latest + 1
    return generation
