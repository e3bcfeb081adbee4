"""RedisLimits through the Executor: a turn's calls share a cap across executors, and a dead Redis fails closed."""

from __future__ import annotations

import uuid
from typing import Any

import coredis
import pytest
import trio
from redis_server import RedisServer, client_fixture, server_fixture

from trio_toolpar import ErrorCode, Executor, Registry, Status, ToolCall
from trio_toolpar.redis import RedisLimits

server = pytest.fixture(server_fixture, name="server")
client = pytest.fixture(client_fixture, name="client")


def registry(running: list[int], peak: list[int]) -> Registry:
    tools = Registry()

    @tools.tool(side_effect="read", resource="vendor")
    async def query(n: int) -> int:
        running[0] += 1
        peak[0] = max(peak[0], running[0])
        try:
            await trio.sleep(0.05)
        finally:
            running[0] -= 1
        return n

    return tools


async def test_two_executors_share_one_redis_cap(client: coredis.Redis[Any]) -> None:
    namespace = f"t{uuid.uuid4().hex[:8]}"
    running, peak = [0], [0]
    tools = registry(running, peak)
    # Each executor alone would allow 5 at once; the shared cap allows 2 across both.
    executors = [
        Executor(
            tools, limits={"vendor": 5}, shared_limits=RedisLimits(client, namespace=namespace, caps={"vendor": 2})
        )
        for _ in range(2)
    ]
    results: list[Any] = []

    async def turn(executor: Executor, tag: str) -> None:
        results.append(
            await executor.run([ToolCall(id=f"{tag}{i}", tool="query", arguments={"n": i}) for i in range(5)])
        )

    async with trio.open_nursery() as nursery:
        for tag, executor in zip("ab", executors, strict=True):
            nursery.start_soon(turn, executor, tag)
    assert all(result.ok for result in results)
    assert peak[0] == 2


async def test_a_stopped_redis_fails_calls_closed_and_the_turn_keeps_every_outcome(server: RedisServer) -> None:
    async with coredis.Redis(host="127.0.0.1", port=server.port) as redis:
        limits = RedisLimits(redis, namespace=f"t{uuid.uuid4().hex[:8]}", caps={"vendor": 2}, on_unavailable="fail")
        running, peak = [0], [0]
        executor = Executor(registry(running, peak), shared_limits=limits)
        server.stop()
        with trio.fail_after(10):  # bounded: never a hang
            result = await executor.run([ToolCall(id=f"c{i}", tool="query", arguments={"n": i}) for i in range(3)])
    assert [(o.status, o.error_code) for o in result] == [(Status.ERROR, ErrorCode.LIMIT_UNAVAILABLE)] * 3
    assert peak[0] == 0
