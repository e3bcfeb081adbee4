"""The per-turn cap on retries, allotted in plan order once an instant has settled."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable

import trio

from .._values._validate import check_whole_number
from ._capacity import Rank

__all__ = ["RetryGrants", "check_retry_cap"]


def check_retry_cap(cap: object) -> None:
    """Raise `TypeError` or `ValueError` unless ``cap`` is a whole number >= 0 or ``None``."""
    check_whole_number("max_retries_per_turn", cap, minimum=0, allow_none=True)


class _Request:
    __slots__ = ("answered", "granted")

    def __init__(self) -> None:
        self.answered = trio.Event()
        self.granted = False


class RetryGrants:
    """Hands out a turn's ``max_retries_per_turn`` retries, best rank first.

    Calls that fail at one instant ask at once; the coordinator answers in
    `grant`, after the instant settled, so which of them are retried does not
    depend on the order Trio happened to run them in.
    """

    def __init__(self, cap: int | None, *, wake: Callable[[], None]) -> None:
        check_retry_cap(cap)  # a custom Policy is checked here, the built-in ones when they are made
        self._left = cap
        self._wake = wake
        self._requests: list[tuple[Rank, int, _Request]] = []
        self._tiebreak = itertools.count()

    async def ask(self, rank: Rank) -> bool:
        """Whether the call of ``rank`` may try again (waits for the coordinator when retries are capped)."""
        if self._left is None:
            return True
        request = _Request()
        heapq.heappush(self._requests, (rank, next(self._tiebreak), request))
        self._wake()
        await request.answered.wait()
        return request.granted

    def grant(self) -> None:
        """Answer every pending request, best rank first, while retries are left."""
        while self._requests:
            _, _, request = heapq.heappop(self._requests)
            assert self._left is not None
            request.granted = self._left > 0
            self._left -= request.granted
            request.answered.set()
