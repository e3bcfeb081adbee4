"""MCP tools against a real server subprocess over streamable HTTP on 127.0.0.1."""

from __future__ import annotations

import pytest
import trio
from mcp_servers.sessions import http_session

from trio_toolpar import ErrorCode, Executor, Registry, Status, ToolCall
from trio_toolpar.mcp import register_session

# The SDK's HTTP client (httpx2) leaves its response and event streams to the garbage collector,
# unexhausted, which Trio reports as a ResourceWarning; this edge has no async generators of its own.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <async_generator object:pytest.PytestUnraisableExceptionWarning"
)


async def test_parallel_reads_an_error_and_a_cancelled_call_over_http() -> None:
    with trio.fail_after(45):
        async with http_session() as session:
            registry = Registry()
            await register_session(registry, session, resource="web", prefix="web_", exclude={"place"})
            executor = Executor(registry, limits={"web": 3})
            calls = [
                ToolCall(id=f"r{i}", tool="web_read", arguments={"seconds": 0.5, "tag": f"r{i}"}) for i in range(3)
            ]
            calls.append(ToolCall(id="f", tool="web_fail", arguments={"message": "no such page"}))
            result = await executor.run(calls)
            assert [o.value for o in list(result)[:3]] == [{"tag": f"r{i}"} for i in range(3)]
            starts = [o.started_at for o in list(result)[:3] if o.started_at is not None]
            ends = [o.finished_at for o in list(result)[:3] if o.finished_at is not None]
            assert max(starts) < min(ends)  # the three ran at once
            assert result[3].error == "McpToolError: Error executing tool fail: no such page"

            cut = await executor.run(
                [ToolCall(id="slow", tool="web_read", arguments={"seconds": 30, "tag": "slow"})], budget=0.3
            )
            assert (cut[0].status, cut[0].error_code) == (Status.CANCELLED, ErrorCode.BUDGET_EXCEEDED)
            seen: object = None
            for _ in range(50):
                (after,) = await executor.run([ToolCall(id="seen", tool="web_cancelled")])
                seen = after.value
                if seen == {"result": ["slow"]}:
                    break
                await trio.sleep(0.05)
            assert seen == {"result": ["slow"]}
