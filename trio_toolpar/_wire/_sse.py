"""Server-sent events: lines or bytes in, events out (the WHATWG ``text/event-stream`` rules).

Both providers stream their responses this way::

    event: content_block_delta
    data: {"type":"content_block_delta","index":1,"delta":{...}}
    <blank line>

`SSEDecoder` is the synchronous core (one line in, at most one event out);
`aiter_sse_lines` and `aiter_sse_bytes` drive it from httpx's
``response.aiter_lines()`` and ``response.aiter_bytes()`` (or any async
iterable of lines or bytes). Both are async generators: use them in
``contextlib.aclosing`` when you may stop early, or Trio warns when the
abandoned generator is collected.
"""

from __future__ import annotations

import codecs
from collections.abc import AsyncGenerator, AsyncIterable
from typing import final

import attrs

__all__ = ["SSEDecoder", "ServerSentEvent", "aiter_sse_bytes", "aiter_sse_lines", "split_lines"]


@final
@attrs.frozen(kw_only=True)
class ServerSentEvent:
    """One event of a ``text/event-stream``.

    Args:
        event: the ``event:`` field, ``"message"`` when the server sent none.
        data: the ``data:`` lines joined with newlines.
        id: the last event id seen so far on the stream (``None``: none yet).
        retry: the reconnection time in milliseconds, if this event set one.
    """

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


@final
class SSEDecoder:
    """Turns the lines of an event stream into events.

    Feed each line without its line terminator; a blank line ends an event.
    Comments (lines starting with ``:``) and unknown fields are skipped, as
    the standard says.
    """

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._last_id: str | None = None
        self._retry: int | None = None

    def decode(self, line: str) -> ServerSentEvent | None:
        """Take one line; return the event it completes, if any."""
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._last_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)
        return None

    def flush(self) -> ServerSentEvent | None:
        """End of stream: the event still being built, if the server left out the final blank line."""
        return self._dispatch()

    def _dispatch(self) -> ServerSentEvent | None:
        data, event, retry = self._data, self._event, self._retry
        self._data, self._event, self._retry = [], "", None
        if not data:
            return None  # the standard drops an event that has no data lines
        return ServerSentEvent(event=event or "message", data="\n".join(data), id=self._last_id, retry=retry)


def split_lines(buffer: str) -> tuple[list[str], str]:
    """Complete lines of ``buffer`` (split at CRLF, LF or CR) and the incomplete rest.

    A trailing CR is held back, since the LF of its CRLF may be in the next chunk.
    """
    lines: list[str] = []
    start = 0
    i = 0
    end = len(buffer)
    while i < end:
        char = buffer[i]
        if char == "\n":
            lines.append(buffer[start:i])
            start = i = i + 1
        elif char == "\r":
            if i + 1 == end:
                break
            lines.append(buffer[start:i])
            i += 2 if buffer[i + 1] == "\n" else 1
            start = i
        else:
            i += 1
    return lines, buffer[start:]


async def aiter_sse_lines(lines: AsyncIterable[str]) -> AsyncGenerator[ServerSentEvent, None]:
    """Events from lines (httpx's ``response.aiter_lines()``), ending with the stream."""
    decoder = SSEDecoder()
    async for raw in lines:
        # httpx strips the terminator; an iterator that keeps it, or hands over several lines, is split here.
        parts, rest = split_lines(raw)
        rest = rest.removesuffix("\r")
        if rest or not parts:
            parts.append(rest)
        for line in parts:
            event = decoder.decode(line)
            if event is not None:
                yield event
    last = decoder.flush()
    if last is not None:
        yield last


async def aiter_sse_bytes(chunks: AsyncIterable[bytes]) -> AsyncGenerator[ServerSentEvent, None]:
    """Events from raw bytes (httpx's ``response.aiter_bytes()``), split anywhere, UTF-8."""
    decoder = SSEDecoder()
    text = codecs.getincrementaldecoder("utf-8")(errors="replace")
    buffer = ""
    first = True
    async for chunk in chunks:
        buffer += text.decode(chunk)
        if first and buffer:
            buffer = buffer.removeprefix("\ufeff")  # a byte-order mark may open the stream
            first = False
        lines, buffer = split_lines(buffer)
        for line in lines:
            event = decoder.decode(line)
            if event is not None:
                yield event
    buffer += text.decode(b"", final=True)
    if buffer:
        event = decoder.decode(buffer.removesuffix("\r"))
        if event is not None:
            yield event
    last = decoder.flush()
    if last is not None:
        yield last
