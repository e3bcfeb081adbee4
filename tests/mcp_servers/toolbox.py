"""An MCP server for the tests: slow reads and writes, failures, odd content, and a log of cancellations.

Run as ``python toolbox.py stdio`` or ``python toolbox.py http PORT``. Every tool
that sleeps records, in this process, whether the client cancelled it; the
``cancelled`` tool reports that record, so a test can see what the server saw.
The ``trace_context`` tool reports the W3C trace context its request carried.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import anyio
from mcp import MCPError
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.utilities.types import Image
from mcp.types import ToolAnnotations
from opentelemetry import trace
from pydantic import BaseModel

READ = ToolAnnotations(read_only_hint=True)
DESTRUCTIVE = ToolAnnotations(read_only_hint=False, destructive_hint=True)
ADDITIVE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True)


class Address(BaseModel):
    street: str
    city: str


class Order(BaseModel):
    item: str
    quantity: int
    ship_to: Address


def build_server() -> MCPServer:
    """A fresh server with its own record of cancelled calls."""
    server = MCPServer(name="toolbox")
    cancelled_tags: list[str] = []

    async def _sleep(seconds: float, tag: str) -> None:
        try:
            await anyio.sleep(seconds)
        except anyio.get_cancelled_exc_class():
            cancelled_tags.append(tag)
            raise

    @server.tool(annotations=READ)
    async def read(seconds: float, tag: str) -> dict[str, Any]:
        """Sleep, then return the tag: a read-only tool."""
        await _sleep(seconds, tag)
        return {"tag": tag}

    @server.tool(annotations=DESTRUCTIVE)
    async def delete(seconds: float, tag: str) -> dict[str, Any]:
        """Sleep, then return the tag: a destructive tool."""
        await _sleep(seconds, tag)
        return {"deleted": tag}

    @server.tool(annotations=ADDITIVE)
    async def append(seconds: float, tag: str) -> dict[str, Any]:
        """Sleep, then return the tag: an additive, idempotent write."""
        await _sleep(seconds, tag)
        return {"appended": tag}

    @server.tool()
    async def unannotated(tag: str) -> str:
        """A tool that declares no annotations."""
        return tag

    @server.tool(annotations=READ)
    async def fail(message: str) -> str:
        """Fail with the given message, as a tool error the model may read."""
        raise ToolError(message)

    @server.tool(annotations=READ)
    async def refuse(code: int, message: str) -> str:
        """Answer with a JSON-RPC error instead of a result."""
        raise MCPError(code=code, message=message)

    @server.tool(annotations=READ)
    async def pid() -> int:
        """This server's process id."""
        return os.getpid()

    @server.tool(annotations=READ)
    async def cancelled() -> list[str]:
        """The tags of the calls the client cancelled, in order."""
        return list(cancelled_tags)

    @server.tool(annotations=READ, structured_output=False)
    async def mixed() -> list[Any]:
        """Unstructured content: text, an image, and text again."""
        return ["hello", Image(data=b"\x89PNG\r\n\x1a\n", format="png"), "world"]

    @server.tool(annotations=READ)
    async def progress(steps: int, every: float, ctx: Context, label: str | None = None) -> int:
        """Report progress ``steps`` times, ``every`` seconds apart (with the message ``label N``, if given)."""
        for step in range(steps):
            await anyio.sleep(every)
            await ctx.report_progress(step + 1, steps, None if label is None else f"{label} {step + 1}")
        return steps

    @server.tool(annotations=READ)
    async def place(order: Order) -> dict[str, Any]:
        """Echo a nested order: its schema carries $defs and $ref."""
        return {"item": order.item, "city": order.ship_to.city}

    @server.tool(annotations=READ)
    async def trace_context(seconds: float, ctx: Context) -> dict[str, Any]:
        """Sleep, then return the request's ``_meta`` trace keys and the ids of this server's current span."""
        await anyio.sleep(seconds)
        meta: dict[str, Any] = dict(ctx.request_context.meta or {})
        current = trace.get_current_span().get_span_context()
        return {
            "meta": {key: meta[key] for key in ("traceparent", "tracestate") if key in meta},
            "trace_id": trace.format_trace_id(current.trace_id) if current.is_valid else None,
            "span_id": trace.format_span_id(current.span_id) if current.is_valid else None,
        }

    return server


if __name__ == "__main__":
    if sys.argv[1:2] == ["http"]:
        build_server().run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        build_server().run("stdio")
