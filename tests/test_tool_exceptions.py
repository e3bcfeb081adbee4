"""What a tool raises, as Trio writes it: exception groups, sync tools past their timeout, leaked ``Cancelled``.

A tool that opens a nursery raises its tasks' errors in an exception group;
the errors inside decide the call's outcome as if the tool had raised them
(retries, the ``retry_after`` floor, the resource's pause, the code), and the
message names them. A sync tool's timeout is kept: its outcome is never
``ok`` once the timeout passed. A ``trio.Cancelled`` that no scope around the
tool asked for is the tool's error, not its caller's cancellation.

Times are virtual (``MockClock``, autojump) and exact. Sync tools run in real
threads, which block on `threading.Event`s that Trio tasks set at exact
virtual times: while a thread runs, the clock jumps only to deadlines that
are due anyway.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

import pytest
import trio
import trio.testing
from hypothesis import assume, given
from hypothesis import strategies as st

from trio_toolpar import (
    CallContext,
    ErrorCode,
    Executor,
    Hedge,
    RateLimited,
    Registry,
    Retry,
    Retryable,
    Status,
    ToolCall,
)
from trio_toolpar.events import AttemptStarted, Event
from trio_toolpar.testing import hostile_exceptions

_RETRY_ONCE = Retry(attempts=2, backoff=1.0, jitter=0.0)


async def _raise_in_a_task(error: BaseException, *, after: float = 0.0) -> None:
    """Raise ``error`` from a task of a nursery of the caller's, ``after`` seconds in."""

    async def task() -> None:
        await trio.sleep(after)
        raise error

    async with trio.open_nursery() as nursery:
        nursery.start_soon(task)


# -- exception groups: the errors inside decide ---------------------------------------------------


