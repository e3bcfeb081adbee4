"""Running a plan: one model turn as one Trio nursery inside one cancel scope.

::

    Turn.run()
    └─ CancelScope(deadline = start + budget)      the turn's budget
       └─ child nursery per wave (one for "eager")  call tasks, started when granted
          └─ per-attempt move_on_at(timeout)         the tool's own timeout

State changes (a call finished, a dependent became ready, capacity came
back) happen synchronously in the task that caused them; only granting
capacity waits for the instant to settle (see `_slots`). That is what makes
a turn's timeline the same on every run under a `trio.testing.MockClock`.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import hashlib
import math
import random
import traceback
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Literal, final

import trio
import trio.testing

from ._convert import dumps, jsonable
from ._exceptions import RateLimited, TurnStateError
from ._outcome import ErrorCode, Outcome, Status, ToolCall, TurnResult, make_outcome
from ._plan import IncrementalPlanner, Plan, Verdict, _Draft
from ._policy import BestEffort, Policy
from ._references import MAX_DEPTH, Reference, ReferenceError_, nests_deeper, resolve, substitute
from ._registry import CallContext, Registry, Retry, Tool
from ._schema import validate
from ._slots import Slots, Waiter

__all__ = ["Executor", "OutcomeStream", "Schedule", "Turn"]

Schedule = Literal["waves", "eager"]


class _Default(enum.Enum):
    TOKEN = 0


_DEFAULT = _Default.TOKEN


class _State(enum.Enum):
    PENDING = 0  # waiting for predecessors (or for its wave)
    WAITING = 1  # ready, waiting for capacity
    RUNNING = 2
    BACKOFF = 3  # between attempts, holding no capacity
    DONE = 4


class _Record(_Draft):
    """One call of a running turn: the planner's draft of it, with its mutable run state.

    The planner builds these (see `Plan._build_with`), so a turn keeps one
    object per call until its outcome; the plan's frozen `PlannedCall`s are
    only built if someone reads `Plan.calls`.
    """

    __slots__ = (
        "active",
        "attempts",
        "doomed_by",
        "granted",
        "idempotency_key",
        "later",
        "outcome",
        "resolved",
        "started_at",
        "state",
        "unmet",
        "waiter",
    )

    def __init__(self, index: int, call: ToolCall) -> None:
        _Draft.__init__(self, index, call)  # not super(): one call per tool call, and no super object
        self.unmet = 0
        self.active = False
        self.state = _State.PENDING
        self.doomed_by: int | None = None  # a referenced call that did not succeed
        self.resolved: Mapping[str, Any] | None = None  # the arguments, references substituted
        self.idempotency_key: str | None = None
        self.attempts = 0
        self.started_at: float | None = None
        self.waiter: Waiter | None = None
        self.granted: trio.Event | None = None
        self.outcome: Outcome | None = None
        self.later: Verdict | None = None  # decided once its predecessors are done (incremental turns)


class _Attempt(enum.Enum):
    OK = 0
    ERROR = 1
    TIMEOUT = 2


def _collapse(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The one exception that matters in a nursery's group, or the group itself.

    Nurseries wrap whatever their tasks raise. Callers of `Turn.run` expect
    ``Cancelled`` (or a tool's ``KeyboardInterrupt``) as itself, so a group
    whose leaves are all ``Cancelled`` collapses to one of them, and a group
    with exactly one other leaf collapses to that leaf.
    """
    leaves: list[BaseException] = []
    stack: list[BaseException] = [group]
    while stack:
        exc = stack.pop()
        if isinstance(exc, BaseExceptionGroup):
            stack.extend(reversed(exc.exceptions))
        else:
            leaves.append(exc)
    others = [e for e in leaves if not isinstance(e, trio.Cancelled)]
    if len(others) == 1:
        return others[0]
    if not others and leaves:
        return leaves[0]
    return group


