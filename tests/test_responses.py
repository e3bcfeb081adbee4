"""The Responses API: its stream as the API sends it, and OpenAIResponses in the agent loop."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import trio
import trio.testing
from openai.types.responses import Response
from provider_fakes import (
    FakeServer,
    ResponsesWire,
    check_responses_events,
    check_responses_items,
    check_responses_tools,
    delayed,
    responses_object,
    slow_registry,
    sse,
    sse_response,
)

from trio_toolpar import Executor, FormatError, ToolCall
from trio_toolpar.agent import ModelError, OpenAIResponses, StopReason, Usage, run_agent
from trio_toolpar.openai import ResponseStream

ITEMS = ("a", "b", "c")


def three_calls() -> ResponsesWire:
    """Calls to fetch a, b, c whose arguments are done at t=1, 2, 3; the response completes at t=4."""
    wire = ResponsesWire().created(0.0)
    for i, item in enumerate(ITEMS):
        wire.call(float(i), i + 1.0, f"call_{item}", "fetch", json.dumps({"item": item}))
    return wire.completed(4.0)


def answer() -> ResponsesWire:
    return ResponsesWire().created().text(0.0, "All fine.").completed(0.0)


def test_the_fake_events_are_what_the_sdk_reads() -> None:
    events = three_calls().data()
    check_responses_events(events)
    deltas = [e for e in events if e["type"] == "response.function_call_arguments.delta"]
    assert deltas and all({"item_id", "output_index", "delta", "obfuscation"} <= e.keys() for e in deltas)
    assert "[DONE]" not in json.dumps(events)


def test_calls_are_handed_out_when_their_arguments_are_done() -> None:
    stream = ResponseStream()
    events = three_calls().data()
    emitted = [(n, [c.id for c in calls]) for n, e in enumerate(events) if (calls := stream.feed(e))]
    dones = [n for n, e in enumerate(events) if e["type"] == "response.function_call_arguments.done"]
    assert emitted == [(dones[0], ["call_a"]), (dones[1], ["call_b"]), (dones[2], ["call_c"])]
    assert stream.done and stream.status == "completed"
    assert stream.finish() == []
    assert stream.calls == [ToolCall(id=f"call_{i}", tool="fetch", arguments=json.dumps({"item": i})) for i in ITEMS]
    assert stream.model == "gpt-test"
    assert stream.usage is not None and stream.usage["output_tokens"] == 25
    items = stream.items()
    assert [(i["type"], i["call_id"]) for i in items] == [("function_call", f"call_{i}") for i in ITEMS]
    check_responses_items([{"role": "user", "content": "go"}, *items])


def test_events_as_sdk_objects() -> None:
    stream = ResponseStream()
    for event in check_responses_events(three_calls().data()):
        stream.feed(event)
    assert [c.id for c in stream.calls] == ["call_a", "call_b", "call_c"]


def test_text_and_a_call_whose_done_comes_before_an_earlier_ones() -> None:
    wire = ResponsesWire().created().text(0.0, "Looking.")
    wire.call(0.0, 1.0, "call_x", "fetch", '{"item": "x"}').call(0.0, 1.0, "call_y", "fetch", '{"item": "y"}')
    events = wire.completed(2.0).data()
    x_done = [
        e
        for e in events
        if e.get("output_index") == 1
        and e["type"] in ("response.function_call_arguments.done", "response.output_item.done")
    ]
    stream = ResponseStream()
    for event in events:
        if event not in x_done and event["type"] != "response.completed":
            assert stream.feed(event) == []  # y's arguments are done, but x (emitted first) is not
    assert [c.id for c in stream.feed(x_done[0])] == ["call_x", "call_y"]
    assert stream.feed(x_done[1]) == []
    assert stream.text == "Looking."


def test_a_stream_that_breaks_off_hands_out_what_arrived() -> None:
    stream = ResponseStream()
    events = three_calls().data()
    cut = next(n for n, e in enumerate(events) if e["type"] == "response.function_call_arguments.delta")
    for event in events[: cut + 1]:
        stream.feed(event)
    (call,) = stream.finish()
    assert call.id == "call_a"
    assert call.arguments == events[cut]["delta"]  # a prefix, as it came: the planner rejects it


@pytest.mark.parametrize(
    ("event", "match"),
    [
        (
            {"type": "error", "code": "server_error", "message": "boom", "param": None},
            r"failure: boom \(server_error\)",
        ),
        (
            {"type": "response.failed", "response": {"error": {"code": "rate_limit_exceeded", "message": "slow"}}},
            r"failure: slow \(rate_limit_exceeded\)",
        ),
        ({"type": "response.function_call_arguments.delta", "output_index": 5, "delta": "{"}, "never added"),
        ({"type": "response.output_item.done", "item": {}}, "needs an integer 'output_index'"),
        ({"type": "response.output_item.added", "output_index": 0}, "needs an 'output_index' and an 'item'"),
        ({"type": "response.output_item.added", "output_index": 0, "item": {"type": "computer_call"}}, "computer_call"),
        (["x"], "must be a JSON object"),
    ],
)
def test_unreadable_and_failed_events(event: object, match: str) -> None:
    with pytest.raises(FormatError, match=match):
        ResponseStream().feed(event)


def test_unknown_items_can_be_ignored() -> None:
    stream = ResponseStream(unknown="ignore")
    stream.feed({"type": "response.output_item.added", "output_index": 0, "item": {"type": "computer_call"}})
    stream.feed({"type": "response.output_item.done", "output_index": 0, "item": {"type": "computer_call"}})
    stream.feed({"type": "response.some_future_event"})
    assert stream.finish() == [] and stream.items() == []


# -- the client --------------------------------------------------------------------------------------------


async def test_responses_streaming_dispatch_timing(autojump_clock: trio.testing.MockClock) -> None:
    """Calls done at t=1, 2, 3, the response completes at t=4, tools take 2 s: everything is done at t=5."""
    server = FakeServer([sse_response(three_calls().sse())[0], sse_response(answer().sse())[0]])
    t0 = trio.current_time()
    async with server.client() as http:
        model = OpenAIResponses(http, model="gpt-test", base_url="http://model.test/v1", api_key="sk-test")
        result = await run_agent(model, Executor(slow_registry(2.0)), "Check a, b and c.")
    (turn,) = result.turns
    assert [(o.started_at - t0, o.finished_at - t0) for o in turn if o.started_at and o.finished_at] == [
        (1.0, 3.0),
        (2.0, 4.0),
        (3.0, 5.0),
    ]
    assert turn.finished_at - t0 == 5.0
    assert server.seen[1].at - t0 == 5.0
    assert result.stop is StopReason.ANSWERED and result.text == "All fine."
    assert result.usage == Usage(input_tokens=80, output_tokens=50)
    first, second = (s.body for s in server.seen)
    assert str(server.seen[0].headers["authorization"]) == "Bearer sk-test"
    assert first["stream"] is True and first["input"] == [{"role": "user", "content": "Check a, b and c."}]
    check_responses_tools(first["tools"])
    # The next input: the prompt, the three function_call items, then their outputs, in order.
    check_responses_items(second["input"])
    kinds = [(i.get("type", "message"), i.get("call_id")) for i in second["input"]]
    assert kinds == [
        ("message", None),
        *(("function_call", f"call_{i}") for i in ITEMS),
        *(("function_call_output", f"call_{i}") for i in ITEMS),
    ]
    assert json.loads(second["input"][4]["output"])["result"] == {"item": "a", "status": "fine"}
    check_responses_items(result.messages)


async def test_responses_without_streaming(autojump_clock: trio.testing.MockClock) -> None:
    output = three_calls().output
    server = FakeServer(
        [
            delayed(4.0, httpx.Response(200, json=responses_object(output))),
            httpx.Response(200, json=responses_object(answer().output)),
        ]
    )
    Response.model_validate(responses_object(output))
    t0 = trio.current_time()
    async with server.client() as http:
        model = OpenAIResponses(
            http, model="gpt-test", base_url="http://model.test/v1", stream=False, system="Be brief."
        )
        result = await run_agent(model, Executor(slow_registry(2.0)), "Check a, b and c.")
    (turn,) = result.turns
    assert {(o.started_at, o.finished_at) for o in turn} == {(t0 + 4.0, t0 + 6.0)}
    assert server.seen[0].body["instructions"] == "Be brief."
    assert "stream" not in server.seen[0].body
    assert result.text == "All fine."
    check_responses_items(server.seen[1].body["input"])


async def test_responses_failures_are_model_errors(autojump_clock: trio.testing.MockClock) -> None:
    failed = {
        "type": "response.failed",
        "sequence_number": 3,
        "response": {**responses_object([], status="failed"), "error": {"code": "server_error", "message": "oops"}},
    }
    server = FakeServer(
        [
            sse_response([(0.0, sse({"type": "error", "code": "x", "message": "boom", "sequence_number": 1}))])[0],
            sse_response([(0.0, sse(failed, event="response.failed"))])[0],
            httpx.Response(200, json={**responses_object([], status="failed"), "error": {"message": "bad"}}),
        ]
    )
    async with server.client() as http:
        for stream, match in [
            (True, r"error in the stream: boom \(x\)"),
            (True, r"oops \(server_error\)"),
            (False, "bad"),
        ]:
            model = OpenAIResponses(http, model="m", base_url="http://model.test/v1", stream=stream)
            with pytest.raises(ModelError, match=match):
                await run_agent(model, Executor(slow_registry()), "x")


def test_strict_response_tools_from_the_client() -> None:
    model = OpenAIResponses(httpx.AsyncClient(), model="m", strict=True)
    tools: list[dict[str, Any]] = model.tool_definitions(slow_registry())
    assert all(t["strict"] is True for t in tools)
    check_responses_tools(tools)
