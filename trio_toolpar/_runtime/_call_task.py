"""The task of each granted call of a turn: its attempts, its capacity between them, and what it reports."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

import trio

from .._tools._hedge import hedged
from .._tools._registry import CallContext, Tool
from ._attempts import Kind, jitter_draw, run_attempts
from ._call_run import CallRun, CallState
from ._capacity import Capacity
from ._decide import Decide, failure_reason, stop_reason
from ._instrument import Emitter
from ._retries import RetryGrants
from ._settings import Settings
from ._stopping import Stopping
from ._tool_errors import Failure

__all__ = ["CallTasks"]


class CallTasks:
    """Runs each call of one turn that was granted capacity (`run` is its task), and reports how it ended.

    One per turn, the `run_attempts` runner of all its calls. Its owner hands
    in what the tasks share: the settings, the capacity, the turn's retry
    grants and stopping state (its deadline, past which no retry is planned,
    and why it stops if a task is cancelled), and callbacks to report an
    ending, to queue a call again for a retry, and to rank a call.
    """

    __slots__ = ("_capacity", "_emit", "_rank", "_report", "_requeue", "_settings", "_stopping", "retries")

    def __init__(
        self,
        settings: Settings,
        capacity: Capacity,
        retries: RetryGrants,
        stopping: Stopping,
        *,
        report: Decide,
        requeue: Callable[[CallRun], None],
        rank: Callable[[int], tuple[int, int, int]],
        emit: Emitter | None = None,
    ) -> None:
        self._settings = settings
        self._capacity = capacity
        self.retries = retries
        """The turn's retry grants, which the coordinator answers."""
        self._stopping = stopping
        self._report = report
        self._requeue = requeue
        self._rank = rank
        self._emit = emit

    async def run(self, run: CallRun) -> None:
        """Run the attempts of ``run``; always report exactly one ending, even when cancelled."""
        assert run.planned is not None and run.planned.tool is not None
        tool = run.planned.tool
        retry = (tool.retry if tool.retry is not None else self._settings.policy.retry) if tool.retry_safe else None
        try:
            # Granted in the same instant as an outer cancellation: do not run a line of the tool.
            await trio.lowlevel.checkpoint_if_cancelled()
            tried = await run_attempts(self, run, timeout=tool.timeout, retry=retry, deadline=self._stopping.deadline)
            if run.outcome is not None:
                return  # it lost its race at this instant, and was decided then
            if tried.kind is Kind.OK:
                self._report(run, None, tried.value, None)
            else:
                self._report(run, failure_reason(tried, timeout=tool.timeout), None, tried.exception)
        finally:
            if run.waiter is not None:
                run.waiter.withdrawn = True  # a retry's pending request for capacity, if any
                self._capacity.release(run.waiter)
                run.waiter = None  # holds nothing, waits for nothing: the turn's end has nothing to give back
            if run.outcome is None:
                # Cancelled (or another BaseException) is on its way out: record why, then let it go.
                if run.attempts == 0:
                    run.started_at = None  # cancelled before its first attempt began: it never started
                self._report(run, stop_reason(self._stopping.cause(), started=run.attempts > 0), None, None)

    async def run_alone(self, run: CallRun) -> None:
        """`run`, in a scope of the call's own: a race member's, cancelled alone if it loses its race."""
        try:
            with trio.CancelScope() as run.scope:
                await self.run(run)
        finally:
            run.scope = None

    # -- Runner (see `run_attempts`) ---------------------------------------------------

    def start(self, run: CallRun, attempt: int) -> Awaitable[Any]:
        """Start attempt ``attempt``: the tool's coroutine, or its thread, under the shared limits if any."""
        assert run.planned is not None and run.planned.tool is not None and run.resolved is not None
        tool = run.planned.tool
        run.attempts = attempt
        if self._emit is not None:
            self._emit.attempt_started(run, attempt)
        kwargs = run.resolved
        if tool.context_parameter is not None:
            assert run.idempotency_key is not None
            context = CallContext(
                call_id=run.call.id,
                tool=tool.name,
                attempt=attempt,
                idempotency_key=run.idempotency_key,
                deadline=trio.current_effective_deadline(),  # this attempt's timeout, the budget, the caller's
            )
            kwargs = {**kwargs, tool.context_parameter: context}
        shared = self._settings.shared_limits
        governed = shared is not None and tool.resource is not None and shared.governs(tool.resource)
        if tool.hedge is None and not governed:
            return self._invoke(tool, kwargs)  # the usual call: nothing around it
        begin: Callable[[], Awaitable[Any]] = functools.partial(self._invoke, tool, kwargs)
        if tool.hedge is not None:
            begin = functools.partial(hedged, begin, hedge=tool.hedge)
        if governed:
            assert shared is not None and tool.resource is not None
            return _holding(shared.hold(tool.resource, weight=tool.weight, call_id=run.call.id), begin)
        return begin()

    def _invoke(self, tool: Tool, kwargs: Mapping[str, Any]) -> Awaitable[Any]:
        """The tool called once: its coroutine, or a thread that runs it."""
        if tool.is_async:
            return tool.fn(**kwargs)  # type: ignore[no-any-return]
        return trio.to_thread.run_sync(
            functools.partial(tool.fn, **kwargs),
            limiter=self._capacity.unlimited,  # the thread limiter is already held, in plan order
            abandon_on_cancel=tool.abandon_on_cancel,
        )

    def draw(self, run: CallRun, attempt: int) -> float:
        """The seeded jitter draw of ``run``'s backoff after ``attempt``."""
        return jitter_draw(self._settings.seed, run.call.id, attempt)

    def ended(self, run: CallRun, attempt: int, kind: Kind, failure: Failure | None) -> None:
        """Give back the attempt's capacity; pause or recover its resource.

        A rate-limited resource pauses for the longest ``retry_after`` of the
        failure's errors, a success lets it recover.
        """
        if self._emit is not None:
            self._emit.attempt_ended(run, attempt, kind, failure.exception if failure is not None else None)
        if run.waiter is not None:
            self._capacity.release(run.waiter)
            run.waiter = None  # holds nothing until a retry queues again
        assert run.planned is not None and run.planned.tool is not None
        resource = run.planned.tool.resource
        if resource is None:
            return
        if failure is not None and failure.rate_limited:
            seconds = failure.retry_after or 0.0
            self._capacity.pause(resource, seconds)
            if self._emit is not None:
                self._emit.paused(run, seconds)
        elif kind is Kind.OK:
            self._capacity.recovered(resource)

    async def again(self, run: CallRun, attempt: int, delay: float) -> bool:
        """Ask for one of the turn's retries; if granted, back off holding nothing, then queue again."""
        if not await self.retries.ask(self._rank(run.index)):
            return False
        run.move(CallState.BACKOFF)
        if self._emit is not None:
            self._emit.retry(run, attempt, delay)
        await trio.sleep(delay)
        run.granted = trio.Event()
        self._requeue(run)
        await run.granted.wait()
        return True


async def _holding(limit: AbstractAsyncContextManager[None], start: Callable[[], Awaitable[Any]]) -> Any:
    async with limit:
        return await start()
