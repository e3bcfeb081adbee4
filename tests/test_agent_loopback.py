"""One run over a real socket: a tiny HTTP/1.1 server on 127.0.0.1 streaming chunked SSE.

This test runs on the real clock and asserts no durations. The server holds
the rest of its stream back until the first call's tool has started, so
the test can only pass if that call was dispatched mid-stream.
"""

from __future__ import annotations

import json

import httpx
import trio
import trio.lowlevel
from provider_fakes import openai_call_args, openai_call_start, openai_chunk, sse

from trio_toolpar import Executor, Registry
from trio_toolpar.agent import OpenAIChat, StopReason, run_agent


async def _read_request(stream: trio.SocketStream) -> dict[str, object]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = await stream.receive_some(65536)
        assert chunk, "client closed early"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += await stream.receive_some(65536)
    assert head.startswith(b"POST /v1/chat/completions HTTP/1.1")
    parsed: dict[str, object] = json.loads(body)
    return parsed


async def _send_chunk(stream: trio.SocketStream, data: bytes) -> None:
    await stream.send_all(b"%x\r\n%s\r\n" % (len(data), data))


async def test_streaming_dispatch_over_a_real_socket() -> None:
    first_started = trio.Event()
    bodies: list[dict[str, object]] = []
    registry = Registry()

    @registry.tool(side_effect="read")
    async def fetch(item: str) -> str:
        """Fetch an item."""
        if item == "a":
            first_started.set()
        await trio.lowlevel.checkpoint()
        return f"got {item}"

    async def serve(stream: trio.SocketStream) -> None:
        async with stream:
            bodies.append(await _read_request(stream))
            await stream.send_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            )
            if len(bodies) == 1:
                await _send_chunk(stream, sse(openai_call_start(0, "call_a", "fetch")))
                await _send_chunk(stream, sse(openai_call_args(0, '{"item": "a"}')))
                await _send_chunk(stream, sse(openai_call_start(1, "call_b", "fetch")))  # call_a is complete
                with trio.fail_after(10):
                    await first_started.wait()  # hangs (and fails) unless call_a runs before the stream ends
                await _send_chunk(stream, sse(openai_call_args(1, '{"item": "b"}')))
                await _send_chunk(stream, sse(openai_chunk({}, finish_reason="tool_calls")))
            else:
                await _send_chunk(stream, sse(openai_chunk({"role": "assistant", "content": "a and b are fine"})))
                await _send_chunk(stream, sse(openai_chunk({}, finish_reason="stop")))
            await _send_chunk(stream, b"data: [DONE]\n\n")
            await stream.send_all(b"0\r\n\r\n")

    async with trio.open_nursery() as nursery:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        port = listeners[0].socket.getsockname()[1]
        nursery.start_soon(trio.serve_listeners, serve, listeners)
        async with httpx.AsyncClient(timeout=20) as http:
            model = OpenAIChat(http, model="local", base_url=f"http://127.0.0.1:{port}/v1")
            result = await run_agent(model, Executor(registry), "check a and b")
        nursery.cancel_scope.cancel()
    assert result.stop is StopReason.ANSWERED
    assert result.text == "a and b are fine"
    assert [o.value for o in result.turns[0]] == ["got a", "got b"]
    assert len(bodies) == 2
