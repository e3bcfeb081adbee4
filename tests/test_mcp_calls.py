"""One MCP call's life: its value, its errors, progress that keeps it alive, and cancellation (on MockClock).

The in-process server runs on Trio's clock too, so these times are exact.
"""

from __future__ import annotations

import base64
import json

import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st
from mcp import ClientSession
from mcp.types import (
    BlobResourceContents,
    CallToolResult,
    EmbeddedResource,
    ImageContent,
    ResourceLink,
    TextContent,
    TextResourceContents,
)
from mcp_servers.sessions import memory_session

from trio_toolpar import ErrorCode, Executor, FailFast, Registry, Status, ToolCall, render_observation
from trio_toolpar.mcp import register_session, result_value


@given(st.lists(st.text(), min_size=2, max_size=5))
def test_text_blocks_become_their_strings(texts: list[str]) -> None:
    result = CallToolResult(content=[TextContent(text=t) for t in texts])
    assert result_value(result) == texts
    assert result_value(CallToolResult(content=[TextContent(text=texts[0])])) == texts[0]


def test_structured_content_wins_and_binary_blocks_stay_small() -> None:
    png = base64.b64encode(b"\x89PNG" + bytes(1000)).decode()
    assert result_value(CallToolResult(content=[TextContent(text="{}")], structured_content={"a": 1})) == {"a": 1}
    value = result_value(
        CallToolResult(
            content=[
                ImageContent(data=png, mime_type="image/png"),
                ResourceLink(uri="file:///a.txt", name="a.txt", mime_type="text/plain"),
                EmbeddedResource(resource=TextResourceContents(uri="file:///b.txt", text="bee")),
                EmbeddedResource(resource=BlobResourceContents(uri="file:///c.bin", blob=png)),
            ]
        )
    )
    assert value == [
        {"type": "image", "mime_type": "image/png", "size": 1004},
        {"type": "resource_link", "uri": "file:///a.txt", "name": "a.txt", "mime_type": "text/plain"},
        {"type": "resource", "uri": "file:///b.txt", "mime_type": None, "text": "bee"},
        {"type": "resource", "uri": "file:///c.bin", "mime_type": None, "size": 1004},
    ]
    assert result_value(CallToolResult(content=[])) == []


async def _registry(session: ClientSession, *, progress_timeout: float | None = None) -> Registry:
    registry = Registry()
    await register_session(
        registry, session, resource="box", prefix="box_", exclude={"place"}, progress_timeout=progress_timeout
    )
    return registry


async def test_mixed_content_from_a_server_is_plain_json(autojump_clock: trio.testing.MockClock) -> None:
    async with memory_session() as session:
        (outcome,) = await Executor(await _registry(session)).run([ToolCall(id="m", tool="box_mixed")])
    assert outcome.value == ["hello", {"type": "image", "mime_type": "image/png", "size": 8}, "world"]
    assert json.loads(render_observation(outcome))["result"] == outcome.value


async def test_progress_keeps_a_call_alive_and_silence_ends_it(autojump_clock: trio.testing.MockClock) -> None:
    async with memory_session() as session:
        executor = Executor(await _registry(session, progress_timeout=1.5))
        t0 = trio.current_time()
        talking, silent = await executor.run(
            [
                ToolCall(id="talking", tool="box_progress", arguments={"steps": 4, "every": 1.0}),
                ToolCall(id="silent", tool="box_read", arguments={"seconds": 3.0, "tag": "silent"}),
            ]
        )
        (seen,) = await executor.run([ToolCall(id="seen", tool="box_cancelled")])
    assert (talking.value, talking.finished_at) == ({"result": 4}, t0 + 4.0)  # 4 s in all, never 1.5 s silent
    assert (silent.status, silent.error_code, silent.finished_at) == (Status.ERROR, ErrorCode.TOOL_ERROR, t0 + 1.5)
    assert silent.error == (
        "McpProgressTimeout: no result and no progress from the MCP server for 1.5 s; the call was cancelled"
    )
    assert seen.value == {"result": ["silent"]}


async def test_fail_fast_cancels_a_running_call_on_the_server(autojump_clock: trio.testing.MockClock) -> None:
    async with memory_session() as session:
        executor = Executor(await _registry(session), policy=FailFast())
        t0 = trio.current_time()
        slow, fail = await executor.run(
            [
                ToolCall(id="slow", tool="box_read", arguments={"seconds": 10.0, "tag": "slow"}),
                ToolCall(id="fail", tool="box_refuse", arguments={"code": -32603, "message": "no"}),
            ]
        )
        (seen,) = await executor.run([ToolCall(id="seen", tool="box_cancelled")])
    assert (slow.status, slow.error_code, slow.finished_at) == (Status.CANCELLED, ErrorCode.SIBLING_FAILED, t0)
    assert fail.error == "McpProtocolError: the MCP server answered with error -32603: no"
    assert seen.value == {"result": ["slow"]}


async def test_the_callers_cancellation_propagates_and_reaches_the_server(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with memory_session() as session:
        executor = Executor(await _registry(session))
        turn = executor.turn([ToolCall(id="slow", tool="box_read", arguments={"seconds": 10.0, "tag": "slow"})])
        with trio.move_on_after(2.0) as stop:
            await turn.run()
        assert stop.cancelled_caught
        (seen,) = await executor.run([ToolCall(id="seen", tool="box_cancelled")])
    assert (turn.result[0].status, turn.result[0].error_code) == (Status.CANCELLED, ErrorCode.CANCELLED)
    assert seen.value == {"result": ["slow"]}


async def test_a_closed_session_gives_connection_errors(autojump_clock: trio.testing.MockClock) -> None:
    async with memory_session() as session:
        registry = await _registry(session)
    (outcome,) = await Executor(registry).run([ToolCall(id="late", tool="box_pid")])
    assert (outcome.status, outcome.error_code) == (Status.ERROR, ErrorCode.TOOL_ERROR)
    assert outcome.error is not None
    assert outcome.error.startswith("McpConnectionError: the connection to the MCP server is closed")


@pytest.mark.parametrize("seconds", [0.5, 2.0])
async def test_a_per_call_timeout_applies_to_mcp_calls(seconds: float, autojump_clock: trio.testing.MockClock) -> None:
    async with memory_session() as session:
        registry = Registry()
        await register_session(registry, session, resource="box", prefix="box_", exclude={"place"}, timeout=1.0)
        t0 = trio.current_time()
        (outcome,) = await Executor(registry).run(
            [ToolCall(id="r", tool="box_read", arguments={"seconds": seconds, "tag": "r"})]
        )
    assert outcome.finished_at == t0 + min(seconds, 1.0)
    assert outcome.status == (Status.OK if seconds < 1.0 else Status.TIMEOUT)
