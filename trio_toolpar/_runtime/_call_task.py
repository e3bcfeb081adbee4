"""The task of each granted call of a turn: its attempts, its capacity between them, and what it reports."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, cast, final

import trio

from .._tools._context import CallContext
from .._tools._hedge import hedged
from .._tools._registry import Tool
from ._attempts import Kind, Silence, jitter_draw, run_attempts
from ._call_run import CallRun, CallState
from ._capacity import Capacity, Waiter
from ._decide import Decide, failure_reason
from ._instrument import Emitter
from ._journaling import Journaling
from ._progress import AttemptProgress, reporting
from ._retry_grants import RetryGrants
from ._settings import Settings
from ._stopping import Stopping
from ._tool_errors import Failure

__all__ = ["CallTasks"]


@final
class _Threads:
    """The threads of one attempt of a sync tool that abandons them when cancelled; Trio's limiter for them.

    Trio calls `release_on_behalf_of` once a thread has really returned, even
    one it abandoned. When the attempt is over (`end`) while one of its
    threads runs on, the attempt's capacity stays held until the last one
    returns: until then the resource's slot and the thread's are in use.
    """

    __slots__ = ("_kept", "_release", "abandoned", "ended", "running")

    def __init__(self, release: Callable[[Waiter], None]) -> None:
        self._release = release
        self.running = 0
        self.ended = False
        self.abandoned = False
        """The attempt ended while one of them ran: it may still finish, unobserved."""
        self._kept: Waiter | None = None

    async def acquire_on_behalf_of(self, borrower: object) -> None:
        self.running += 1  # the capacity itself was granted already, in plan order
        await trio.lowlevel.cancel_shielded_checkpoint()  # as trio.CapacityLimiter does

    def release_on_behalf_of(self, borrower: object) -> None:
        self.running -= 1
        if not self.running and self._kept is not None:
            kept, self._kept = self._kept, None
            self._release(kept)

    def end(self, waiter: Waiter | None) -> bool:
        """The attempt is over: whether a thread runs on, which then keeps ``waiter``'s capacity.

        Only the first call counts: a later ``waiter`` is the next attempt's.
        """
        if self.ended:
            return False
        self.ended = True
        if not self.running:
            return False
        self._kept, self.abandoned = waiter, True
        return True


class CallTasks:
    """Runs each call of one turn that was granted capacity (`run` is its task), and reports how it ended.

    One per turn, the `run_attempts` runner of all its calls. Its owner hands
    in what the tasks share: the settings, the capacity, the turn's retry
    grants and stopping state (its deadline, past which no retry is planned,
    and why it stops if a task is cancelled), the turn's number (its calls'
    rank), and callbacks to report an ending and to queue a call again for a retry.
    """

    __slots__ = (
        "_capacity",
        "_emit",
        "_journal",
        "_report",
        "_requeue",
        "_retrying",
        "_settings",
        "_stopping",
        "_threads",
        "_turn",
        "retries",
    )

    def __init__(
        self,
        settings: Settings,
        capacity: Capacity,
        retries: RetryGrants,
        stopping: Stopping,
        *,
        report: Decide,
        requeue: Callable[[CallRun], None],
        turn: int,
        emit: Emitter | None = None,
        journal: Journaling | None = None,
    ) -> None:
        self._settings = settings
        self._capacity = capacity
        self.retries = retries
        """The turn's retry grants, which the coordinator answers."""
        self._stopping = stopping
        self._report = report
        self._requeue = requeue
        self._retrying: dict[int, trio.Event] = {}
        """The calls whose retry waits for capacity (by index): each event is set when it is granted."""
        self._turn = turn
        self._emit = emit
        self._journal = journal
        self._threads: dict[int, _Threads] = {}
        """The last attempt's threads of each running call whose sync tool abandons them (by index)."""

    async def run(self, run: CallRun) -> None:
        """Run the attempts of ``run``; always report exactly one ending, even when cancelled."""
        assert run.planned is not None and run.planned.tool is not None
        tool = run.planned.tool
        retry = tool.retry if tool.retry is not None else self._settings.policy.retry
        if retry is not None and not tool.retry_safe:
            retry = None  # running it twice might do its effect twice
        reported = False
        try:
            # Granted in the same instant as an outer cancellation: do not run a line of the tool.
            await trio.lowlevel.checkpoint_if_cancelled()
            if self._journal is not None:
                refused = await self._journal.started(run, tool)  # written ahead if it is not retry-safe
                if refused is not None:
                    run.started_at = None  # it never started
                    self._report(run, refused, None, None)
                    reported = True
                    return
            tried = await run_attempts(
                self,
                run,
                timeout=tool.timeout,
                retry=retry,
                deadline=self._stopping.deadline,
                silence=tool.progress_timeout,
            )
            if run.outcome is not None:
                return  # it lost its race at this instant, and was decided then
            if tried.kind is Kind.OK:
                self._report(run, None, tried.value, None)
            else:
                threads = self._threads.get(run.index) if self._threads else None
                abandoned = threads is not None and threads.abandoned
                reason = failure_reason(tried, timeout=tool.timeout, abandoned=abandoned)
                self._report(run, reason, None, tried.exception)
            reported = True
        finally:
            if run.waiter is not None:
                run.waiter.withdrawn = True  # a retry's pending request for capacity, if any
                self._give_back(run)  # holds nothing, waits for nothing: the turn's end has nothing to give back
            if self._threads:
                self._threads.pop(run.index, None)
            if not reported and run.outcome is None:
                # Cancelled (or another BaseException) is on its way out: record why, then let it go.
                if run.attempts == 0:
                    run.started_at = None  # cancelled before its first attempt began: it never started
                self._report(run, self._stopping.reason(run.attempts > 0), None, None)

    def task(self, run: CallRun) -> Callable[[CallRun], Awaitable[None]]:
        """The task to start for ``run``: `run_alone` if it may be stopped alone, else `run`."""
        return self.run_alone if run.call.race is not None or self._settings.calls_alone else self.run

    async def run_alone(self, run: CallRun) -> None:
        """`run`, in a scope of the call's own, cancelled alone if it loses its race or a sibling's
        failure reaches it (a scoped policy, see `Settings.calls_alone`)."""
        try:
            with trio.CancelScope() as run.scope:
                await self.run(run)
        finally:
            run.scope = None

    # -- Runner (see `run_attempts`) ---------------------------------------------------

    def start(self, run: CallRun, attempt: int, silence: Silence | None) -> Awaitable[Any]:
        """Start attempt ``attempt``: the tool's coroutine, or its thread, under the shared limits if any."""
        assert run.planned is not None and run.planned.tool is not None and run.resolved is not None
        tool = run.planned.tool
        run.attempts = attempt
        if self._emit is not None:
            self._emit.attempt_started(run, attempt)
        kwargs = run.resolved
        threads = None
        if tool.abandon_on_cancel and not tool.is_async:
            threads = self._threads[run.index] = _Threads(self._capacity.release)
        progress = None
        if tool.context_parameter is not None:
            kwargs, progress = self._with_context(run, attempt, tool.context_parameter, silence)
        shared = self._settings.shared_limits
        governed = shared is not None and tool.resource is not None and shared.governs(tool.resource)
        if tool.hedge is None and not governed and progress is None:
            return self._invoke(tool, kwargs, threads)  # the usual call: nothing around it
        begin: Callable[[], Awaitable[Any]] = functools.partial(self._invoke, tool, kwargs, threads)
        if tool.hedge is not None:
            begin = functools.partial(hedged, begin, hedge=tool.hedge)
        if governed:
            assert shared is not None and tool.resource is not None
            begin = functools.partial(
                _holding, shared.hold(tool.resource, weight=tool.weight, call_id=run.call.id), begin
            )
        return begin() if progress is None else reporting(progress, begin())

    def _with_context(
        self, run: CallRun, attempt: int, parameter: str, silence: Silence | None
    ) -> tuple[Mapping[str, Any], AttemptProgress | None]:
        """The arguments with the attempt's `CallContext`, and where its progress goes (if anywhere)."""
        assert run.resolved is not None and run.idempotency_key is not None
        progress = None
        if self._emit is not None or silence is not None:
            progress = AttemptProgress(run, attempt, emit=self._emit, silence=silence)
        context = CallContext(
            call_id=run.call.id,
            tool=run.call.tool,
            attempt=attempt,
            idempotency_key=run.idempotency_key,
            deadline=trio.current_effective_deadline(),  # this attempt's timeouts, the budget, the caller's
            report=progress,
        )
        return {**run.resolved, parameter: context}, progress

    def _invoke(self, tool: Tool, kwargs: Mapping[str, Any], threads: _Threads | None) -> Awaitable[Any]:
        """The tool called once: its coroutine, or a thread that runs it (counted in ``threads`` if abandoned)."""
        if tool.is_async:
            return tool.fn(**kwargs)  # type: ignore[no-any-return]
        return trio.to_thread.run_sync(
            functools.partial(tool.fn, **kwargs),
            # The thread limiter is already held, in plan order; Trio takes any object with the
            # limiter's two methods, and tells ours when an abandoned thread has really returned.
            limiter=self._capacity.unlimited if threads is None else cast("trio.CapacityLimiter", threads),
            abandon_on_cancel=tool.abandon_on_cancel,
        )

    def draw(self, run: CallRun, attempt: int) -> float:
        """The seeded jitter draw of ``run``'s backoff after ``attempt``."""
        return jitter_draw(self._settings.seed, run.call.id, attempt)

    def ended(self, run: CallRun, attempt: int, kind: Kind, failure: Failure | None) -> None:
        """Give back the attempt's capacity (or keep it for a thread that runs on); pause or recover its resource.

        A rate-limited resource pauses for the longest ``retry_after`` of the
        failure's errors, a success lets it recover.
        """
        if self._emit is not None:
            self._emit.attempt_ended(run, attempt, kind, failure.exception if failure is not None else None)
        if run.waiter is not None:
            self._give_back(run)  # holds nothing until a retry queues again
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

    def _give_back(self, run: CallRun) -> None:
        """Give back the capacity ``run`` holds, unless its attempt's abandoned thread runs on with it."""
        waiter, run.waiter = run.waiter, None
        threads = self._threads.get(run.index) if self._threads else None
        if (threads is None or not threads.end(waiter)) and waiter is not None:
            self._capacity.release(waiter)

    async def again(self, run: CallRun, attempt: int, delay: float) -> bool:
        """Ask for one of the turn's retries; if granted, back off holding nothing, then queue again."""
        if not await self.retries.ask(run.rank(self._turn)):
            return False
        run.move(CallState.BACKOFF)
        if self._emit is not None:
            self._emit.retry(run, attempt, delay)
        await trio.sleep(delay)
        granted = self._retrying[run.index] = trio.Event()
        self._requeue(run)
        await granted.wait()
        return True

    def granted_again(self, run: CallRun) -> None:
        """``run``'s retry, queued again by `again`, holds its capacity now: let its task run it."""
        self._retrying.pop(run.index).set()


async def _holding(limit: AbstractAsyncContextManager[None], start: Callable[[], Awaitable[Any]]) -> Any:
    async with limit:
        return await start()
