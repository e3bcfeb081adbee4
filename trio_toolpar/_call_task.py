"""The task of one granted call: its attempts, its capacity between them, and what it reports."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import trio

from ._attempts import Kind, jitter_draw, run_attempts
from ._call_run import CallRun, CallState
from ._capacity import Capacity
from ._decide import Reason, failure_reason, stop_reason
from ._exceptions import RateLimited
from ._instrument import Emitter
from ._outcome import ErrorCode
from ._registry import CallContext, Tool
from ._retries import RetryGrants
from ._settings import Settings

__all__ = ["CallTask", "Report"]

Report = Callable[[CallRun, "Reason | None", object, "Exception | None"], None]
"""How a call ended: ``(run, reason, value, exception)``; ``reason`` is ``None`` when it returned ``value``."""


class CallTask:
    """Runs one call that was granted capacity, and reports how it ended.

    Its owner hands in what the task needs: the call's run state, the
    settings, the capacity, the turn's retry grants, and callbacks to report
    an ending, to queue the call again for a retry, and to learn why the turn
    stops if the task is cancelled; and the turn's deadline, past which no
    retry is planned.
    """

    __slots__ = (
        "_capacity",
        "_cause",
        "_deadline",
        "_emit",
        "_report",
        "_requeue",
        "_retries",
        "_run",
        "_settings",
        "_tool",
    )

    def __init__(
        self,
        run: CallRun,
        settings: Settings,
        capacity: Capacity,
        retries: RetryGrants,
        *,
        report: Report,
        requeue: Callable[[CallRun], None],
        cause: Callable[[], ErrorCode],
        deadline: float,
        emit: Emitter | None = None,
    ) -> None:
        assert run.planned is not None and run.planned.tool is not None
        self._run = run
        self._tool: Tool = run.planned.tool
        self._settings = settings
        self._capacity = capacity
        self._retries = retries
        self._report = report
        self._requeue = requeue
        self._cause = cause
        self._deadline = deadline
        self._emit = emit

    async def run(self) -> None:
        """Run the call's attempts; always report exactly one ending, even when cancelled."""
        run, tool = self._run, self._tool
        retry = (tool.retry if tool.retry is not None else self._settings.policy.retry) if tool.retry_safe else None
        try:
            # Granted in the same instant as an outer cancellation: do not run a line of the tool.
            await trio.lowlevel.checkpoint_if_cancelled()
            tried = await run_attempts(
                self._attempt, timeout=tool.timeout, retry=retry, draw=self._draw, deadline=self._deadline, between=self
            )
            if tried.kind is Kind.OK:
                self._report(run, None, tried.value, None)
            else:
                self._report(run, failure_reason(tried, timeout=tool.timeout), None, tried.exception)
        finally:
            if run.waiter is not None:
                run.waiter.withdrawn = True  # a retry's pending request for capacity, if any
                self._capacity.release(run.waiter)
            if run.outcome is None:
                # Cancelled (or another BaseException) is on its way out: record why, then let it go.
                if run.attempts == 0:
                    run.started_at = None  # cancelled before its first attempt began: it never started
                self._report(run, stop_reason(self._cause(), started=run.attempts > 0), None, None)

    def _draw(self, attempt: int) -> float:
        return jitter_draw(self._settings.seed, self._run.call.id, attempt)

    def _attempt(self, number: int) -> Awaitable[Any]:
        """Start attempt ``number``: the tool's coroutine, or its thread, under the shared limits if any."""
        run, tool = self._run, self._tool
        run.attempts = number
        if self._emit is not None:
            self._emit.attempt_started(run, number)
        kwargs = run.resolved
        assert kwargs is not None
        if tool.context_parameter is not None:
            assert run.idempotency_key is not None
            context = CallContext(
                call_id=run.call.id,
                tool=tool.name,
                attempt=number,
                idempotency_key=run.idempotency_key,
                deadline=trio.current_effective_deadline(),  # this attempt's timeout, the budget, the caller's
            )
            kwargs = {**kwargs, tool.context_parameter: context}
        if tool.is_async:
            start: Callable[[], Awaitable[Any]] = functools.partial(tool.fn, **kwargs)
        else:
            start = functools.partial(
                trio.to_thread.run_sync,
                functools.partial(tool.fn, **kwargs),
                limiter=self._capacity.unlimited,  # the thread limiter is already held, in plan order
                abandon_on_cancel=tool.abandon_on_cancel,
            )
        shared = self._settings.shared_limits
        if shared is not None and tool.resource is not None and shared.governs(tool.resource):
            return _holding(shared.hold(tool.resource, weight=tool.weight, call_id=run.call.id), start)
        return start()

    # -- Between (see `run_attempts`) ---------------------------------------------------

    def ended(self, attempt: int, kind: Kind, exception: Exception | None) -> None:
        """Give back the attempt's capacity; a rate-limited resource pauses, a success lets it recover."""
        run, resource = self._run, self._tool.resource
        if self._emit is not None:
            self._emit.attempt_ended(run, attempt, kind, exception)
        if run.waiter is not None:
            self._capacity.release(run.waiter)
        if resource is None:
            return
        if isinstance(exception, RateLimited):
            self._capacity.pause(resource, exception.retry_after or 0.0)
            if self._emit is not None:
                self._emit.paused(run, exception.retry_after or 0.0)
        elif kind is Kind.OK:
            self._capacity.recovered(resource)

    async def again(self, attempt: int, delay: float) -> bool:
        """Ask for one of the turn's retries; if granted, back off holding nothing, then queue again."""
        run = self._run
        assert run.waiter is not None
        if not await self._retries.ask(run.waiter.rank):
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
