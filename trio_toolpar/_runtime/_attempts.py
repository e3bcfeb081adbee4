"""One call's attempts: a timeout on each, retries with backoff between them.

`run_attempts` knows nothing of turns: whoever runs a call hands it a
`Runner` that starts each attempt, gives back capacity after one, draws the
backoff's jitter and, for a retry, asks for one of the turn's retries and
takes capacity again. The call itself (``subject``) passes through untouched,
so that one runner serves every call of a turn.

What a failed attempt raised is read once, here, by `read_failure` (the
errors inside a tool's exception groups, a ``Cancelled`` it leaked); every
decision after it (retry, wait, pause, outcome) goes by that `Failure`.
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Awaitable
from typing import Any, NamedTuple, Protocol, TypeVar, final

import trio

from .._tools._retry import Retry
from ._tool_errors import Failure, read_failure

__all__ = ["Kind", "Runner", "Silence", "Tried", "jitter_draw", "retry_delay", "run_attempts"]

S = TypeVar("S")
S_contra = TypeVar("S_contra", contravariant=True)


class Kind(enum.Enum):
    """How one attempt, or the last of them, ended."""

    OK = "ok"
    ERROR = "error"
    TIMEOUT = "timeout"


class Tried(NamedTuple):
    """The last attempt of a call: how it ended, its value or how it failed, and how many attempts ran."""

    kind: Kind
    value: Any
    failure: Failure | None
    attempts: int

    @property
    def exception(self) -> Exception | None:
        """What the outcome keeps of the failure: the exception the tool raised, if it raised."""
        return self.failure.exception if self.failure is not None else None


@final
class Silence:
    """An attempt's progress timeout: its scope's deadline, which each progress report moves on.

    The deadline never passes the attempt's own timeout (``limit``): whichever
    comes first ends the attempt.
    """

    __slots__ = ("limit", "scope", "seconds")

    def __init__(self, scope: trio.CancelScope, seconds: float, limit: float) -> None:
        self.scope = scope
        self.seconds = seconds
        self.limit = limit

    def heard(self) -> None:
        """Progress was reported: the attempt may go ``seconds`` more without another."""
        if self.scope.cancel_called:
            return  # it has timed out already: a report too late does not take that back
        self.scope.deadline = min(self.limit, trio.current_time() + self.seconds)


class Runner(Protocol[S_contra]):
    """What a call's attempts need from whoever runs the call (``subject``: the call)."""

    def start(self, subject: S_contra, attempt: int, silence: Silence | None) -> Awaitable[Any]:
        """Start attempt ``attempt`` (from 1): the tool's awaitable, whose value is the attempt's.

        ``silence``: the attempt's progress timeout, for its progress reports to move on.
        """
        ...

    def ended(self, subject: S_contra, attempt: int, kind: Kind, failure: Failure | None) -> None:
        """Attempt ``attempt`` is over (``failure``: how, unless it returned in time): give back its capacity."""
        ...

    def draw(self, subject: S_contra, attempt: int) -> float:
        """The uniform draw in [0, 1) for the jitter of the backoff after attempt ``attempt``."""
        ...

    async def again(self, subject: S_contra, attempt: int, delay: float) -> bool:
        """Whether to run attempt ``attempt + 1`` after ``delay`` s; if so, wait for it and for capacity."""
        ...


def retry_delay(
    retry: Retry | None, *, attempt: int, kind: Kind, failure: Failure | None, draw: float, deadline: float
) -> float | None:
    """The wait before another attempt after failed attempt ``attempt``, or ``None`` for no retry.

    An error is retried if every error of the ``failure`` is retryable, and
    the longest `RateLimited` ``retry_after`` among them is a floor on the
    wait. No retry is planned if the next attempt could not start before
    ``deadline`` (the turn's budget: a failure tells the model more than
    ``budget_exceeded``).
    """
    if retry is None or attempt >= retry.attempts:
        return None
    if kind is Kind.TIMEOUT and not retry.retry_timeouts:
        return None
    if kind is Kind.ERROR and not (failure is not None and failure.retryable(retry.retry_on)):
        return None
    delay = retry.delay(attempt, draw)
    wait = failure.retry_after if failure is not None else None
    if wait is not None:
        delay = max(delay, wait)
    if trio.current_time() + delay >= deadline:
        return None  # the next attempt could not start in time; report this failure now
    return delay


