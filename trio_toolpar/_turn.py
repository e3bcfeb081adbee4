"""One model turn: its lifecycle and its coordinator.

::

    Turn.run()
    └─ CancelScope(deadline = start + budget)      the turn's budget
       └─ child nursery per phase                   a wave; or the whole turn ("eager", open turns)
          ├─ the coordinator (this task)            grants capacity and retries, in plan order
          └─ call tasks, started when granted       see `_call_task`
             └─ per-attempt move_on_after(timeout)  the tool's own timeout

State changes (a call was decided, a dependent became ready, capacity came
back) happen synchronously in the task that caused them. Only grants wait
for the coordinator, which runs after the tasks that woke it; with
``Executor(deterministic=True)`` it first waits until every task is blocked,
so that on a `trio.testing.MockClock` a turn's timeline does not depend on
the order in which Trio runs the tasks woken at one instant.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, final

import trio
import trio.testing

from ._approval import Gates
from ._call_run import CallRun, CallState
from ._call_task import CallTask
from ._capacity import Capacity, Waiter
from ._decide import Reason, build_outcome, decide_the_rest, dependency_reason, verdict_reason
from ._dependencies import Dependencies
from ._exceptions import TurnStateError
from ._groups import collapse
from ._incremental import IncrementalPlanner
from ._instrument import emitter
from ._open_input import wire_closed, wire_submitted
from ._outcome import ErrorCode, Outcome, Status, ToolCall
from ._plan import Plan
from ._prepare import prepare
from ._races import Race, Races
from ._references import Reference
from ._result import TurnResult
from ._retries import RetryGrants
from ._settings import Settings
from ._stopping import Stopping

if TYPE_CHECKING:
    from ._registry import Tool

__all__ = ["Turn"]

_FAILURES = frozenset({Status.ERROR, Status.TIMEOUT, Status.REJECTED})


@final
class Turn:
    """One model turn: its plan, its run, its outcomes. Get one from `Executor.turn` or `Executor.open_turn`."""

    def __init__(
        self,
        settings: Settings,
        capacity: Capacity,
        plan: Plan | None,
        *,
        budget: float | None,
        sequence: int,
        on_outcome: Callable[[Outcome], object] | None = None,
        races: Mapping[str, Race] | None = None,
    ) -> None:
        self.budget = budget
        self._settings = settings
        self._capacity = capacity
        self._sequence = sequence
        self._on_outcome = on_outcome
        self._plan = plan
        self._emit = emitter(settings.instruments, turn=sequence)
        self._planner = IncrementalPlanner(settings.registry) if plan is None else None
        self._runs: list[CallRun] = []
        self._ids: dict[str, int] = {}
        self._deps = Dependencies()
        self._retries = RetryGrants(settings.policy.max_retries_per_turn, wake=capacity.kick)
        self._stopping = Stopping()
        self._nursery: trio.Nursery | None = None
        self._open = 0  # calls of the running phase not decided yet
        self._ready: list[int] = []  # calls whose predecessors are done, to queue
        self._draining = False
        self._started_at: float | None = None
        self._result: TurnResult | None = None
        self._races = Races(races or {}, plan.calls if plan else (), runs=self._runs, decide=self._decide)
        self._gates = Gates(settings.approve, approved=self._requeue, decide=self._decide, cause=self._stopping.cause)
        if plan is not None:
            for planned in plan.calls:
                run = CallRun(planned.index, planned.call, planned, observer=self._emit)
                self._runs.append(run)
                self._ids.setdefault(planned.call.id, planned.index)
                if planned.verdict is None and planned.predecessors:
                    self._deps.add(planned.index, needs=planned.needs, after=planned.after)

    # -- public -------------------------------------------------------------------

    @property
    def plan(self) -> Plan:
        """The turn's plan (for an open turn: a snapshot of the calls so far)."""
        if self._plan is not None:
            return self._plan
        assert self._planner is not None
        return self._planner.snapshot([run.wave for run in self._runs], rank=self._rank)

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
        return self._runs[self._ids[call_id]].outcome

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
        self._ids.setdefault(call.id, added.index)
        self._open += 1
        self._ready.extend(wire_submitted(added, self._planner, self._deps, self._runs, self._races))
        if self._result is not None:
            self._finish(interrupted=True)  # the turn already ended: this call gets its outcome now
        else:
            self._drain()
            self._capacity.kick()

    def close(self) -> None:
        """End an open turn's input; `run` returns once every submitted call is decided.

        References to ids or positions that never arrived are rejected with ``bad_reference``.
        """
        if self._planner is None or self._planner.closed:
            return
        self._ready.extend(wire_closed(self._planner, self._deps, self._runs))
        self._drain()
        self._capacity.kick()

    async def run(self) -> TurnResult:
        """Run the turn to its end and return every outcome, in input order.

        If the caller's own scope is cancelled, ``trio.Cancelled`` propagates
        from here as itself, after every running tool has seen it and every
        outcome has been decided (see `result`).

        Raises:
            TurnStateError: the turn was already run.
        """
        if self._started_at is not None:
            raise TurnStateError("a turn runs once; ask the executor for a new turn")
        self._started_at = trio.current_time()
        if self.budget is not None:
            self._stopping.scope.deadline = self._started_at + self.budget
        if self._emit is not None:
            self._emit.turn_started(self._runs, budget=self.budget, deadline=self._stopping.scope.deadline)
        finished = False
        try:
            with self._stopping.scope:
                await self._run_phases()
            finished = True
        except BaseExceptionGroup as group:  # a nursery's wrapping, collapsed: see collapse
            raise collapse(group) from None
        finally:
            self._finish(interrupted=not finished)
            if self._emit is not None:
                self._emit.turn_ended(self.result, interrupted=not finished)
        return self.result

    # -- phases -------------------------------------------------------------------

    async def _run_phases(self) -> None:
        for run in self._runs:
            if run.planned is not None and run.planned.verdict is not None:
                self._decide(run, verdict_reason(run.planned.verdict))
        if self._stopping.failed:
            self._stopping.stop(ErrorCode.SIBLING_FAILED)  # fail-fast and a call rejected at planning: nothing starts
        if self._stopping.asked is not None:
            return
        if self._plan is None:
            await self._run_phase(())
        elif self._settings.schedule == "eager":
            await self._run_phase(sorted((i for wave in self._plan.waves for i in wave), key=self._rank))
        else:
            for number, wave in enumerate(self._plan.waves):
                if self._emit is not None:
                    self._emit.wave(number, wave, self._runs, started=True)
                await self._run_phase(wave)  # a wave is in plan order already
                if self._emit is not None:
                    self._emit.wave(number, wave, self._runs, started=False)

    async def _run_phase(self, indices: Sequence[int]) -> None:
        """Run the calls ``indices`` (in plan order) in one nursery; for an open turn, all that arrive."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            indices = [i for i in indices if self._runs[i].outcome is None]  # a race lost before its wave: decided
            self._open += len(indices)
            for i in indices:
                self._runs[i].active = True
                if self._deps.ready(i):
                    self._ready.append(i)
            self._drain()
            while self._open or (self._planner is not None and not self._planner.closed):
                if self._settings.deterministic:  # let every task woken at this instant act first
                    await trio.testing.wait_all_tasks_blocked()
                if self._stopping.failed:
                    self._stopping.stop(ErrorCode.SIBLING_FAILED)
                    await trio.lowlevel.checkpoint()  # raises Cancelled: the turn is over
                changed = self._capacity.changed
                self._retries.grant()
                wake = self._capacity.dispatch()
                if self._open or (self._planner is not None and not self._planner.closed):
                    with trio.move_on_at(wake):
                        await changed.wait()
        self._nursery = None

    def _rank(self, index: int) -> tuple[int, int, int]:
        return (self._sequence, -self._runs[index].call.priority, index)

    # -- synchronous state changes ------------------------------------------------------

    def _drain(self) -> None:
        """Queue the calls whose predecessors are done (or decide them); the running loop takes any it adds."""
        if self._draining:
            return
        self._draining = True
        try:
            self._drain_ready()
        finally:
            self._draining = False

    def _drain_ready(self) -> None:
        while self._ready and self._nursery is not None:
            run = self._runs[self._ready.pop()]
            if run.outcome is not None or not self._stopping.accepts():
                continue  # decided already; or the turn is ending, and `_finish` gives the rest its cause
            reason = self._unrunnable(run)
            if reason is not None:
                self._decide(run, reason)
                continue
            planned = run.planned
            assert planned is not None and planned.tool is not None
            prepared = prepare(planned, self._races.resolver(self._value_of))
            if len(prepared) == 3:
                self._decide(run, prepared)
                continue
            run.resolved, run.idempotency_key = prepared
            if self._gates.hold(run, planned.tool, self._nursery):
                continue  # waits for its approver holding no capacity; queued once approved
            run.move(CallState.QUEUED)
            self._queue(run, planned.tool)

    def _unrunnable(self, run: CallRun) -> Reason | None:
        """Why a ready call must not run after all: decided while it waited, or doomed by a dependency."""
        if run.later is not None:
            return verdict_reason(run.later)
        doomed_by = self._deps.doomed_by(run.index)
        if doomed_by is not None:
            dependency = self._runs[doomed_by].outcome
            assert dependency is not None
            return dependency_reason(dependency)
        if run.planned is None:  # an open turn's call, now that every call it waits for has arrived
            assert self._planner is not None
            predecessors = self._planner.predecessors(run.index)
            generation = max(((self._runs[p].wave or 0) + 1 for p in predecessors), default=0)
            run.planned = self._planner.freeze(run.index, generation)
        return self._races.failed_reference(run.planned) if self._races else None

    def _queue(self, run: CallRun, tool: Tool) -> None:
        impossible = self._capacity.check_weight(tool.resource, tool.weight) if tool.weight > 1 else None
        if impossible is not None:  # a tool registered after the executor checked the registry
            self._decide(run, (Status.ERROR, ErrorCode.TOOL_ERROR, f"tool {tool.name!r} cannot start: {impossible}"))
            return
        run.waiter = Waiter(
            rank=self._rank(run.index),
            names=self._capacity.names_for(tool.resource, sync=not tool.is_async),
            resource=tool.resource,
            weight=tool.weight,
            on_grant=lambda: self._granted(run),
            accepts=self._stopping.accepts,
        )
        self._capacity.enqueue(run.waiter)

    def _value_of(self, ref: Reference) -> object:
        position = ref.position
        outcome = self._runs[position if position is not None else self._ids[ref.call_id]].outcome
        assert outcome is not None and outcome.ok
        return outcome.value

    def _requeue(self, run: CallRun) -> None:
        """Queue a call for capacity again: a retry after its backoff, or an approved call."""
        assert run.planned is not None and run.planned.tool is not None
        run.move(CallState.QUEUED)
        self._queue(run, run.planned.tool)

    def _granted(self, run: CallRun) -> None:
        if run.outcome is not None:
            assert run.waiter is not None
            self._capacity.release(run.waiter)  # decided while it waited: nothing to run
            return
        run.move(CallState.RUNNING)
        if run.granted is not None:
            run.granted.set()  # a retry, which its task waits to run
            return
        assert self._nursery is not None
        run.started_at = trio.current_time()
        task = CallTask(
            run,
            self._settings,
            self._capacity,
            self._retries,
            report=self._races.judged(self._decide),
            requeue=self._requeue,
            cause=self._stopping.cause,
            deadline=self._stopping.scope.deadline,
            emit=self._emit,
        )
        self._nursery.start_soon(task.run, name=f"toolpar:{run.call.id}")

    def _decide(
        self, run: CallRun, reason: Reason | None, value: object = None, exception: Exception | None = None
    ) -> None:
        """Give ``run`` its one outcome (``reason`` None: it returned ``value``); let its dependents move on."""
        assert run.outcome is None, "an outcome is decided once"
        outcome = run.outcome = build_outcome(
            run, reason, value=value, exception=exception, redact=self._settings.redact
        )
        run.move(CallState.DONE)
        if run.active:
            self._open -= 1
        counts = self._races.settle(run.index, outcome)  # a race just won stops its other members here
        if outcome.status in _FAILURES and counts and self._settings.policy.cancels_turn(outcome):
            # Acted on once this instant has settled (by the coordinator), so that a sibling that
            # returns at the same virtual instant ends ok whatever order Trio runs the two in.
            self._stopping.failed = True
        if self._on_outcome is not None:
            self._on_outcome(outcome)
        # Calls of later waves are queued when their wave begins (see `_run_phase`).
        self._ready.extend(k for k in reversed(self._deps.finish(run.index, ok=outcome.ok)) if self._runs[k].active)
        self._drain()
        self._capacity.kick()

    def _finish(self, *, interrupted: bool) -> None:
        """Decide every call still without an outcome, and build the result."""
        stopped = interrupted or self._stopping.asked or self._stopping.scope.cancel_called
        assert stopped or all(run.outcome for run in self._runs), "a finished turn decided every call"
        decide_the_rest(self._runs, self._stopping.cause(), release=self._capacity.release, decide=self._decide)
        started_at = self._started_at if self._started_at is not None else trio.current_time()
        self._result = TurnResult(
            outcomes=tuple(run.outcome for run in self._runs if run.outcome is not None),
            started_at=started_at,
            finished_at=self._result.finished_at if self._result is not None else trio.current_time(),
            plan=self.plan,
        )
        self._stopping.ended = True
