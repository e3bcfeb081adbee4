"""One model turn: its lifecycle, its coordinator's loop, and deciding each call's outcome.

::

    Turn.run()
    └─ CancelScope(deadline = start + budget)      the turn's budget (`Stopping`)
       └─ child nursery per phase                   a wave; or the whole turn ("eager", open turns)
          ├─ the coordinator (this task)            grants capacity and retries, in plan order (`Dispatcher.grant`)
          └─ call tasks, started when granted       see `_call_task`
             └─ per-attempt move_on_after(timeout)  the tool's own timeout

Ready calls go to the `Dispatcher`, which prepares and queues them. A
call's task (or its approval's) does not decide how its call ended: it
reports the ending (`Endings.report`) and wakes the coordinator. The
coordinator is the one place that decides (`Turn._decide`): it takes the
reported endings best rank first (priority, then plan order), and for each
builds the outcome, settles its race, asks the policy what a failure
reaches (the turn, or the calls `_failure_scope` stops), tells `on_outcome`
and hands the calls it made ready to the dispatcher; then it grants
capacity and retries, in the same order.

Trio runs the tasks woken at one instant in a random order, so nothing is
decided in whichever of them runs first. The coordinator runs after the
tasks that woke it, so it sees every ending they reported; with
``Executor(deterministic=True)`` it first waits until every task is blocked,
so that on a `trio.testing.MockClock` all that happens at one virtual
instant is known before anything is decided or granted. An outcome is
decided at the instant its task reported it (its ``finished_at``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import final

import trio
import trio.testing

from .._journal._protocol import Journal
from .._planning._open_planner import IncrementalPlanner
from .._planning._plan import Plan
from .._planning._planned_call import in_plan_order
from .._planning._race_groups import RaceRules
from .._values._construct import NoPublicConstructor
from .._values._exceptions import TurnStateError
from .._values._outcome import ErrorCode, Outcome, ToolCall, Verdict
from ._call_run import CallRun
from ._capacity import Capacity
from ._conclusions import Conclusions
from ._decide import build_outcome, decide_the_rest
from ._dependencies import Dependencies
from ._dispatch import Dispatcher
from ._endings import Endings
from ._exception_groups import collapse
from ._instrument import emitter
from ._open_input import wire_closed, wire_submitted
from ._races import Races
from ._result import TurnResult
from ._resume import replay, resuming
from ._settings import Settings
from ._stopping import Stopping

__all__ = ["Turn"]


@final
class Turn(metaclass=NoPublicConstructor):
    """One model turn: its plan, its run, its outcomes. Get one from `Executor.turn` or `Executor.open_turn`.

    It has no public constructor: ``Turn(...)`` raises `TypeError`.
    """

    _made_by = "executor.turn(calls) or executor.open_turn()"

    def __init__(
        self,
        settings: Settings,
        capacity: Capacity,
        plan: Plan | None,
        *,
        budget: float | None,
        sequence: int,
        on_outcome: Callable[[Outcome], object] | None = None,
        races: Mapping[str, RaceRules] | None = None,
        turn_id: str,
        journal: Journal | None = None,
        admit: int | None = None,
    ) -> None:
        self.turn_id = turn_id
        """The turn's id: given to `Executor.turn`, or generated; the key of its records in a journal."""
        self._settings = settings
        self._capacity = capacity
        self._plan = plan
        self._emit = emitter(settings.instruments, turn=sequence)
        self._planner = IncrementalPlanner(settings.registry, admit=admit) if plan is None else None
        self._runs: list[CallRun] = []
        ids: dict[str, int] = {}
        self._deps = Dependencies()
        self._stopping = Stopping(budget)
        self._result: TurnResult | None = None
        self._endings = Endings(wake=capacity.kick, now=self._stopping.now, turn=sequence)
        self._races = Races(races or {}, plan.calls if plan else (), runs=self._runs, decide=self._decide)
        self._out = Conclusions(
            self._runs,
            self._deps,
            self._endings,
            self._races,
            self._stopping,
            settings.policy,
            turn=sequence,
            decide=self._decide,
            on_outcome=on_outcome,
            journal=journal,
            turn_id=turn_id,
            ids=ids,
        )
        self._journal = self._out.journal
        self._dispatch = Dispatcher(
            settings,
            capacity,
            self._stopping,
            self._races,
            self._deps,
            self._runs,
            ids,
            planner=self._planner,
            sequence=sequence,
            decide=self._decide,
            report=self._endings.report,
            emit=self._emit,
            journal=self._journal,
        )
        self._out.queue = self._dispatch.add
        if plan is not None:
            for planned in plan.calls:
                run = CallRun(planned.index, planned.call, planned, observer=self._emit)
                self._runs.append(run)
                ids.setdefault(planned.call.id, planned.index)
                # Rejected at planning: decided when the turn starts, or at its end if it never does.
                run.later = planned.verdict
                if planned.verdict is None and (planned.needs or planned.after):
                    self._deps.add(planned.index, needs=planned.needs, after=planned.after)

    @property
    def budget(self) -> float | None:
        """Seconds the turn may run (``None``: no limit of its own)."""
        return self._stopping.budget

    @property
    def number(self) -> int:
        """The executor's number for this turn: 1 for its first, as in each event's ``turn``."""
        return self._endings.turn

    def __repr__(self) -> str:
        if self._result is not None:
            state = "done"
        elif self._stopping.started_at is None:
            state = "not started"
        elif self._stopping.asked is not None or self._stopping.scope.cancel_called:
            state = "stopping"
        else:
            state = "running"
        if self._planner is not None and not self._planner.closed:
            state += " (input open)"
        decided = sum(run.outcome is not None for run in self._runs)
        budget = "no budget" if self.budget is None else f"budget {self.budget} s"
        return f"<Turn {self.number} {state}: {decided} of {len(self._runs)} calls decided, {budget}>"

    # -- public -------------------------------------------------------------------

    @property
    def plan(self) -> Plan:
        """The turn's plan (for an open turn: a snapshot of the calls so far)."""
        if self._plan is not None:
            return self._plan
        assert self._planner is not None
        return self._planner.snapshot([run.planned for run in self._runs])

    @property
    def done(self) -> bool:
        """Whether every call of the turn has its outcome."""
        return self._result is not None

    @property
    def result(self) -> TurnResult:
        """All outcomes; available once `run` has returned or raised.

        Raises:
            TurnStateError: the turn has not run yet, or is still running.
        """
        if self._result is None:
            raise TurnStateError("the turn has no result yet: await turn.run() first")
        return self._result

    def outcome(self, call_id: str) -> Outcome | None:
        """The outcome of the call with this id, if it is decided yet.

        Raises:
            KeyError: no call of the turn has this id.
        """
        return self._runs[self._dispatch.ids[call_id]].outcome

    def cancel(self) -> None:
        """Stop the turn: running calls end ``cancelled``, the rest ``skipped`` (code ``cancelled``)."""
        self._stopping.stop(ErrorCode.CANCELLED)

    def submit(self, call: ToolCall) -> None:
        """Add a call to an open turn (see `Executor.open_turn`); it starts as soon as it may.

        Raises:
            TurnStateError: the turn is a batch turn, or its input is closed.
        """
        if self._planner is None or self._planner.closed:
            raise TurnStateError("calls can only be submitted to an open turn before close()")
        added = self._planner.add(call)
        run = CallRun(added.index, call, None, observer=self._emit)
        run.active = True
        self._runs.append(run)
        self._dispatch.ids.setdefault(call.id, added.index)
        self._endings.open += 1
        ready = wire_submitted(added, self._planner, self._deps, self._runs, self._races)
        if self._result is not None:
            self._finish()  # the turn already ended: this call gets its outcome now
        else:
            self._dispatch.add(ready)
            self._capacity.kick()

    def close(self) -> None:
        """End an open turn's input; `run` returns once every submitted call is decided.

        References to ids or positions that never arrived are rejected with ``bad_reference``.
        """
        if self._planner is None or self._planner.closed:
            return
        self._dispatch.add(wire_closed(self._planner, self._deps, self._runs))
        self._capacity.kick()

    async def run(self) -> TurnResult:
        """Run the turn to its end and return every outcome, in input order.

        If the caller's own scope is cancelled, ``trio.Cancelled`` propagates
        from here as itself, after every running tool has seen it and every
        outcome has been decided (see `result`).

        Raises:
            TurnStateError: the turn was already run.
        """
        if self._stopping.started_at is not None:
            raise TurnStateError("a turn runs once; ask the executor for a new turn")
        if self._journal is None:
            return await self._run()
        async with resuming(self._journal, self._runs):  # claimed; or TurnBusy, TurnMismatch
            return await self._run()

    async def _run(self) -> TurnResult:
        journal = self._journal
        self._stopping.start()
        finished = False
        try:
            if self._emit is not None:  # an instrument may raise KeyboardInterrupt: every call is still decided
                resumption = journal.resumption if journal is not None else None
                self._emit.turn_started(
                    self._runs, budget=self.budget, deadline=self._stopping.scope.deadline, resumption=resumption
                )
            with self._stopping.scope:
                await self._run_phases()
            finished = True
        except BaseExceptionGroup as group:  # a nursery's wrapping, collapsed: see collapse
            raise collapse(group) from None
        finally:
            self._finish()
            if journal is not None and not finished:  # cancelled from outside: a resume runs them
                journal.release()
            if self._emit is not None:
                self._emit.turn_ended(self.result, interrupted=not finished)
        if journal is not None:
            await journal.record()
        return self.result

    # -- phases -------------------------------------------------------------------

    async def _run_phases(self) -> None:
        if (journal := self._journal) is not None and journal.resumption is not None:
            replay(journal.resumption, self._runs, conclude=self._out.conclude, decide=self._decide)
        rejected = [run for run in self._runs if run.planned is not None and run.planned.verdict is not None]
        rejected.sort(key=lambda run: run.rank(self.number))  # plan order: the first failure is the one a stop names
        for run in rejected:
            if run.outcome is None:  # (a scoped failure may have reached it, or a resume replayed it)
                assert run.planned is not None and run.planned.verdict is not None
                self._decide(run, run.planned.verdict)
        if self._stopping.failure is not None:
            self._stopping.stop(ErrorCode.SIBLING_FAILED)  # fail-fast and a call rejected at planning: nothing starts
        if self._stopping.asked is not None:
            return
        if self._plan is None:
            await self._run_phase(())
        elif self._settings.schedule == "eager":
            everyone = sorted(i for wave in self._plan.waves for i in wave)
            await self._run_phase(in_plan_order([everyone], self._plan.calls)[0])
        else:
            for number, wave in enumerate(self._plan.waves):
                if self._emit is not None:
                    self._emit.wave(number, wave, self._runs, started=True)
                await self._run_phase(wave)  # a wave is in plan order already
                if self._emit is not None:
                    self._emit.wave(number, wave, self._runs, started=False)

    async def _run_phase(self, indices: Sequence[int]) -> None:
        """Run the calls ``indices`` (in plan order) in one nursery; for an open turn, all that arrive."""
        journal = self._journal
        async with trio.open_nursery() as nursery:
            self._dispatch.nursery = nursery
            indices = [i for i in indices if self._runs[i].outcome is None]  # a race lost before its wave: decided
            self._endings.open += len(indices)
            for i in indices:
                self._runs[i].active = True
            self._dispatch.add(self._deps.ready_among(indices))
            while self._endings.open or (self._planner is not None and not self._planner.closed):
                if self._settings.deterministic:  # let every task woken at this instant act first
                    await trio.testing.wait_all_tasks_blocked()
                self._decide_reported()
                if self._stopping.failure is not None:
                    self._stopping.stop(ErrorCode.SIBLING_FAILED)
                    await trio.lowlevel.checkpoint()  # raises Cancelled: the turn is over
                changed = self._capacity.changed
                wake = self._dispatch.grant()
                if journal is not None and journal.unannounced:
                    await journal.record()  # announced: what that made ready is granted next
                    continue
                if self._endings.open or (self._planner is not None and not self._planner.closed):
                    if wake == math.inf:  # only a change can help (the usual case): no timer to set
                        await changed.wait()
                    else:
                        with trio.move_on_at(wake):
                            await changed.wait()
            if journal is not None:
                await journal.record()  # what the phase's last decisions made ready starts in it
        self._dispatch.nursery = None

    # -- endings and decisions ---------------------------------------------------------

    def _decide_reported(self) -> None:
        """Decide the endings reported since the coordinator last ran, best rank first.

        Deciding one may decide others (the losers of a race it won): their
        own reports, if any, are then dropped.
        """
        for _, _, _, at, run, reason, value, exception in self._endings.take():
            if run.outcome is None:
                self._decide(run, reason, value, exception, at=at)

    def _decide(
        self,
        run: CallRun,
        reason: Verdict | None,
        value: object = None,
        exception: Exception | None = None,
        *,
        at: float | None = None,
    ) -> None:
        """Give ``run`` its one outcome (``reason`` None: it returned ``value``); let its dependents move on.

        ``at`` is when it ended, if it was reported earlier (default: now).
        """
        assert run.outcome is None, "an outcome is decided once"
        if reason is None and run.call.race is not None:
            reason = self._races.refuses(run.index, value)  # refused: it ends error/not_accepted, keeping its value
        now = at if at is not None else self._stopping.now()
        outcome = build_outcome(run, reason, now=now, value=value, exception=exception, redact=self._settings.redact)
        self._out.conclude(run, outcome, recorded=self._journal is None)

    def _finish(self) -> None:
        """Decide every call still without an outcome, and build the result.

        Endings reported but not decided yet (the coordinator was cancelled
        first) are decided as they were reported; the rest end for the
        turn's cause, or with their planning verdict if they never started.
        """
        self._decide_reported()
        decide_the_rest(self._runs, self._stopping.reason, release=self._capacity.release, decide=self._decide)
        started_at = self._stopping.started_at
        self._result = TurnResult(
            outcomes=tuple([run.outcome for run in self._runs if run.outcome is not None]),
            started_at=started_at if started_at is not None else trio.current_time(),
            finished_at=self._result.finished_at if self._result is not None else trio.current_time(),
            plan=self.plan,
            turn_id=self.turn_id,
            **(journal.summary(self._runs) if (journal := self._journal) is not None else {}),
        )
        self._stopping.ended = True
