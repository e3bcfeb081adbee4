"""RedisLimits in one process against a real redis-server: order, weights, tokens, pause, leases.

These run on real time because Redis's clock is real; they are few and short,
and their bounds are generous (they say "after", "not before", "well before
the next re-check"), never how fast.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import coredis
import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis_server import RedisServer, client_fixture, hold_until, open_client, server_fixture, wait_until

from trio_toolpar import Rate
from trio_toolpar.abc import SharedLimits
from trio_toolpar.redis import RedisLimits

server = pytest.fixture(server_fixture, name="server")
client = pytest.fixture(client_fixture, name="client")


def fresh(client: coredis.Redis[Any], **options: Any) -> RedisLimits:
    """Limits in a namespace of their own (the server outlives hypothesis examples)."""
    return RedisLimits(client, namespace=f"t{uuid.uuid4().hex[:8]}", **options)


HOLD = 0.3
"""Seconds a waiter of the arrival-order property holds its units: long beside a loopback round trip."""


async def until_waiting(limits: RedisLimits, resource: str, count: int) -> None:
    async def check() -> bool:
        return (await limits.statistics(resource)).waiters == count

    await wait_until(check)


class Ledger:
    """Who acquired in what order, and the most units held at once (seen from inside the holds)."""

    def __init__(self) -> None:
        self.order: list[int] = []
        self.entered_at: dict[int, float] = {}
        self.units = 0
        self.most = 0

    async def hold(self, limits: RedisLimits, index: int, weight: int, seconds: float = 0.02) -> None:
        async with limits.hold("db", weight=weight, call_id=f"w{index}"):
            self.order.append(index)
            self.entered_at[index] = trio.current_time()
            self.units += weight
            self.most = max(self.most, self.units)
            await trio.sleep(seconds)
            self.units -= weight


async def test_redis_limits_are_shared_limits(client: coredis.Redis[Any]) -> None:
    limits = fresh(client, caps={"db": 1}, rates={"api": Rate(per_second=1)})
    assert isinstance(limits, SharedLimits)
    assert (limits.governs("db"), limits.governs("api"), limits.governs("jira")) == (True, True, False)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(weights=st.lists(st.integers(min_value=1, max_value=3), min_size=2, max_size=5))
async def test_waiters_acquire_in_arrival_order_and_never_exceed_the_cap(
    server: RedisServer, weights: list[int]
) -> None:
    async with open_client(server.port) as client:  # each example runs in a Trio run of its own
        await _arrival_order(fresh(client, caps={"db": 3}), weights)


async def _arrival_order(limits: RedisLimits, weights: list[int]) -> None:
    ledger = Ledger()
    release = trio.Event()
    async with trio.open_nursery() as nursery:
        await nursery.start(hold_until, limits, release, 3)
        for index, weight in enumerate(weights):
            nursery.start_soon(ledger.hold, limits, index, weight, HOLD)
            await until_waiting(limits, "db", index + 1)
        release.set()
    assert sorted(ledger.order) == list(range(len(weights)))
    # Waiters granted together (they fit together) enter their bodies in whichever order their
    # connections' replies are read; an overtaking waiter would lead by a whole hold.
    entered = ledger.entered_at
    for later in range(len(weights)):
        for earlier in range(later):
            assert entered[later] >= entered[earlier] - HOLD / 3, (earlier, later, entered)
    assert ledger.most <= 3


async def test_a_heavy_head_is_not_overtaken_by_a_lighter_later_waiter(client: coredis.Redis[Any]) -> None:
    limits = fresh(client, caps={"db": 3})
    ledger = Ledger()
    release = trio.Event()
    async with trio.open_nursery() as nursery:
        await nursery.start(hold_until, limits, release, 2)
        nursery.start_soon(ledger.hold, limits, 0, 2, 0.3)  # does not fit beside the blocker
        await until_waiting(limits, "db", 1)
        nursery.start_soon(ledger.hold, limits, 1, 1, 0.3)  # would fit, but arrived later
        await until_waiting(limits, "db", 2)
        await trio.sleep(0.2)
        assert ledger.order == []  # the lighter waiter fits beside the blocker, and still waits behind the head
        release.set()
    # Once the blocker leaves both fit: Redis grants the head first, but which task's reply is read
    # first is up to the two connections, so the order of entering the body is not asserted.
    assert sorted(ledger.order) == [0, 1]
    assert ledger.most == 3  # the head woke the next one: both held at once


async def test_a_release_wakes_the_next_waiter_without_waiting_for_a_recheck(client: coredis.Redis[Any]) -> None:
    # With a 10 s lease, a waiter re-checks only every 5 s: a prompt start proves the wake.
    limits = fresh(client, caps={"db": 1}, lease=10.0)
    released_at: list[float] = []
    acquired_at: list[float] = []

    async def first(task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with limits.hold("db", weight=1, call_id="first"):
            task_status.started()
            await trio.sleep(0.1)
        released_at.append(time.monotonic())

    async def second() -> None:
        async with limits.hold("db", weight=1, call_id="second"):
            acquired_at.append(time.monotonic())

    async with trio.open_nursery() as nursery:
        await nursery.start(first)
        nursery.start_soon(second)
    assert acquired_at[0] - released_at[0] < 2.5


async def test_a_cancelled_waiter_leaves_the_queue_and_the_next_one_moves_up(client: coredis.Redis[Any]) -> None:
    limits = fresh(client, caps={"db": 1})
    ledger = Ledger()
    release = trio.Event()
    async with trio.open_nursery() as nursery:
        await nursery.start(hold_until, limits, release, 1)
        doomed = trio.CancelScope()

        async def cancelled_waiter() -> None:
            with doomed:
                await ledger.hold(limits, 0, 1)

        nursery.start_soon(cancelled_waiter)
        await until_waiting(limits, "db", 1)
        nursery.start_soon(ledger.hold, limits, 1, 1)
        await until_waiting(limits, "db", 2)
        doomed.cancel()
        await until_waiting(limits, "db", 1)
        release.set()
    assert ledger.order == [1]
    assert (await limits.statistics("db")).waiters == 0


async def test_a_token_bucket_spaces_starts_by_its_rate(client: coredis.Redis[Any]) -> None:
    limits = fresh(client, rates={"db": Rate(per_second=10, burst=2)})
    starts: list[float] = []
    began = time.monotonic()
    for index in range(6):
        async with limits.hold("db", weight=1, call_id=f"c{index}"):
            starts.append(time.monotonic() - began)
    # Two from the full bucket, then one per 0.1 s: about 0.4 s in all.
    assert 0.38 <= starts[-1] <= 1.5
    assert starts[1] < 0.1


async def test_a_weight_takes_that_many_tokens(client: coredis.Redis[Any]) -> None:
    limits = fresh(client, rates={"db": Rate(per_second=10, burst=3)})
    async with limits.hold("db", weight=3, call_id="a"):
        pass
    began = time.monotonic()
    async with limits.hold("db", weight=2, call_id="b"):
        waited = time.monotonic() - began
    assert 0.18 <= waited <= 1.0
    assert (await limits.statistics("db")).tokens == pytest.approx(0.0, abs=0.3)


async def test_cap_and_rate_compose_and_statistics_show_both(client: coredis.Redis[Any]) -> None:
    limits = fresh(client, caps={"db": 3}, rates={"db": Rate(per_second=1, burst=3)})
    async with limits.hold("db", weight=2, call_id="a"):
        stats = await limits.statistics("db")
    assert (stats.resource, stats.cap, stats.holders, stats.units_held, stats.waiters) == ("db", 3, 1, 2, 0)
    assert stats.tokens == pytest.approx(1.0, abs=0.2)
    assert (stats.paused_until, stats.fallbacks, stats.leases_lost) == (None, 0, 0)
    after = await limits.statistics("db")
    assert (after.holders, after.units_held) == (0, 0)


async def test_a_pause_holds_back_every_start_until_it_ends(client: coredis.Redis[Any]) -> None:
    limits = fresh(client, caps={"db": 2})
    until = await limits.pause("db", 0.3)
    assert await limits.pause("db", 0.01) == until  # a shorter pause never cuts a longer one
    assert (await limits.statistics("db")).paused_until == until
    async with limits.hold("db", weight=1, call_id="after"):
        started = time.time()
    assert started >= until - 0.005
    assert (await limits.statistics("db")).paused_until is None


async def test_a_long_call_keeps_its_lease_and_excludes_others(client: coredis.Redis[Any]) -> None:
    # Leases long enough that a renewal is never late on a loaded 2-core machine (0.6 s was, now and then).
    limits = fresh(client, caps={"db": 1}, lease=1.2, timeout=0.1)
    ledger = Ledger()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(ledger.hold, limits, 0, 1, 3.0)  # 2.5 leases long
        await trio.sleep(0.05)
        nursery.start_soon(ledger.hold, limits, 1, 1)
        await trio.sleep(2.4)
        assert ledger.order == [0]
    assert ledger.order == [0, 1]
    assert ledger.most == 1
    assert (await limits.statistics("db")).leases_lost == 0


async def test_a_lost_lease_is_counted_and_does_not_cancel_the_call(client: coredis.Redis[Any]) -> None:
    limits = fresh(client, caps={"db": 1}, lease=0.6, timeout=0.1)
    prefix = f"{limits.namespace}:sem:db:"
    finished = False
    async with limits.hold("db", weight=1, call_id="victim"):
        await client.delete([prefix + "holders"])  # as if the lease had expired and been dropped
        await trio.sleep(0.5)
        finished = True
    assert finished
    assert (await limits.statistics("db")).leases_lost == 1


async def test_the_body_exception_comes_out_as_itself_and_the_units_are_released(
    client: coredis.Redis[Any],
) -> None:
    limits = fresh(client, caps={"db": 1})
    with pytest.raises(KeyError, match="boom"):
        async with limits.hold("db", weight=1, call_id="a"):
            raise KeyError("boom")
    group = ExceptionGroup("tool's own", [ValueError("x")])
    with pytest.raises(ExceptionGroup) as caught:
        async with limits.hold("db", weight=1, call_id="b"):
            raise group
    # Trio's nursery hands back a derived copy of a group: same message, same leaves.
    assert (caught.value.message, caught.value.exceptions) == (group.message, group.exceptions)
    assert (await limits.statistics("db")).holders == 0


async def test_a_cancelled_call_releases_its_units(client: coredis.Redis[Any]) -> None:
    limits = fresh(client, caps={"db": 1})
    with trio.move_on_after(0.1) as scope:
        async with limits.hold("db", weight=1, call_id="a"):
            await trio.sleep_forever()
    assert scope.cancelled_caught
    assert (await limits.statistics("db")).holders == 0
