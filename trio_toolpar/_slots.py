"""Capacity: one `trio.CapacityLimiter` per resource, granted in plan order.

Trio wakes tasks that wait at the same instant in a random order, so tasks
that each call ``limiter.acquire()`` would get slots in a different order on
every run. Instead, calls wait in queues here, ranked by (turn, priority,
emission order), and a grant happens only when a turn's coordinator calls
`Slots.dispatch`, after the current instant has settled. A call takes all
its limiters at once or none, so it never holds one while waiting for
another: limiters cannot deadlock, and a call holds capacity only while it
runs.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable, Mapping
from typing import final

import attrs
import trio

__all__ = ["Slots", "Waiter"]

_GLOBAL = "\x00global"
_THREADS = "\x00threads"


@final
@attrs.define(eq=False)
class Waiter:
    """A call waiting for capacity."""

    rank: tuple[int, int, int]
    names: tuple[str, ...]
    on_grant: Callable[[], None]
    accepts: Callable[[], bool]
    """Called just before a grant; ``False`` drops the waiter (its turn is stopping)."""
    withdrawn: bool = False
    held: tuple[trio.CapacityLimiter, ...] = ()


@final
class Slots:
    """The capacity limits of one executor, shared by all its turns."""

    def __init__(self, limits: Mapping[str, int], *, max_concurrency: int | None, thread_limit: int) -> None:
        for name, cap in limits.items():
            if not isinstance(cap, int) or isinstance(cap, bool) or cap < 1:
                raise ValueError(f"limit for {name!r} must be a positive integer, not {cap!r}")
        if max_concurrency is not None and (not isinstance(max_concurrency, int) or max_concurrency < 1):
            raise ValueError(f"max_concurrency must be a positive integer or None, not {max_concurrency!r}")
        self.limiters: dict[str, trio.CapacityLimiter] = {
            name: trio.CapacityLimiter(cap) for name, cap in sorted(limits.items())
        }
        if max_concurrency is not None:
            self.limiters[_GLOBAL] = trio.CapacityLimiter(max_concurrency)
        self.limiters[_THREADS] = trio.CapacityLimiter(thread_limit)
        # to_thread.run_sync must get a limiter; ours is already held, so give it one that never blocks.
        self.unlimited = trio.CapacityLimiter(math.inf)
        # Heap entries are (rank, tiebreak, waiter): tuples compare in C, and never reach the waiter.
        self._queues: dict[tuple[str, ...], list[tuple[tuple[int, int, int], int, Waiter]]] = {}
        self._tiebreak = itertools.count()
        self._changed = trio.Event()
        self._names: dict[tuple[str | None, bool], tuple[str, ...]] = {}
        self._global = _GLOBAL in self.limiters

    def names_for(self, resource: str | None, *, sync: bool) -> tuple[str, ...]:
        """The limiters a call on ``resource`` takes, in the fixed order: resource, global, threads."""
        if not sync and not self._global and (resource is None or resource not in self.limiters):
            return ()  # the common case, answered without building a key
        names = self._names.get((resource, sync))
        if names is None:
            names = self._names[resource, sync] = self._find_names(resource, sync=sync)
        return names

    def _find_names(self, resource: str | None, *, sync: bool) -> tuple[str, ...]:
        names: list[str] = []
        if resource is not None and resource in self.limiters:
            names.append(resource)
        if _GLOBAL in self.limiters:
            names.append(_GLOBAL)
        if sync:
            names.append(_THREADS)
        return tuple(names)

    def enqueue(self, waiter: Waiter) -> None:
        """Queue ``waiter``; it is granted by a later `dispatch`."""
        heapq.heappush(self._queues.setdefault(waiter.names, []), (waiter.rank, next(self._tiebreak), waiter))
        self.kick()

    def release(self, waiter: Waiter) -> None:
        """Give back what ``waiter`` holds (idempotent)."""
        for limiter in waiter.held:
            limiter.release_on_behalf_of(waiter)
        if waiter.held:
            waiter.held = ()
            self.kick()

    def kick(self) -> None:
        """Wake every coordinator: capacity or readiness changed."""
        self._changed.set()

    @property
    def changed(self) -> trio.Event:
        """An event set at the next `kick` (a fresh one once the last was set)."""
        if self._changed.is_set():
            self._changed = trio.Event()
        return self._changed

    def dispatch(self) -> None:
        """Grant capacity to waiters, best rank first, while any can start."""
        while True:
            best: Waiter | None = None
            for queue in self._queues.values():
                while queue and (queue[0][2].withdrawn or not queue[0][2].accepts()):
                    heapq.heappop(queue)[2].withdrawn = True
                if not queue:
                    continue
                head = queue[0][2]
                if (best is None or head.rank < best.rank) and all(
                    self.limiters[n].available_tokens >= 1 for n in head.names
                ):
                    best = head
            if best is None:
                return
            heapq.heappop(self._queues[best.names])
            held = tuple(self.limiters[n] for n in best.names)
            for limiter in held:
                limiter.acquire_on_behalf_of_nowait(best)
            best.held = held
            best.on_grant()

    def running(self, name: str) -> int:
        """How many calls hold the limiter ``name`` now."""
        limiter = self.limiters[name]
        return int(limiter.total_tokens - limiter.available_tokens)
