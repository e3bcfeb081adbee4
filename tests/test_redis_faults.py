"""Shared limits under faults and misconfiguration, against a real redis-server.

Keys that cannot collide, caps that must agree, credentials that are wrong,
a Redis that is down or stalls for longer than a lease. Real time, because
Redis's clock is real: every wait is bounded by ``trio.fail_after`` and the
bounds say "not before" and "not long after", never how fast.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import uuid
from typing import Any, Literal

import coredis
import pytest
import trio
from hypothesis import example, given
from hypothesis import strategies as st
from redis_server import RedisServer, client_fixture, open_client, running_server, server_fixture

from trio_toolpar import ErrorCode, Executor, LimitUnavailable, Rate, Registry, Status, ToolCall
from trio_toolpar.redis import LimitMisconfigured, RedisLimits
from trio_toolpar.redis._scripts import ResourceKeys

server = pytest.fixture(server_fixture, name="server")
client = pytest.fixture(client_fixture, name="client")


def namespace() -> str:
    return f"t{uuid.uuid4().hex[:8]}"


# -- keys: one (namespace, resource) pair, one set of keys ----------------------------------

NAMES = st.text(alphabet=":\\sem{}a", min_size=1, max_size=6)


def every_key(keys: ResourceKeys, tokens: list[str]) -> set[str]:
    return {*keys.all(), *(keys.wake(token) for token in tokens)}


def splits(text: str) -> set[tuple[str, str]]:
    """Every (namespace, resource) that joined with ``:sem:`` gives ``text``: the pairs plain joining confuses."""
    marker = ":sem:"
    at = [i for i in range(len(text)) if text.startswith(marker, i)]
    return {(text[:i], text[i + len(marker) :]) for i in at if i > 0 and i + len(marker) < len(text)}


@given(
    st.lists(NAMES, min_size=2, max_size=4), st.lists(st.tuples(NAMES, NAMES), max_size=2), st.lists(NAMES, max_size=3)
)
@example(["app", "x", "y"], [], [])  # the pairs: (app, x:sem:y) and (app:sem:x, y)
def test_distinct_namespace_and_resource_pairs_share_no_key(
    parts: list[str], others: list[tuple[str, str]], tokens: list[str]
) -> None:
    pairs = sorted(splits(":sem:".join(parts)) | set(others))
    keys = {pair: every_key(ResourceKeys.of(*pair), tokens) for pair in pairs}
    for i, first in enumerate(pairs):
        for second in pairs[i + 1 :]:
            assert not keys[first] & keys[second], (first, second)


def test_plain_names_keep_their_keys() -> None:
    assert ResourceKeys.of("trio_toolpar", "datadog").prefix == "trio_toolpar:sem:datadog:"


async def test_a_colon_in_a_name_does_not_join_another_apps_semaphore(client: coredis.Redis[Any]) -> None:
    ns = namespace()
    first = RedisLimits(client, namespace=ns, caps={"x:sem:y": 1})
    second = RedisLimits(client, namespace=f"{ns}:sem:x", caps={"y": 1})
    async with first.hold("x:sem:y", call_id="a"):
        with trio.fail_after(5):  # one semaphore would make this wait for the first hold forever
            async with second.hold("y", call_id="b"):
                pass


# -- credentials and configuration: reported as such, never a quiet local fallback ----------


@pytest.mark.parametrize(
    ("password", "message"),
    [("wrong", r"Redis refused the credentials"), (None, r"Redis refused the credentials")],
    ids=["wrong-password", "no-password"],
)
async def test_wrong_credentials_are_a_configuration_error_in_either_mode(
    password: str | None, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    with running_server("--requirepass", "secret") as server:
        async with open_client(server.port, password=password) as client:
            for mode in ("fail", "local"):
                limits = RedisLimits(client, namespace=namespace(), caps={"db": 1}, on_unavailable=mode)
                with caplog.at_level(logging.DEBUG, logger="trio_toolpar.redis"), trio.fail_after(5):
                    with pytest.raises(LimitMisconfigured, match=message) as caught:
                        async with limits.hold("db", call_id="c"):
                            pytest.fail("the call must not start on a Redis that refuses us")
                    with pytest.raises(LimitMisconfigured, match=message):
                        await limits.statistics("db")
                assert "not an outage" in str(caught.value) and "password" in str(caught.value)
                assert isinstance(caught.value, LimitUnavailable)  # the call ends limit_unavailable
    assert "local limits" not in caplog.text  # never the quiet fallback


async def test_a_wrong_password_ends_each_call_with_its_own_message() -> None:
    with running_server("--requirepass", "secret") as server:
        async with open_client(server.port, password="wrong") as client:
            limits = RedisLimits(client, namespace=namespace(), caps={"db": 1}, on_unavailable="local")
            tools = Registry()
            ran: list[int] = []

            @tools.tool(side_effect="read", resource="db")
            async def query(n: int) -> int:
                ran.append(n)
                return n

            with trio.fail_after(10):
                result = await Executor(tools, shared_limits=limits).run(
                    [ToolCall(id=f"q{i}", tool="query", arguments={"n": i}) for i in range(3)]
                )
    assert ran == []
    assert [(o.status, o.error_code) for o in result] == [(Status.ERROR, ErrorCode.LIMIT_UNAVAILABLE)] * 3
    assert all((o.error or "").startswith("LimitMisconfigured: Redis refused the credentials") for o in result)


# -- release only what was held --------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # nothing listens there once the probe is closed


async def test_a_redis_that_is_down_gets_no_release_for_a_lease_never_taken(caplog: pytest.LogCaptureFixture) -> None:
    async with open_client(closed_port()) as client:
        failing = RedisLimits(client, namespace="d", caps={"db": 1}, on_unavailable="fail")
        local = RedisLimits(client, namespace="d", caps={"db": 1}, on_unavailable="local")
        with caplog.at_level(logging.DEBUG, logger="trio_toolpar.redis"), trio.fail_after(5):
            for _ in range(3):
                with pytest.raises(LimitUnavailable):
                    async with failing.hold("db", call_id="new"):
                        pytest.fail("the call must not start without its shared limit")
                async with local.hold("db", call_id="new"):
                    pass
    assert caplog.text.count("running on local limits only") == 3
    assert "release" not in caplog.text and "withdraw" not in caplog.text


async def test_a_lease_held_when_redis_stops_is_reported_once_as_not_released(
    server: RedisServer, client: coredis.Redis[Any], caplog: pytest.LogCaptureFixture
) -> None:
    limits = RedisLimits(client, namespace=namespace(), caps={"db": 1}, lease=2.0, timeout=0.2)
    with caplog.at_level(logging.WARNING, logger="trio_toolpar.redis"), trio.fail_after(5):
        async with limits.hold("db", call_id="held"):
            server.stop()
    assert caplog.text.count("could not release the shared lease of 'db'") == 1


# -- processes that share a resource must agree on its cap and rate --------------------------


async def test_a_cap_that_disagrees_with_another_process_is_refused_at_its_first_hold(
    client: coredis.Redis[Any],
) -> None:
    ns = namespace()
    three = RedisLimits(client, namespace=ns, caps={"db": 3}, on_unavailable="local")
    ten = RedisLimits(client, namespace=ns, caps={"db": 10}, on_unavailable="local")
    entered: list[int] = []
    async with three.hold("db", call_id="a"):
        with trio.fail_after(5), pytest.raises(LimitMisconfigured) as caught:
            async with ten.hold("db", call_id="b"):
                entered.append(10)
    assert entered == []
    message = str(caught.value)
    assert "another process gives 'db' cap 3, no rate; this one gives it cap 10, no rate" in message
    assert "namespace of its own" in message and "whatever on_unavailable says" in message
    with pytest.raises(LimitMisconfigured, match="cap 3, no rate"):
        await ten.statistics("db")
    async with three.hold("db", call_id="c"):  # the first comer's setting stands
        pass


async def test_ten_calls_never_run_against_a_cap_of_three() -> None:
    with running_server() as server:
        async with open_client(server.port) as client:
            ns = namespace()
            three = RedisLimits(client, namespace=ns, caps={"vendor": 3})
            ten = RedisLimits(client, namespace=ns, caps={"vendor": 10})
            running, peak = [0], [0]
            tools = Registry()

            @tools.tool(side_effect="read", resource="vendor")
            async def query(n: int) -> int:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
                await trio.sleep(0.3)
                running[0] -= 1
                return n

            calls = [ToolCall(id=f"q{i}", tool="query", arguments={"n": i}) for i in range(10)]
            results = []
            with trio.fail_after(20):
                results.append(await Executor(tools, shared_limits=three).run(calls[:1]))
                async with trio.open_nursery() as nursery:

                    async def run(limits: RedisLimits, batch: list[ToolCall]) -> None:
                        results.append(await Executor(tools, shared_limits=limits).run(batch))

                    nursery.start_soon(run, three, calls[:5])
                    nursery.start_soon(run, ten, calls[5:])
    assert peak[0] <= 3
    refused = [o for result in results for o in result if not o.ok]
    assert {o.call_id for o in refused} == {f"q{i}" for i in range(5, 10)}
    assert all(o.error_code is ErrorCode.LIMIT_UNAVAILABLE for o in refused)


async def test_a_rate_that_disagrees_is_refused_too(client: coredis.Redis[Any]) -> None:
    ns = namespace()
    slow = RedisLimits(client, namespace=ns, rates={"api": Rate(per_second=1, burst=2)})
    fast = RedisLimits(client, namespace=ns, rates={"api": Rate(per_second=5.0, burst=2)})
    same = RedisLimits(client, namespace=ns, rates={"api": Rate(per_second=1.0, burst=2)})  # 1 and 1.0 agree
    async with slow.hold("api", call_id="a"):
        pass
    async with same.hold("api", call_id="b"):
        pass
    with pytest.raises(LimitMisconfigured, match=r"no cap, rate 1\.0/s burst 2; this one gives it no cap, rate 5\.0"):
        async with fast.hold("api", call_id="c"):
            pass


# -- a lease lost mid-call: on_lease_lost="cancel" or "finish", and what the cap then means ---


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    """The most intervals open at one instant (an exit at the instant of an entry closes first)."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    most = running = 0
    for _, step in events:
        running += step
        most = max(most, running)
    return most


