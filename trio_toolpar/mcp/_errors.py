"""What a failed call to an MCP server raises inside its tool, so that the outcome says why.

::

    ToolparError
    └── McpError                    a call to an MCP server failed
        ├── McpToolError            the server's tool reported an error (``is_error``)
        ├── McpProtocolError        the server answered with a JSON-RPC error
        │   └── McpConnectionError  the connection is closed: the server died or the session ended
        └── McpProgressTimeout      the server sent neither a result nor progress for too long

Each becomes an ``error`` outcome with code ``tool_error`` whose message is
the exception's: for `McpToolError`, the server's own text.
"""

from __future__ import annotations

from typing import final

from trio_toolpar import ToolparError

__all__ = ["McpConnectionError", "McpError", "McpProgressTimeout", "McpProtocolError", "McpToolError"]


class McpError(ToolparError):
    """A call to an MCP server failed.

    Args:
        message: what went wrong.
        tool: the tool's name on the server.
    """

    def __init__(self, message: str, *, tool: str) -> None:
        super().__init__(message)
        self.tool = tool


@final
class McpToolError(McpError):
    """The server ran the tool and it reported an error; the message is the server's text."""


class McpProtocolError(McpError):
    """The server answered the request with a JSON-RPC error.

    Args:
        message: the server's error message.
        tool: the tool's name on the server.
        code: the JSON-RPC error code.
    """

    def __init__(self, message: str, *, tool: str, code: int) -> None:
        super().__init__(message, tool=tool)
        self.code = code


@final
class McpConnectionError(McpProtocolError):
    """The connection to the server is closed: it exited or was killed, or the session was closed."""


@final
class McpProgressTimeout(McpError):
    """The server sent neither a result nor a progress notification within ``progress_timeout``."""
