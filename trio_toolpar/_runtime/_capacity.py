"""Capacity: caps, weights and token buckets per resource, granted in plan order.

One `trio.CapacityLimiter` per capped resource, an optional global one, and
one for threads (sync tools). Trio wakes tasks that wait at the same instant
in a random order, so tasks that each called ``limiter.acquire()`` would get
slots in a different order on every run. Instead, calls wait here as
`Waiter`s ranked by (turn, priority, emission order), and a grant happens
only when a turn's coordinator calls `Capacity.grant`. A call takes all
it needs at once — ``weight`` units of each limiter, ``weight`` tokens of
its resource's bucket — or nothing, so it never holds one limit while
waiting for another: limits cannot deadlock, and a call holds capacity only
while it runs.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable, Mapping
from typing import final

import attrs
import trio

from .._values._validate import check_type, check_whole_number
from ._bucket import Bucket
from ._limits import Rate

__all__ = ["Capacity", "CapacityStatistics", "Rank", "ResourceStatistics", "Waiter"]

GLOBAL = "\x00global"
THREADS = "\x00threads"

Rank = tuple[int, int, int]
"""A call's place in line (see `CallRun.rank`): lower first."""

_LIMIT_NAMES = {GLOBAL: "max_concurrency", THREADS: "thread_limit"}
"""The executor's argument behind each limiter that is not a resource's cap."""


@final
@attrs.define(eq=False)
class Waiter:
    """A call waiting for capacity."""

    rank: Rank
    names: tuple[str, ...]
    """The limiters it takes, in the fixed order (resource, global, threads)."""
    resource: str | None
    weight: int
    on_grant: Callable[[float], None]
    """Called with the instant of the grant, once the waiter holds its capacity."""
    accepts: Callable[[], bool]
    """Called just before a grant; ``False`` drops the waiter (its turn is stopping)."""
    withdrawn: bool = False
    held: tuple[tuple[trio.CapacityLimiter, object], ...] = ()


@final
@attrs.frozen(kw_only=True, repr=False)
class ResourceStatistics:
    """One resource's limits now: units held and the cap, waiters, tokens, pause."""

    cap: float
    """Units the resource's cap allows (``inf``: no cap, only a rate)."""
    held: int
    """Units held by running calls."""
    waiting: int
    """Calls queued for it."""
    tokens: float
    """Tokens in its rate's bucket (``inf``: no rate)."""
    paused_until: float | None
    """When a rate-limit pause ends, on Trio's clock (``None``: not paused)."""

    def __repr__(self) -> str:
        return f"<ResourceStatistics {self._state()}>"

    def _state(self) -> str:
        held = f"{self.held} of {self.cap:g} held" if self.cap != math.inf else f"{self.held} held (no cap)"
        parts = [held, f"{self.waiting} waiting"]
        if self.tokens != math.inf:
            parts.append(f"{self.tokens:g} tokens")
        if self.paused_until is not None:
            parts.append(f"paused until {self.paused_until:g}")
        return ", ".join(parts)


@final
@attrs.frozen(kw_only=True, repr=False)
class CapacityStatistics:
    """Every resource with a cap or a rate, by name (see `Executor.statistics`)."""

    resources: Mapping[str, ResourceStatistics]
    global_held: int
    """Units of ``max_concurrency`` held."""
    threads_held: int
    """Threads of ``thread_limit`` held by running sync tools."""

    def __repr__(self) -> str:
        parts = [f"{name!r}: {resource._state()}" for name, resource in self.resources.items()]
        parts += [f"all: {self.global_held} held", f"threads: {self.threads_held} held"]
        return f"<CapacityStatistics {'; '.join(parts)}>"


