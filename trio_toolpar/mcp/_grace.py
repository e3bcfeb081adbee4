"""A session's writes with a bounded wait for ``notifications/cancelled``, so a budget bounds a stuck server.

When a call is cancelled (the turn's budget, a timeout, fail-fast), the MCP
SDK sends ``notifications/cancelled`` to the server as a courtesy, in a write
shielded from cancellation and bounded by the SDK at 5 s. A server that takes
no input (stopped, or wedged with its stdin pipe full) holds that write, and
so the cancelled call and its turn, for those 5 s. `CancelGrace` wraps the
write stream a `ClientSession` is given: a cancel notice the transport does
not take within ``seconds`` is dropped (the server then does not learn of the
cancellation, and its late answer is dropped as any late answer is), and
every other message is written as before.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Final, Protocol, Self, TypeVar, final

import trio
from mcp.shared.message import SessionMessage

from .._values._validate import check_positive_number

__all__ = ["CANCEL_GRACE", "CancelGrace"]

logger = logging.getLogger("trio_toolpar.mcp")

CANCEL_GRACE: Final = 0.25
"""Seconds `CancelGrace` waits for the transport to take a ``notifications/cancelled`` by default."""

_CANCELLED = "notifications/cancelled"

T_contra = TypeVar("T_contra", contravariant=True)


class _Writes(Protocol[T_contra]):
    """What a `ClientSession` writes to (the SDK's ``WriteStream``)."""

    async def send(self, item: T_contra, /) -> None: ...

    async def aclose(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None: ...


@final
class CancelGrace:
    """A session's write stream whose cancel notices wait at most ``seconds`` for the transport.

    Examples:
        ```python
        async with (
            stdio_client(params) as (read, write),
            ClientSession(read, CancelGrace(write)) as session,
        ):
            ...
        ```

    Args:
        stream: the transport's write stream (what ``stdio_client`` or
            ``streamable_http_client`` yields second).
        seconds: how long a ``notifications/cancelled`` may wait for the
            transport to take it; a turn then ends at most this long after its
            budget, even on a server that reads nothing.

    Raises:
        TypeError: ``seconds`` is not a number.
        ValueError: ``seconds`` is not positive and finite.
    """

    __slots__ = ("_seconds", "_stream")

    def __init__(self, stream: _Writes[SessionMessage], *, seconds: float = CANCEL_GRACE) -> None:
        self._seconds = float(check_positive_number("CancelGrace(seconds=...)", seconds, finite=True, unit="seconds"))
        self._stream = stream

    def __repr__(self) -> str:
        return f"CancelGrace({self._stream!r}, seconds={self._seconds:g})"

    async def send(self, item: SessionMessage, /) -> None:
        """Write ``item``; a cancel notice the transport does not take within the grace is dropped."""
        if getattr(item.message, "method", None) != _CANCELLED:
            await self._stream.send(item)
            return
        with trio.move_on_after(self._seconds) as grace:
            await self._stream.send(item)
        if grace.cancelled_caught:
            params = getattr(item.message, "params", None) or {}
            logger.warning(
                "dropped notifications/cancelled for request %r: the MCP server took no input for %g s",
                params.get("requestId"),
                self._seconds,
            )

    async def aclose(self) -> None:
        """Close the underlying stream."""
        await self._stream.aclose()

    async def __aenter__(self) -> Self:
        await self._stream.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        return await self._stream.__aexit__(exc_type, exc, tb)
