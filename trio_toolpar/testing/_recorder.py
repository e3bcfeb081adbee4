"""Recording when tools run, and checks on the recorded intervals."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal, final

import attrs
import trio

__all__ = ["Interval", "Recorder"]

Ending = Literal["returned", "raised", "cancelled", "running"]


@final
@attrs.define(kw_only=True)
class Interval:
    """One attempt of one call, on Trio's clock."""

    call_id: str
    tool: str
    resource: str | None
    keys: tuple[str, ...]
    writes: bool
    attempt: int
    start: float
    end: float | None = None
    ending: Ending = "running"


@final
class Recorder:
    """Collects the `Interval` of every attempt of every fake tool.

    Intervals are half-open, ``[start, end)``: a call that ends at ``t`` and
    one that starts at ``t`` do not overlap.
    """

    def __init__(self) -> None:
        self.intervals: list[Interval] = []

    def begin(self, *, call_id: str, tool: str, resource: str | None, keys: tuple[str, ...], writes: bool) -> Interval:
        """Record the start of an attempt; returns the interval to `end` later."""
        attempt = 1 + sum(1 for i in self.intervals if i.call_id == call_id)
        interval = Interval(
            call_id=call_id,
            tool=tool,
            resource=resource,
            keys=keys,
            writes=writes,
            attempt=attempt,
            start=trio.current_time(),
        )
        self.intervals.append(interval)
        return interval

    @staticmethod
    def end(interval: Interval, ending: Ending) -> None:
        """Record the end of an attempt."""
        interval.end = trio.current_time()
        interval.ending = ending

    def of(self, call_id: str) -> list[Interval]:
        """The attempts of one call, in order."""
        return [i for i in self.intervals if i.call_id == call_id]

    def running(self) -> list[Interval]:
        """Attempts that started and have not ended (should be none after a turn)."""
        return [i for i in self.intervals if i.end is None]

    def max_overlap(self, where: Callable[[Interval], bool] | None = None) -> int:
        """The most attempts (matching ``where``) running at any one instant."""
        events: list[tuple[float, int]] = []
        for i in self.intervals:
            if where is not None and not where(i):
                continue
            events.append((i.start, 1))
            events.append((i.end if i.end is not None else float("inf"), -1))
        events.sort()  # at equal times, -1 (an end) sorts before +1 (a start)
        current = best = 0
        for _, step in events:
            current += step
            best = max(best, current)
        return best

    def max_overlap_on(self, resource: str) -> int:
        """`max_overlap` of the attempts on one resource."""
        return self.max_overlap(lambda i: i.resource == resource)

    @staticmethod
    def overlap(a: Interval, b: Interval) -> bool:
        """Whether two attempts ran at the same time."""
        a_end = a.end if a.end is not None else float("inf")
        b_end = b.end if b.end is not None else float("inf")
        return a.start < b_end and b.start < a_end

    def first_ends_before(self, first: str, then: str) -> bool:
        """Whether every attempt of ``first`` ended before any attempt of ``then`` started."""
        ends = [i.end for i in self.of(first)]
        starts = [i.start for i in self.of(then)]
        if not starts:
            return True
        return all(e is not None for e in ends) and max((e for e in ends if e is not None), default=-1.0) <= min(starts)

    def calls(self) -> Iterable[str]:
        """The ids of the calls that started at least once, in start order."""
        seen: dict[str, None] = {}
        for i in sorted(self.intervals, key=lambda i: i.start):
            seen.setdefault(i.call_id, None)
        return list(seen)
