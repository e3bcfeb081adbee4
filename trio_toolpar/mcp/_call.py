"""One MCP tool as an async callable the executor can run: a ``tools/call`` and its result's value.

Cancellation needs nothing here: when the executor cancels a call (budget,
fail-fast, the caller's stop), ``trio.Cancelled`` reaches the SDK's request,
which sends ``notifications/cancelled`` to the server and drops the late
answer, so the session serves the next call as before. How long that notice
may hold the call is the session's write stream's to say (see `CancelGrace`).
"""

from __future__ import annotations

from typing import Any, final

import attrs
import trio
from mcp import ClientSession, MCPError
from mcp.types import CONNECTION_CLOSED, CallToolResult

from ._content import error_text, result_value
from ._errors import McpConnectionError, McpProgressTimeout, McpProtocolError, McpToolError

__all__ = ["RemoteTool"]


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

    async def call(self, **arguments: Any) -> Any:
        """Call the tool with ``arguments``; its value, or an `McpError` saying why not."""
        try:
            if self.progress_timeout is None:
                result = await self.session.call_tool(self.name, arguments)
            else:
                result = await self._call_while_progressing(arguments, self.progress_timeout)
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

    async def _call_while_progressing(self, arguments: dict[str, Any], seconds: float) -> CallToolResult:
        result: CallToolResult | None = None
        with trio.move_on_after(seconds) as silence:

            async def on_progress(progress: float, total: float | None, message: str | None) -> None:
                silence.deadline = trio.current_time() + seconds

            result = await self.session.call_tool(self.name, arguments, progress_callback=on_progress)
        if result is None:
            raise McpProgressTimeout(
                f"no result and no progress from the MCP server for {seconds:g} s; the call was cancelled",
                tool=self.name,
            )
        return result
