"""An MCP server's progress notifications: the same `CallProgressed` events as a local tool's reports (MockClock).

The in-process server runs on Trio's clock too, so these times are exact.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
import trio.testing
from mcp import Client, ClientSession
from mcp.server.mcpserver import Context, MCPServer
from mcp.types import ToolAnnotations
from mcp_servers.sessions import memory_session

from trio_toolpar import Executor, RegistrationError, Registry, Status, ToolCall
from trio_toolpar.events import CallProgressed, Event
from trio_toolpar.mcp import register_session


class Reports:
    """Keeps each progress event as (time, attempt, done, total, message)."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, int, float, float | None, str | None]] = []

    def on_event(self, event: Event) -> None:
        if isinstance(event, CallProgressed):
            self.seen.append((event.time, event.attempt, event.done, event.total, event.message))


@pytest.mark.parametrize("progress_timeout", [None, 1.5])
async def test_a_server_s_notifications_are_the_call_s_progress_events(
    progress_timeout: float | None, autojump_clock: trio.testing.MockClock
) -> None:
    reports = Reports()
    async with memory_session() as session:
        registry = Registry()
        await register_session(
            registry, session, resource="box", prefix="box_", exclude={"place"}, progress_timeout=progress_timeout
        )
        t0 = trio.current_time()
        (outcome,) = await Executor(registry, instruments=[reports]).run(
            [ToolCall(id="p", tool="box_progress", arguments={"steps": 3, "every": 1.0, "label": "chunk"})]
        )
    assert (outcome.status, outcome.value, outcome.finished_at) == (Status.OK, {"result": 3}, t0 + 3.0)
    assert reports.seen == [
        (t0 + 1.0, 1, 1.0, 3.0, "chunk 1"),
        (t0 + 2.0, 1, 2.0, 3.0, "chunk 2"),
        (t0 + 3.0, 1, 3.0, 3.0, "chunk 3"),
    ]


@asynccontextmanager
async def _sloppy_server() -> AsyncIterator[ClientSession]:
    server = MCPServer(name="sloppy")

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    async def overshoot(ctx: Context) -> str:
        await trio.sleep(1.0)
        await ctx.report_progress(5, 3, "more than all")
        await trio.sleep(1.0)
        await ctx.report_progress(-1)
        await trio.sleep(1.0)
        await ctx.report_progress(3, 3, "all")
        return "done"

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    async def clash(toolpar_context: str) -> str:
        return toolpar_context

    async with Client(server) as client:
        yield client.session


async def test_a_malformed_notification_is_dropped_and_the_call_goes_on(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    reports = Reports()
    async with _sloppy_server() as session:
        registry = Registry()
        await register_session(registry, session, resource="sloppy", exclude={"clash"}, progress_timeout=1.5)
        t0 = trio.current_time()
        (outcome,) = await Executor(registry, instruments=[reports]).run([ToolCall(id="o", tool="overshoot")])
    # Each notification still shows the server is alive: the 1.5 s progress timeout never fires.
    assert (outcome.status, outcome.value, outcome.finished_at) == (Status.OK, {"result": "done"}, t0 + 3.0)
    assert reports.seen == [(t0 + 3.0, 1, 3.0, 3.0, "all")]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []  # dropped, not raised


async def test_a_tool_argument_named_like_the_context_parameter_is_refused() -> None:
    async with _sloppy_server() as session:
        registry = Registry()
        with pytest.raises(RegistrationError, match=r"MCP tool 'clash' has an argument named 'toolpar_context'"):
            await register_session(registry, session, resource="sloppy")
        assert len(registry) == 0
        await register_session(registry, session, resource="sloppy", exclude={"clash"})
    assert [t.name for t in registry] == ["overshoot"]