async def stall_longer_than_the_lease(
    server: RedisServer, mode: Literal["cancel", "finish"]
) -> tuple[Any, list[Any], list[Any], int]:
    """Three calls hold a cap of 3; Redis stops (SIGSTOP) for two leases; then another process takes the units.

    Returns the three calls' outcomes, their intervals, the other process's intervals, and the leases lost.
    """
    lease = 1.0
    ns = namespace()
    async with open_client(server.port) as first, open_client(server.port) as second:
        limits = RedisLimits(first, namespace=ns, caps={"db": 3}, lease=lease, timeout=0.1, on_lease_lost=mode)
        other = RedisLimits(second, namespace=ns, caps={"db": 3}, lease=lease, timeout=0.1)
        ours: list[tuple[float, float]] = []
        theirs: list[tuple[float, float]] = []
        entered = trio.Semaphore(0)
        tools = Registry()

        @tools.tool(side_effect="read", resource="db")
        async def query(n: int) -> int:
            start = trio.current_time()
            entered.release()
            try:
                await trio.sleep(3 * lease + 0.5)
            finally:
                ours.append((start, trio.current_time()))
            return n

        async def other_call(i: int) -> None:
            async with other.hold("db", call_id=f"other{i}"):
                start = trio.current_time()
                await trio.sleep(0.5)
                theirs.append((start, trio.current_time()))

        result: list[Any] = []

        async def turn() -> None:
            calls = [ToolCall(id=f"q{i}", tool="query", arguments={"n": i}) for i in range(3)]
            result.append(await Executor(tools, shared_limits=limits).run(calls))

        with trio.fail_after(20):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(turn)
                for _ in range(3):
                    await entered.acquire()
                os.kill(server.pid, signal.SIGSTOP)  # answers nothing, closes nothing: a stall
                try:
                    await trio.sleep(2 * lease)
                finally:
                    os.kill(server.pid, signal.SIGCONT)
                async with trio.open_nursery() as others:
                    for i in range(3):
                        others.start_soon(other_call, i)
        lost = (await limits.statistics("db")).leases_lost
    return result[0], ours, theirs, lost


