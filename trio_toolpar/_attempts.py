"""One call's attempts: a timeout on each, retries with backoff between them.

`run_attempts` knows nothing of turns: whoever runs a call hands it the
attempt itself and a `Between` that releases capacity after an attempt and,
for a retry, waits the backoff, asks for one of the turn's retries and
takes capacity again.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, final

import attrs
import trio

from ._exceptions import RateLimited
from ._retry import Retry

__all__ = ["Between", "Kind", "Tried", "jitter_draw", "retry_delay", "run_attempts"]


class Kind(enum.Enum):
    """How one attempt, or the last of them, ended."""

    OK = "ok"
    ERROR = "error"
    TIMEOUT = "timeout"


@final
@attrs.frozen(kw_only=True)
class Tried:
    """The last attempt of a call: how it ended, its value or exception, and how many attempts ran."""

    kind: Kind
    value: Any = None
    exception: Exception | None = None
    attempts: int


class Between(Protocol):
    """What a call's attempts need from whoever runs the call."""

    def ended(self, attempt: int, kind: Kind, exception: Exception | None) -> None:
        """Attempt ``attempt`` is over: give back its capacity."""
        ...

    async def again(self, attempt: int, delay: float) -> bool:
        """Whether to run attempt ``attempt + 1`` after ``delay`` s; if so, wait for it and for capacity."""
        ...


def retry_delay(
    retry: Retry | None, *, attempt: int, kind: Kind, exception: Exception | None, draw: float, deadline: float
) -> float | None:
    """The wait before another attempt after failed attempt ``attempt``, or ``None`` for no retry.

    A `RateLimited` error's ``retry_after`` is a floor on the wait. No retry
    is planned if the next attempt could not start before ``deadline`` (the
    turn's budget: a failure tells the model more than ``budget_exceeded``).
    """
    if retry is None or attempt >= retry.attempts:
        return None
    if kind is Kind.TIMEOUT and not retry.retry_timeouts:
        return None
    if kind is Kind.ERROR and not isinstance(exception, retry.retry_on):
        return None
    delay = retry.delay(attempt, draw)
    if isinstance(exception, RateLimited) and exception.retry_after is not None:
        delay = max(delay, exception.retry_after)
    if trio.current_time() + delay >= deadline:
        return None  # the next attempt could not start in time; report this failure now
    return delay


def jitter_draw(seed: object, call_id: str, attempt: int) -> float:
    """The uniform draw for attempt ``attempt``'s backoff: seeded per call and attempt, not by scheduling order."""
    return random.Random(f"{seed}:{call_id}:{attempt}").random()


async def run_attempts(
    attempt: Callable[[int], Awaitable[Any]],
    *,
    timeout: float | None,
    retry: Retry | None,
    draw: Callable[[int], float],
    deadline: float,
    between: Between,
) -> Tried:
    """Run ``attempt(1)``, ``attempt(2)``, ... until one returns or no retry is left.

    Each attempt runs under its own ``timeout`` (seconds); no retry is planned
    whose wait reaches ``deadline``. Only `Exception`s
    are caught; ``Cancelled`` and other `BaseException`s propagate.
    """
    number = 0
    while True:
        number += 1
        kind, value, exception = await _one(attempt, number, timeout)
        between.ended(number, kind, exception)
        if kind is Kind.OK:
            return Tried(kind=kind, value=value, attempts=number)
        delay = retry_delay(retry, attempt=number, kind=kind, exception=exception, draw=draw(number), deadline=deadline)
        if delay is None or not await between.again(number, delay):
            return Tried(kind=kind, exception=exception, attempts=number)


async def _one(
    attempt: Callable[[int], Awaitable[Any]], number: int, timeout: float | None
) -> tuple[Kind, Any, Exception | None]:
    if timeout is None:
        return await _catching(attempt, number)  # no scope of its own: only outer scopes can cancel it
    with trio.move_on_after(timeout) as scope:
        return await _catching(attempt, number)
    assert scope.cancelled_caught
    return Kind.TIMEOUT, None, None


async def _catching(attempt: Callable[[int], Awaitable[Any]], number: int) -> tuple[Kind, Any, Exception | None]:
    try:
        return Kind.OK, await attempt(number), None
    except Exception as exc:  # a tool's failure becomes its outcome
        return Kind.ERROR, None, exc