def jitter_draw(seed: object, call_id: str, attempt: int) -> float:
    """The uniform draw for attempt ``attempt``'s backoff: seeded per call and attempt, not by scheduling order."""
    return random.Random(f"{seed}:{call_id}:{attempt}").random()


async def run_attempts(
    runner: Runner[S],
    subject: S,
    *,
    timeout: float | None,
    retry: Retry | None,
    deadline: float,
    silence: float | None = None,
) -> Tried:
    """Run attempts 1, 2, ... of ``subject`` until one returns or no retry is left.

    Each attempt runs under its own ``timeout`` (seconds), and may go
    ``silence`` seconds without a progress report (see `Silence`); one that
    returns only after either fired is a timeout too, its value discarded. No retry is planned
    whose wait reaches ``deadline``. What an attempt raises (synchronously
    from `Runner.start` too) is read by `read_failure`: an `Exception`, a
    group of them, or a ``Cancelled`` the tool leaked is the attempt's
    failure; a genuine ``Cancelled`` and other `BaseException`s propagate.
    """
    number = 0
    while True:
        number += 1
        failure = None
        try:
            if timeout is None and silence is None:
                kind, value = Kind.OK, await runner.start(subject, number, None)
            else:
                kind, value, failure = await _timed(runner, subject, number, timeout, silence)
        except (Exception, trio.Cancelled, BaseExceptionGroup) as exc:
            failure = read_failure(exc)
            if failure is None:
                raise  # a cancellation from around the call, or a KeyboardInterrupt: not the tool's failure
            kind, value = Kind.ERROR, None
        runner.ended(subject, number, kind, failure)
        if kind is Kind.OK:
            return Tried(kind, value, None, number)
        if retry is None:
            return Tried(kind, None, failure, number)
        draw = runner.draw(subject, number)
        delay = retry_delay(retry, attempt=number, kind=kind, failure=failure, draw=draw, deadline=deadline)
        if delay is None or not await runner.again(subject, number, delay):
            return Tried(kind, None, failure, number)


async def _timed(
    runner: Runner[S], subject: S, number: int, seconds: float | None, silence: float | None
) -> tuple[Kind, Any, Failure | None]:
    """How attempt ``number`` ended under a timeout of ``seconds`` and a progress timeout of ``silence``.

    Its value, or a timeout (it is cancelled then). An attempt that returns
    once a timeout fired, because the cancellation could not interrupt it (a
    thread waited for, a shielded scope), timed out all the same; its value
    is discarded. "Fired" is Trio's word: the run loop cancelled the scope,
    as it does at its deadline. A tool whose last step ended before that
    returned in time, even if the run loop was slow to run it. The attempt
    starts inside the timeout's scope, so that its deadline is in
    ``trio.current_effective_deadline()`` from the start. The failure of a
    progress timeout (the scope's deadline short of ``seconds``) says so.
    """
    began = trio.current_time()
    limit = math.inf if seconds is None else began + seconds
    with trio.CancelScope(deadline=limit if silence is None else min(limit, began + silence)) as scope:
        watch = None if silence is None else Silence(scope, silence, limit)
        value = await runner.start(subject, number, watch)
        if trio.current_effective_deadline() != -math.inf:
            return Kind.OK, value, None  # no cancellation is pending here: it returned in time
        now = trio.current_time()
        if now < scope.deadline:
            return Kind.OK, value, None  # a scope around the call is cancelled, not its timeout
        silent = silence if scope.deadline < limit else None
        return Kind.TIMEOUT, None, Failure(exception=None, late=now - began, silence=silent)
    if scope.deadline < limit:
        return Kind.TIMEOUT, None, Failure(exception=None, silence=silence)
    return Kind.TIMEOUT, None, None