@final
class Executor:
    """Runs the tool calls of model turns against a `Registry`.

    Args:
        registry: the tools.
        limits: per-resource caps, e.g. ``{"datadog": 3, "jira": 2}``; shared
            by every turn of this executor.
        max_concurrency: a cap on all calls at once (``None``: no cap).
        policy: `BestEffort` (default) or `FailFast`, or your own `Policy`.
        budget: default wall-clock budget of a turn, in seconds (``None``: none).
        schedule: ``"waves"`` runs topological generations one child nursery
            after another; ``"eager"`` starts each call as soon as its own
            dependencies are done.
        thread_limit: how many sync tools may run in threads at once.
        redact: applied to every error message before it reaches an outcome
            (and so the model): strip secrets here.
        seed: seeds retry jitter, which is drawn per (call, attempt) so that
            it does not depend on scheduling order.
    """

    def __init__(
        self,
        registry: Registry,
        *,
        limits: Mapping[str, int] | None = None,
        max_concurrency: int | None = None,
        policy: Policy | None = None,
        budget: float | None = None,
        schedule: Schedule = "waves",
        thread_limit: int = 40,
        redact: Callable[[str], str] | None = None,
        seed: int | str | None = None,
    ) -> None:
        if schedule not in ("waves", "eager"):
            raise ValueError(f"schedule must be 'waves' or 'eager', not {schedule!r}")
        _check_budget(budget)
        self.registry = registry
        self.policy: Policy = policy if policy is not None else BestEffort()
        self.budget = budget
        self.schedule: Schedule = schedule
        self.redact = redact
        self.seed = seed if seed is not None else random.getrandbits(64)
        self._slots = Slots(limits or {}, max_concurrency=max_concurrency, thread_limit=thread_limit)
        self._turns = 0

    @property
    def limits(self) -> Mapping[str, trio.CapacityLimiter]:
        """The capacity limiters by resource name (for statistics; do not acquire them)."""
        return {k: v for k, v in self._slots.limiters.items() if not k.startswith("\x00")}

    def plan(self, calls: Iterable[ToolCall]) -> Plan:
        """Plan ``calls`` without running them."""
        return Plan.build(self.registry, calls)

    def turn(self, calls: Iterable[ToolCall], *, budget: float | _Default | None = _DEFAULT) -> Turn:
        """A `Turn` for ``calls``, planned now and run by ``await turn.run()``.

        Holding the turn before running it lets the caller read the outcomes
        even when the run is cancelled from outside.
        """
        self._turns += 1
        chosen = self.budget if budget is _DEFAULT else budget
        _check_budget(chosen)
        return Turn(self, Plan._build_with(self.registry, calls, _Record), budget=chosen, sequence=self._turns)

    async def run(self, calls: Iterable[ToolCall], *, budget: float | _Default | None = _DEFAULT) -> TurnResult:
        """Run the calls of one model turn; one outcome per call, in input order."""
        return await self.turn(calls, budget=budget).run()

    @asynccontextmanager
    async def open_turn(self, *, budget: float | _Default | None = _DEFAULT) -> AsyncIterator[Turn]:
        """An open turn: submit calls while it runs, for tool calls that arrive one by one.

        Usage::

            async with executor.open_turn() as turn:
                turn.submit(call)      # starts as soon as its dependencies and capacity allow
                ...
            turn.result                # every outcome, once the block has exited

        Leaving the block closes the input and waits for the submitted calls;
        leaving it with an exception cancels them. The schedule is always
        eager, and planning differs from a batch where calls are already
        running (see `IncrementalPlanner`).
        """
        self._turns += 1
        chosen = self.budget if budget is _DEFAULT else budget
        _check_budget(chosen)
        turn = Turn(self, None, budget=chosen, sequence=self._turns)
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(turn.run)
                body_done = False
                try:
                    yield turn
                    body_done = True
                finally:
                    if body_done:
                        turn.close()
                    else:
                        turn.cancel()
        except BaseExceptionGroup as group:  # a nursery's wrapping, collapsed: see _collapse
            raise _collapse(group) from None

    @asynccontextmanager
    async def stream(
        self, calls: Iterable[ToolCall], *, budget: float | _Default | None = _DEFAULT
    ) -> AsyncIterator[OutcomeStream]:
        """Run a turn and yield its outcomes as each one is decided.

        Usage::

            async with executor.stream(calls) as outcomes:
                async for outcome in outcomes:
                    ...

        Leaving the block early cancels what is still running (those calls
        end ``cancelled`` or ``skipped`` with code ``cancelled``);
        ``outcomes.turn.result`` holds every outcome afterwards.
        """
        turn = self.turn(calls, budget=budget)
        send, receive = trio.open_memory_channel[Outcome](math.inf)
        turn._listeners.append(send.send_nowait)

        async def drive() -> None:
            async with send:
                await turn.run()

        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(drive)
                try:
                    yield OutcomeStream(turn, receive)
                finally:
                    turn.cancel()
        except BaseExceptionGroup as group:  # a nursery's wrapping, collapsed: see _collapse
            raise _collapse(group) from None


