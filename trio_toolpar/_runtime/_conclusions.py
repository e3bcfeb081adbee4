"""A decided outcome on its way out: what its failure stops, its record, and its announcement.

The turn decides an outcome (`Turn._decide`) and concludes it here: the
call is done, its race is settled, and the policy says what a failure
reaches (`Policy.failure_scope`): the whole turn (`Stopping.failure`), or
the calls `stop_reached` stops at once, before the failed call's dependents
could be made ready. Then the outcome is announced: ``on_outcome`` is told,
and the calls that wait for it move on. A durable turn holds the outcome
until its record is durable (`Journaling.record`), which announces it; the
calls a failure stopped are held after it, so they are announced after it
too, as without a journal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import final

from .._journal._protocol import Journal
from .._values._outcome import Outcome, Status
from ._call_run import CallRun, CallState
from ._decide import Decide
from ._dependencies import Dependencies
from ._endings import Endings
from ._failure_scope import stop_reached
from ._journaling import Journaling
from ._policy import FAILURES, Policy
from ._races import Races
from ._stopping import Stopping

__all__ = ["Conclusions"]


@final
class Conclusions:
    """Concludes a turn's decided outcomes, and announces them (at once, or once they are recorded).

    Args:
        runs: the turn's calls, by index.
        deps: what they wait for.
        endings: the turn's count of calls yet to end.
        races: the turn's race groups.
        stopping: where a failure that stops the whole turn goes.
        policy: what a failure reaches.
        turn: the turn's number (for plan order).
        decide: the turn's way to decide a call (for the calls a failure stops).
        on_outcome: told of each outcome as it is announced.
        journal: a durable turn's store, its records keyed by ``turn_id``;
            ``ids`` maps each call id to its first call's index.
    """

    __slots__ = (
        "_decide",
        "_deps",
        "_endings",
        "_on_outcome",
        "_policy",
        "_races",
        "_runs",
        "_stopping",
        "_turn",
        "journal",
        "queue",
    )

    def __init__(
        self,
        runs: Sequence[CallRun],
        deps: Dependencies,
        endings: Endings,
        races: Races,
        stopping: Stopping,
        policy: Policy,
        *,
        turn: int,
        decide: Decide,
        on_outcome: Callable[[Outcome], object] | None,
        journal: Journal | None,
        turn_id: str,
        ids: Mapping[str, int],
    ) -> None:
        self._runs = runs
        self._deps = deps
        self._endings = endings
        self._races = races
        self._stopping = stopping
        self._policy = policy
        self._turn = turn
        self._decide = decide
        self._on_outcome = on_outcome
        self.journal = Journaling(journal, turn_id, ids, self.announce) if journal is not None else None
        """The turn's records on their way to its journal (``None``: the turn is not durable)."""
        self.queue: Callable[[Iterable[int]], None] = _nowhere
        """Where the calls an announcement made ready go: the turn's dispatcher, once it has one."""

    def conclude(self, run: CallRun, outcome: Outcome, *, recorded: bool) -> None:
        """Make ``outcome`` ``run``'s; announce it now if it needs no record (else once it is recorded)."""
        run.outcome = outcome
        run.move(CallState.DONE)
        if run.active:
            self._endings.open -= 1
        # A race just won stops its other members here; a member's failure may not count against the turn.
        counts = self._races.settle(run.index, outcome) if run.call.race is not None else True
        scope = None
        if outcome.status in FAILURES and counts:
            scope = self._policy.failure_scope(outcome)
            if scope == "turn" and self._stopping.failure is None:
                # Acted on once the endings of this instant are decided, so that a sibling that
                # returns at the same virtual instant ends ok whatever order Trio runs the two in.
                self._stopping.failure = outcome
        if recorded:
            self._tell(outcome)
        elif self.journal is not None:
            self.journal.finished(run, outcome)  # held until recorded; the calls it stops are held after it
        if scope is not None and scope != "turn":  # before its dependents could be made ready (`_release`)
            stop_reached(run, outcome, scope, self._runs, self._deps, turn=self._turn, decide=self._decide)
        if recorded:
            self._release(run, outcome)

    def announce(self, run: CallRun, outcome: Outcome, *, holds: bool = False) -> None:
        """Tell ``on_outcome`` of a recorded ``outcome``; let the calls that wait for ``run`` move on
        (``holds``: not yet, it waits for a person's decision)."""
        self._tell(outcome)
        self._release(run, outcome, holds=holds)

    def _tell(self, outcome: Outcome) -> None:
        if self._on_outcome is not None:
            self._on_outcome(outcome)

    def _release(self, run: CallRun, outcome: Outcome, *, holds: bool = False) -> None:
        ready = self._deps.finish(run.index, ok=outcome.status is Status.OK, holds=holds)
        if ready:  # calls of later waves are queued when their wave begins (see `Turn._run_phase`)
            self.queue(k for k in ready if self._runs[k].active)
        # No wake-up needed: the coordinator decides (and looks at what follows next), or the caller
        # of `submit`/`close` wakes it, or the turn is ending.


def _nowhere(ready: Iterable[int]) -> None:
    raise AssertionError("an outcome was announced before the turn had its dispatcher")