async def test_a_retryable_raised_in_a_task_of_the_tools_nursery_is_retried(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry = Registry()
    starts: list[float] = []

    @registry.tool(side_effect="read", retry=_RETRY_ONCE)
    async def fan_out(ctx: CallContext) -> str:
        starts.append(trio.current_time())
        if ctx.attempt == 1:
            await _raise_in_a_task(Retryable("upstream hiccup"), after=1.0)
        return "fetched"

    start = trio.current_time()
    (o,) = await Executor(registry).run([ToolCall(id="f", tool="fan_out")])
    assert (o.status, o.value, o.attempts) == (Status.OK, "fetched", 2)
    assert [t - start for t in starts] == [0.0, 2.0]  # failed at 1, backoff 1


async def test_a_rate_limit_raised_in_a_task_pauses_its_resource_and_floors_the_retry(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry = Registry(default_side_effect="read")
    starts: list[float] = []

    @registry.tool(resource="api", retry=_RETRY_ONCE)
    async def search(ctx: CallContext) -> str:
        starts.append(trio.current_time())
        if ctx.attempt == 1:
            await _raise_in_a_task(RateLimited("slow down", retry_after=5.0), after=1.0)
        return "found"

    @registry.tool(resource="api")
    async def lookup() -> str:
        return "looked up"

    @registry.tool
    async def prepare() -> str:
        await trio.sleep(2.0)
        return "ready"

    start = trio.current_time()
    s, p, b = await Executor(registry).run(
        [
            ToolCall(id="s", tool="search"),
            ToolCall(id="p", tool="prepare"),
            ToolCall(id="b", tool="lookup", after=("p",)),  # ready at 2, while "api" is paused
        ]
    )
    assert (s.status, s.attempts, p.status, b.status) == (Status.OK, 2, Status.OK, Status.OK)
    assert [t - start for t in starts] == [0.0, 6.0]  # refused at 1: the retry waits 5 s, not the backoff's 1
    assert b.started_at == start + 6.0  # the pause held "api" until 6


async def test_a_rate_limit_in_a_task_ends_rate_limited_and_names_the_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry = Registry(default_side_effect="read")

    @registry.tool(resource="api")
    async def search() -> str:
        await _raise_in_a_task(RateLimited("slow down", retry_after=5.0))
        return "found"

    executor = Executor(registry)
    start = trio.current_time()
    (o,) = await executor.run([ToolCall(id="s", tool="search")])
    assert (o.status, o.error_code) == (Status.ERROR, ErrorCode.RATE_LIMITED)
    assert o.error == "RateLimited: slow down (raised in a task of the tool's nursery)"
    assert executor.statistics().resources["api"].paused_until == start + 5.0
    # The outcome keeps what the tool raised: the group, with its leaf's traceback.
    assert isinstance(o.exception, ExceptionGroup)
    assert o.traceback is not None and "RateLimited: slow down" in o.traceback


async def test_one_error_in_a_task_is_named_with_where_it_was_raised(autojump_clock: trio.testing.MockClock) -> None:
    registry = Registry(default_side_effect="read")

    @registry.tool
    async def parse() -> None:
        await _raise_in_a_task(ValueError("bad input"))

    @registry.tool
    async def batch() -> None:
        raise ExceptionGroup("batch failed", [ValueError("bad input")])

    p, b = await Executor(registry).run([ToolCall(id="p", tool="parse"), ToolCall(id="b", tool="batch")])
    assert (p.status, p.error_code) == (Status.ERROR, ErrorCode.TOOL_ERROR)
    assert p.error == "ValueError: bad input (raised in a task of the tool's nursery)"
    assert b.error == "ValueError: bad input (in the tool's exception group 'batch failed')"


async def test_several_errors_in_the_tools_tasks_are_named_in_the_order_they_were_raised(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry = Registry(default_side_effect="read")

    @registry.tool
    async def two() -> None:
        async def late() -> None:
            with trio.CancelScope(shield=True):  # finishes its step, and fails, after the first error
                await trio.sleep(1.0)
            raise KeyError("k")

        async def early() -> None:
            raise ValueError("bad input")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(late)
            nursery.start_soon(early)

    (o,) = await Executor(registry).run([ToolCall(id="t", tool="two")])
    assert (o.status, o.error_code) == (Status.ERROR, ErrorCode.TOOL_ERROR)
    assert o.error == "2 errors in the tool's tasks: ValueError: bad input; KeyError: 'k'"


async def test_the_message_of_many_errors_is_bounded(autojump_clock: trio.testing.MockClock) -> None:
    registry = Registry(default_side_effect="read")

    @registry.tool
    async def flood() -> None:
        raise ExceptionGroup("flood", [ValueError("x" * 100_000) for _ in range(50)])

    (o,) = await Executor(registry).run([ToolCall(id="f", tool="flood")])
    assert o.error is not None
    assert o.error.startswith("50 errors in the tool's exception group 'flood': ValueError: xxx")
    assert o.error.endswith("; and 45 more")
    assert len(o.error) < 4000


async def test_several_errors_are_retried_only_if_all_are_retryable_after_the_longest_wait(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry = Registry(default_side_effect="read")
    starts: dict[str, list[float]] = {"all": [], "mixed": []}

    @registry.tool(resource="api", retry=_RETRY_ONCE)
    async def all_retryable(ctx: CallContext) -> str:
        starts["all"].append(trio.current_time())
        if ctx.attempt == 1:
            raise ExceptionGroup(
                "refused", [RateLimited("a", retry_after=2.0), Retryable("b"), RateLimited("c", retry_after=7.0)]
            )
        return "done"

    @registry.tool(retry=_RETRY_ONCE)
    async def mixed(ctx: CallContext) -> str:
        starts["mixed"].append(trio.current_time())
        raise ExceptionGroup("mixed", [Retryable("may pass"), ValueError("never passes")])

    start = trio.current_time()
    a, m = await Executor(registry).run([ToolCall(id="a", tool="all_retryable"), ToolCall(id="m", tool="mixed")])
    assert (a.status, a.attempts) == (Status.OK, 2)
    assert [t - start for t in starts["all"]] == [0.0, 7.0]  # the longest retry_after of the group
    assert (m.status, m.error_code, m.attempts) == (Status.ERROR, ErrorCode.TOOL_ERROR, 1)
    assert [t - start for t in starts["mixed"]] == [0.0]
    assert m.error == "2 errors in the tool's exception group 'mixed': Retryable: may pass; ValueError: never passes"


async def test_a_keyboard_interrupt_in_a_tools_group_propagates(autojump_clock: trio.testing.MockClock) -> None:
    registry = Registry(default_side_effect="read")

    @registry.tool
    async def interrupted() -> None:
        await trio.sleep(1.0)
        raise BaseExceptionGroup("stop", [ValueError("v"), KeyboardInterrupt()])

    @registry.tool
    async def slow() -> str:
        await trio.sleep(5.0)
        return "slow"

    turn = Executor(registry).turn([ToolCall(id="i", tool="interrupted"), ToolCall(id="s", tool="slow")])
    with pytest.raises(BaseExceptionGroup) as caught:
        await turn.run()
    assert caught.value.subgroup(KeyboardInterrupt) is not None
    assert [o.status for o in turn.result] == [Status.CANCELLED, Status.CANCELLED]


async def test_a_lone_keyboard_interrupt_in_a_tools_group_propagates_as_itself(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry = Registry(default_side_effect="read")

    @registry.tool
    async def interrupted() -> None:
        await _raise_in_a_task(KeyboardInterrupt(), after=1.0)

    turn = Executor(registry).turn([ToolCall(id="i", tool="interrupted")])
    with pytest.raises(KeyboardInterrupt):
        await turn.run()
    assert [o.status for o in turn.result] == [Status.CANCELLED]


# -- a leaked Cancelled is the tool's error --------------------------------------------------------


async def _leak_a_cancelled() -> None:
    """Raise a ``Cancelled`` of a scope already exited: one that nothing around the caller asked for."""
    leaked: trio.Cancelled | None = None
    with trio.CancelScope() as scope:
        scope.cancel()
        try:
            await trio.sleep(1.0)
        except trio.Cancelled as exc:  # kept past its own scope: the mistake this test is about
            leaked = exc
    await trio.sleep(1.0)
    assert leaked is not None
    raise leaked


async def test_a_cancelled_leaked_by_a_tool_is_its_error_not_the_callers(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry = Registry(default_side_effect="read")

    @registry.tool
    async def leaky() -> None:
        await _leak_a_cancelled()

    @registry.tool
    async def sibling() -> str:
        await trio.sleep(5.0)
        return "done"

    start = trio.current_time()
    leak, other = await Executor(registry).run([ToolCall(id="l", tool="leaky"), ToolCall(id="s", tool="sibling")])
    assert (leak.status, leak.error_code, leak.finished_at) == (Status.ERROR, ErrorCode.TOOL_ERROR, start + 1.0)
    assert leak.error is not None
    assert leak.error.startswith(
        "the tool raised trio.Cancelled, but neither its timeout, the turn nor its caller was cancelled"
    )
    assert "Cancelled: cancelled due to explicit" in leak.error
    assert isinstance(leak.exception, RuntimeError)
    assert isinstance(leak.exception.__cause__, trio.Cancelled)
    # Its siblings were not cancelled with it.
    assert (other.status, other.value, other.finished_at) == (Status.OK, "done", start + 5.0)


async def test_a_cancelled_leaked_beside_an_error_in_a_group_leaves_the_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry = Registry(default_side_effect="read")

    @registry.tool(retry=_RETRY_ONCE)
    async def leaky(ctx: CallContext) -> str:
        if ctx.attempt == 1:
            try:
                await _leak_a_cancelled()
            except trio.Cancelled as leaked:  # a Cancelled no scope asked for, in a group the tool builds
                raise BaseExceptionGroup("partial", [Retryable("try again"), leaked]) from None
        return "done"

    start = trio.current_time()
    (o,) = await Executor(registry).run([ToolCall(id="l", tool="leaky")])
    assert (o.status, o.attempts, o.finished_at) == (Status.OK, 2, start + 2.0)


async def test_a_tool_reraising_a_genuine_cancellation_still_ends_for_the_turns_cause(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry = Registry(default_side_effect="read")

    @registry.tool
    async def tidy() -> None:
        try:
            await trio.sleep(10.0)
        except trio.Cancelled:
            with trio.CancelScope(shield=True):
                await trio.sleep(1.0)  # cleans up, then lets the cancellation go on
            raise

    start = trio.current_time()
    (o,) = await Executor(registry, budget=2.0).run([ToolCall(id="t", tool="tidy")])
    assert (o.status, o.error_code, o.finished_at) == (Status.CANCELLED, ErrorCode.BUDGET_EXCEEDED, start + 3.0)

    turn = Executor(registry).turn([ToolCall(id="t", tool="tidy")])
    with trio.move_on_after(2.0) as scope:
        await turn.run()
    assert scope.cancelled_caught  # the caller's Cancelled came out of run() as itself
    (o,) = turn.result
    assert (o.status, o.error_code) == (Status.CANCELLED, ErrorCode.CANCELLED)


# -- sync tools past their timeout ----------------------------------------------------------------


class Gate:
    """A sync tool blocked until a Trio task opens its gate at a chosen virtual time."""

    def __init__(self, *, fails: bool = False) -> None:
        self.open = threading.Event()
        self.returned = threading.Event()
        self.fails = fails

    def __call__(self) -> str:
        try:
            if not self.open.wait(30):
                raise TimeoutError("the test never opened the gate")
            if self.fails:
                raise ValueError("card declined")
            return "charged"
        finally:
            self.returned.set()

    async def open_at(self, when: float, before: Callable[[], None] = lambda: None) -> None:
        await trio.sleep_until(when)
        before()
        self.open.set()

    async def wait_returned(self) -> None:
        await trio.to_thread.run_sync(self.returned.wait, 30)


async def test_a_sync_tool_past_its_timeout_is_waited_for_and_ends_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The default: the thread is waited for; the call ends ``timeout`` when it returns, its value discarded."""
    gate = Gate()
    registry = Registry()
    registry.add(gate, name="charge", timeout=0.5, parameters={"type": "object"})
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(gate.open_at, start + 2.0)
        (o,) = await Executor(registry).run([ToolCall(id="c", tool="charge")])
    assert (o.status, o.error_code, o.value, o.attempts) == (Status.TIMEOUT, ErrorCode.TIMEOUT, None, 1)
    assert (o.started_at, o.finished_at) == (start, start + 2.0)
    assert o.error == (
        "the call returned after its 0.5 s timeout had passed: "
        "it could not be interrupted, and its result was discarded"
    )


async def test_a_sync_tool_that_raises_past_its_timeout_ends_with_its_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    gate = Gate(fails=True)
    registry = Registry()
    registry.add(gate, name="charge", timeout=0.5, parameters={"type": "object"})
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(gate.open_at, start + 2.0)
        (o,) = await Executor(registry).run([ToolCall(id="c", tool="charge")])
    assert (o.status, o.error_code, o.error, o.finished_at) == (
        Status.ERROR,
        ErrorCode.TOOL_ERROR,
        "ValueError: card declined",
        start + 2.0,
    )


async def test_an_abandoned_sync_tool_ends_timeout_at_its_deadline_and_says_its_thread_runs_on(
    autojump_clock: trio.testing.MockClock,
) -> None:
    gate = Gate()
    registry = Registry()
    registry.add(gate, name="charge", timeout=0.5, abandon_on_cancel=True, parameters={"type": "object"})
    start = trio.current_time()
    (o,) = await Executor(registry).run([ToolCall(id="c", tool="charge")])
    assert (o.status, o.error_code, o.finished_at) == (Status.TIMEOUT, ErrorCode.TIMEOUT, start + 0.5)
    assert o.error == "no result within the tool's 0.5 s timeout; its thread was abandoned and may still finish"
    assert not gate.returned.is_set()
    gate.open.set()
    await gate.wait_returned()


async def test_an_abandoned_thread_keeps_its_capacity_until_it_returns(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The resource's slot and the thread's slot are given back when the thread returns, not at the timeout."""
    gate = Gate()
    registry = Registry()
    registry.add(
        gate, name="charge", resource="pay", timeout=0.5, abandon_on_cancel=True, parameters={"type": "object"}
    )

    def refund() -> str:
        return "refunded"

    registry.add(refund, resource="pay")
    executor = Executor(registry, limits={"pay": 1})
    held: list[tuple[int, int]] = []

    def look() -> None:
        stats = executor.statistics()
        held.append((stats.resources["pay"].held, stats.threads_held))

    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(gate.open_at, start + 3.0, look)
        charge, refunded = await executor.run([ToolCall(id="c", tool="charge"), ToolCall(id="r", tool="refund")])
    assert (charge.status, charge.finished_at) == (Status.TIMEOUT, start + 0.5)
    assert held == [(1, 1)]  # at 3, the abandoned thread still held both
    assert (refunded.status, refunded.started_at) == (Status.OK, start + 3.0)
    stats = executor.statistics()
    assert (stats.resources["pay"].held, stats.threads_held) == (0, 0)


class AttemptStarts:
    """An instrument: when each attempt started, on Trio's clock."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def on_event(self, event: Event) -> None:
        if isinstance(event, AttemptStarted):
            self.times.append(event.time)


async def test_a_retry_after_an_abandoned_attempt_waits_for_its_thread_to_free_the_slot(
    autojump_clock: trio.testing.MockClock,
) -> None:
    gate = Gate()

    def fetch(ctx: CallContext) -> str:
        return gate() if ctx.attempt == 1 else "fetched"

    registry = Registry()
    registry.add(fetch, side_effect="read", resource="api", timeout=0.5, abandon_on_cancel=True, retry=_RETRY_ONCE)
    starts = AttemptStarts()
    executor = Executor(registry, limits={"api": 1}, instruments=[starts])
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(gate.open_at, start + 3.0)
        (o,) = await executor.run([ToolCall(id="f", tool="fetch")])
    # Attempt 1 timed out at 0.5; its retry was due at 1.5 but "api"'s one slot came back only at 3.
    # (Not asserted: how attempt 2 ended. Its thread runs on the wall clock while its own timeout is
    # the next deadline, to which the clock may jump first.)
    assert ([t - start for t in starts.times], o.attempts) == ([0.0, 3.0], 2)


async def test_a_sync_tool_that_checks_for_cancellation_ends_at_its_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    stop = threading.Event()

    def polite() -> str:
        while not stop.wait(0.001):
            trio.from_thread.check_cancelled()  # raises Cancelled in the thread once its timeout passed
        return "finished"

    registry = Registry()
    registry.add(polite, timeout=0.5)
    start = trio.current_time()
    try:
        (o,) = await Executor(registry).run([ToolCall(id="p", tool="polite")])
    finally:
        stop.set()
    assert (o.status, o.error_code, o.finished_at) == (Status.TIMEOUT, ErrorCode.TIMEOUT, start + 0.5)
    assert o.error == "no result within the tool's 0.5 s timeout"


async def test_an_async_tool_that_shields_itself_past_its_timeout_ends_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry = Registry()

    @registry.tool(timeout=2.0)
    async def stubborn() -> str:
        with trio.CancelScope(shield=True):
            await trio.sleep(10.0)
        return "finished anyway"

    start = trio.current_time()
    (o,) = await Executor(registry).run([ToolCall(id="s", tool="stubborn")])
    assert (o.status, o.value, o.finished_at) == (Status.TIMEOUT, None, start + 10.0)
    assert o.error == (
        "the call returned after its 2 s timeout had passed: it could not be interrupted, and its result was discarded"
    )


async def test_a_tool_whose_last_step_began_before_its_timeout_fired_returned_in_time(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The clock passing the deadline during a step (a slow run loop, a busy machine) is no timeout.

    Only a timeout that fired (Trio cancelled its scope) and could not
    interrupt the tool makes a returned value late.
    """
    registry = Registry()

    @registry.tool(timeout=0.5)
    async def busy() -> str:
        await trio.sleep(0.4)
        autojump_clock.jump(0.2)  # 0.2 s of work without a checkpoint: the deadline passes unseen
        return "done"

    start = trio.current_time()
    (o,) = await Executor(registry).run([ToolCall(id="b", tool="busy")])
    assert (o.status, o.value, o.finished_at) == (Status.OK, "done", start + 0.4 + 0.2)


# -- the property: any nesting of groups and leaves ------------------------------------------------

_WAITS = st.one_of(st.none(), st.sampled_from([0.0, 0.5, 3.0, 1e9, math.inf]), st.floats(0.0, 100.0))
_LEAVES: st.SearchStrategy[Exception] = st.one_of(
    st.builds(ValueError, st.text(max_size=30)),
    st.builds(Retryable, st.text(max_size=30)),
    st.builds(lambda text, wait: RateLimited(text, retry_after=wait), st.text(max_size=30), _WAITS),
    hostile_exceptions(),
)
_RAISED: st.SearchStrategy[Exception] = st.recursive(
    _LEAVES,
    lambda inner: st.lists(inner, min_size=1, max_size=4).map(lambda xs: ExceptionGroup("g", xs)),
    max_leaves=10,
)


def _errors(raised: BaseException) -> list[BaseException]:
    if isinstance(raised, BaseExceptionGroup):
        return [leaf for sub in raised.exceptions for leaf in _errors(sub)]
    return [] if isinstance(raised, trio.Cancelled) else [raised]


def _repr_works(raised: BaseException) -> bool:
    try:
        repr(raised)
    except Exception:
        return False
    return True


@given(raised=_RAISED, in_a_task=st.booleans(), with_a_leak=st.booleans())
def test_property_the_errors_inside_a_group_decide_as_the_rule_says(
    raised: Exception, in_a_task: bool, with_a_leak: bool
) -> None:
    """Any nesting of groups and leaves: one outcome, a bounded message, retried exactly when the rule says.

    The rule (docs/semantics.md): retried only if every error is retryable;
    the wait is at least the largest ``retry_after``; a wait of ``inf`` is
    past any deadline, so it is not retried.
    """
    if in_a_task:
        # Trio's nursery writes repr() of a task's error into its cancel reason (trio 0.35), and an
        # error whose repr() raises makes that a TrioInternalError: nothing a tool's caller can help.
        assume(_repr_works(raised))
    errors = _errors(raised)
    retryable = all(isinstance(e, Retryable) for e in errors)
    waits = [e.retry_after for e in errors if isinstance(e, RateLimited) and e.retry_after is not None]
    wait = max([_RETRY_ONCE.backoff, *waits])
    retried = retryable and wait < math.inf
    code = ErrorCode.RATE_LIMITED if all(isinstance(e, RateLimited) for e in errors) else ErrorCode.TOOL_ERROR

    async def main() -> tuple[Any, ...]:
        registry = Registry(default_side_effect="read")

        @registry.tool(resource="api", retry=_RETRY_ONCE)
        async def tool(ctx: CallContext) -> str:
            if ctx.attempt > 1:
                return "passed"
            await trio.sleep(1.0)
            if with_a_leak:
                try:
                    await _leak_a_cancelled()
                except trio.Cancelled as leaked:
                    raise BaseExceptionGroup("with a leak", [raised, leaked]) from None
            if in_a_task:
                await _raise_in_a_task(raised)
            raise raised

        @registry.tool
        async def sibling() -> str:
            await trio.sleep(1.0)
            return "ok"

        start = trio.current_time()
        result = await Executor(registry).run([ToolCall(id="t", tool="tool"), ToolCall(id="s", tool="sibling")])
        return start, tuple(result)

    start, outcomes = trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert [o.call_id for o in outcomes] == ["t", "s"]
    o, sibling = outcomes
    assert sibling.status is Status.OK
    assert isinstance(o.error, str) or o.status is Status.OK
    failed_at = start + (2.0 if with_a_leak else 1.0)
    if retried:
        assert (o.status, o.attempts) == (Status.OK, 2)
        assert o.finished_at == pytest.approx(failed_at + wait, rel=1e-12)  # the clock jumps by differences
    else:
        assert (o.status, o.attempts, o.finished_at) == (Status.ERROR, 1, failed_at)
        assert o.error is not None and len(o.error) < 4000
        assert o.error_code is code


async def test_a_hedged_read_that_leaks_a_cancelled_ends_with_its_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Each copy leaks at t=1 (the hedge starts the second at 0.5): the attempt fails as an unhedged one would."""
    registry = Registry()

    async def leaky() -> None:
        await _leak_a_cancelled()

    registry.add(leaky, name="leaky", side_effect="read", hedge=Hedge(after=0.5))
    start = trio.current_time()
    (outcome,) = await Executor(registry).run([ToolCall(id="l", tool="leaky")])
    assert (outcome.status, outcome.error_code, outcome.finished_at) == (
        Status.ERROR,
        ErrorCode.TOOL_ERROR,
        start + 1.5,
    )
    assert outcome.error is not None and outcome.error.startswith("the tool raised trio.Cancelled")
    assert isinstance(outcome.exception, RuntimeError)


async def test_a_hedge_copy_that_leaks_loses_to_a_copy_that_returns(autojump_clock: trio.testing.MockClock) -> None:
    registry = Registry()
    started: list[float] = []

    async def flaky() -> str:
        started.append(trio.current_time())
        if len(started) == 1:
            await _leak_a_cancelled()  # leaks at t=1, while the hedge (started at 0.5) runs on
        await trio.sleep(1.0)
        return "second"

    registry.add(flaky, name="flaky", side_effect="read", hedge=Hedge(after=0.5))
    start = trio.current_time()
    (outcome,) = await Executor(registry).run([ToolCall(id="f", tool="flaky")])
    assert (outcome.status, outcome.value, outcome.finished_at) == (Status.OK, "second", start + 1.5)
