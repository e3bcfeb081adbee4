"""The executor: runs the tool calls of model turns against a registry."""

from __future__ import annotations

import contextlib
import math
import random
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from types import MappingProxyType
from typing import Any, final

import trio

from .._journal._protocol import Journal
from .._journal._records import Decision
from .._planning._plan import Plan
from .._planning._race_groups import RaceRules, check_races
from .._tools._registry import Approver, Registry
from .._values._exceptions import TurnStateError
from .._values._outcome import Outcome, ToolCall
from .._values._validate import check_callable, check_choice, check_type, check_whole_number
from ._capacity import GLOBAL, THREADS, Capacity, CapacityStatistics
from ._exception_groups import collapse
from ._instrument import Instrument, delivery
from ._limits import Rate, SharedLimits
from ._policy import BestEffort, Policy, check_policy
from ._result import TurnResult
from ._settings import Schedule, Settings
from ._turn import Turn
from ._turn_options import USE_EXECUTOR_DEFAULT, UseExecutorDefault, as_calls, check_admit, check_budget

__all__ = ["Executor", "OutcomeStream"]


@final
class Executor:
    """Runs the tool calls of model turns against a `Registry`.

    Args:
        registry: the tools.
        limits: per-resource caps, e.g. ``{"datadog": 3, "jira": 2}``; shared
            by every turn of this executor.
        rates: per-resource token buckets, e.g. ``{"datadog": Rate(per_second=2, burst=2)}``.
        max_concurrency: a cap on all calls at once (``None``: no cap).
        policy: `BestEffort` (default) or `FailFast`, or your own `Policy`.
        budget: default wall-clock budget of a turn, in seconds (``None``: none).
        schedule: ``"waves"`` runs topological generations one child nursery
            after another; ``"eager"`` starts each call as soon as its own
            dependencies are done.
        thread_limit: how many sync tools may run in threads at once.
        redact: applied to every error message and traceback before it reaches
            an outcome (and so the model): strip secrets here.
        seed: seeds retry jitter, which is drawn per (call, attempt) so that
            it does not depend on scheduling order (default: random).
        deterministic: before each grant of capacity, wait until every task
            is blocked (`trio.testing.wait_all_tasks_blocked`). On a
            `trio.testing.MockClock` this makes a turn's timeline the same
            whatever order Trio runs simultaneous wake-ups in; use it in
            tests. Leave it off in production, where unrelated tasks may
            never all be blocked at once.
        shared_limits: limits shared with other processes (`SharedLimits`,
            e.g. `trio_toolpar.redis.RedisLimits`), held around each attempt
            on the resources they govern, after the local ones.
        instruments: observers told of each step of every turn (`Instrument`;
            e.g. `trio_toolpar.otel.OpenTelemetry`); see docs/tracing.md.
        approve: the approver of tools registered with ``approval=True``:
            ``async (call, tool) -> bool | Approval``, a person or a policy
            engine. Gated calls wait for it holding no capacity.
        journal: where turns are recorded (`Journal`): running a turn id again
            resumes it, in any process; see docs/durable.md.
        max_calls_per_turn: the most calls a turn admits (``None``: no
            limit); the others end ``deferred``, telling the model to issue
            them again next turn. A turn's ``admit=`` overrides it.
    """

    def __init__(
        self,
        registry: Registry,
        *,
        limits: Mapping[str, int] | None = None,
        rates: Mapping[str, Rate] | None = None,
        max_concurrency: int | None = None,
        policy: Policy | None = None,
        budget: float | None = None,
        schedule: Schedule = "waves",
        thread_limit: int = 40,
        redact: Callable[[str], str] | None = None,
        seed: int | str | None = None,
        deterministic: bool = False,
        shared_limits: SharedLimits | None = None,
        instruments: Iterable[Instrument] | None = None,
        approve: Approver | None = None,
        journal: Journal | None = None,
        max_calls_per_turn: int | None = None,
    ) -> None:
        check_type("registry", registry, Registry, expected="a trio_toolpar.Registry")
        check_type("limits", limits, Mapping, expected="a mapping of resource names to caps", allow_none=True)
        check_type("rates", rates, Mapping, expected="a mapping of resource names to Rate(...)", allow_none=True)
        check_whole_number("max_concurrency", max_concurrency, allow_none=True)
        check_policy(policy)
        check_choice("schedule", schedule, ("waves", "eager"))
        check_callable("redact", redact, expected="a function (str) -> str", allow_none=True)
        check_type("seed", seed, (int, str), expected="an int or a str", allow_none=True)
        check_type("deterministic", deterministic, bool)
        check_type("shared_limits", shared_limits, SharedLimits, expected="a SharedLimits", allow_none=True)
        check_callable("approve", approve, expected="an async (call, tool) -> bool | Approval", allow_none=True)
        check_type("journal", journal, Journal, expected="a Journal such as SqliteJournal(path)", allow_none=True)
        self.journal = journal
        self.budget = check_budget(budget)
        self.max_calls_per_turn = check_admit("max_calls_per_turn", max_calls_per_turn)
        self._settings = Settings(
            registry=registry,
            policy=policy if policy is not None else BestEffort(),
            schedule=schedule,
            redact=redact,
            seed=seed if seed is not None else random.getrandbits(64),
            deterministic=deterministic,
            shared_limits=shared_limits,
            instruments=delivery(instruments),
            approve=approve,
        )
        self._capacity = Capacity(
            limits or {}, rates=rates or {}, max_concurrency=max_concurrency, thread_limit=thread_limit
        )
        for tool in registry:
            impossible = self._capacity.check_weight(tool.resource, tool.weight, sync=not tool.is_async)
            if impossible is not None:
                raise ValueError(
                    f"tool {tool.name!r} could never start: {impossible}; lower its weight or raise the limit"
                )
        caps = {name: int(limiter.total_tokens) for name, limiter in self._capacity.limiters.items()}
        self._limits = MappingProxyType({k: v for k, v in caps.items() if k not in (GLOBAL, THREADS)})
        self._turns = 0

    def __repr__(self) -> str:
        tools = len(self.registry)
        parts = [f"registry={tools} tool{'' if tools == 1 else 's'}", f"limits={dict(self._limits)}"]
        if self._capacity.limiters.get(GLOBAL) is not None:
            parts.append(f"max_concurrency={int(self._capacity.limiters[GLOBAL].total_tokens)}")
        if self.budget is not None:
            parts.append(f"budget={self.budget} s")
        if self.max_calls_per_turn is not None:
            parts.append(f"max_calls_per_turn={self.max_calls_per_turn}")
        parts += [f"policy={self.policy!r}", f"schedule={self.schedule!r}", f"turns={self._turns}"]
        return f"<Executor {', '.join(parts)}>"

    @property
    def registry(self) -> Registry:
        """The tools."""
        return self._settings.registry

    @property
    def policy(self) -> Policy:
        """What a failure means for the rest of a turn."""
        return self._settings.policy

    @property
    def schedule(self) -> Schedule:
        """``"waves"`` or ``"eager"``."""
        return self._settings.schedule

    @property
    def seed(self) -> int | str:
        """The seed of retry jitter."""
        return self._settings.seed

    @property
    def limits(self) -> Mapping[str, int]:
        """The cap of each capped resource, as given (read-only); what they hold now is in `statistics`."""
        return self._limits

    def statistics(self) -> CapacityStatistics:
        """What every capped or rate-limited resource holds, owes and waits for now."""
        return self._capacity.statistics()

    def plan(
        self,
        calls: Iterable[ToolCall | Mapping[str, Any]],
        *,
        admit: int | UseExecutorDefault | None = USE_EXECUTOR_DEFAULT,
    ) -> Plan:
        """Plan ``calls`` without running them (``admit``: see `turn`)."""
        return Plan.build(self._settings.registry, as_calls(calls), admit=self._admit(admit))

    def _admit(self, admit: int | UseExecutorDefault | None) -> int | None:
        return self.max_calls_per_turn if isinstance(admit, UseExecutorDefault) else check_admit("admit", admit)

    def turn(
        self,
        calls: Iterable[ToolCall | Mapping[str, Any]],
        *,
        budget: float | UseExecutorDefault | None = USE_EXECUTOR_DEFAULT,
        races: Mapping[str, RaceRules] | None = None,
        turn_id: str | None = None,
        admit: int | UseExecutorDefault | None = USE_EXECUTOR_DEFAULT,
    ) -> Turn:
        """A `Turn` for ``calls``, planned now and run by ``await turn.run()``.

        Holding the turn before running it lets the caller read the outcomes
        even when the run is cancelled from outside. ``races`` gives the rules
        (`RaceRules`) of race groups by name; a group without rules is won by its
        first member to end ``ok``. ``admit`` is the most calls the turn admits
        (default: ``max_calls_per_turn``; ``None``: no limit); the others end
        ``deferred`` (see "Turn admission" in docs/semantics.md). ``turn_id``
        names the turn (default: a new id); with a journal, a turn id it holds
        resumes that turn.
        """
        return self._new_turn(self.plan(calls, admit=admit), budget, races=races, turn_id=turn_id)

    def _new_turn(
        self,
        plan: Plan | None,
        budget: float | UseExecutorDefault | None,
        on_outcome: Callable[[Outcome], object] | None = None,
        *,
        races: Mapping[str, RaceRules] | None = None,
        turn_id: str | None = None,
        admit: int | None = None,
    ) -> Turn:
        chosen = self.budget if isinstance(budget, UseExecutorDefault) else check_budget(budget)
        races = check_races(races)
        check_type("turn_id", turn_id, str, allow_none=True)
        self._turns += 1
        return Turn._create(
            self._settings,
            self._capacity,
            plan,
            budget=chosen,
            sequence=self._turns,
            on_outcome=on_outcome,
            races=races,
            turn_id=turn_id if turn_id is not None else uuid.uuid4().hex,
            journal=self.journal,
            admit=admit,
        )

    async def run(
        self,
        calls: Iterable[ToolCall | Mapping[str, Any]],
        *,
        budget: float | UseExecutorDefault | None = USE_EXECUTOR_DEFAULT,
        races: Mapping[str, RaceRules] | None = None,
        turn_id: str | None = None,
        admit: int | UseExecutorDefault | None = USE_EXECUTOR_DEFAULT,
    ) -> TurnResult:
        """Run one model turn's calls: one outcome per call, in input order (``races``, ``turn_id``, ``admit``:
        see `turn`).

        Raises:
            TurnBusy: the journal's turn ``turn_id`` is being run elsewhere.
            TurnMismatch: the journal holds ``turn_id`` with other calls.
        """
        return await self.turn(calls, budget=budget, races=races, turn_id=turn_id, admit=admit).run()

    async def decide(self, turn_id: str, call_id: str, *, approved: bool, reason: str | None = None) -> None:
        """Record a person's decision for a call that awaits one (`TurnResult.awaiting`); from any process.

        The next run of ``turn_id`` runs an approved call; a refused one is ``rejected`` (``not_approved``).

        Raises:
            TurnStateError: the executor has no journal.
            KeyError: the journal holds no such turn, or the turn no such call.
        """
        check_type("turn_id", turn_id, str)
        check_type("call_id", call_id, str)
        check_type("approved", approved, bool)
        check_type("reason", reason, str, allow_none=True)
        if self.journal is None:
            raise TurnStateError("decisions are recorded in a journal: pass Executor(journal=...)")
        await self.journal.decide(turn_id, Decision(call_id=call_id, approved=approved, reason=reason))

    @asynccontextmanager
    async def open_turn(
        self,
        *,
        budget: float | UseExecutorDefault | None = USE_EXECUTOR_DEFAULT,
        races: Mapping[str, RaceRules] | None = None,
        admit: int | UseExecutorDefault | None = USE_EXECUTOR_DEFAULT,
    ) -> AsyncIterator[Turn]:
        """An open turn: submit calls while it runs, for tool calls that arrive one by one.

        Examples:
            ```python
            async with executor.open_turn() as turn:
                turn.submit(call)      # starts as soon as its dependencies and capacity allow
                ...
            turn.result                # every outcome, once the block has exited
            ```

        Leaving the block closes the input and waits for the submitted calls;
        leaving it with an exception cancels them. The schedule is always
        eager, and planning differs from a batch where calls are already
        running (see "Streams and open turns" in docs/semantics.md); ``admit``
        admits calls in the order they are submitted.

        Raises:
            TurnStateError: the executor has a journal: open turns are not journaled (see docs/durable.md).
        """
        if self.journal is not None:
            raise TurnStateError(
                "open turns are not journaled, and this executor has a journal: a resume checks a turn's calls "
                "against the journal's, which an open turn does not know when it begins. Run the calls as a batch "
                "(executor.run(calls, turn_id=...), or executor.stream(calls, turn_id=...) to get each outcome as "
                "it is decided), or open the turn on an executor without a journal"
            )
        turn = self._new_turn(None, budget, races=races, admit=self._admit(admit))
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
        except BaseExceptionGroup as group:  # a nursery's wrapping, collapsed: see collapse
            raise collapse(group) from None

    @asynccontextmanager
    async def stream(
        self,
        calls: Iterable[ToolCall | Mapping[str, Any]],
        *,
        budget: float | UseExecutorDefault | None = USE_EXECUTOR_DEFAULT,
        races: Mapping[str, RaceRules] | None = None,
        turn_id: str | None = None,
        admit: int | UseExecutorDefault | None = USE_EXECUTOR_DEFAULT,
    ) -> AsyncIterator[OutcomeStream]:
        """Run a turn and yield its outcomes as each one is decided.

        Examples:
            ```python
            async with executor.stream(calls) as outcomes:
                async for outcome in outcomes:
                    ...
            ```

        Leaving the block early cancels what is still running (those calls
        end ``cancelled`` or ``skipped`` with code ``cancelled``);
        ``outcomes.turn.result`` holds every outcome afterwards. ``races``,
        ``turn_id`` and ``admit`` are as for `turn`: with a journal, a turn id
        it holds resumes that turn, and its recorded outcomes come first.

        Raises:
            TurnBusy: the journal's turn ``turn_id`` is being run elsewhere (when the block ends).
            TurnMismatch: the journal holds ``turn_id`` with other calls (when the block ends).
        """
        send, receive = trio.open_memory_channel[Outcome](math.inf)

        def deliver(outcome: Outcome) -> None:
            # A consumer may have left early; the turn's result keeps the outcome.
            with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                send.send_nowait(outcome)

        plan = self.plan(calls, admit=admit)
        turn = self._new_turn(plan, budget, on_outcome=deliver, races=races, turn_id=turn_id)

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
        except BaseExceptionGroup as group:  # a nursery's wrapping, collapsed: see collapse
            raise collapse(group) from None


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