async def test_a_stall_longer_than_the_lease_cancels_the_calls_that_lost_it_with_cancel(server: RedisServer) -> None:
    result, ours, theirs, lost = await stall_longer_than_the_lease(server, "cancel")
    assert [(o.status, o.error_code) for o in result] == [(Status.ERROR, ErrorCode.LIMIT_UNAVAILABLE)] * 3
    assert all("on_lease_lost='cancel'" in (o.error or "") for o in result)
    assert lost == 3 and len(theirs) == 3
    assert max_overlap(ours + theirs) <= 3  # never more than the cap
    assert max(end for _, end in ours) < min(start for start, _ in theirs)


async def test_a_stall_longer_than_the_lease_exceeds_the_cap_by_the_lost_leases_with_finish(
    server: RedisServer,
) -> None:
    result, ours, theirs, lost = await stall_longer_than_the_lease(server, "finish")
    assert all(o.ok for o in result)  # the calls ran on
    assert lost == 3 and len(theirs) == 3
    assert max_overlap(ours + theirs) <= 3 + lost  # the cap, plus at most the calls whose leases were lost


async def test_a_lease_found_gone_cancels_the_call_at_once_with_cancel(client: coredis.Redis[Any]) -> None:
    limits = RedisLimits(client, namespace=namespace(), caps={"db": 1}, lease=0.6, timeout=0.1, on_lease_lost="cancel")
    finished = False

    async def victim() -> None:
        nonlocal finished
        async with limits.hold("db", call_id="victim"):
            await client.delete([f"{limits.namespace}:sem:db:holders"])  # as if it had expired and been dropped
            await trio.sleep(2.0)
            finished = True

    with trio.fail_after(5), pytest.raises(LimitUnavailable, match=r"it had expired before it was renewed"):
        await victim()
    assert not finished
    assert (await limits.statistics("db")).leases_lost == 1


def test_on_lease_lost_must_be_cancel_or_finish() -> None:
    with pytest.raises(ValueError, match="on_lease_lost must be 'cancel' or 'finish'"):
        RedisLimits(coredis.Redis(host="127.0.0.1", port=1), caps={"db": 1}, on_lease_lost="maybe")  # type: ignore[arg-type]


async def test_a_lease_found_gone_when_the_call_ends_is_counted_as_lost(
    client: coredis.Redis[Any], caplog: pytest.LogCaptureFixture
) -> None:
    limits = RedisLimits(client, namespace=namespace(), caps={"db": 1}, lease=6.0)  # no renewal before it ends
    with caplog.at_level(logging.WARNING, logger="trio_toolpar.redis"):
        async with limits.hold("db", call_id="victim"):
            await client.delete([f"{limits.namespace}:sem:db:holders"])  # as a Redis restarted empty would
    assert (await limits.statistics("db")).leases_lost == 1
    assert "it had expired before the call ended; the shared cap may have been exceeded" in caplog.text
