"""Cancelling the caller's scope stops the loop: the request in flight and the tools see Cancelled, nothing survives."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import httpx
import pytest
import trio
import trio.testing
from provider_fakes import (
    FakeServer,
    TimedStream,
    fragments,
    openai_call_args,
    openai_call_start,
    openai_chunk,
    slow_registry,
    sse,
    sse_response,
)

from trio_toolpar import Executor, ToolCall
from trio_toolpar.agent import Dispatch, OpenAIChat, ScriptedModel, ScriptedReply, run_agent


async def _cancel_after(seconds: float, run: Callable[[], Awaitable[object]]) -> list[str]:
    """Run ``run`` in a scope cancelled after ``seconds``; return what reached the caller."""
    seen: list[str] = []

    async def caller() -> None:
        try:
            await run()
        except trio.Cancelled:  # only a bare Cancelled matches: not one wrapped in an ExceptionGroup
            seen.append("Cancelled")
            raise
        seen.append("returned")

    task = trio.lowlevel.current_task()
    before = _tasks_below(task)
    with trio.move_on_after(seconds) as scope:
        await caller()
    assert scope.cancelled_caught
    assert _tasks_below(task) == before  # no task the loop started outlived it
    return seen


def _tasks_below(task: trio.lowlevel.Task) -> set[trio.lowlevel.Task]:
    found: set[trio.lowlevel.Task] = set()
    for nursery in task.child_nurseries:
        for child in nursery.child_tasks:
            found |= {child, *_tasks_below(child)}
    return found


def _two_slow_calls() -> list[tuple[float, bytes]]:
    """call_a complete at t=1 (call_b starts), call_b's arguments trickle until t=9, the stream ends at t=10."""
    chunks: list[tuple[float, bytes]] = [
        (0.0, sse(openai_call_start(0, "call_a", "fetch"))),
        (0.5, sse(openai_call_args(0, '{"item": "a"}'))),
        (1.0, sse(openai_call_start(1, "call_b", "fetch"))),
    ]
    chunks.extend((2.0 + k, sse(openai_call_args(1, f))) for k, f in enumerate(fragments('{"item": "b"}', 2)))
    chunks.append((10.0, sse(openai_chunk({}, finish_reason="tool_calls"))))
    chunks.append((10.0, b"data: [DONE]\n\n"))
    return chunks


async def test_cancel_during_the_request(autojump_clock: trio.testing.MockClock) -> None:
    handler_log: list[tuple[str, float]] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        handler_log.append(("start", trio.current_time()))
        try:
            await trio.sleep(30)
        finally:
            handler_log.append(("finally", trio.current_time()))
        return httpx.Response(200, json={})

    t0 = trio.current_time()
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        model = OpenAIChat(http, model="m", base_url="http://model.test/v1", stream=False)
        seen = await _cancel_after(3.0, lambda: run_agent(model, Executor(slow_registry()), "hi"))
    assert seen == ["Cancelled"]
    assert [(what, at - t0) for what, at in handler_log] == [("start", 0.0), ("finally", 3.0)]


@pytest.mark.parametrize("dispatch", ["stream", "batch"])
async def test_cancel_while_the_model_streams_and_tools_run(
    autojump_clock: trio.testing.MockClock, dispatch: Dispatch
) -> None:
    response, stream = sse_response(_two_slow_calls())
    server = FakeServer([response])
    log: list[tuple[str, str, float]] = []
    t0 = trio.current_time()
    async with server.client() as http:
        model = OpenAIChat(http, model="m", base_url="http://model.test/v1")
        seen = await _cancel_after(
            4.0, lambda: run_agent(model, Executor(slow_registry(5.0, log)), "x", dispatch=dispatch)
        )
    assert seen == ["Cancelled"]
    assert stream.closed_at is not None and stream.closed_at - t0 == 4.0  # the response was closed at once
    assert stream.sent < len(stream.chunks)
    if dispatch == "stream":
        # call_a was running (started at 1 s when call_b began): it saw Cancelled at 4 s, and its finally ran.
        assert [(what, item, at - t0) for what, item, at in log] == [("start", "a", 1.0), ("end", "a", 4.0)]
    else:
        assert log == []  # batch dispatch waits for the whole message: nothing had started
    await trio.sleep(60)
    assert len(log) in (0, 2)  # nothing resumed after the cancellation


async def test_cancel_during_the_tools_after_the_stream(autojump_clock: trio.testing.MockClock) -> None:
    chunks = [
        (0.0, sse(openai_call_start(0, "call_a", "fetch"))),
        (0.0, sse(openai_call_args(0, json.dumps({"item": "a"})))),
        (0.0, sse(openai_call_start(1, "call_b", "fetch"))),
        (0.0, sse(openai_call_args(1, json.dumps({"item": "b"})))),
        (1.0, sse(openai_chunk({}, finish_reason="tool_calls"))),
        (1.0, b"data: [DONE]\n\n"),
    ]
    response, stream = sse_response(chunks)
    server = FakeServer([response])
    log: list[tuple[str, str, float]] = []
    t0 = trio.current_time()
    async with server.client() as http:
        model = OpenAIChat(http, model="m", base_url="http://model.test/v1")
        seen = await _cancel_after(2.5, lambda: run_agent(model, Executor(slow_registry(5.0, log)), "x"))
    assert seen == ["Cancelled"]
    assert isinstance(stream, TimedStream) and stream.closed_at is not None and stream.closed_at - t0 == 1.0
    assert sorted((what, item, at - t0) for what, item, at in log) == [
        ("end", "a", 2.5),
        ("end", "b", 2.5),
        ("start", "a", 0.0),
        ("start", "b", 1.0),
    ]
    assert len(server.seen) == 1  # no follow-up request


async def test_cancel_a_scripted_run(autojump_clock: trio.testing.MockClock) -> None:
    log: list[tuple[str, str, float]] = []
    script = [
        ScriptedReply(
            calls=(ToolCall(id="c1", tool="fetch", arguments={"item": "x"}),),
            call_times=(1.0,),
            duration=3.0,
        )
    ]
    model = ScriptedModel(script)
    t0 = trio.current_time()
    seen = await _cancel_after(2.0, lambda: run_agent(model, Executor(slow_registry(5.0, log)), "x"))
    assert seen == ["Cancelled"]
    assert [(what, at - t0) for what, _, at in log] == [("start", 1.0), ("end", 2.0)]
