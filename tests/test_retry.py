"""Retries: backoff on Trio's clock, jitter, caps, idempotency, and the budget."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from trio_toolpar import (
    BestEffort,
    CallContext,
    ErrorCode,
    Executor,
    RegistrationError,
    Registry,
    Retry,
    Retryable,
    Status,
    ToolCall,
)


def flaky_registry(
    failures: int, *, retry: Retry | None, side_effect: str = "read", **options: object
) -> tuple[Registry, list[tuple[int, float, str]]]:
    registry = Registry()
    attempts: list[tuple[int, float, str]] = []

    async def flaky(ctx: CallContext) -> str:
        attempts.append((ctx.attempt, trio.current_time(), ctx.idempotency_key))
        await trio.sleep(1)
        if ctx.attempt <= failures:
            raise Retryable(f"attempt {ctx.attempt} failed")
        return "done"

    registry.add(flaky, side_effect=side_effect, retry=retry, **options)  # type: ignore[arg-type]
    return registry, attempts


async def test_exponential_backoff_exact_times(autojump_clock: trio.testing.MockClock) -> None:
    registry, attempts = flaky_registry(3, retry=Retry(attempts=4, backoff=0.5, multiplier=2, jitter=0))
    start = trio.current_time()
    (o,) = await Executor(registry).run([ToolCall(id="a", tool="flaky")])
    assert (o.status, o.attempts, o.value) == (Status.OK, 4, "done")
    # attempt 1 at 0 (1 s), wait 0.5; attempt 2 at 1.5, wait 1; attempt 3 at 3.5, wait 2; attempt 4 at 6.5.
    assert [t - start for _, t, _ in attempts] == [0.0, 1.5, 3.5, 6.5]
    assert o.latency_ms == 7500.0
    assert len({key for _, _, key in attempts}) == 1  # one idempotency key across retries
    assert o.idempotency_key == attempts[0][2]


async def test_jitter_is_seeded_per_call_and_attempt(autojump_clock: trio.testing.MockClock) -> None:
    retry = Retry(attempts=3, backoff=1.0, jitter=1.0)
    times = []
    for _ in range(2):
        registry, attempts = flaky_registry(2, retry=retry)
        start = trio.current_time()
        await Executor(registry, seed=7).run([ToolCall(id="a", tool="flaky")])
        times.append([t - start for _, t, _ in attempts])
    assert times[0] == times[1]
    waits = [times[0][1] - 1.0, times[0][2] - times[0][1] - 1.0]
    assert 0.0 < waits[0] <= 1.0
    assert 0.0 < waits[1] <= 2.0
    registry, attempts = flaky_registry(2, retry=retry)
    start = trio.current_time()
    await Executor(registry, seed=8).run([ToolCall(id="a", tool="flaky")])
    assert [t - start for _, t, _ in attempts] != times[0]


async def test_errors_not_listed_are_not_retried(autojump_clock: trio.testing.MockClock) -> None:
    registry = Registry(default_side_effect="read")
    calls = 0

    @registry.tool(retry=Retry(attempts=5, backoff=0))
    async def broken() -> None:
        nonlocal calls
        calls += 1
        raise KeyError("no such thing")

    (o,) = await Executor(registry).run([ToolCall(id="a", tool="broken")])
    assert (o.status, o.error_code, o.attempts, calls) == (Status.ERROR, ErrorCode.TOOL_ERROR, 1, 1)
    assert o.error == "KeyError: 'no such thing'"


async def test_timeouts_are_retried_and_each_attempt_gets_its_own_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry = Registry(default_side_effect="read")

    @registry.tool(timeout=1.0, retry=Retry(attempts=3, backoff=0.25, jitter=0))
    async def hang(ctx: CallContext) -> int:
        if ctx.attempt < 3:
            await trio.sleep_forever()
        return ctx.attempt

    start = trio.current_time()
    (o,) = await Executor(registry).run([ToolCall(id="a", tool="hang")])
    assert (o.status, o.value, o.attempts) == (Status.OK, 3, 3)
    assert o.finished_at == start + 1.0 + 0.25 + 1.0 + 0.5


async def test_a_timeout_on_the_last_attempt_is_a_timeout(autojump_clock: trio.testing.MockClock) -> None:
    registry = Registry(default_side_effect="read")

    @registry.tool(timeout=1.0, retry=Retry(attempts=2, backoff=0, retry_timeouts=True))
    async def hang() -> None:
        await trio.sleep_forever()

    (o,) = await Executor(registry).run([ToolCall(id="a", tool="hang")])
    assert (o.status, o.error_code, o.attempts) == (Status.TIMEOUT, ErrorCode.TIMEOUT, 2)
    assert o.error == "no result within the tool's 1 s timeout (after 2 attempts)"


async def test_the_policy_retry_applies_to_tools_without_their_own(autojump_clock: trio.testing.MockClock) -> None:
    registry, _ = flaky_registry(1, retry=None)
    policy = BestEffort(retry=Retry(attempts=2, backoff=0))
    (o,) = await Executor(registry, policy=policy).run([ToolCall(id="a", tool="flaky")])
    assert (o.status, o.attempts) == (Status.OK, 2)


def test_a_non_idempotent_write_cannot_declare_retries() -> None:
    with pytest.raises(RegistrationError, match="non-idempotent write"):
        flaky_registry(1, retry=Retry(attempts=2), side_effect="write")
    flaky_registry(1, retry=Retry(attempts=2), side_effect="write", idempotency_key=True)
    flaky_registry(1, retry=Retry(attempts=2), side_effect="write", idempotent=True)


async def test_the_policy_retry_never_repeats_a_non_idempotent_write(autojump_clock: trio.testing.MockClock) -> None:
    registry, attempts = flaky_registry(1, retry=None, side_effect="write")
    policy = BestEffort(retry=Retry(attempts=3, backoff=0))
    (o,) = await Executor(registry, policy=policy).run([ToolCall(id="a", tool="flaky")])
    assert (o.status, o.attempts, len(attempts)) == (Status.ERROR, 1, 1)


async def test_a_write_with_an_idempotency_key_is_retried(autojump_clock: trio.testing.MockClock) -> None:
    registry, attempts = flaky_registry(
        1, retry=Retry(attempts=2, backoff=0), side_effect="write", idempotency_key=True
    )
    (o,) = await Executor(registry).run([ToolCall(id="a", tool="flaky")])
    assert (o.status, o.attempts) == (Status.OK, 2)
    assert attempts[0][2] == attempts[1][2]


async def test_retries_per_turn_are_capped(autojump_clock: trio.testing.MockClock) -> None:
    registry, _ = flaky_registry(1, retry=None)
    policy = BestEffort(retry=Retry(attempts=2, backoff=0), max_retries_per_turn=2)
    result = await Executor(registry, policy=policy).run([ToolCall(id=f"c{i}", tool="flaky") for i in range(4)])
    assert sorted(o.attempts for o in result) == [1, 1, 2, 2]
    assert sorted(o.status.value for o in result) == ["error", "error", "ok", "ok"]


async def test_no_retry_when_the_wait_would_pass_the_deadline(autojump_clock: trio.testing.MockClock) -> None:
    registry, attempts = flaky_registry(5, retry=Retry(attempts=5, backoff=2.0, jitter=0))
    start = trio.current_time()
    (o,) = await Executor(registry, budget=4.0).run([ToolCall(id="a", tool="flaky")])
    # attempt 1 ends at 1, waits 2, attempt 2 ends at 4 - no: the deadline at 4 cancels it.
    assert (o.status, o.error_code) == (Status.CANCELLED, ErrorCode.BUDGET_EXCEEDED)
    assert [t - start for _, t, _ in attempts] == [0.0, 3.0]
    registry, attempts = flaky_registry(5, retry=Retry(attempts=5, backoff=2.0, jitter=0))
    start = trio.current_time()
    (o,) = await Executor(registry, budget=2.5).run([ToolCall(id="a", tool="flaky")])
    # attempt 1 ends at 1; waiting 2 s would end at 3 > 2.5, so the failure is reported at 1.
    assert (o.status, o.error_code, o.attempts) == (Status.ERROR, ErrorCode.TOOL_ERROR, 1)
    assert o.finished_at == start + 1.0


async def test_capacity_is_released_during_backoff(autojump_clock: trio.testing.MockClock) -> None:
    registry = Registry(default_side_effect="read")
    starts: dict[str, list[float]] = {}

    @registry.tool(resource="api", retry=Retry(attempts=2, backoff=3.0, jitter=0))
    async def call_api(ctx: CallContext) -> None:
        starts.setdefault(ctx.call_id, []).append(trio.current_time())
        await trio.sleep(1)
        if ctx.call_id == "a" and ctx.attempt == 1:
            raise Retryable("busy")

    start = trio.current_time()
    result = await Executor(registry, limits={"api": 1}).run(
        [ToolCall(id="a", tool="call_api"), ToolCall(id="b", tool="call_api")]
    )
    assert result.ok
    # a fails at 1 and waits until 4; b takes the slot at 1 instead of waiting for a.
    assert {k: [t - start for t in v] for k, v in starts.items()} == {"a": [0.0, 4.0], "b": [1.0]}


async def test_a_call_cancelled_while_waiting_to_retry_never_runs_again(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Two turns share a limiter; one is cancelled from outside while its call waits to retry.

    Capacity across turns goes by turn order (``a``'s turn was created first).
    On a MockClock the cancelled turn withdraws its waiters before any other
    coordinator settles; the guards in ``_run_call``/``_granted`` cover the
    same race on a real clock, where no instant settles.
    """
    registry = Registry(default_side_effect="read")
    runs: list[tuple[str, int, float]] = []

    @registry.tool(resource="r", retry=Retry(attempts=3, backoff=2.0, jitter=0))
    async def job(ctx: CallContext, seconds: float, fail: bool = False) -> str:
        runs.append((ctx.call_id, ctx.attempt, trio.current_time()))
        await trio.sleep(seconds)
        if fail:
            raise Retryable("try later")
        return ctx.call_id

    executor = Executor(registry, limits={"r": 1}, deterministic=True)
    start = trio.current_time()
    first = executor.turn([ToolCall(id="a", tool="job", arguments={"seconds": 1, "fail": True})])
    second = executor.turn([ToolCall(id="b", tool="job", arguments={"seconds": 5})])
    async with trio.open_nursery() as nursery:

        async def cancelled_at_4() -> None:
            with trio.move_on_after(4):
                await first.run()

        nursery.start_soon(cancelled_at_4)
        nursery.start_soon(second.run)
    # a fails at 1 and waits to retry at 3, but b holds the slot from 1 to 6; a is cancelled at 4.
    assert [(c, n, t - start) for c, n, t in runs] == [("a", 1, 0.0), ("b", 1, 1.0)]
    a = first.result[0]
    assert (a.status, a.error_code, a.attempts, a.finished_at) == (Status.CANCELLED, ErrorCode.CANCELLED, 1, start + 4)
    assert second.result[0].ok
    assert second.result[0].finished_at == start + 6
