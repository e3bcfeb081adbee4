"""The server-sent-events parser, on lines and on bytes split anywhere."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

import pytest

from trio_toolpar._wire._sse import split_lines
from trio_toolpar.agent import ServerSentEvent, SSEDecoder, aiter_sse_bytes, aiter_sse_lines

STREAM = (
    ": a comment the server sends to keep the connection open\r\n"
    "event: content_block_delta\r\n"
    'data: {"a":\r\n'
    "data:  1}\r\n"
    "id: 7\r\n"
    "retry: 3000\r\n"
    "\r\n"
    "data: [DONE]\n"
    "\n"
    "event: ignored-because-no-data\n"
    "\n"
    "data:no-space\r"
    "unknown: field\r"
    "\r"
    "data: last, without the final blank line"
)

EXPECTED = [
    ServerSentEvent(event="content_block_delta", data='{"a":\n 1}', id="7", retry=3000),
    ServerSentEvent(event="message", data="[DONE]", id="7"),
    ServerSentEvent(event="message", data="no-space", id="7"),
    ServerSentEvent(event="message", data="last, without the final blank line", id="7"),
]


async def _chunks(items: Iterable[bytes]) -> AsyncIterator[bytes]:
    for item in items:
        yield item


async def _lines(items: Iterable[str]) -> AsyncIterator[str]:
    for item in items:
        yield item


async def _collect_bytes(items: Iterable[bytes]) -> list[ServerSentEvent]:
    return [e async for e in aiter_sse_bytes(_chunks(items))]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 1000])
async def test_bytes_split_anywhere(size: int) -> None:
    raw = STREAM.encode()
    assert await _collect_bytes(raw[i : i + size] for i in range(0, len(raw), size)) == EXPECTED


async def test_bytes_split_inside_a_multibyte_character_and_a_bom() -> None:
    raw = "\ufeffdata: café ☕\n\n".encode()
    events = await _collect_bytes(raw[i : i + 1] for i in range(len(raw)))
    assert events == [ServerSentEvent(data="café ☕")]


async def test_lines_as_httpx_gives_them() -> None:
    # httpx's aiter_lines() splits on \r\n, \r and \n and strips the terminator.
    lines, rest = split_lines(STREAM)
    events = [e async for e in aiter_sse_lines(_lines([*lines, rest]))]
    assert events == EXPECTED


async def test_lines_that_keep_their_terminators() -> None:
    events = [e async for e in aiter_sse_lines(_lines(["data: x\n", "\n", "data: y\r\n", "\r\n"]))]
    assert [e.data for e in events] == ["x", "y"]


def test_decoder_rules() -> None:
    decoder = SSEDecoder()
    assert decoder.decode("data") is None  # a field name alone: empty value
    assert decoder.decode("id: has\0null") is None  # ignored: ids may not contain NUL
    assert decoder.decode("retry: soon") is None  # ignored: not digits
    assert decoder.decode("") == ServerSentEvent(data="")
    assert decoder.decode("") is None  # nothing buffered: no event
    assert decoder.flush() is None


def test_split_lines_holds_back_a_trailing_cr() -> None:
    assert split_lines("a\r\nb\rc\nd\r") == (["a", "b", "c"], "d\r")
    assert split_lines("") == ([], "")


async def test_a_lone_cr_at_the_very_end_ends_the_event() -> None:
    assert await _collect_bytes([b"data: x\r", b"\r"]) == [ServerSentEvent(data="x")]
