"""What an `Instrument` is told: frozen details of each step of a turn.

::

    TurnStarted
    ├─ CallQueued                    ready to run, waiting for capacity
    ├─ CallGranted                   capacity taken, after ``queue_wait`` seconds
    ├─ CallStarted                   first grant only: the call's task starts (``wave``: its generation)
    ├─ AttemptStarted                each attempt
    ├─ CallProgressed                the tool reported progress (`CallContext.progress`)
    ├─ AttemptEnded                  each attempt that returned, raised or timed out
    ├─ ResourcePaused                the tool said "rate limited": new starts wait
    ├─ RetryScheduled                another attempt after ``delay``: CallQueued again
    └─ CallFinished                  every call, run or not, with its `Outcome`
    TurnEnded                        with the `TurnResult`

A durable turn that resumes (``TurnStarted.resumed``) gives each call it
returns as its journal recorded it one event only, a `CallFinished` with
``replayed`` true: the call does not run in this process, so it has no
`CallStarted` nor attempts. A call the resume settles without running it
(``in_doubt``, or what its tool's ``reconcile`` found) has only its
`CallFinished` too, with ``replayed`` false.

Every event has ``turn`` (the executor's number for the turn, unique per
executor) and ``time`` (``trio.current_time()`` when it happened); call
events also have the call's ``index`` in the turn (unique per turn, unlike
ids, which a model may repeat), ``call_id``, ``tool`` and ``resource``. An
attempt cut short by a cancellation has no `AttemptEnded`: the
`CallFinished` that follows says why (``outcome.error_code``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, final

import attrs

from .._values._outcome import Outcome, Status
from ._result import TurnResult

__all__ = [
    "AttemptEnded",
    "AttemptStarted",
    "CallEvent",
    "CallFinished",
    "CallGranted",
    "CallProgressed",
    "CallQueued",
    "CallStarted",
    "Event",
    "ResourcePaused",
    "RetryScheduled",
    "TurnEnded",
    "TurnStarted",
    "WaveEnded",
    "WaveStarted",
]


@attrs.frozen(kw_only=True)
class Event:
    """What every event has: the turn's number and the time, on Trio's clock."""

    turn: int
    time: float


@final
@attrs.frozen(kw_only=True)
class TurnStarted(Event):
    """A turn began to run; ``deadline`` is ``inf`` without a budget."""

    budget: float | None
    deadline: float
    call_ids: tuple[str, ...]
    """The ids of the turn's calls, in input order (of an open turn: those submitted before it began to run)."""
    resumed: bool = False
    """A journal held the turn already: this run goes on from what an earlier run recorded."""


@final
@attrs.frozen(kw_only=True)
class TurnEnded(Event):
    """A turn ended; ``interrupted`` if it was cancelled from outside (``Cancelled`` is on its way out)."""

    result: TurnResult
    interrupted: bool


@final
@attrs.frozen(kw_only=True)
class WaveStarted(Event):
    """Wave ``wave`` (a plan generation, under ``schedule="waves"``) began: its calls, in plan order."""

    wave: int
    call_ids: tuple[str, ...]


@final
@attrs.frozen(kw_only=True)
class WaveEnded(Event):
    """Every call of wave ``wave`` is decided; the next wave, if any, begins now."""

    wave: int
    call_ids: tuple[str, ...]


@attrs.frozen(kw_only=True)
class CallEvent(Event):
    """What every call event has: which call, its tool, and the resource whose caps apply."""

    index: int
    call_id: str
    tool: str
    resource: str | None


@final
@attrs.frozen(kw_only=True)
class CallQueued(CallEvent):
    """The call waits for capacity before attempt ``attempt``."""

    attempt: int


@final
@attrs.frozen(kw_only=True)
class CallGranted(CallEvent):
    """The call holds capacity for attempt ``attempt``, after waiting ``queue_wait`` seconds for it."""

    attempt: int
    queue_wait: float


@final
@attrs.frozen(kw_only=True)
class CallStarted(CallEvent):
    """The call's task starts, with the arguments the tool gets (references substituted): they may hold secrets.

    ``idempotency_key`` is set for writes and for tools that take a `CallContext`.
    """

    wave: int | None
    arguments: Mapping[str, Any] = attrs.field(repr=False)
    idempotency_key: str | None


@final
@attrs.frozen(kw_only=True)
class AttemptStarted(CallEvent):
    """Attempt ``attempt`` (1 for the first) begins."""

    attempt: int


@final
@attrs.frozen(kw_only=True)
class CallProgressed(CallEvent):
    """Attempt ``attempt`` reported ``done`` of ``total`` (``None``: not known), and what it is doing.

    Reported with `CallContext.progress`, or by an MCP server's progress
    notifications; as the tool gave them (not necessarily increasing).
    """

    attempt: int
    done: float
    total: float | None
    message: str | None


@final
@attrs.frozen(kw_only=True)
class AttemptEnded(CallEvent):
    """Attempt ``attempt`` returned, raised ``exception``, or exceeded the tool's timeout."""

    attempt: int
    status: Status
    """``ok``, ``error`` or ``timeout``."""
    exception: Exception | None = attrs.field(default=None, eq=False, repr=False)


@final
@attrs.frozen(kw_only=True)
class ResourcePaused(CallEvent):
    """The call was rate limited: new starts on ``resource`` wait ``seconds``."""

    seconds: float


@final
@attrs.frozen(kw_only=True)
class RetryScheduled(CallEvent):
    """Attempt ``attempt`` failed; attempt ``attempt + 1`` queues after ``delay`` seconds, holding no capacity."""

    attempt: int
    delay: float


@final
@attrs.frozen(kw_only=True)
class CallFinished(CallEvent):
    """The call has its one outcome (every call, whether it ran or not)."""

    outcome: Outcome
    replayed: bool = False
    """The outcome is the one a journal recorded in an earlier run of the turn: the call did not run now."""
