"""The runtime's parts alone: `run_attempts` with a runner of its own, `Dependencies`, `Stopping`."""

from __future__ import annotations

import math
from collections.abc import Awaitable
from typing import Any

import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trio_toolpar import ErrorCode, Outcome, Retry, Retryable, Status
from trio_toolpar._runtime._attempts import Kind, Silence, run_attempts
from trio_toolpar._runtime._dependencies import Dependencies
from trio_toolpar._runtime._stopping import Stopping
from trio_toolpar._runtime._tool_errors import Failure


class _Script:
    """A runner whose attempts do what ``plan`` says, in turn: a value, an exception, or ``"hang"``."""

    def __init__(self, *plan: object, grant_retries: bool = True) -> None:
        self.plan = list(plan)
        self.log: list[tuple[str, float, int]] = []
        self.grant_retries = grant_retries

    def start(self, subject: str, attempt: int, silence: Silence | None) -> Awaitable[Any]:
        self.log.append((f"start {subject}", trio.current_time(), attempt))
        step = self.plan.pop(0)
        if isinstance(step, TypeError):
            raise step  # raised synchronously, as a tool called with the wrong keywords does
        return self._do(step)

    async def _do(self, step: object) -> object:
        if step == "hang":
            await trio.sleep_forever()
        if isinstance(step, Exception):
            raise step
        return step

    def ended(self, subject: str, attempt: int, kind: Kind, failure: Failure | None) -> None:
        self.log.append((f"ended {kind.value}", trio.current_time(), attempt))

    def draw(self, subject: str, attempt: int) -> float:
        return 1.0  # no jitter: the full backoff

    async def again(self, subject: str, attempt: int, delay: float) -> bool:
        if not self.grant_retries:
            return False
        await trio.sleep(delay)
        return True


_RETRY = Retry(attempts=3, backoff=1.0, multiplier=2.0, jitter=0.0)


async def test_attempts_back_off_and_end_with_the_first_value(autojump_clock: trio.testing.MockClock) -> None:
    runner = _Script(Retryable("a"), Retryable("b"), 42)
    tried = await run_attempts(runner, "c1", timeout=None, retry=_RETRY, deadline=math.inf)
    assert (tried.kind, tried.value, tried.attempts) == (Kind.OK, 42, 3)
    assert [(what, at) for what, at, _ in runner.log] == [
        ("start c1", 0.0),
        ("ended error", 0.0),
        ("start c1", 1.0),
        ("ended error", 1.0),
        ("start c1", 3.0),
        ("ended ok", 3.0),
    ]


async def test_each_attempt_has_its_own_timeout(autojump_clock: trio.testing.MockClock) -> None:
    runner = _Script("hang", "hang", "hang")
    retry = Retry(attempts=3, backoff=1.0, jitter=0.0, retry_timeouts=True)
    tried = await run_attempts(runner, "c1", timeout=2.0, retry=retry, deadline=math.inf)
    assert (tried.kind, tried.attempts) == (Kind.TIMEOUT, 3)
    assert trio.current_time() == 2.0 + 1.0 + 2.0 + 2.0 + 2.0


async def test_no_retry_is_planned_past_the_deadline(autojump_clock: trio.testing.MockClock) -> None:
    runner = _Script(Retryable("a"), Retryable("b"), 42)
    tried = await run_attempts(runner, "c1", timeout=None, retry=_RETRY, deadline=2.5)
    assert (tried.kind, tried.attempts, str(tried.exception)) == (Kind.ERROR, 2, "b")  # the wait of 2 s would end at 3


async def test_a_refused_retry_ends_with_the_failure(autojump_clock: trio.testing.MockClock) -> None:
    runner = _Script(Retryable("a"), 42, grant_retries=False)
    tried = await run_attempts(runner, "c1", timeout=None, retry=_RETRY, deadline=math.inf)
    assert (tried.kind, tried.attempts) == (Kind.ERROR, 1)


async def test_an_error_raised_while_starting_is_the_attempts_error() -> None:
    runner = _Script(TypeError("unexpected keyword"))
    tried = await run_attempts(runner, "c1", timeout=None, retry=None, deadline=math.inf)
    assert (tried.kind, type(tried.exception)) == (Kind.ERROR, TypeError)
    assert [what for what, _, _ in runner.log] == ["start c1", "ended error"]


async def test_cancellation_is_not_an_attempts_outcome(autojump_clock: trio.testing.MockClock) -> None:
    runner = _Script("hang")
    with trio.move_on_after(5) as scope:
        await run_attempts(runner, "c1", timeout=10.0, retry=_RETRY, deadline=math.inf)
    assert scope.cancelled_caught
    assert [what for what, _, _ in runner.log] == ["start c1"]  # no ending reported: the caller's scope ended it


def test_dependencies_say_which_calls_became_ready_and_which_are_doomed() -> None:
    deps = Dependencies()
    assert not deps.add(2, needs={0}, after=[1])
    assert not deps.add(3, needs=(), after=[1])
    assert deps.ready_among([0, 1, 2, 3]) == [0, 1]
    assert deps.finish(0, ok=False) == []
    assert deps.finish(1, ok=True) == [2, 3]
    assert deps.doomed_by(2) == 0  # it references call 0, which failed
    assert deps.doomed_by(3) is None  # an ordering edge never dooms


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=50, deadline=None)
@given(budget=st.none() | st.floats(min_value=0, max_value=10), wait=st.floats(min_value=0, max_value=20))
async def test_stopping_accepts_exactly_until_its_scope_is_cancelled(
    autojump_clock: trio.testing.MockClock, budget: float | None, wait: float
) -> None:
    start = trio.current_time()  # the clock goes on from one example to the next
    stopping = Stopping(budget)
    stopping.start()
    with stopping.scope:
        await trio.sleep(wait)  # may be cut short by the budget
        assert stopping.accepts() is not stopping.scope.cancel_called
        stopping.stop(ErrorCode.CANCELLED)
        assert not stopping.accepts()
    ran_out = budget is not None and start + wait >= start + budget
    assert stopping.cause() is (ErrorCode.BUDGET_EXCEEDED if ran_out else ErrorCode.CANCELLED)


async def test_a_turn_that_failed_accepts_nothing() -> None:
    stopping = Stopping(None)
    assert stopping.accepts()
    stopping.failure = Outcome(call_id="c2", tool="t", status=Status.ERROR, error_code=ErrorCode.TOOL_ERROR, error="e")
    assert not stopping.accepts()
    assert stopping.asked is None  # acted on by the coordinator, which then asks to stop
    stopping.stop(ErrorCode.SIBLING_FAILED)
    assert stopping.reason(True) == (
        Status.CANCELLED,
        ErrorCode.SIBLING_FAILED,
        "stopped before it finished: call 'c2' failed (tool_error), and the policy stops the whole turn;"
        " this is not a user interrupt",
    )
