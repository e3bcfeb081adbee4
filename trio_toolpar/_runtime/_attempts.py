"""One call's attempts: a timeout on each, retries with backoff between them.

`run_attempts` knows nothing of turns: whoever runs a call hands it a
`Runner` that starts each attempt, gives back capacity after one, draws the
backoff's jitter and, for a retry, asks for one of the turn's retries and
takes capacity again. The call itself (``subject``) passes through untouched,
so that one runner serves every call of a turn.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Awaitable
from typing import Any, NamedTuple, Protocol, TypeVar

import trio

from .._tools._retry import Retry
from .._values._exceptions import RateLimited

__all__ = ["Kind", "Runner", "Tried", "jitter_draw", "retry_delay", "run_attempts"]

S = TypeVar("S")
S_contra = TypeVar("S_contra", contravariant=True)

_TIMED_OUT = object()


class Kind(enum.Enum):
    """How one attempt, or the last of them, ended."""

    OK = "ok"
    ERROR = "error"
    TIMEOUT = "timeout"


class Tried(NamedTuple):
    """The last attempt of a call: how it ended, its value or exception, and how many attempts ran."""

    kind: Kind
    value: Any
    exception: Exception | None
    attempts: int


class Runner(Protocol[S_contra]):
    """What a call's attempts need from whoever runs the call (``subject``: the call)."""

    def start(self, subject: S_contra, attempt: int) -> Awaitable[Any]:
        """Start attempt ``attempt`` (from 1): the tool's awaitable, whose value is the attempt's."""
        ...

    def ended(self, subject: S_contra, attempt: int, kind: Kind, exception: Exception | None) -> None:
        """Attempt ``attempt`` is over: give back its capacity."""
        ...

    def draw(self, subject: S_contra, attempt: int) -> float:
        """The uniform draw in [0, 1) for the jitter of the backoff after attempt ``attempt``."""
        ...

    async def again(self, subject: S_contra, attempt: int, delay: float) -> bool:
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
    runner: Runner[S], subject: S, *, timeout: float | None, retry: Retry | None, deadline: float
) -> Tried:
    """Run attempts 1, 2, ... of ``subject`` until one returns or no retry is left.

    Each attempt runs under its own ``timeout`` (seconds); no retry is planned
    whose wait reaches ``deadline``. Only `Exception`s are caught (a
    synchronous one from `Runner.start` too); ``Cancelled`` and other
    `BaseException`s propagate.
    """
    number = 0
    while True:
        number += 1
        exception = None
        try:
            if timeout is None:
                value = await runner.start(subject, number)
            else:
                value = await _timed(runner, subject, number, timeout)
            kind = Kind.OK if value is not _TIMED_OUT else Kind.TIMEOUT
        except Exception as exc:  # a tool's failure becomes its outcome
            kind, value, exception = Kind.ERROR, None, exc
        runner.ended(subject, number, kind, exception)
        if kind is Kind.OK:
            return Tried(kind, value, None, number)
        if retry is None:
            return Tried(kind, None, exception, number)
        draw = runner.draw(subject, number)
        delay = retry_delay(retry, attempt=number, kind=kind, exception=exception, draw=draw, deadline=deadline)
        if delay is None or not await runner.again(subject, number, delay):
            return Tried(kind, None, exception, number)


async def _timed(runner: Runner[S], subject: S, number: int, seconds: float) -> Any:
    """Attempt ``number``'s value, or ``_TIMED_OUT`` if it took ``seconds`` or more (it is cancelled then).

    The attempt starts inside the timeout's scope, so that its deadline is in
    ``trio.current_effective_deadline()`` from the start.
    """
    with trio.move_on_after(seconds):
        return await runner.start(subject, number)
    return _TIMED_OUT
