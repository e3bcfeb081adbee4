"""One call of a running turn, and the states it moves through.

::

    PENDING ──> [APPROVAL] ──> QUEUED ──> RUNNING ──> REPORTED ──> DONE
       │          │          │  ^
       │          │          v  │
       │          │        BACKOFF   (a retry: waits, holding no capacity,
       │          │          │        then QUEUED again)
       └──────────┴──────────┴──> DONE  (decided without running on)

A call is PENDING while it waits for its predecessors (or its wave), in
APPROVAL while a gated tool's approver decides (holding no capacity), QUEUED
while it waits for capacity, RUNNING while an attempt holds capacity.
REPORTED: its task (or its approval's) has said how it ended, and the turn's
coordinator decides what that means once the instant has settled, in plan
order with the other endings of the instant; a task ends a call only by
reporting, from any state it works in (APPROVAL, QUEUED, RUNNING, BACKOFF).
Every state may end in DONE: a call is decided exactly once, and never moves again.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, Protocol

import trio

from .._planning._planned_call import PlannedCall
from .._values._outcome import Outcome, ToolCall, Verdict
from ._capacity import Rank, Waiter

__all__ = ["CallRun", "CallState", "Observer"]


class CallState(enum.IntEnum):
    """Where a call of a running turn is; see this module's docstring.

    An `enum.IntEnum` because `CallRun.move` checks three transitions a call:
    its members hash in C, a plain `Enum`'s in Python.
    """

    PENDING = 0
    APPROVAL = 1
    QUEUED = 2
    RUNNING = 3
    BACKOFF = 4
    REPORTED = 5
    DONE = 6


_MOVES: dict[CallState, frozenset[CallState]] = {
    CallState.PENDING: frozenset({CallState.APPROVAL, CallState.QUEUED, CallState.DONE}),
    CallState.APPROVAL: frozenset({CallState.QUEUED, CallState.REPORTED, CallState.DONE}),
    CallState.QUEUED: frozenset({CallState.RUNNING, CallState.REPORTED, CallState.DONE}),
    CallState.RUNNING: frozenset({CallState.BACKOFF, CallState.REPORTED, CallState.DONE}),
    CallState.BACKOFF: frozenset({CallState.QUEUED, CallState.REPORTED, CallState.DONE}),
    CallState.REPORTED: frozenset({CallState.DONE}),
    CallState.DONE: frozenset(),
}


class Observer(Protocol):
    """Told of each move of a call (the instruments' hook, see `_instrument`)."""

    def moved(self, run: CallRun, state: CallState) -> None:
        """``run`` has just entered ``state``."""
        ...


class CallRun:
    """What a turn knows of one call while it runs; ``observer`` (if any) is told of every move."""

    __slots__ = (
        "active",
        "attempts",
        "call",
        "idempotency_key",
        "index",
        "later",
        "observer",
        "outcome",
        "planned",
        "queued_at",
        "resolved",
        "scope",
        "started_at",
        "state",
        "waiter",
    )

    def __init__(
        self, index: int, call: ToolCall, planned: PlannedCall | None, *, observer: Observer | None = None
    ) -> None:
        self.index = index
        self.call = call
        self.planned = planned
        """As planned; for an open turn, set once the call no longer waits for calls to arrive."""
        self.state = CallState.PENDING
        self.active = False
        """It belongs to the phase now running (its wave, or the whole eager or open turn)."""
        self.later: Verdict | None = None
        """Decided while it waited (an open turn's cycle or missing reference): applied once it is ready."""
        self.resolved: Mapping[str, Any] | None = None
        """Its final arguments (references substituted, structured), from just before it first queued."""
        self.idempotency_key: str | None = None
        self.attempts = 0
        self.started_at: float | None = None
        self.waiter: Waiter | None = None
        self.queued_at: float | None = None
        """When it began waiting for a limit before its first attempt; ``None`` if it needed none."""
        self.outcome: Outcome | None = None
        self.observer = observer
        self.scope: trio.CancelScope | None = None
        """The scope of the task working for this call (its approval, then its attempts), to stop it alone."""

    def move(self, state: CallState) -> None:
        """Enter ``state``, which must follow the current one."""
        assert state in _MOVES[self.state], f"call {self.call.id!r}: {self.state.name} -> {state.name}"
        self.state = state
        if self.observer is not None:
            self.observer.moved(self, state)

    def halt(self) -> None:
        """Stop the call's work at once: withdraw its wait for capacity, cancel its task's scope.

        Its owner decides it at the same instant (a race it lost, a sibling's
        failure). A running call keeps its capacity until its task unwinds, at
        this same instant: no resource ever runs more calls than its cap.
        """
        if self.state is CallState.QUEUED and self.waiter is not None:
            self.waiter.withdrawn = True
        if self.scope is not None:
            self.scope.cancel()

    def rank(self, turn: int) -> Rank:
        """Its place in line for capacity, retries and decisions at one instant, as a call of turn number
        ``turn``: earlier turns first, then higher priority, then plan order."""
        return (turn, -self.call.priority, self.index)

    @property
    def wave(self) -> int | None:
        """The call's plan generation, once known."""
        return self.planned.generation if self.planned is not None else None
