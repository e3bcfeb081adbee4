"""A small MCP server for examples/mcp_parallel.py: a notes store with slow reads and one destructive tool.

It speaks MCP over stdio: ``python examples/mcp_server.py``. Each tool's
annotations say what it does, which is what lets the client run the reads at
once and keep the delete in order.
"""

from __future__ import annotations

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

server = MCPServer(name="notes", log_level="WARNING")
NOTES = {"todo": "ship the MCP edge", "ideas": "progress-aware timeouts", "old": "nothing to see"}


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
async def read_note(name: str) -> str:
    """Read the note called ``name`` (takes 0.5 s)."""
    await anyio.sleep(0.5)
    if name not in NOTES:
        raise ToolError(f"no note called {name!r}; the notes are {', '.join(sorted(NOTES))}")
    return NOTES[name]


@server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True))
async def delete_note(name: str) -> str:
    """Delete the note called ``name`` (takes 0.2 s)."""
    await anyio.sleep(0.2)
    NOTES.pop(name, None)
    return f"deleted {name}"


if __name__ == "__main__":
    server.run("stdio")
