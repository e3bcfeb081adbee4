"""A turn's budget bounds a stuck MCP server: a stopped server whose input pipe is full.

The server runs as a real subprocess on the real clock, so each bound is
asserted with a margin for a loaded machine (the claim is "within budget plus
the documented grace", never a speed). 15 calls of 20 KB each fill the pipe
of a server stopped with SIGSTOP: the requests cannot be written, and neither
can the SDK's ``notifications/cancelled`` once the budget cancels them.
"""

from __future__ import annotations

import math
import os
import signal

import anyio
import pytest
import trio
import trio.testing
from mcp.shared import jsonrpc_dispatcher
from mcp.shared.message import SessionMessage
from mcp.types import JSONRPCNotification, JSONRPCRequest
from mcp_servers.sessions import stdio_session

from trio_toolpar import ErrorCode, Executor, Registry, Status, ToolCall, TurnResult
from trio_toolpar.mcp import CANCEL_GRACE, CancelGrace, register_session

BUDGET = 2.0
MARGIN = 1.5  # seconds a loaded machine may add; far below the overrun this guards against
SDK_CANCEL_WRITE_BOUND = 5.0  # the MCP SDK's own bound on its shielded notifications/cancelled write


async def stuck_turn(grace: float | None) -> tuple[TurnResult, float]:
    """Run 15 calls of 20 KB against a stopped server with a budget; the result and how long it took."""
    async with stdio_session(grace=grace) as session:
        registry = Registry()
        await register_session(registry, session, resource="box", prefix="box_")
        pid = (await session.call_tool("pid", {})).structured_content["result"]
        os.kill(pid, signal.SIGSTOP)
        try:
            calls = [
                ToolCall(id=f"c{i}", tool="box_read", arguments={"seconds": 0.0, "tag": f"{i}" * 20_000})
                for i in range(15)
            ]
            started = trio.current_time()
            with trio.fail_after(BUDGET + SDK_CANCEL_WRITE_BOUND + 10):  # never a hang, whatever happens
                result = await Executor(registry).run(calls, budget=BUDGET)
            return result, trio.current_time() - started
        finally:
            os.kill(pid, signal.SIGCONT)


async def test_with_cancel_grace_a_stopped_servers_full_pipe_ends_the_turn_within_budget_and_grace() -> None:
    result, took = await stuck_turn(CANCEL_GRACE)
    assert {(o.status, o.error_code) for o in result} <= {
        (Status.CANCELLED, ErrorCode.BUDGET_EXCEEDED),
        (Status.SKIPPED, ErrorCode.BUDGET_EXCEEDED),
    }
    assert took <= BUDGET + CANCEL_GRACE + MARGIN


async def test_without_it_the_turn_ends_within_the_sdks_bound_on_its_cancel_notice() -> None:
    assert jsonrpc_dispatcher._ABANDON_WRITE_TIMEOUT == SDK_CANCEL_WRITE_BOUND  # the bound docs/mcp.md names
    result, took = await stuck_turn(None)
    assert all(o.error_code is ErrorCode.BUDGET_EXCEEDED for o in result)
    assert took <= BUDGET + SDK_CANCEL_WRITE_BOUND + MARGIN


# -- CancelGrace itself, on Trio's clock ------------------------------------------------------


def notice(request_id: int) -> SessionMessage:
    return SessionMessage(
        message=JSONRPCNotification(
            jsonrpc="2.0", method="notifications/cancelled", params={"requestId": request_id, "reason": "budget"}
        )
    )


def request(request_id: int) -> SessionMessage:
    return SessionMessage(message=JSONRPCRequest(jsonrpc="2.0", id=request_id, method="tools/call", params={}))


async def test_a_cancel_notice_nobody_takes_is_dropped_after_the_grace(autojump_clock: trio.testing.MockClock) -> None:
    send, receive = anyio.create_memory_object_stream[SessionMessage](0)
    async with receive, CancelGrace(send, seconds=0.5) as writes:
        t0 = trio.current_time()
        with trio.CancelScope(shield=True):  # as the SDK writes it
            await writes.send(notice(7))
        assert trio.current_time() == t0 + 0.5
        with trio.move_on_after(3.0) as scope:
            await writes.send(request(8))  # anything else waits for the transport as before
        assert scope.cancelled_caught and trio.current_time() == t0 + 3.5


async def test_a_cancel_notice_the_transport_takes_is_written(autojump_clock: trio.testing.MockClock) -> None:
    send, receive = anyio.create_memory_object_stream[SessionMessage](2)
    async with receive, CancelGrace(send) as writes:
        await writes.send(notice(7))
        await writes.send(request(8))
        assert [(await receive.receive()).message for _ in range(2)] == [notice(7).message, request(8).message]


@pytest.mark.parametrize(
    ("seconds", "error"),
    [(0, ValueError), (-1, ValueError), (math.inf, ValueError), (math.nan, ValueError), (True, TypeError)],
)
def test_the_grace_is_a_positive_finite_number_of_seconds(seconds: float, error: type[Exception]) -> None:
    send, _ = anyio.create_memory_object_stream[SessionMessage](0)
    with pytest.raises(error, match=r"CancelGrace\(seconds=...\) must be a positive, finite number of seconds"):
        CancelGrace(send, seconds=seconds)
