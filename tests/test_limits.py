"""Safe defaults, weights, token buckets, backpressure and shared limits, on exact virtual time."""

from __future__ import annotations

import email.utils
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from trio_toolpar import (
    BestEffort,
    ErrorCode,
    Executor,
    LimitUnavailable,
    Rate,
    RateLimited,
    RegistrationError,
    Registry,
    Retry,
    Retryable,
    Status,
    ToolCall,
    raise_for_rate_limit,
)
from trio_toolpar.abc import SharedLimits

# -- the unannotated default ------------------------------------------------------------------


def charge_registry(registry: Registry, starts: list[tuple[str, float]]) -> None:
    @registry.tool()
    async def charge_card(order: str, fail: bool = False) -> str:
        starts.append((order, trio.current_time()))
        await trio.sleep(1)
        if fail:
            raise Retryable("card network hiccup")
        return f"charged {order}"


async def test_an_unannotated_tool_is_a_write_ordered_against_its_own_calls_and_never_retried(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry, starts = Registry(), list[tuple[str, float]]()
    charge_registry(registry, starts)
    tool = registry["charge_card"]
    assert (tool.side_effect, tool.idempotent, tool.retry_safe) == ("write", False, False)
    executor = Executor(registry, policy=BestEffort(retry=Retry(attempts=5, backoff=0.1, jitter=0)))
    t0 = trio.current_time()
    result = await executor.run(
        [
            ToolCall(id="a", tool="charge_card", arguments={"order": "a", "fail": True}),
            ToolCall(id="b", tool="charge_card", arguments={"order": "b"}),
        ]
    )
    assert [(order, t - t0) for order, t in starts] == [("a", 0.0), ("b", 1.0)]  # one at a time, a once
    assert (result["a"].status, result["a"].attempts) == (Status.ERROR, 1)
    assert result["b"].ok
    assert result["a"].idempotency_key is not None


def test_an_unannotated_tool_with_retries_is_refused_at_registration() -> None:
    registry = Registry()
    with pytest.raises(RegistrationError, match="non-idempotent write"):

        @registry.tool(retry=Retry(attempts=3))
        async def pay(amount: int) -> None: ...


async def test_a_registry_can_make_undeclared_tools_reads(autojump_clock: trio.testing.MockClock) -> None:
    registry, starts = Registry(default_side_effect="read"), list[tuple[str, float]]()
    charge_registry(registry, starts)
    assert registry["charge_card"].side_effect == "read"
    await Executor(registry).run([ToolCall(id=o, tool="charge_card", arguments={"order": o}) for o in "ab"])
    assert {t for _, t in starts} == {starts[0][1]}  # together


def test_a_bad_default_side_effect_is_refused() -> None:
    with pytest.raises(ValueError, match="default_side_effect"):
        Registry(default_side_effect="maybe")  # type: ignore[arg-type]


# -- token buckets ----------------------------------------------------------------------------


async def test_a_bucket_of_two_per_second_with_burst_two_spaces_starts(autojump_clock: trio.testing.MockClock) -> None:
    registry, starts = Registry(), list[float]()

    @registry.tool(side_effect="read", resource="api")
    async def ping(n: int) -> int:
        starts.append(trio.current_time())
        return n

    executor = Executor(registry, rates={"api": Rate(per_second=2, burst=2)}, deterministic=True)
    t0 = trio.current_time()
    result = await executor.run([ToolCall(id=f"p{i}", tool="ping", arguments={"n": i}) for i in range(10)])
    assert result.ok
    assert [round(t - t0, 9) for t in starts] == [0.0, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0]
    assert [o.call_id for o in sorted(result, key=lambda o: (o.started_at, o.call_id))][:3] == ["p0", "p1", "p2"]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"per_second": 0}, "Rate.per_second must be a positive, finite number, not 0"),
        ({"per_second": float("inf")}, "Rate.per_second must be a positive, finite number, not inf"),
        ({"per_second": 1, "burst": 0}, "Rate.burst must be a whole number >= 1, not 0"),
    ],
)
def test_a_rate_must_be_positive_and_finite(bad: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Rate(**bad)


# -- backpressure -----------------------------------------------------------------------------


async def test_a_429_pauses_its_resource_for_exactly_retry_after_while_others_go_on(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry, starts = Registry(), list[tuple[str, int, float]]()
    refused = {"first": 1}

    @registry.tool(side_effect="read", resource="vendor", retry=Retry(attempts=2, backoff=0.0, jitter=0))
    async def vendor(name: str) -> str:
        starts.append((name, 0, trio.current_time()))
        await trio.sleep(0.5)
        if refused.get(name):
            refused[name] -= 1
            raise RateLimited("slow down", retry_after=3.0)
        return name

    @registry.tool(side_effect="read", resource="other")
    async def other(name: str) -> str:
        starts.append((name, 0, trio.current_time()))
        await trio.sleep(1)
        return name

    executor = Executor(registry, limits={"vendor": 1}, deterministic=True)
    t0 = trio.current_time()
    result = await executor.run(
        [
            ToolCall(id="first", tool="vendor", arguments={"name": "first"}),
            ToolCall(id="second", tool="vendor", arguments={"name": "second"}),
            *(ToolCall(id=f"o{i}", tool="other", arguments={"name": f"o{i}"}) for i in range(3)),
        ]
    )
    assert result.ok
    times = [(name, t - t0) for name, _, t in starts]
    # first is refused at 0.5; vendor starts nothing until 3.5; the other resource is not held back.
    assert sorted(times) == [("first", 0.0), ("first", 3.5), ("o0", 0.0), ("o1", 0.0), ("o2", 0.0), ("second", 4.0)]
    first = result["first"]
    assert first.finished_at is not None
    assert (first.attempts, first.finished_at - t0) == (2, 4.0)
    assert executor.statistics().resources["vendor"].held == 0


async def test_a_call_still_refused_after_its_retries_ends_rate_limited(autojump_clock: trio.testing.MockClock) -> None:
    registry = Registry()

    @registry.tool(side_effect="read", resource="vendor", retry=Retry(attempts=2, backoff=0.0, jitter=0))
    async def vendor() -> None:
        raise RateLimited("no", retry_after=1.0)

    result = await Executor(registry).run([ToolCall(id="v", tool="vendor")])
    assert (result["v"].status, result["v"].error_code, result["v"].attempts) == (
        Status.ERROR,
        ErrorCode.RATE_LIMITED,
        2,
    )


def test_http_429_and_503_become_rate_limited_with_the_servers_wait() -> None:
    raise_for_rate_limit(httpx.Response(200))
    with pytest.raises(RateLimited) as seconds:
        raise_for_rate_limit(httpx.Response(429, headers={"Retry-After": "3"}))
    assert seconds.value.retry_after == 3.0
    date = email.utils.formatdate(1_000_030.0, usegmt=True)
    with pytest.raises(RateLimited) as dated:
        raise_for_rate_limit(httpx.Response(503, headers={"Retry-After": date}), now=lambda: 1_000_000.0)
    assert dated.value.retry_after == 30.0
    with pytest.raises(RateLimited) as bare:
        raise_for_rate_limit(httpx.Response(429))
    assert bare.value.retry_after is None


# -- weights ----------------------------------------------------------------------------------


@given(
    weights=st.lists(st.integers(1, 4), min_size=1, max_size=12),
    cap=st.integers(4, 8),
    seconds=st.lists(st.sampled_from([0.5, 1.0, 2.0]), min_size=12, max_size=12),
)
async def test_weights_never_exceed_the_cap_at_any_instant(
    weights: list[int], cap: int, seconds: list[float], autojump_clock: trio.testing.MockClock
) -> None:
    registry, held, peak = Registry(), [0], [0]
    for w in set(weights):

        async def heavy(s: float, w: int = w) -> int:
            held[0] += w
            peak[0] = max(peak[0], held[0])
            try:
                await trio.sleep(s)
            finally:
                held[0] -= w
            return w

        registry.add(heavy, name=f"w{w}", side_effect="read", resource="mem", weight=w)
    calls = [ToolCall(id=f"c{i}", tool=f"w{w}", arguments={"s": seconds[i]}) for i, w in enumerate(weights)]
    result = await Executor(registry, limits={"mem": cap}, deterministic=True).run(calls)
    assert result.ok
    assert peak[0] <= cap
    assert peak[0] >= max(weights)


def test_a_weight_the_cap_can_never_hold_is_refused() -> None:
    registry = Registry()
    registry.add(lambda: None, name="huge", side_effect="read", resource="mem", weight=9)
    with pytest.raises(ValueError, match="could never start"):
        Executor(registry, limits={"mem": 8})
    with pytest.raises(ValueError, match="tool 'bad': weight must be a whole number >= 1, not 0"):
        registry.add(lambda: None, name="bad", weight=0)


def test_a_sync_weight_the_thread_limit_can_never_hold_is_refused() -> None:
    registry = Registry()
    registry.add(lambda: None, name="wide", side_effect="read", weight=3)
    with pytest.raises(ValueError, match=r"'wide' could never start: its weight 3 is more than thread_limit \(2\)"):
        Executor(registry, thread_limit=2)
    Executor(registry, thread_limit=3)  # it fits exactly


async def test_a_sync_tool_registered_later_too_wide_for_the_threads_is_an_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry = Registry()
    executor = Executor(registry, thread_limit=2)
    registry.add(lambda: None, name="wide", side_effect="read", weight=3)
    (outcome,) = await executor.run([ToolCall(id="a", tool="wide", arguments={})], budget=5)
    assert (outcome.status, outcome.error_code) == (Status.ERROR, ErrorCode.TOOL_ERROR)
    assert outcome.error == (
        "tool 'wide' cannot start: its weight 3 is more than thread_limit (2), so it could never start"
    )
    assert trio.current_time() == 0.0


async def test_statistics_show_holders_waiters_and_tokens(autojump_clock: trio.testing.MockClock) -> None:
    registry = Registry()
    seen: list[Any] = []

    @registry.tool(side_effect="read", resource="db")
    async def query(n: int) -> int:
        await trio.sleep(1)
        return n

    executor = Executor(registry, limits={"db": 2}, rates={"db": Rate(per_second=10, burst=5)}, deterministic=True)

    async def watch() -> None:
        await trio.sleep(0.5)
        seen.append(executor.statistics().resources["db"])

    async with trio.open_nursery() as nursery:
        nursery.start_soon(watch)
        await executor.run([ToolCall(id=f"q{i}", tool="query", arguments={"n": i}) for i in range(5)])
    (stats,) = seen
    assert (stats.cap, stats.held, stats.waiting) == (2, 2, 3)
    assert stats.tokens == 5.0  # 2 taken at 0, refilled by 0.5 s at 10/s
    assert stats.paused_until is None


# -- shared limits ----------------------------------------------------------------------------


class FakeShared:
    """Shared limits held in this process: one unit of ``cap`` per hold, or unreachable."""

    def __init__(self, cap: int, *, reachable: bool = True) -> None:
        self.sem = trio.Semaphore(cap)
        self.reachable = reachable
        self.holds: list[tuple[str, int, float]] = []

    def governs(self, resource: str) -> bool:
        return resource == "vendor"

    @asynccontextmanager
    async def hold(self, resource: str, *, weight: int, call_id: str) -> AsyncIterator[None]:
        if not self.reachable:
            raise LimitUnavailable("the store cannot be reached")
        async with self.sem:
            self.holds.append((call_id, weight, trio.current_time()))
            yield


async def test_shared_limits_are_held_around_each_attempt(autojump_clock: trio.testing.MockClock) -> None:
    registry = Registry()

    @registry.tool(side_effect="read", resource="vendor")
    async def call(n: int) -> int:
        await trio.sleep(1)
        return n

    shared = FakeShared(2)
    assert isinstance(shared, SharedLimits)
    t0 = trio.current_time()
    result = await Executor(registry, shared_limits=shared).run(
        [ToolCall(id=f"c{i}", tool="call", arguments={"n": i}) for i in range(4)]
    )
    assert result.ok
    assert sorted(t - t0 for _, _, t in shared.holds) == [0.0, 0.0, 1.0, 1.0]


async def test_unreachable_shared_limits_fail_closed_with_a_clear_code(autojump_clock: trio.testing.MockClock) -> None:
    registry = Registry()

    @registry.tool(side_effect="read", resource="vendor")
    async def call() -> int:
        return 1

    @registry.tool(side_effect="read", resource="local")
    async def local() -> int:
        return 2

    result = await Executor(registry, shared_limits=FakeShared(1, reachable=False)).run(
        [ToolCall(id="v", tool="call"), ToolCall(id="l", tool="local")]
    )
    assert (result["v"].status, result["v"].error_code) == (Status.ERROR, ErrorCode.LIMIT_UNAVAILABLE)
    assert result["v"].error == "LimitUnavailable: the store cannot be reached"
    assert result["l"].ok