@final
class Capacity:
    """The limits of one executor, shared by all its turns."""

    def __init__(
        self,
        limits: Mapping[str, int],
        *,
        rates: Mapping[str, Rate],
        max_concurrency: int | None,
        thread_limit: int,
    ) -> None:
        self.limiters: dict[str, trio.CapacityLimiter] = {
            name: trio.CapacityLimiter(check_whole_number(f"limits[{name!r}]", cap))
            for name, cap in sorted(limits.items())
        }
        if max_concurrency is not None:
            self.limiters[GLOBAL] = trio.CapacityLimiter(check_whole_number("max_concurrency", max_concurrency))
        self.limiters[THREADS] = trio.CapacityLimiter(check_whole_number("thread_limit", thread_limit))
        for name, rate in rates.items():
            check_type(f"rates[{name!r}]", rate, Rate, expected="a Rate(per_second=..., burst=...)")
        # Every rate's bucket starts full: created before any run, its first refill finds it full still.
        # Keyed by resource, so a call without one looks up ``None`` and finds no bucket: no None check at each use.
        self._buckets: dict[str | None, Bucket] = {name: Bucket(rate, -math.inf) for name, rate in rates.items()}
        # to_thread.run_sync must get a limiter; ours is already held, so give it one that never blocks.
        self.unlimited = trio.CapacityLimiter(math.inf)
        # Heap entries are (*rank, tiebreak, waiter): flat tuples compare in C, and never reach the waiter.
        self._queues: dict[tuple[str, ...], list[tuple[int, int, int, int, Waiter]]] = {}
        self._tiebreak = itertools.count()
        self._changed = trio.Event()
        self._names: dict[tuple[str | None, bool], tuple[str, ...]] = {}

    def needs(self, resource: str | None, *, sync: bool) -> tuple[str, ...] | None:
        """The limiters a call on ``resource`` takes, in the fixed order (resource, global, threads).

        ``None`` if it needs nothing here: no limiter, no token, no pause. It
        may start now; such calls never queue here, their turn starts them.
        """
        names = self._names.get((resource, sync))
        if names is None:
            found = [n for n in (resource, GLOBAL) if n is not None and n in self.limiters]
            names = self._names[resource, sync] = (*found, THREADS) if sync else tuple(found)
        return names if names or resource in self._buckets else None

    def check_weight(self, resource: str | None, weight: int, *, sync: bool) -> str | None:
        """Why a call of ``weight`` on ``resource`` (run in a thread if ``sync``) could never start, or ``None``."""
        for name in self.needs(resource, sync=sync) or ():
            cap = self.limiters[name].total_tokens
            if weight > cap:
                what = _LIMIT_NAMES.get(name, f"the cap of {name!r}")
                return f"its weight {weight} is more than {what} ({cap:g}), so it could never start"
        bucket = self._buckets.get(resource)
        rate = bucket.rate if bucket is not None else None
        if rate is not None and weight > rate.burst:
            return f"its weight {weight} is more than the burst of {resource!r}'s rate ({rate.burst})"
        return None

    def enqueue(self, waiter: Waiter) -> None:
        """Queue ``waiter``; it is granted by a later `grant`."""
        heapq.heappush(self._queues.setdefault(waiter.names, []), (*waiter.rank, next(self._tiebreak), waiter))
        self.kick()

    def release(self, waiter: Waiter) -> None:
        """Give back what ``waiter`` holds (idempotent)."""
        for limiter, borrower in waiter.held:
            limiter.release_on_behalf_of(borrower)
        if waiter.held:
            waiter.held = ()
            self.kick()

    def pause(self, resource: str, seconds: float) -> None:
        """Start no call on ``resource`` for ``seconds`` (it was rate limited); others go on."""
        now = trio.current_time()
        bucket = self._buckets.get(resource)
        if bucket is None:
            bucket = self._buckets[resource] = Bucket(None, now)  # it has no rate, only pauses
        bucket.pause(now + seconds, now)
        self.kick()

    def recovered(self, resource: str | None) -> None:
        """A call on ``resource`` succeeded: let its paced refill recover."""
        bucket = self._buckets.get(resource)
        if bucket is not None:
            bucket.recovered(trio.current_time())

    def kick(self) -> None:
        """Wake every coordinator: capacity or readiness changed."""
        self._changed.set()

    @property
    def changed(self) -> trio.Event:
        """An event set at the next `kick` (a fresh one once the last was set)."""
        if self._changed.is_set():
            self._changed = trio.Event()
        return self._changed

    def grant(self) -> float:
        """Grant capacity to waiters, best rank first, while any can start; return when to look again.

        The time returned is when a bucket refills or a pause ends for a
        waiter at the head of its queue (``inf``: only a `kick` can help).
        """
        if not self._queues:
            return math.inf  # no call has queued for a limit yet (most turns)
        now = trio.current_time()
        while True:
            best: Waiter | None = None
            best_bucket: Bucket | None = None
            wake = math.inf
            for queue in self._queues.values():
                while queue and (queue[0][-1].withdrawn or not queue[0][-1].accepts()):
                    heapq.heappop(queue)[-1].withdrawn = True
                if not queue:
                    continue
                head = queue[0][-1]
                if best is not None and head.rank >= best.rank:
                    continue
                for name in head.names:
                    if self.limiters[name].available_tokens < head.weight:
                        break
                else:  # every limiter it takes has room: it may start, unless its bucket says wait
                    bucket = self._buckets.get(head.resource)
                    if bucket is not None and (ready_at := bucket.ready_at(head.weight, now)) > now:
                        wake = min(wake, ready_at)
                        continue
                    best, best_bucket = head, bucket
            if best is None:
                return wake
            self._grant(best, best_bucket, now)

    def _grant(self, waiter: Waiter, bucket: Bucket | None, now: float) -> None:
        heapq.heappop(self._queues[waiter.names])
        held: list[tuple[trio.CapacityLimiter, object]] = []
        for name in waiter.names:
            limiter = self.limiters[name]
            for _ in range(waiter.weight):
                borrower = object()
                limiter.acquire_on_behalf_of_nowait(borrower)
                held.append((limiter, borrower))
        if bucket is not None:
            bucket.take(waiter.weight, now)
        waiter.held = tuple(held)
        waiter.on_grant(now)

    def statistics(self) -> CapacityStatistics:
        """What every capped or rated resource holds and owes now."""
        now = trio.current_time()
        waiting: dict[str, int] = {}
        for queue in self._queues.values():
            for *_, waiter in queue:
                if not waiter.withdrawn and waiter.resource is not None:
                    waiting[waiter.resource] = waiting.get(waiter.resource, 0) + 1
        names = sorted(
            {n for n in self.limiters if not n.startswith("\x00")} | {n for n in self._buckets if n is not None}
        )
        resources = {}
        for name in names:
            limiter = self.limiters.get(name)
            bucket = self._buckets.get(name)
            resources[name] = ResourceStatistics(
                cap=limiter.total_tokens if limiter is not None else math.inf,
                held=int(limiter.borrowed_tokens) if limiter is not None else 0,
                waiting=waiting.get(name, 0),
                tokens=bucket.tokens(now) if bucket is not None else math.inf,
                paused_until=bucket.paused_until if bucket is not None and bucket.paused_until > now else None,
            )
        global_limiter = self.limiters.get(GLOBAL)
        return CapacityStatistics(
            resources=resources,
            global_held=int(global_limiter.borrowed_tokens) if global_limiter is not None else 0,
            threads_held=int(self.limiters[THREADS].borrowed_tokens),
        )