def _records_of(plan: Plan) -> list[_Record]:
    """The run records a plan from `Plan._build_with` was built on."""
    records = list(plan._drafts)
    assert all(isinstance(rec, _Record) for rec in records[:1]), "a turn runs a plan built with _Record drafts"
    return records  # type: ignore[return-value]


def _check_budget(budget: float | None) -> None:
    if budget is not None and not (budget >= 0 and not math.isnan(budget)):
        raise ValueError(f"budget must be a non-negative number of seconds or None, not {budget!r}")


@final
class OutcomeStream:
    """Outcomes of a running turn as they are decided (from `Executor.stream`)."""

    def __init__(self, turn: Turn, receive: trio.MemoryReceiveChannel[Outcome]) -> None:
        self.turn = turn
        self._receive = receive

    def __aiter__(self) -> OutcomeStream:
        return self

    async def __anext__(self) -> Outcome:
        try:
            return await self._receive.receive()
        except trio.EndOfChannel:
            raise StopAsyncIteration from None


@final
class Turn:
    """One model turn: its plan, its run, its outcomes. Get one from `Executor.turn`."""

    def __init__(self, executor: Executor, plan: Plan | None, *, budget: float | None, sequence: int) -> None:
        self.executor = executor
        self.budget = budget
        self._sequence = sequence
        self._slots = executor._slots
        self._policy = executor.policy
        self._plan = plan
        self._planner = IncrementalPlanner(executor.registry, _Record) if plan is None else None
        self._closed = plan is not None
        self._records: list[_Record] = _records_of(plan) if plan is not None else []
        self._successors: dict[int, list[int]] = {}  # only calls that others wait for
        self._rejected: list[_Record] = []  # calls planning decided not to run
        # One wave of every call (the usual turn): no call waits for another, none was rejected.
        if plan is not None and not (len(plan.waves) == 1 and len(plan.waves[0]) == len(self._records)):
            for rec in self._records:
                if rec.verdict is not None:
                    self._rejected.append(rec)
                if rec.needs or rec.after:
                    predecessors = rec.predecessors
                    rec.unmet = len(predecessors)
                    for j in predecessors:
                        self._successors.setdefault(j, []).append(rec.index)
        self._listeners: list[Callable[[Outcome], object]] = []
        self._ids: dict[str, int] | None = None  # call id -> index, built when first needed
        self._free: list[_Record] = []  # ready calls that need no limiter, granted by the coordinator
        self._clock: trio.abc.Clock | None = None
        self._scope = trio.CancelScope()
        self._nursery: trio.Nursery | None = None
        self._phase_open = 0  # active calls not yet decided
        self._stop_reason: ErrorCode | None = None
        self._failed_at: float | None = None  # when the policy asked to cancel the turn
        self._retries_left = self._policy.max_retries_per_turn
        self._ready: list[int] = []
        self._draining = False
        self._tearing_down = False  # a running call was cancelled: the turn is being torn down
        self._ran = False
        self._settle = False
        self._started_at = 0.0
        self._result: TurnResult | None = None

    # -- public -------------------------------------------------------------------

    @property
    def plan(self) -> Plan:
        """The turn's plan (for an open turn: a snapshot of the calls so far)."""
        if self._plan is not None:
            return self._plan
        calls = tuple(rec.freeze() for rec in self._records)
        generations = sorted({c.generation for c in calls if c.generation is not None})
        waves = tuple(tuple(sorted((c.index for c in calls if c.generation == g), key=self._rank)) for g in generations)
        return Plan(calls=calls, waves=waves, cycle=None)

    def submit(self, call: ToolCall) -> None:
        """Add a call to an open turn (see `Executor.open_turn`); it starts as soon as it may.

        Raises:
            TurnStateError: the turn is a batch turn, or its input is closed.
        """
        if self._planner is None or self._closed:
            raise TurnStateError("calls can only be submitted to an open turn before close()")
        added = self._planner.add(call)
        i = added.index
        rec = self._planner.drafts[i]
        assert isinstance(rec, _Record)
        self._records.append(rec)
        self._index_of().setdefault(call.id, i)
        rec.active = True
        self._phase_open += 1
        for p in rec.predecessors:
            self._wire(p, i)
        rec.unmet += len(self._planner.waiting_for.get(i, ()))
        for w in added.resolved:
            # The planner added the edge to w's draft, which is its record; its pending slot,
            # counted in unmet, becomes this edge.
            self._successors.setdefault(i, []).append(w)
        if added.cycle:
            members = set(added.cycle)
            for m in added.cycle:
                member = self._records[m]
                waiting = self._successors.get(m, [])
                kept = [k for k in waiting if k not in members]
                for k in waiting:
                    if k in members:
                        self._records[k].unmet -= 1
                self._successors[m] = kept
                member.later = Verdict(
                    status=Status.REJECTED,
                    code=ErrorCode.DEPENDENCY_CYCLE,
                    message=f"calls form a dependency cycle ({added.cycle_text}; 'a -> b' means a waits for b); "
                    "the calls of the cycle did not run. Send them as a serial plan, in separate turns",
                )
            self._ready.extend(m for m in added.cycle if m != i and self._records[m].unmet == 0)
        verdict = rec.verdict
        if verdict is not None:
            rec.later = verdict
        if rec.unmet == 0:
            self._ready.append(i)
        if self._result is not None:
            # The turn already ended (stopped, or cancelled): this call gets its outcome now.
            self._finish(interrupted=True)
        elif self._nursery is not None:
            self._drain()
            self._slots.kick()

    def close(self) -> None:
        """End an open turn's input; `run` returns once every submitted call is decided.

        References to ids that never arrived are rejected with ``bad_reference``.
        """
        if self._planner is None or self._closed:
            return
        self._closed = True
        for i, names in self._planner.close().items():
            rec = self._records[i]
            rec.unmet -= len(names)
            rec.later = Verdict(
                status=Status.REJECTED,
                code=ErrorCode.BAD_REFERENCE,
                message=f"refers to call(s) {', '.join(sorted(names))}, which never arrived in this turn",
            )
            if rec.unmet == 0:
                self._ready.append(i)
        if self._nursery is not None:
            self._drain()
        self._slots.kick()

    def _index_of(self) -> dict[str, int]:
        if self._ids is None:
            self._ids = {}
            for rec in self._records:
                self._ids.setdefault(rec.call.id, rec.index)
        return self._ids

    def _wire(self, pred: int, succ: int) -> None:
        """Make ``succ`` wait for ``pred`` (or learn at once how ``pred`` ended)."""
        done = self._records[pred].outcome
        rec = self._records[succ]
        if done is None:
            self._successors.setdefault(pred, []).append(succ)
            rec.unmet += 1
        elif not done.ok and pred in rec.needs and rec.doomed_by is None:
            rec.doomed_by = pred

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
        return self._records[self._index_of()[call_id]].outcome

    def cancel(self) -> None:
        """Stop the turn: running calls end ``cancelled``, the rest ``skipped`` (code ``cancelled``)."""
        self._stop(ErrorCode.CANCELLED)

    async def run(self) -> TurnResult:
        """Run the turn to its end and return every outcome, in input order.

        If the caller's own scope is cancelled, ``trio.Cancelled`` propagates
        from here as itself, after every running tool has seen it and every
        outcome has been decided (see `result`).

        Raises:
            TurnStateError: the turn was already run.
        """
        if self._ran:
            raise TurnStateError("a turn runs once; ask the executor for a new turn")
        self._ran = True
        self._clock = trio.lowlevel.current_clock()
        self._started_at = self._clock.current_time()
        self._settle = isinstance(trio.lowlevel.current_clock(), trio.testing.MockClock)
        if self.budget is not None:
            self._scope.deadline = self._started_at + self.budget
        finished = False
        try:
            with self._scope:
                await self._run_phases()
            finished = True
        except BaseExceptionGroup as group:  # a nursery's wrapping, collapsed: see _collapse
            raise _collapse(group) from None
        finally:
            self._finish(interrupted=not finished)
        return self.result

    # -- phases -------------------------------------------------------------------

    async def _run_phases(self) -> None:
        for rec in self._rejected:
            verdict = rec.verdict
            assert verdict is not None
            self._decide(rec, verdict.status, code=verdict.code, error=verdict.message)
        if self._failed_at is not None:
            self._stop(ErrorCode.SIBLING_FAILED)  # fail-fast and a call rejected at planning: nothing starts
        if self._stop_reason is not None:
            return
        if self._planner is not None:
            await self._run_phase(list(range(len(self._records))))
        elif self.executor.schedule == "eager":
            # Plan order, as _rank orders a turn's calls: priority first, then emission order (two
            # sorts, the second stable, whose keys need no tuple per call).
            order = sorted([i for wave in self.plan.waves for i in wave])
            negated = [-rec.call.priority for rec in self._records]
            order.sort(key=negated.__getitem__)
            await self._run_phase(order)
        else:
            for wave in self.plan.waves:
                await self._run_phase(wave)  # a wave is in plan order already

    async def _run_phase(self, indices: Sequence[int]) -> None:
        """Run the calls ``indices`` (in plan order) in one nursery; for an open turn, all that arrive."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            if self._planner is None:
                self._phase_open = len(indices)
                records = self._records
                ready = self._ready
                for i in reversed(indices):  # popped from the end: the first in plan order goes first
                    rec = records[i]
                    rec.active = True
                    if rec.unmet == 0:
                        ready.append(i)
            self._drain()
            slots = self._slots
            while self._phase_open or not self._closed:
                if self._settle:
                    # Let every task woken at this virtual instant act before deciding anything.
                    await trio.testing.wait_all_tasks_blocked()
                if self._failed_at is not None:
                    self._stop(ErrorCode.SIBLING_FAILED)
                    await trio.lowlevel.checkpoint()  # raises Cancelled: the turn is over
                changed = slots.changed
                slots.dispatch()
                if self._free:
                    self._grant_free()
                if self._phase_open or not self._closed:
                    await changed.wait()
        self._nursery = None

    def _rank(self, index: int) -> tuple[int, int, int]:
        return (self._sequence, -self._records[index].call.priority, index)

    # -- synchronous state changes ------------------------------------------------------

    def _drain(self) -> None:
        """Move calls whose predecessors are all done to the capacity queue (or decide them)."""
        if self._draining or self._nursery is None:
            return  # the running loop below picks up what was added; or the phase has not begun
        self._draining = True
        try:
            self._drain_ready()
        finally:
            self._draining = False

    def _drain_ready(self) -> None:
        ready = self._ready
        records = self._records
        free = self._free
        names_for = self._slots.names_for
        incremental = self._planner is not None
        while ready:
            rec = records[ready.pop()]
            if rec.outcome is not None:
                continue
            if self._stop_reason is not None or self._failed_at is not None or self._tearing_down:
                continue  # the turn is ending: _finish gives the rest the turn's cause
            if rec.later is not None or rec.doomed_by is not None:
                self._decide_unrunnable(rec)
                continue
            tool = rec.tool
            assert tool is not None
            if rec.references or rec.has_escapes or tool.context_parameter is not None or tool.side_effect == "write":
                if not self._prepare(rec):
                    continue
            else:
                rec.resolved = rec.arguments  # nothing to substitute, no idempotency key
            if incremental:
                preds = rec.predecessors
                rec.generation = max((records[p].generation or 0) + 1 for p in preds) if preds else 0
            rec.state = _State.WAITING
            names = names_for(tool.resource, sync=not tool.is_async)
            if names:
                self._wait_for_capacity(rec, names)
            else:
                # No limiter applies: nothing to rank against, but still granted only by the
                # coordinator (which whoever made the call ready wakes, once they are done).
                free.append(rec)

    def _decide_unrunnable(self, rec: _Record) -> None:
        """Decide a ready call that must not run: rejected once its predecessors were done, or doomed by one."""
        if rec.later is not None:
            self._decide(rec, rec.later.status, code=rec.later.code, error=rec.later.message)
            return
        assert rec.doomed_by is not None
        dep = self._records[rec.doomed_by]
        assert dep.outcome is not None
        self._decide(
            rec,
            Status.SKIPPED,
            code=ErrorCode.DEPENDENCY_FAILED,
            error=f"not run: it depends on call {dep.call.id!r}, which ended "
            f"{dep.outcome.status.value} ({dep.outcome.error_code})",
        )

    def _prepare(self, rec: _Record) -> bool:
        """Substitute references and check the arguments again; False if rejected."""
        tool = rec.tool
        assert tool is not None and rec.arguments is not None
        if rec.references or rec.has_escapes:
            try:
                arguments = substitute(rec.arguments, self._lookup)
            except ReferenceError_ as exc:
                self._decide(rec, Status.REJECTED, code=ErrorCode.BAD_REFERENCE, error=str(exc))
                return False
            if rec.references and nests_deeper(arguments, MAX_DEPTH):
                self._decide(
                    rec,
                    Status.REJECTED,
                    code=ErrorCode.INVALID_ARGUMENTS,
                    error=f"arguments nest deeper than {MAX_DEPTH} levels once references are substituted",
                )
                return False
            if rec.references:
                errors = [] if tool.accepts(arguments) else validate(tool.parameters, arguments)
                if errors:
                    self._decide(
                        rec,
                        Status.REJECTED,
                        code=ErrorCode.INVALID_ARGUMENTS,
                        error=f"arguments for {tool.name!r} do not fit its schema once references are "
                        "substituted: " + "; ".join(errors[:5]),
                    )
                    return False
            rec.resolved = arguments
        else:
            rec.resolved = rec.arguments
        if tool.context_parameter is not None or tool.side_effect == "write":
            digest = hashlib.sha256(f"{rec.call.id}\0{tool.name}\0{dumps(jsonable(rec.resolved))}".encode())
            rec.idempotency_key = digest.hexdigest()[:32]
        return True

    def _lookup(self, ref: Reference) -> object:
        position = ref.position
        index = position if position is not None else self._index_of()[ref.call_id]
        outcome = self._records[index].outcome
        assert outcome is not None and outcome.ok
        return resolve(ref, outcome.value, jsonable)

    def _wait_for_capacity(self, rec: _Record, names: tuple[str, ...]) -> None:
        rec.waiter = Waiter(
            rank=self._rank(rec.index),
            names=names,
            on_grant=functools.partial(self._granted, rec),
            accepts=self._accepts,
        )
        self._slots.enqueue(rec.waiter)

    def _grant_free(self) -> None:
        """Start the ready calls that need no limiter (the coordinator's job, like `Slots.dispatch`)."""
        free, self._free = self._free, []
        if not self._accepts():
            return
        assert self._nursery is not None and self._clock is not None
        now = self._clock.current_time()
        start_soon = self._nursery.start_soon
        run_call = self._run_call
        for rec in free:
            if rec.state is _State.WAITING and rec.outcome is None:
                rec.state = _State.RUNNING
                rec.started_at = now
                start_soon(run_call, rec, name=f"toolpar:{rec.call.id}")
            else:
                self._granted(rec)  # a retry after its backoff, or decided while it waited

    def _accepts(self) -> bool:
        return (
            self._stop_reason is None
            and self._failed_at is None
            and not self._scope.cancel_called
            and self._nursery is not None
        )

    def _granted(self, rec: _Record) -> None:
        if rec.outcome is not None:
            if rec.waiter is not None:
                self._slots.release(rec.waiter)  # decided while it waited: nothing to run
            return
        if rec.state is _State.BACKOFF:
            assert rec.granted is not None
            rec.state = _State.RUNNING
            rec.granted.set()
            return
        assert self._nursery is not None
        rec.state = _State.RUNNING
        assert self._clock is not None
        rec.started_at = self._clock.current_time()
        self._nursery.start_soon(self._run_call, rec, name=f"toolpar:{rec.call.id}")

    def _decide(
        self,
        rec: _Record,
        status: Status,
        *,
        value: object = None,
        code: ErrorCode | None = None,
        error: str | None = None,
        exception: Exception | None = None,
    ) -> None:
        """Give ``rec`` its one outcome, then let its dependents move on."""
        assert rec.outcome is None, "an outcome is decided once"
        now = self._clock.current_time() if self._clock is not None else 0.0
        started = rec.started_at
        redact = self.executor.redact
        if error is not None and redact is not None and status in (Status.ERROR, Status.TIMEOUT):
            error = redact(error)
        trace = None
        if exception is not None:
            trace = "".join(traceback.format_exception(exception))
            trace = redact(trace) if redact is not None else trace
        call = rec.call
        rec.outcome = make_outcome(
            call.id,
            call.tool,
            status,
            value,
            code,
            error,
            round((now - started) * 1e6) / 1e3 if started is not None else 0.0,  # ms, to the microsecond
            rec.attempts,
            started,
            now,
            rec.generation,
            rec.idempotency_key,
            exception,
            trace,
        )
        if status is Status.CANCELLED:
            self._tearing_down = True
        elif status in _FAILURES and self._policy.cancels_turn(rec.outcome) and self._failed_at is None:
            # Cancel once this instant has settled, so that a sibling finishing at the same
            # virtual instant ends ok whatever order Trio runs the two in (see _run_phase).
            self._failed_at = now
        self._decided(rec, rec.outcome)

    def _succeed(self, rec: _Record, value: object) -> None:
        """`_decide` for a call that returned ``value``, the usual case, without its branches."""
        assert rec.outcome is None, "an outcome is decided once"
        assert self._clock is not None
        now = self._clock.current_time()
        started = rec.started_at
        assert started is not None
        call = rec.call
        rec.outcome = outcome = make_outcome(
            call.id,
            call.tool,
            Status.OK,
            value,
            None,
            None,
            round((now - started) * 1e6) / 1e3,
            rec.attempts,
            started,
            now,
            rec.generation,
            rec.idempotency_key,
            None,
            None,
        )
        self._decided(rec, outcome)

    def _decided(self, rec: _Record, outcome: Outcome) -> None:
        """What follows any outcome: tell the listeners, let the dependents move on."""
        rec.state = _State.DONE
        if rec.active:
            self._phase_open -= 1
        if self._listeners:
            for listener in self._listeners:
                # A stream's consumer may have left early; the turn's result keeps the outcome.
                with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                    listener(outcome)
        if self._successors:
            successors = self._successors.get(rec.index)
            if successors:
                failed = outcome.status is not Status.OK
                index = rec.index
                records = self._records
                for k in successors:
                    succ = records[k]
                    succ.unmet -= 1
                    if failed and index in succ.needs and succ.doomed_by is None:
                        succ.doomed_by = index
                    if succ.unmet == 0 and succ.active:
                        self._ready.append(k)
                if self._ready:
                    self._drain()
        # Wake the coordinator when it has something to do: end the phase, grant the calls this
        # outcome made ready, or stop the turn. (Queued calls and released capacity kick for
        # themselves, in `Slots`.)
        if not self._phase_open or self._free or self._failed_at is not None:
            self._slots.kick()

    def _stop(self, reason: ErrorCode) -> None:
        # A deadline that has passed already decided why the turn ends (`cancel_called` is
        # true from the instant it passes), whatever else asks to stop at the same instant.
        if self._stop_reason is None and self._result is None and not self._scope.cancel_called:
            self._stop_reason = reason
            self._scope.cancel()

    def _cause(self) -> ErrorCode:
        if self._stop_reason is not None:
            return self._stop_reason
        if self._scope.cancel_called:
            return ErrorCode.BUDGET_EXCEEDED
        return ErrorCode.CANCELLED

    def _finish(self, *, interrupted: bool) -> None:
        cause = self._cause() if (interrupted or self._scope.cancel_called or self._stop_reason) else None
        self._free.clear()
        outcomes: list[Outcome] = []
        for rec in self._records:
            if rec.outcome is not None and rec.waiter is None:
                outcomes.append(rec.outcome)  # the usual case: decided, and holding nothing
                continue
            if rec.waiter is not None:
                rec.waiter.withdrawn = True
                self._slots.release(rec.waiter)
            if rec.outcome is None and rec.later is not None and rec.started_at is None:
                self._decide(rec, rec.later.status, code=rec.later.code, error=rec.later.message)
            if rec.outcome is None:
                assert cause is not None, "a turn that ran to its end decided every call"
                started = rec.started_at is not None
                self._decide(
                    rec,
                    Status.CANCELLED if started else Status.SKIPPED,
                    code=cause,
                    error=_CAUSE_TEXT[cause].format(verb="stopped" if started else "not started"),
                )
            assert rec.outcome is not None
            outcomes.append(rec.outcome)
        self._result = TurnResult(
            outcomes=tuple(outcomes),
            started_at=self._started_at,
            finished_at=self._result.finished_at if self._result is not None else trio.current_time(),
            plan=self.plan,
        )

    # -- one call -------------------------------------------------------------------

    async def _run_call(self, rec: _Record) -> None:
        tool = rec.tool
        assert tool is not None and rec.resolved is not None
        # Most tools: async, no timeout, no context. Call them here, without the frames of _attempt.
        plain = tool.is_async and tool.timeout is None and tool.context_parameter is None
        kind: _Attempt
        payload: Any
        try:
            # Granted in the same instant as an outer cancellation: do not run a line of the tool.
            await trio.lowlevel.checkpoint_if_cancelled()
            while True:
                rec.attempts += 1
                if plain:
                    try:
                        payload = await tool.fn(**rec.resolved)
                    except Exception as exc:  # a tool's failure becomes its outcome
                        kind, payload = _Attempt.ERROR, exc
                    else:
                        kind = _Attempt.OK
                else:
                    kind, payload = await self._attempt(rec)
                if rec.waiter is not None:
                    self._slots.release(rec.waiter)
                if kind is _Attempt.OK:
                    self._succeed(rec, payload)
                    return
                retry = tool.retry if tool.retry is not None else self._policy.retry
                delay = self._retry_delay(rec, retry, kind, payload)
                if delay is None:
                    self._fail(rec, kind, payload)
                    return
                rec.state = _State.BACKOFF
                await trio.sleep(delay)
                rec.granted = trio.Event()
                if rec.waiter is None:
                    self._free.append(rec)
                    self._slots.kick()
                else:
                    rec.waiter = Waiter(
                        rank=rec.waiter.rank,
                        names=rec.waiter.names,
                        on_grant=rec.waiter.on_grant,
                        accepts=self._accepts,
                    )
                    self._slots.enqueue(rec.waiter)
                await rec.granted.wait()
        finally:
            if rec.waiter is not None:
                rec.waiter.withdrawn = True  # a retry's pending request for capacity, if any
                self._slots.release(rec.waiter)
            if rec.outcome is None:
                # Cancelled (or a BaseException) is on its way out; record why, then let it go.
                cause = self._cause()
                if rec.attempts == 0:
                    rec.started_at = None  # cancelled before its first attempt began: it never started
                    self._decide(rec, Status.SKIPPED, code=cause, error=_CAUSE_TEXT[cause].format(verb="not started"))
                else:
                    self._decide(rec, Status.CANCELLED, code=cause, error=_CAUSE_TEXT[cause].format(verb="stopped"))

    async def _attempt(self, rec: _Record) -> tuple[_Attempt, Any]:
        tool = rec.tool
        assert tool is not None and rec.resolved is not None
        deadline = trio.current_time() + tool.timeout if tool.timeout is not None else math.inf
        kwargs = dict(rec.resolved)
        if tool.context_parameter is not None:
            assert rec.idempotency_key is not None
            kwargs[tool.context_parameter] = CallContext(
                call_id=rec.call.id,
                tool=tool.name,
                attempt=rec.attempts,
                idempotency_key=rec.idempotency_key,
                deadline=min(deadline, self._scope.deadline),
            )
        if tool.timeout is None:
            return await self._invoke(tool, kwargs)  # only the turn's own scope can cancel it
        with trio.move_on_at(deadline):
            return await self._invoke(tool, kwargs)
        return _Attempt.TIMEOUT, None

    async def _invoke(self, tool: Tool, kwargs: dict[str, Any]) -> tuple[_Attempt, Any]:
        try:
            if tool.is_async:
                value = await tool.fn(**kwargs)
            else:
                value = await trio.to_thread.run_sync(
                    functools.partial(tool.fn, **kwargs),
                    limiter=self._slots.unlimited,
                    abandon_on_cancel=tool.abandon_on_cancel,
                )
        except Exception as exc:  # a tool's failure becomes its outcome
            return _Attempt.ERROR, exc
        return _Attempt.OK, value

    def _retry_delay(self, rec: _Record, retry: Retry | None, kind: _Attempt, payload: Any) -> float | None:
        tool = rec.tool
        assert tool is not None
        if retry is None or rec.attempts >= retry.attempts or not tool.retry_safe:
            return None
        if kind is _Attempt.TIMEOUT and not retry.retry_timeouts:
            return None
        if kind is _Attempt.ERROR and not isinstance(payload, retry.retry_on):
            return None
        if self._retries_left is not None:
            if self._retries_left <= 0:
                return None
            self._retries_left -= 1
        draw = random.Random(f"{self.executor.seed}:{rec.call.id}:{rec.attempts}").random()
        delay = retry.delay(rec.attempts, draw)
        if isinstance(payload, RateLimited) and payload.retry_after is not None:
            delay = max(delay, payload.retry_after)
        if trio.current_time() + delay >= self._scope.deadline:
            return None  # the next attempt could not start within the budget; report this failure now
        return delay

    def _fail(self, rec: _Record, kind: _Attempt, payload: Any) -> None:
        tool = rec.tool
        assert tool is not None
        tries = f" (after {rec.attempts} attempts)" if rec.attempts > 1 else ""
        if kind is _Attempt.TIMEOUT:
            self._decide(
                rec,
                Status.TIMEOUT,
                code=ErrorCode.TIMEOUT,
                error=f"no result within the tool's {tool.timeout:g} s timeout{tries}",
            )
            return
        exc: Exception = payload
        code = ErrorCode.RATE_LIMITED if isinstance(exc, RateLimited) else ErrorCode.TOOL_ERROR
        self._decide(rec, Status.ERROR, code=code, error=f"{type(exc).__name__}: {exc}{tries}", exception=exc)


_FAILURES = frozenset({Status.ERROR, Status.TIMEOUT, Status.REJECTED})

_CAUSE_TEXT: dict[ErrorCode, str] = {
    ErrorCode.SIBLING_FAILED: "{verb}: another call of this turn failed and the policy is fail-fast",
    ErrorCode.BUDGET_EXCEEDED: "{verb}: the turn's time budget ran out",
    ErrorCode.CANCELLED: "{verb}: the turn was cancelled by its caller",
}
