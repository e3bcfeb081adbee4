"""One MCP tool as an async callable the executor can run: a ``tools/call`` and its result's value.

Cancellation needs nothing here: when the executor cancels a call (budget,
fail-fast, the caller's stop), ``trio.Cancelled`` reaches the SDK's request,
which sends ``notifications/cancelled`` to the server and drops the late
answer, so the session serves the next call as before. How long that notice
may hold the call is the session's write stream's to say (see `CancelGrace`).

Every call asks the server for progress notifications; each one goes to the
call's `CallContext.progress`, as a local tool's report does. A notification
that is not a report the context accepts (a negative count, more done than
the total) is dropped: a server's slip is not the call's failure.
"""

from __future__ import annotations

import contextlib
from typing import Any, final

import attrs
import trio
from mcp import ClientSession, MCPError
from mcp.shared.dispatcher import ProgressFnT
from mcp.types import CONNECTION_CLOSED, CallToolResult

from trio_toolpar import CallContext

from ._content import error_text, result_value
from ._errors import McpConnectionError, McpProgressTimeout, McpProtocolError, McpToolError

__all__ = ["CONTEXT_PARAMETER", "RemoteTool"]

CONTEXT_PARAMETER = "toolpar_context"
"""The keyword of `RemoteTool.call` that takes the call's `CallContext` (no tool argument may have its name)."""


@final
@attrs.frozen(kw_only=True)
class RemoteTool:
    """Calls tool ``name`` on ``session``.

    Args:
        session: a connected, initialized session.
        name: the tool's name on the server.
        progress_timeout: seconds the server may stay silent (no result, no
            progress notification) before the call fails (``None``: no limit).
    """

    session: ClientSession = attrs.field(repr=False)
    name: str
    progress_timeout: float | None = None

    async def call(self, toolpar_context: CallContext, **arguments: Any) -> Any:
        """Call the tool with ``arguments``; its value, or an `McpError` saying why not.

        The server's progress notifications go to ``toolpar_context.progress``.
        """
        report = _reporter(toolpar_context)
        try:
            if self.progress_timeout is None:
                result = await self.session.call_tool(self.name, arguments, progress_callback=report)
            else:
                result = await self._call_while_progressing(arguments, self.progress_timeout, report)
        except MCPError as exc:
            if exc.code == CONNECTION_CLOSED:
                raise McpConnectionError(
                    f"the connection to the MCP server is closed (it exited, or the session ended): {exc.message}",
                    tool=self.name,
                    code=exc.code,
                ) from exc
            raise McpProtocolError(
                f"the MCP server answered with error {exc.code}: {exc.message}", tool=self.name, code=exc.code
            ) from exc
        if result.is_error:
            raise McpToolError(error_text(result), tool=self.name)
        return result_value(result)

    async def _call_while_progressing(
        self, arguments: dict[str, Any], seconds: float, report: ProgressFnT
    ) -> CallToolResult:
        result: CallToolResult | None = None
        with trio.move_on_after(seconds) as silence:

            async def on_progress(progress: float, total: float | None, message: str | None) -> None:
                silence.deadline = trio.current_time() + seconds
                await report(progress, total, message)

            result = await self.session.call_tool(self.name, arguments, progress_callback=on_progress)
        if result is None:
            raise McpProgressTimeout(
                f"no result and no progress from the MCP server for {seconds:g} s; the call was cancelled",
                tool=self.name,
            )
        return result


def _reporter(context: CallContext) -> ProgressFnT:
    """The SDK's progress callback for one call: each notification to ``context``, unless it is malformed."""

    async def report(progress: float, total: float | None, message: str | None) -> None:
        with contextlib.suppress(TypeError, ValueError):  # refused by the context's checks: dropped
            context.progress(progress, total, message)

    return report
