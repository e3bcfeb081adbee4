"""Graph algorithms on a turn's calls, by index: cycles, topological order, generations.

Pure and iterative (a turn may hold 100,000 calls; Python's stack would
not), each linear in calls plus edges. ``edges(i)`` gives the calls that
call ``i`` waits for.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Collection, Sequence

__all__ = ["find_cycle", "generations", "topological_order"]

Edges = Callable[[int], Collection[int]]


def find_cycle(n: int, edges: Edges) -> list[int] | None:
    """The first cycle met walking calls in emission order, as indices with the start repeated, or None."""
    state = [0] * n  # 0 new, 1 on the path, 2 done
    for root in range(n):
        if state[root]:
            continue
        state[root] = 1
        path = [root]
        # Per node on the path: its predecessors, sorted, and how many of them were walked.
        stack: list[tuple[Sequence[int], int]] = [(sorted(edges(root)), 0)]
        while stack:
            pending, walked = stack[-1]
            if walked == len(pending):
                state[path.pop()] = 2
                stack.pop()
                continue
            stack[-1] = (pending, walked + 1)
            nxt = pending[walked]
            if state[nxt] == 1:
                return [*path[path.index(nxt) :], nxt]
            if state[nxt] == 0:
                state[nxt] = 1
                path.append(nxt)
                stack.append((sorted(edges(nxt)), 0))
    return None


def topological_order(n: int, edges: Edges) -> list[int]:
    """Every call after all it waits for, the smallest index first among those ready (for an acyclic graph)."""
    indegree = [0] * n
    successors: list[list[int]] = [[] for _ in range(n)]
    for i in range(n):
        for j in edges(i):
            indegree[i] += 1
            successors[j].append(i)
    ready = [i for i in range(n) if indegree[i] == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for k in successors[i]:
            indegree[k] -= 1
            if indegree[k] == 0:
                heapq.heappush(ready, k)
    return order


def generations(order: Sequence[int], edges: Edges, runnable: Callable[[int], bool]) -> dict[int, int]:
    """Each runnable call's generation: 0 without predecessors, else one more than its latest predecessor's.

    ``order`` is a topological order; predecessors that are not runnable count as generation 0.
    """
    generation: dict[int, int] = {}
    for i in order:
        if runnable(i):
            preds = edges(i)
            generation[i] = max((generation.get(j, 0) + 1 for j in preds), default=0)
    return generation
