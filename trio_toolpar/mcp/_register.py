"""Every tool of a connected MCP session, registered in a `Registry` with settings from its annotations."""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Mapping
from typing import Any, final

import attrs
from mcp import ClientSession
from mcp.types import PaginatedRequestParams
from mcp.types import Tool as RemoteToolInfo

from trio_toolpar import RegistrationError, Registry, SchemaError, Tool

from .._values._validate import check_name, check_positive_number
from ._annotations import Order, Override, ToolHints, check_overrides, server_key, settings_from_hints
from ._call import CONTEXT_PARAMETER, RemoteTool

__all__ = ["McpTool", "register_session"]

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@final
@attrs.frozen(kw_only=True)
class McpTool:
    """One MCP tool as registered: where it came from, what it declared, and the `Tool` it became.

    Attributes:
        name: its name in the registry (the prefix and the server's name).
        remote_name: its name on the server.
        resource: the resource whose cap applies to it (the server's).
        hints: its annotations, with the spec's defaults.
        trusted: whether the hints chose its settings (``trust_annotations``).
        tool: the registered tool: its ``side_effect``, ``idempotent``,
            ``keys`` and ``timeout`` are what the executor obeys.
    """

    name: str
    remote_name: str
    resource: str
    hints: ToolHints
    trusted: bool
    tool: Tool


async def register_session(
    registry: Registry,
    session: ClientSession,
    *,
    resource: str,
    prefix: str = "",
    trust_annotations: bool = True,
    overrides: Mapping[str, Override] | None = None,
    exclude: Collection[str] = (),
    order: Order = "server",
    timeout: float | None = None,
    progress_timeout: float | None = None,
) -> tuple[McpTool, ...]:
    """Register every tool that ``session``'s server lists, as ``prefix + name``.

    The server's input schema is the tool's schema and its description the
    tool's. The annotations choose the side effect: ``readOnlyHint`` makes a
    ``"read"`` (retry-safe), anything else is a ``"write"``, idempotent only
    with ``idempotentHint``. Either every tool is registered or, on an error,
    none is.

    Args:
        registry: where to register the tools.
        session: a connected, initialized session; it must stay open while
            the tools are used.
        resource: the resource name of every tool of this server, so that
            ``Executor(limits={resource: n})`` caps the server's calls.
        prefix: put before each tool's name, to keep servers apart.
        trust_annotations: ``False`` ignores the server's hints: every tool is
            a non-idempotent write (for a server you do not trust).
        overrides: per registered name, settings that replace the derived ones,
            e.g. ``{"fs_delete": {"side_effect": "write"}}``.
        exclude: server names of tools not to register.
        order: ``"server"`` orders each write against every other call to this
            server (reads still overlap each other), by giving every tool the
            key ``"mcp:<resource>"``; ``"tool"`` orders a write only against
            calls of the same tool. An override's ``key`` replaces it.
        timeout: seconds each call may take (``None``: no limit but the turn's budget).
        progress_timeout: seconds the server may stay silent (no result, no
            progress notification) before a call fails; each progress
            notification restarts it (``None``: no limit).

    Returns:
        The registered tools, in the server's order.

    Raises:
        RegistrationError: a name that is invalid or already taken, an
            override or exclusion naming no tool of this server, or an unknown
            override option.
        SchemaError: a tool's input schema the validator cannot check
            (exclude that tool, or fix the server).
    """
    chosen = dict(overrides or {})
    check_overrides(chosen)
    check_name("resource", resource)
    _check_progress_timeout(progress_timeout, where="register_session")
    listed = await list_all_tools(session)
    remote_names = {info.name for info in listed}
    _check_named(set(exclude), remote_names, what="exclude", hint="tool names on the server")
    kept = [info for info in listed if info.name not in set(exclude)]
    _check_named(set(chosen), {prefix + info.name for info in kept}, what="overrides", hint="registered names")
    plans = [
        _plan_tool(
            info,
            session=session,
            resource=resource,
            prefix=prefix,
            trusted=trust_annotations,
            override=chosen.get(prefix + info.name, {}),
            key=server_key(resource, order),
            timeout=timeout,
            progress_timeout=progress_timeout,
        )
        for info in kept
    ]
    for name, _, _ in plans:
        if name in registry:
            raise RegistrationError(
                f"tool {name!r} is already registered (another server's, or your own); "
                f"give this server a different prefix, e.g. prefix={resource + '_'!r}",
                tool=name,
            )
    trial = Registry()  # register everything once where a failure leaves nothing half-done
    for _, _, options in plans:
        _add(trial, options)
    tools = [(_add(registry, options), info) for _, info, options in plans]
    return tuple(
        McpTool(
            name=tool.name,
            remote_name=info.name,
            resource=resource,
            hints=ToolHints.from_annotations(info.annotations),
            trusted=trust_annotations,
            tool=tool,
        )
        for tool, info in tools
    )


async def list_all_tools(session: ClientSession) -> list[RemoteToolInfo]:
    """Every tool the server lists, following its pagination."""
    page = await session.list_tools()
    tools = list(page.tools)
    while page.next_cursor is not None:
        page = await session.list_tools(params=PaginatedRequestParams(cursor=page.next_cursor))
        tools.extend(page.tools)
    return tools


def _plan_tool(
    info: RemoteToolInfo,
    *,
    session: ClientSession,
    resource: str,
    prefix: str,
    trusted: bool,
    override: Override,
    key: str | None,
    timeout: float | None,
    progress_timeout: float | None,
) -> tuple[str, RemoteToolInfo, dict[str, Any]]:
    name = prefix + info.name
    if not _NAME.match(name):
        raise RegistrationError(
            f"MCP tool {info.name!r} would be registered as {name!r}, which is not 1-64 letters, digits, "
            f"'_' or '-' (the providers' rule); use a shorter or plainer prefix, or exclude={{{info.name!r}}}",
            tool=name,
        )
    if CONTEXT_PARAMETER in (info.input_schema.get("properties") or {}):
        raise RegistrationError(
            f"MCP tool {info.name!r} has an argument named {CONTEXT_PARAMETER!r}, the name under which its calls "
            f"receive their CallContext; exclude={{{info.name!r}}}, or rename the argument on the server",
            tool=name,
        )
    settings: dict[str, Any] = {
        **settings_from_hints(ToolHints.from_annotations(info.annotations), trusted=trusted),
        "key": key,
        "timeout": timeout,
        "description": info.description or "",
    }
    settings.update(override)
    silence = settings.pop("progress_timeout", progress_timeout)
    _check_progress_timeout(silence, where=f"tool {name!r}")
    remote = RemoteTool(session=session, name=info.name, progress_timeout=silence)
    settings.update(fn=remote.call, name=name, parameters=info.input_schema, resource=resource)
    return name, info, settings


def _add(registry: Registry, options: dict[str, Any]) -> Tool:
    try:
        return registry.add(**options)
    except SchemaError as exc:
        raise SchemaError(
            f"{exc}; fix the server's input schema, or leave the tool out with exclude=", path=exc.path
        ) from None


def _check_named(given: set[str], known: set[str], *, what: str, hint: str) -> None:
    for name in sorted(given - known):
        close = difflib.get_close_matches(name, sorted(known), n=1)
        suggestion = f"; did you mean {close[0]!r}?" if close else ""
        raise RegistrationError(
            f"{what} names {name!r}, which is not one of this server's {hint}{suggestion}", tool=name
        )


def _check_progress_timeout(seconds: float | None, *, where: str) -> None:
    check_positive_number(f"{where}: progress_timeout", seconds, unit="seconds", allow_none=True)
