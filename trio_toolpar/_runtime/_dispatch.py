"""Moving a turn's calls from ready to running, in plan order.

A call whose predecessors are done is *ready*. `Dispatcher.add` takes ready
calls; for each it decides now why it cannot run after all (decided while it
waited, doomed by a dependency, a reference that resolves to nothing), or
prepares its arguments, holds it for its approver if its tool is gated, and
queues it: with the turn's own calls that need no limit, or with `Capacity`.
`Dispatcher.grant` is the coordinator's step: it answers retry requests,
starts the calls that need no limit, and lets `Capacity` grant the rest, best
rank first; each granted call starts as a task of the phase's nursery (see
`_call_task`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import trio

from .._arguments._references import Reference
from .._planning._open_planner import IncrementalPlanner
from .._values._outcome import ErrorCode, Status, Verdict
from ._approval import Gates
from ._call_run import CallRun, CallState
from ._call_task import CallTasks
from ._capacity import Capacity, Waiter
from ._decide import Decide, dependency_reason
from ._dependencies import Dependencies
from ._instrument import Emitter
from ._journaling import Journaling
from ._prepare import prepare
from ._races import Races
from ._retry_grants import RetryGrants
from ._settings import Settings
from ._stopping import Stopping

if TYPE_CHECKING:
    from .._tools._registry import Tool

__all__ = ["Dispatcher"]


class Dispatcher:
    """Takes a turn's ready calls to capacity and starts them as they are granted.

    It shares the turn's calls (``runs``, their ``ids``), their dependencies,
    races and stopping state. What it finds itself (a call that cannot run
    after all) it decides through the turn's ``decide``; the tasks it starts
    (calls, approvals) ``report`` how they ended, for the coordinator to
    decide in plan order. ``nursery`` is the running phase's, ``None`` between
    phases: ready calls wait for the next phase then.
    """

    def __init__(
        self,
        settings: Settings,
        capacity: Capacity,
        stopping: Stopping,
        races: Races,
        deps: Dependencies,
        runs: Sequence[CallRun],
        ids: dict[str, int],
        *,
        planner: IncrementalPlanner | None,
        sequence: int,
        decide: Decide,
        report: Decide,
        emit: Emitter | None,
        journal: Journaling | None = None,
    ) -> None:
        self._capacity = capacity
        self._stopping = stopping
        self._races = races
        self._deps = deps
        self._runs = runs
        self.ids = ids
        """The index of the first call with each id (the turn adds to it as calls arrive)."""
        self._planner = planner
        self._sequence = sequence
        self._decide = decide
        self._gates = Gates(
            settings.approve, approved=self._requeue, decide=report, cause=stopping.reason, journal=journal
        )
        self._tasks = CallTasks(
            settings,
            capacity,
            RetryGrants(settings.policy.max_retries_per_turn, wake=capacity.kick),
            stopping,
            report=report,
            requeue=self._requeue,
            turn=sequence,
            emit=emit,
            journal=journal,
        )
        self._ready: list[int] = []  # a stack: the next call to take is last
        self._free: list[CallRun] = []  # queued calls that need no limit, in the order they were queued
        self._draining = False
        self.nursery: trio.Nursery | None = None

    def add(self, ready: Iterable[int]) -> None:
        """Take the calls ``ready`` (in this order) whose predecessors are done: queue them, or decide them.

        Whoever calls this wakes the coordinator afterwards (`Capacity.kick`),
        unless it is the coordinator.
        """
        self._ready.extend(reversed(list(ready)))
        if self._draining:
            return  # the drain running further up the stack takes them
        self._draining = True
        try:
            self._drain()
        finally:
            self._draining = False

    def grant(self) -> float:
        """The coordinator's step: answer retries, start what may start; return when to look again."""
        self._tasks.retries.grant()
        self._start_free()
        return self._capacity.grant()

    # -- ready to queued ------------------------------------------------------------

    def _drain(self) -> None:
        while self._ready and self.nursery is not None:
            run = self._runs[self._ready.pop()]
            if run.outcome is not None or not self._stopping.accepts():
                continue  # decided already; or the turn is ending, and it gives the rest its cause
            reason = self._unrunnable(run)
            if reason is not None:
                self._decide(run, reason)
                continue
            planned = run.planned
            assert planned is not None and planned.tool is not None
            prepared = prepare(planned, self._value_of)
            if isinstance(prepared, Verdict):  # (a Prepared is a plain tuple)
                self._decide(run, prepared)
                continue
            run.resolved, run.idempotency_key = prepared
            impossible = self._impossible(planned.tool) if planned.tool.weight > 1 else None
            if impossible is not None:
                self._decide(run, impossible)
                continue
            if planned.tool.approval is not False and self._gates.hold(run, planned.tool, self.nursery):
                continue  # waits for its approver holding no capacity; queued once approved
            run.move(CallState.QUEUED)
            self._queue(run, planned.tool)

    def _unrunnable(self, run: CallRun) -> Verdict | None:
        """Why a ready call must not run after all: decided while it waited, or doomed by a dependency."""
        if run.later is not None:
            return run.later
        if run.planned is None:  # an open turn's call, now that every call it waits for has arrived
            assert self._planner is not None
            predecessors = self._planner.predecessors(run.index)
            generation = max((self._runs[p].wave or 0) + 1 for p in predecessors) if predecessors else 0
            run.planned = self._planner.freeze(run.index, generation)
        # Only a needed call dooms; or one that waits for a decision (`Dependencies.finish`).
        doomed_by = self._deps.doomed_by(run.index) if run.planned.needs or run.planned.after else None
        if doomed_by is not None:
            dependency = self._runs[doomed_by].outcome
            assert dependency is not None
            return dependency_reason(dependency)
        waits_for_races = (run.planned.references or run.call.after) and self._races
        return self._races.failed_reference(run.planned) if waits_for_races else None

    def _value_of(self, ref: Reference) -> object:
        """The value a reference names: of the call it names (which ended ``ok``), or of a race's winners."""
        if ref.group is not None:
            return self._races.winners_value(ref.group)
        position = ref.position
        outcome = self._runs[position if position is not None else self.ids[ref.call_id]].outcome
        assert outcome is not None and outcome.ok
        return outcome.value

    def _impossible(self, tool: Tool) -> Verdict | None:
        """Why a call of ``tool`` could never be granted: a weight past a cap (a tool registered after the
        executor checked the registry). Decided before the call first queues, so a retry never meets it."""
        why = self._capacity.check_weight(tool.resource, tool.weight, sync=not tool.is_async)
        return (
            None
            if why is None
            else Verdict(Status.ERROR, ErrorCode.TOOL_ERROR, f"tool {tool.name!r} cannot start: {why}")
        )

    def _queue(self, run: CallRun, tool: Tool) -> None:
        sync = not tool.is_async
        names = self._capacity.needs(tool.resource, sync=sync)
        if names is None:
            self._free.append(run)  # no limit applies (most calls): nothing to rank it against
            return
        if run.started_at is None and run.queued_at is None:
            run.queued_at = self._stopping.now()  # its first wait for a limit (a retry's wait is part of its run)
        run.waiter = Waiter(
            rank=run.rank(self._sequence),
            names=names,
            resource=tool.resource,
            weight=tool.weight,
            on_grant=functools.partial(self._granted, run),
            accepts=self._stopping.accepts,
        )
        self._capacity.enqueue(run.waiter)

    def _requeue(self, run: CallRun) -> None:
        """Queue a call for capacity again: a retry after its backoff, or an approved call."""
        assert run.planned is not None and run.planned.tool is not None
        run.move(CallState.QUEUED)
        self._queue(run, run.planned.tool)
        self._capacity.kick()

    # -- queued to running ----------------------------------------------------------

    def _start_free(self) -> None:
        """Start the queued calls that need no limit, in the order they were queued."""
        if not self._free or not self._stopping.accepts():
            return  # nothing to start; or the turn is ending, and it decides them
        free, self._free = self._free, []
        now = self._stopping.now()
        for run in free:
            assert run.planned is not None and run.planned.tool is not None
            tool = run.planned.tool
            if tool.resource is None or self._capacity.needs(tool.resource, sync=not tool.is_async) is None:
                self._granted(run, now)
            else:
                self._queue(run, tool)  # its resource was paused since it was queued: wait in line

    def _granted(self, run: CallRun, now: float) -> None:
        if run.outcome is not None:
            if run.waiter is not None:
                self._capacity.release(run.waiter)  # decided while it waited: nothing to run
            return
        run.move(CallState.RUNNING)
        if run.attempts:  # a retry, which its task waits to run
            self._tasks.granted_again(run)
            return
        assert self.nursery is not None
        run.started_at = now
        self.nursery.start_soon(self._tasks.task(run), run, name=f"toolpar:{run.call.id}")
