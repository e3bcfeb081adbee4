"""A turn's time and why it stops: its budget (the cancel scope's deadline), a stop someone asked for, a failure."""

from __future__ import annotations

import math

import trio

from .._values._outcome import ErrorCode, Outcome, Verdict
from ._decide import stop_reason

__all__ = ["Stopping"]


class Stopping:
    """A turn's budget, its start, its cancel scope and the reasons it may be cancelled, in one place.

    A deadline that has passed already decided why the turn ends
    (``cancel_called`` is true from the instant it passes), whatever else asks
    to stop at the same instant.
    """

    __slots__ = ("_asked", "_clock", "budget", "deadline", "ended", "failure", "scope", "started_at")

    def __init__(self, budget: float | None) -> None:
        self.budget = budget
        """Seconds the turn may run (``None``: no limit of its own)."""
        self.started_at: float | None = None
        self.deadline = math.inf
        """When the budget runs out: the cancel scope's deadline, set once by `start`."""
        self._clock: trio.abc.Clock | None = None
        self.scope = trio.CancelScope()
        self._asked: ErrorCode | None = None
        self.failure: Outcome | None = None
        """The first failure (in plan order) the policy says stops the whole turn; acted on by the
        coordinator once the instant has settled."""
        self.ended = False
        """The turn has its result: asking to stop changes nothing any more."""

    def start(self) -> None:
        """The turn starts now: its deadline is now plus its budget."""
        self._clock = trio.lowlevel.current_clock()
        self.started_at = self._clock.current_time()
        if self.budget is not None:
            self.scope.deadline = self.deadline = self.started_at + self.budget

    def now(self) -> float:
        """`trio.current_time`, read straight from the run's clock once the turn has started."""
        return self._clock.current_time() if self._clock is not None else trio.current_time()

    @property
    def asked(self) -> ErrorCode | None:
        """Why someone asked the turn to stop, if anyone did."""
        return self._asked

    def stop(self, cause: ErrorCode) -> None:
        """Cancel the turn for ``cause``, unless it is already stopping or over."""
        if self._asked is None and not self.ended and not self.scope.cancel_called:
            self._asked = cause
            self.scope.cancel()

    def cause(self) -> ErrorCode:
        """Why the turn is stopping: what was asked, else the budget, else the caller's own scope."""
        if self._asked is not None:
            return self._asked
        return ErrorCode.BUDGET_EXCEEDED if self.scope.cancel_called else ErrorCode.CANCELLED

    def reason(self, started: bool) -> Verdict:
        """Why a call ends as the turn stops (``started``: it ran): the cause, and the failure if that is it."""
        return stop_reason(self.cause(), started=started, failure=self.failure)

    def accepts(self) -> bool:
        """Whether a call may still be granted capacity and start.

        The same as ``not scope.cancel_called`` for the scope's part: only
        `stop` cancels it (having set ``asked``), or its deadline passing.
        """
        if self._asked is not None or self.failure is not None:
            return False
        return self.deadline == math.inf or self.now() < self.deadline
