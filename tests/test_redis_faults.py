"""Shared limits under faults and misconfiguration, against a real redis-server.

Keys that cannot collide, caps that must agree, credentials that are wrong,
a Redis that is down or stalls for longer than a lease. Real time, because
Redis's clock is real: every wait is bounded by ``trio.fail_after`` and the
bounds say "not before" and "not long after", never how fast.
"""

from __future__ import annotations

import logging
import socket
import uuid
from typing import Any

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
