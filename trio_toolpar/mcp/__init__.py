"""MCP servers' tools, run in parallel where their annotations say it is safe.

```python
async with (
    stdio_client(params) as (read, write),
    ClientSession(read, CancelGrace(write)) as session,
):
    await session.initialize()
    registry = Registry()
    await register_session(registry, session, resource="fs", prefix="fs_")
    executor = Executor(registry, limits={"fs": 4})
    result = await executor.run(calls)
```

`register_session` turns each tool the server lists into a registered tool:
its input schema, its description, and from its annotations a side effect
(``readOnlyHint`` makes a read, anything else a write), with per-tool
overrides and ``trust_annotations=False`` for a server you do not trust.
A tool's error result, a protocol error and a dead server each become an
``error`` outcome that says which (see `McpError`); a cancelled call is
cancelled on the server too, and the session stays usable. `CancelGrace`
around the session's write stream keeps a turn's budget for a server that
stops reading its input (the SDK would wait up to 5 s on its cancel notice).

Needs the MCP SDK: ``pip install 'trio_toolpar[mcp]'``.
"""

try:
    import mcp as _sdk
except ImportError as exc:  # pragma: no cover - exercised in a subprocess without the SDK
    raise ImportError(
        "trio_toolpar.mcp needs the MCP SDK, which is not installed: pip install 'trio_toolpar[mcp]'"
    ) from exc

from ._annotations import Override as Override
from ._annotations import ToolHints as ToolHints
from ._annotations import settings_from_hints as settings_from_hints
from ._call import RemoteTool as RemoteTool
from ._content import result_value as result_value
from ._errors import McpConnectionError as McpConnectionError
from ._errors import McpError as McpError
from ._errors import McpProgressTimeout as McpProgressTimeout
from ._errors import McpProtocolError as McpProtocolError
from ._errors import McpToolError as McpToolError
from ._grace import CANCEL_GRACE as CANCEL_GRACE
from ._grace import CancelGrace as CancelGrace
from ._register import McpTool as McpTool
from ._register import list_all_tools as list_all_tools
from ._register import register_session as register_session

del _sdk

__all__ = [
    "CANCEL_GRACE",
    "CancelGrace",
    "McpConnectionError",
    "McpError",
    "McpProgressTimeout",
    "McpProtocolError",
    "McpTool",
    "McpToolError",
    "Override",
    "RemoteTool",
    "ToolHints",
    "list_all_tools",
    "register_session",
    "result_value",
    "settings_from_hints",
]
