"""MCP tools against a real server subprocess over stdio: parallel, capped, ordered, failing, cancelled.

A subprocess runs on the real clock, so times here are structural bounds from
the outcomes' own start and finish times (all started before any finished),
never tight wall-clock figures.
"""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator, Sequence

import pytest
import trio
from mcp import ClientSession
from mcp_servers.sessions import stdio_session

from trio_toolpar import ErrorCode, Executor, Outcome, Registry, Status, ToolCall
from trio_toolpar.mcp import McpTool, register_session


@pytest.fixture
async def session() -> AsyncIterator[ClientSession]:
    async with stdio_session() as session:
        yield session


async def _registry(session: ClientSession) -> tuple[Registry, tuple[McpTool, ...]]:
    registry = Registry()
    tools = await register_session(registry, session, resource="box", prefix="box_", exclude={"place"})
    return registry, tools


def _sleep(call_id: str, tool: str, seconds: float) -> ToolCall:
    return ToolCall(id=call_id, tool=f"box_{tool}", arguments={"seconds": seconds, "tag": call_id})


def _interval(outcome: Outcome) -> tuple[float, float]:
    assert outcome.started_at is not None
    assert outcome.finished_at is not None
    return outcome.started_at, outcome.finished_at


def _max_overlap(outcomes: Sequence[Outcome]) -> int:
    events = sorted(
        [(start, 1) for start, _ in map(_interval, outcomes)] + [(end, -1) for _, end in map(_interval, outcomes)],
        key=lambda e: (e[0], e[1]),  # an end at the instant of a start frees its slot first
    )
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    return peak


async def test_four_one_second_reads_run_at_once(session: ClientSession) -> None:
    registry, _ = await _registry(session)
    result = await Executor(registry).run([_sleep(f"r{i}", "read", 1.0) for i in range(4)])
    assert [o.status for o in result] == [Status.OK] * 4
    assert [o.value for o in result] == [{"tag": f"r{i}"} for i in range(4)]
    intervals = [_interval(o) for o in result]
    assert max(start for start, _ in intervals) < min(end for _, end in intervals)  # all started before any finished
    assert max(end for _, end in intervals) - min(start for start, _ in intervals) < 3.0  # not one after another


async def test_a_per_server_cap_of_two_is_honoured(session: ClientSession) -> None:
    registry, _ = await _registry(session)
    result = await Executor(registry, limits={"box": 2}).run([_sleep(f"r{i}", "read", 0.5) for i in range(4)])
    assert [o.status for o in result] == [Status.OK] * 4
    assert _max_overlap(list(result)) == 2


async def test_reads_overlap_while_destructive_calls_are_ordered(session: ClientSession) -> None:
    registry, tools = await _registry(session)
    assert {t.remote_name: t.tool.side_effect for t in tools if t.remote_name in ("read", "delete")} == {
        "read": "read",
        "delete": "write",
    }
    calls = [_sleep("r1", "read", 0.4), _sleep("r2", "read", 0.4), _sleep("d1", "delete", 0.2)]
    calls += [_sleep("d2", "delete", 0.2), _sleep("d3", "delete", 0.2)]
    result = await Executor(registry).run(calls)
    assert [o.status for o in result] == [Status.OK] * 5
    r1, r2, d1, d2, d3 = (_interval(o) for o in result)
    assert max(r1[0], r2[0]) < min(r1[1], r2[1])  # the reads overlap
    assert d1[0] >= max(r1[1], r2[1])  # the first write waits for the reads before it
    assert d1[1] <= d2[0]  # and the writes run one at a time, in emission order
    assert d2[1] <= d3[0]


async def test_a_tool_error_and_a_protocol_error_are_error_outcomes(session: ClientSession) -> None:
    registry, _ = await _registry(session)
    result = await Executor(registry).run(
        [
            ToolCall(id="f", tool="box_fail", arguments={"message": "disk is full"}),
            ToolCall(id="p", tool="box_refuse", arguments={"code": -32001, "message": "quota exceeded"}),
            _sleep("ok", "read", 0.0),
        ]
    )
    fail, refused, fine = result
    assert (fail.status, fail.error_code) == (Status.ERROR, ErrorCode.TOOL_ERROR)
    assert fail.error == "McpToolError: Error executing tool fail: disk is full"
    assert (refused.status, refused.error_code) == (Status.ERROR, ErrorCode.TOOL_ERROR)
    assert refused.error == "McpProtocolError: the MCP server answered with error -32001: quota exceeded"
    assert fine.ok


async def test_a_server_killed_mid_call_gives_error_outcomes_not_a_hang(session: ClientSession) -> None:
    registry, _ = await _registry(session)
    pid = (await session.call_tool("pid", {})).structured_content["result"]

    @registry.tool(side_effect="write")
    async def kill_server() -> None:
        await trio.sleep(0.3)
        os.kill(pid, signal.SIGKILL)

    with trio.fail_after(10):  # the reads would sleep 30 s; a dead server must end them at once
        result = await Executor(registry).run(
            [_sleep("a", "read", 30.0), _sleep("b", "delete", 30.0), ToolCall(id="k", tool="kill_server")]
        )
        after = await Executor(registry).run([_sleep("late", "read", 0.0)])
    a, b, killed = result
    assert killed.ok
    for outcome in (a, b, after[0]):
        assert (outcome.status, outcome.error_code) == (Status.ERROR, ErrorCode.TOOL_ERROR)
        assert outcome.error is not None
        assert outcome.error.startswith("McpConnectionError: the connection to the MCP server is closed")
    assert _interval(a)[1] >= _interval(killed)[1]


async def test_a_budget_cancels_calls_on_the_server_and_the_session_answers_after(session: ClientSession) -> None:
    registry, _ = await _registry(session)
    executor = Executor(registry)
    result = await executor.run([_sleep("slow1", "read", 30.0), _sleep("slow2", "read", 30.0)], budget=0.5)
    assert [(o.status, o.error_code) for o in result] == [(Status.CANCELLED, ErrorCode.BUDGET_EXCEEDED)] * 2
    assert all(_interval(o)[1] - _interval(o)[0] < 5.0 for o in result)
    seen: object = None
    with trio.fail_after(10):
        for _ in range(50):  # the server handles the cancellation notices in its own time
            (after,) = await executor.run([ToolCall(id="seen", tool="box_cancelled")])
            assert after.ok
            seen = sorted(after.value["result"])  # in whatever order the server handled the notices
            if seen == ["slow1", "slow2"]:
                break
            await trio.sleep(0.05)
    assert seen == ["slow1", "slow2"]
