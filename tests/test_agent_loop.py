"""The agent loop against httpx.MockTransport speaking the providers' real wire formats, on a MockClock."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
import trio
import trio.testing
from provider_fakes import (
    FakeServer,
    Reply,
    anthropic_answer,
    anthropic_block_stop,
    anthropic_event,
    anthropic_json_delta,
    anthropic_message,
    anthropic_message_end,
    anthropic_message_start,
    anthropic_tool_start,
    check_anthropic_messages,
    check_anthropic_tools,
    check_openai_messages,
    check_openai_tools,
    delayed,
    fragments,
    openai_call_args,
    openai_call_start,
    openai_chunk,
    openai_completion,
    openai_usage_chunk,
    slow_registry,
    sse,
    sse_response,
)

from trio_toolpar import ErrorCode, Executor, FormatError, Status
from trio_toolpar.agent import (
    AgentResult,
    AnthropicMessages,
    Dispatch,
    ModelError,
    OpenAIChat,
    RequestRetry,
    ScriptedModel,
    StopReason,
    Usage,
    retry_after,
    run_agent,
)

ITEMS = ("a", "b", "c")


def openai_three_calls() -> list[tuple[float, bytes]]:
    """Calls to fetch a, b, c whose arguments are complete at t=1, 2, 3 (the next call's start, then
    finish_reason); the stream ends at t=4 with usage and [DONE]."""
    chunks: list[tuple[float, bytes]] = []
    for i, item in enumerate(ITEMS):
        chunks.append((float(i), sse(openai_call_start(i, f"call_{item}", "fetch"))))
        for k, fragment in enumerate(fragments(json.dumps({"item": item}), 4)):
            chunks.append((i + 0.1 * (k + 1), sse(openai_call_args(i, fragment))))
    chunks.append((3.0, sse(openai_chunk({}, finish_reason="tool_calls"))))
    chunks.append((4.0, sse(openai_usage_chunk(100, 30))))
    chunks.append((4.0, b"data: [DONE]\n\n"))
    return chunks


def openai_answer() -> list[tuple[float, bytes]]:
    return [
        (0.0, sse(openai_chunk({"role": "assistant", "content": "All "}))),
        (0.0, sse(openai_chunk({"content": "fine."}))),
        (0.0, sse(openai_chunk({}, finish_reason="stop"))),
        (0.0, sse(openai_usage_chunk(200, 5))),
        (0.0, b"data: [DONE]\n\n"),
    ]


def anthropic_three_calls() -> list[tuple[float, bytes]]:
    """tool_use blocks for a, b, c that stop at t=1, 2, 3; message_stop at t=4."""
    chunks: list[tuple[float, bytes]] = [(0.0, anthropic_message_start())]
    for i, item in enumerate(ITEMS):
        chunks.append((float(i), anthropic_tool_start(i, f"toolu_{item}", "fetch")))
        for k, fragment in enumerate(fragments(json.dumps({"item": item}), 4)):
            chunks.append((i + 0.1 * (k + 1), anthropic_json_delta(i, fragment)))
        chunks.append((i + 1.0, anthropic_block_stop(i)))
    chunks.extend((4.0, b) for b in anthropic_message_end())
    return chunks


def _times(result: AgentResult, t0: float) -> list[tuple[float | None, float | None]]:
    (turn,) = result.turns
    return [
        (None if o.started_at is None else o.started_at - t0, None if o.finished_at is None else o.finished_at - t0)
        for o in turn
    ]


# -- streaming dispatch: the headline ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("dispatch", "starts", "end"),
    [("stream", [1.0, 2.0, 3.0], 5.0), ("batch", [4.0, 4.0, 4.0], 6.0)],
)
async def test_openai_streaming_dispatch_timing(
    autojump_clock: trio.testing.MockClock, dispatch: Dispatch, starts: list[float], end: float
) -> None:
    server = FakeServer([sse_response(openai_three_calls())[0], sse_response(openai_answer())[0]])
    t0 = trio.current_time()
    async with server.client() as http:
        model = OpenAIChat(http, model="gpt-test", base_url="http://model.test/v1", api_key="sk-test")
        result = await run_agent(model, Executor(slow_registry(2.0)), "Check a, b and c.", dispatch=dispatch)
    # Each 2-second call starts when the stream completes it (t=1, 2, 3), not when the stream ends (t=4).
    assert _times(result, t0) == [(s, s + 2.0) for s in starts]
    assert result.turns[0].finished_at - t0 == end
    assert server.seen[1].at - t0 == end  # the follow-up request goes out the moment the last call is done
    assert result.stop is StopReason.ANSWERED
    assert result.text == "All fine."
    assert result.usage == Usage(input_tokens=300, output_tokens=35)
    assert [o.value for o in result.turns[0]] == [{"item": i, "status": "fine"} for i in ITEMS]


async def test_openai_non_streamed_response_takes_the_whole_message_first(
    autojump_clock: trio.testing.MockClock,
) -> None:
    message = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": f"call_{i}", "type": "function", "function": {"name": "fetch", "arguments": json.dumps({"item": i})}}
            for i in ITEMS
        ],
    }
    server = FakeServer(
        [
            delayed(4.0, httpx.Response(200, json=openai_completion(message))),
            httpx.Response(
                200, json=openai_completion({"role": "assistant", "content": "All fine."}, finish_reason="stop")
            ),
        ]
    )
    t0 = trio.current_time()
    async with server.client() as http:
        model = OpenAIChat(http, model="gpt-test", base_url="http://model.test/v1", stream=False)
        result = await run_agent(model, Executor(slow_registry(2.0)), "Check a, b and c.")
    assert _times(result, t0) == [(4.0, 6.0)] * 3  # 4 s for the message, then 2 s of tools
    assert server.seen[1].at - t0 == 6.0
    assert "stream" not in server.seen[0].body
    assert result.usage == Usage(input_tokens=20, output_tokens=10)
    check_openai_messages(result.messages)


@pytest.mark.parametrize(("dispatch", "end"), [("stream", 5.0), ("batch", 6.0)])
async def test_anthropic_streaming_dispatch_timing(
    autojump_clock: trio.testing.MockClock, dispatch: Dispatch, end: float
) -> None:
    server = FakeServer([sse_response(anthropic_three_calls())[0], sse_response(anthropic_answer())[0]])
    t0 = trio.current_time()
    async with server.client() as http:
        model = AnthropicMessages(http, model="claude-test", base_url="http://model.test", api_key="sk-ant")
        result = await run_agent(model, Executor(slow_registry(2.0)), "Check a, b and c.", dispatch=dispatch)
    expected = [(1.0, 3.0), (2.0, 4.0), (3.0, 5.0)] if dispatch == "stream" else [(4.0, 6.0)] * 3
    assert _times(result, t0) == expected
    assert server.seen[1].at - t0 == end
    assert result.text == "All fine."
    assert result.usage == Usage(input_tokens=325, output_tokens=87)
    assert result.replies[0].stop_reason == "tool_use"


# -- what goes over the wire -------------------------------------------------------------------------


async def test_openai_requests_on_the_wire(autojump_clock: trio.testing.MockClock) -> None:
    server = FakeServer([sse_response(openai_three_calls())[0], sse_response(openai_answer())[0]])
    async with server.client() as http:
        model = OpenAIChat(
            http,
            model="gpt-test",
            base_url="http://model.test/v1/",
            api_key="sk-test",
            system="You are on call.",
            extra_body={"temperature": 0},
        )
        result = await run_agent(model, Executor(slow_registry(2.0)), "Check a, b and c.")
    first, second = server.seen
    assert str(first.headers["authorization"]) == "Bearer sk-test"
    assert first.body["model"] == "gpt-test"
    assert first.body["stream"] is True
    assert first.body["stream_options"] == {"include_usage": True}
    assert first.body["temperature"] == 0
    assert first.body["messages"] == [
        {"role": "system", "content": "You are on call."},
        {"role": "user", "content": "Check a, b and c."},
    ]
    check_openai_tools(first.body["tools"])
    check_openai_messages(second.body["messages"])
    assistant, *answers = second.body["messages"][2:]
    assert [c["id"] for c in assistant["tool_calls"]] == ["call_a", "call_b", "call_c"]
    assert [c["function"]["arguments"] for c in assistant["tool_calls"]] == [json.dumps({"item": i}) for i in ITEMS]
    assert [(m["role"], m["tool_call_id"]) for m in answers] == [("tool", f"call_{i}") for i in ITEMS]
    assert json.loads(answers[0]["content"])["result"] == {"item": "a", "status": "fine"}
    # The result's conversation is the request's plus the final answer (the system prompt is the client's).
    assert list(result.messages) == [*second.body["messages"][1:], {"role": "assistant", "content": "All fine."}]
    check_openai_messages(result.messages)


async def test_anthropic_requests_on_the_wire(autojump_clock: trio.testing.MockClock) -> None:
    content: list[dict[str, Any]] = [
        {"type": "text", "text": "Checking.", "citations": None},
        *({"type": "tool_use", "id": f"toolu_{i}", "name": "fetch", "input": {"item": i}} for i in ITEMS),
    ]
    server = FakeServer(
        [
            httpx.Response(200, json=anthropic_message(content)),
            httpx.Response(200, json=anthropic_message([{"type": "text", "text": "Done."}], stop_reason="end_turn")),
        ]
    )
    async with server.client() as http:
        model = AnthropicMessages(
            http, model="claude-test", base_url="http://model.test", api_key="sk-ant", stream=False, system="Be brief."
        )
        result = await run_agent(model, Executor(slow_registry(2.0)), "Check a, b and c.")
    first, second = server.seen
    assert str(first.headers["x-api-key"]) == "sk-ant"
    assert str(first.headers["anthropic-version"]) == "2023-06-01"
    assert first.body["system"] == "Be brief."
    assert first.body["max_tokens"] == 4096
    assert "stream" not in first.body
    check_anthropic_tools(first.body["tools"])
    check_anthropic_messages(second.body["messages"])
    _, assistant, answer = second.body["messages"]
    assert assistant["content"][0] == {"type": "text", "text": "Checking."}
    assert [b["tool_use_id"] for b in answer["content"]] == [f"toolu_{i}" for i in ITEMS]
    assert result.text == "Done."
    assert result.replies[0].text == "Checking."
    check_anthropic_messages(result.messages)


async def test_malformed_calls_in_a_stream_become_outcomes(autojump_clock: trio.testing.MockClock) -> None:
    chunks = [
        (
            0.0,
            sse(
                openai_chunk(
                    {
                        "role": "assistant",
                        "tool_calls": [
                            {"index": 0, "type": "function", "function": {"name": "fetch", "arguments": ""}}
                        ],
                    }
                )
            ),
        ),  # no id
        (0.1, sse(openai_call_args(0, '{"item": "no-id"}'))),
        (0.2, sse(openai_call_start(1, "call_badjson", "fetch"))),
        (0.3, sse(openai_call_args(1, '{"item": '))),
        (0.4, sse(openai_call_start(2, "call_unknown", "fetsh"))),
        (0.5, sse(openai_call_args(2, "{}"))),
        (0.6, sse(openai_chunk({}, finish_reason="tool_calls"))),
        (0.6, b"data: [DONE]\n\n"),
    ]
    server = FakeServer([sse_response(chunks)[0], sse_response(openai_answer())[0]])
    async with server.client() as http:
        model = OpenAIChat(http, model="gpt-test", base_url="http://model.test/v1")
        result = await run_agent(model, Executor(slow_registry(1.0)), "go")
    (turn,) = result.turns
    assert [(o.call_id, o.status, o.error_code) for o in turn] == [
        ("missing_id_0", Status.OK, None),
        ("call_badjson", Status.REJECTED, ErrorCode.INVALID_ARGUMENTS),
        ("call_unknown", Status.REJECTED, ErrorCode.UNKNOWN_TOOL),
    ]
    sent = server.seen[1].body["messages"]
    check_openai_messages(sent)
    assert [c["id"] for c in sent[1]["tool_calls"]] == [m["tool_call_id"] for m in sent[2:]]


# -- retries ----------------------------------------------------------------------------------------------


async def test_429_with_retry_after_then_success(autojump_clock: trio.testing.MockClock) -> None:
    server = FakeServer(
        [
            httpx.Response(429, headers={"Retry-After": "7"}, json={"error": {"message": "slow down"}}),
            sse_response(openai_answer())[0],
        ]
    )
    t0 = trio.current_time()
    async with server.client() as http:
        model = OpenAIChat(http, model="gpt-test", base_url="http://model.test/v1")
        result = await run_agent(model, Executor(slow_registry()), "hi")
    assert [s.at - t0 for s in server.seen] == [0.0, 7.0]
    assert server.seen[0].body == server.seen[1].body
    assert result.text == "All fine."


async def test_retry_after_ms_and_backoff_without_a_header(autojump_clock: trio.testing.MockClock) -> None:
    server = FakeServer(
        [
            httpx.Response(529, headers={"retry-after-ms": "2500"}, json={"type": "error", "error": {}}),
            httpx.Response(503, text="unavailable"),
            httpx.Response(500, text="oops"),
            httpx.Response(200, json=anthropic_message([{"type": "text", "text": "ok"}], stop_reason="end_turn")),
        ]
    )
    t0 = trio.current_time()
    async with server.client() as http:
        model = AnthropicMessages(
            http,
            model="claude-test",
            base_url="http://model.test",
            stream=False,
            retry=RequestRetry(attempts=4, backoff=1.0, multiplier=3.0, seed=7),
        )
        result = await run_agent(model, Executor(slow_registry()), "hi")
    # 2.5 s as the server asked; then the backoff, 3 s after the 2nd failure (1 * 3**1) and 9 s after the 3rd,
    # with equal jitter: half of it fixed, half drawn from the client's generator seeded with 7.
    draws = random.Random(7)
    second = 2.5 + 1.5 + 1.5 * draws.random()
    third = second + 4.5 + 4.5 * draws.random()
    assert [s.at - t0 for s in server.seen] == [0.0, 2.5, second, third]
    assert result.text == "ok"


async def test_retries_are_bounded(autojump_clock: trio.testing.MockClock) -> None:
    server = FakeServer([httpx.Response(429, headers={"Retry-After": "1"}, json={"error": {"message": "busy"}})] * 3)
    async with server.client() as http:
        model = OpenAIChat(http, model="m", base_url="http://model.test/v1", retry=RequestRetry(attempts=3))
        with pytest.raises(ModelError, match=r"429 Too Many Requests: busy \(after 3 attempts\)") as info:
            await run_agent(model, Executor(slow_registry()), "hi")
    assert info.value.status_code == 429
    assert info.value.attempts == 3
    assert len(server.seen) == 3


@pytest.mark.parametrize(
    ("response", "match"),
    [
        (httpx.Response(400, json={"error": {"message": "bad tools"}}), "400 Bad Request: bad tools"),
        (httpx.Response(500, headers={"x-should-retry": "false"}, text="no"), "500 Internal Server Error: no"),
        (httpx.Response(429, headers={"Retry-After": "3600"}, text="later"), "retry after 3600 s, more than"),
    ],
)
async def test_errors_that_are_not_retried(
    autojump_clock: trio.testing.MockClock, response: httpx.Response, match: str
) -> None:
    server = FakeServer([response])
    async with server.client() as http:
        model = OpenAIChat(http, model="m", base_url="http://model.test/v1")
        with pytest.raises(ModelError, match=match):
            await run_agent(model, Executor(slow_registry()), "hi")
    assert len(server.seen) == 1


async def test_connection_errors_are_retried(autojump_clock: trio.testing.MockClock) -> None:
    attempts: list[float] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(trio.current_time())
        if len(attempts) < 3:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json=openai_completion({"role": "assistant", "content": "up"}, finish_reason="stop"))

    t0 = trio.current_time()
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        model = OpenAIChat(
            http, model="m", base_url="http://model.test/v1", stream=False, retry=RequestRetry(jitter="none")
        )
        result = await run_agent(model, Executor(slow_registry()), "hi")
        assert result.text == "up"
        assert [t - t0 for t in attempts] == [0.0, 1.0, 3.0]
        attempts.clear()
        model = OpenAIChat(http, model="m", base_url="http://model.test/v1", retry=RequestRetry(attempts=1))
        with pytest.raises(
            ModelError, match=r"could not reach .* \(ConnectError: connection refused\) after 1 attempt"
        ):
            await run_agent(model, Executor(slow_registry()), "hi")


# -- errors in the response ----------------------------------------------------------------------------


async def test_error_events_in_streams(autojump_clock: trio.testing.MockClock) -> None:
    overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    server = FakeServer(
        [
            sse_response([(0.0, anthropic_message_start()), (0.5, anthropic_event(overloaded))])[0],
            sse_response([(0.0, sse({"error": {"message": "server fault", "type": "server_error"}}))])[0],
            sse_response([(0.0, b"data: {not json\n\n")])[0],
        ]
    )
    async with server.client() as http:
        with pytest.raises(ModelError, match=r"error in the stream: .*Overloaded"):
            await run_agent(
                AnthropicMessages(http, model="c", base_url="http://model.test"), Executor(slow_registry()), "x"
            )
        with pytest.raises(ModelError, match=r"error in the stream: .*server fault"):
            await run_agent(
                OpenAIChat(http, model="m", base_url="http://model.test/v1"), Executor(slow_registry()), "x"
            )
        with pytest.raises(FormatError, match="a stream event is not valid JSON"):
            await run_agent(
                OpenAIChat(http, model="m", base_url="http://model.test/v1"), Executor(slow_registry()), "x"
            )


async def test_unreadable_non_streamed_responses(autojump_clock: trio.testing.MockClock) -> None:
    server = FakeServer(
        [
            httpx.Response(200, json={"choices": []}),
            httpx.Response(200, json={"error": {"message": "quota"}}),
            httpx.Response(200, text="<html>"),
            httpx.Response(200, json={"type": "error", "error": {"type": "api_error"}}),
        ]
    )
    async with server.client() as http:
        chat = OpenAIChat(http, model="m", base_url="http://model.test/v1", stream=False)
        with pytest.raises(FormatError, match="non-empty 'choices' list"):
            await run_agent(chat, Executor(slow_registry()), "x")
        with pytest.raises(ModelError, match="quota"):
            await run_agent(chat, Executor(slow_registry()), "x")
        with pytest.raises(FormatError, match="the response body is not valid JSON"):
            await run_agent(chat, Executor(slow_registry()), "x")
        messages = AnthropicMessages(http, model="c", base_url="http://model.test", stream=False)
        with pytest.raises(ModelError, match="api_error"):
            await run_agent(messages, Executor(slow_registry()), "x")


async def test_a_stream_that_breaks_off_is_a_model_error(autojump_clock: trio.testing.MockClock) -> None:
    class Broken(httpx.AsyncByteStream):
        async def __aiter__(self):  # type: ignore[no-untyped-def]
            yield sse(openai_call_start(0, "call_a", "fetch"))
            await trio.sleep(1)
            raise httpx.ReadError("connection reset")

    server = FakeServer([httpx.Response(200, stream=Broken())])
    log: list[tuple[str, str, float]] = []
    async with server.client() as http:
        with pytest.raises(ModelError, match=r"broke off .*ReadError"):
            await run_agent(
                OpenAIChat(http, model="m", base_url="http://model.test/v1"), Executor(slow_registry(log=log)), "x"
            )
    assert len(server.seen) == 1  # never repeated: its calls could be running
    assert log == []  # call_a was not complete when the stream broke, so it never started


# -- limits -----------------------------------------------------------------------------------------------


def _always_calls(n: int) -> list[Reply]:
    return [
        httpx.Response(
            200,
            json=openai_completion(
                {
                    "role": "assistant",
                    "content": f"round {k}",
                    "tool_calls": [
                        {
                            "id": f"call_{k}",
                            "type": "function",
                            "function": {"name": "fetch", "arguments": '{"item": "x"}'},
                        }
                    ],
                }
            ),
        )
        for k in range(n)
    ]


async def test_max_turns(autojump_clock: trio.testing.MockClock) -> None:
    server = FakeServer(_always_calls(3))
    async with server.client() as http:
        model = OpenAIChat(http, model="m", base_url="http://model.test/v1", stream=False)
        result = await run_agent(model, Executor(slow_registry(1.0)), "loop", max_turns=2)
    assert result.stop is StopReason.MAX_TURNS
    assert len(server.seen) == 2
    assert len(result.turns) == len(result.replies) == 2
    assert result.text == "round 1"
    assert result.messages[-1]["role"] == "tool"  # ready to continue: every call is answered
    check_openai_messages(result.messages)
    with pytest.raises(ValueError, match="max_turns"):
        await run_agent(model, Executor(slow_registry()), "x", max_turns=0)
    with pytest.raises(ValueError, match="budget"):
        await run_agent(model, Executor(slow_registry()), "x", budget=-1)
    with pytest.raises(ValueError, match="dispatch"):
        await run_agent(model, Executor(slow_registry()), "x", dispatch="later")  # type: ignore[arg-type]


async def test_budget_cuts_the_tools(autojump_clock: trio.testing.MockClock) -> None:
    server = FakeServer(_always_calls(3))
    t0 = trio.current_time()
    async with server.client() as http:
        model = OpenAIChat(http, model="m", base_url="http://model.test/v1", stream=False)
        result = await run_agent(model, Executor(slow_registry(4.0)), "loop", budget=6.0)
    # Turn 1 runs 0-4 s; turn 2's call starts at 4 s and is cut at 6 s.
    assert result.stop is StopReason.BUDGET_EXCEEDED
    assert result.finished_at - t0 == 6.0
    last = result.turns[-1][0]
    assert (last.status, last.error_code) == (Status.CANCELLED, ErrorCode.BUDGET_EXCEEDED)
    assert last.finished_at is not None and last.finished_at - t0 == 6.0
    assert result.messages[-1]["role"] == "tool"
    assert json.loads(result.messages[-1]["content"])["error_code"] == "budget_exceeded"
    check_openai_messages(result.messages)


async def test_budget_cuts_the_model_mid_stream(autojump_clock: trio.testing.MockClock) -> None:
    server = FakeServer([sse_response(openai_three_calls())[0]])
    t0 = trio.current_time()
    async with server.client() as http:
        model = OpenAIChat(http, model="m", base_url="http://model.test/v1")
        result = await run_agent(model, Executor(slow_registry(2.0)), "x", budget=2.5)
    assert result.stop is StopReason.BUDGET_EXCEEDED
    assert result.finished_at - t0 == 2.5
    assert result.replies == ()
    assert list(result.messages) == [{"role": "user", "content": "x"}]  # no half-written assistant message
    (turn,) = result.turns  # but the calls that had started are accounted for
    assert [(o.call_id, o.status, o.error_code) for o in turn] == [
        ("call_a", Status.CANCELLED, ErrorCode.BUDGET_EXCEEDED),
        ("call_b", Status.CANCELLED, ErrorCode.BUDGET_EXCEEDED),
    ]


async def test_zero_budget_asks_nothing(autojump_clock: trio.testing.MockClock) -> None:
    server = FakeServer([])
    async with server.client() as http:
        model = OpenAIChat(http, model="m", base_url="http://model.test/v1")
        result = await run_agent(model, Executor(slow_registry()), "x", budget=0)
    assert result.stop is StopReason.BUDGET_EXCEEDED
    assert server.seen == []
    assert result.text is None and result.usage is None


async def test_conversation_history_as_prompt(autojump_clock: trio.testing.MockClock) -> None:
    server = FakeServer([sse_response(openai_answer())[0]])
    history: Sequence[dict[str, Any]] = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "status?"},
    ]
    async with server.client() as http:
        result = await run_agent(
            OpenAIChat(http, model="m", base_url="http://model.test/v1"), Executor(slow_registry()), history
        )
    assert server.seen[0].body["messages"] == list(history)
    assert len(result.messages) == 4
    assert result.turns == ()


def test_retry_after_parsing() -> None:
    now = 1_700_000_000.0  # 2023-11-14 22:13:20 GMT
    assert retry_after(httpx.Headers({"Retry-After": "2.5"})) == 2.5
    assert retry_after(httpx.Headers({"retry-after-ms": "1500", "Retry-After": "9"})) == 1.5
    assert retry_after(httpx.Headers({"retry-after-ms": "soon", "Retry-After": "9"})) == 9.0
    assert retry_after(httpx.Headers({"Retry-After": "Tue, 14 Nov 2023 22:13:50 GMT"}), now=lambda: now) == 30.0
    assert retry_after(httpx.Headers({"Retry-After": "Tue, 14 Nov 2023 22:00:00 GMT"}), now=lambda: now) == 0.0
    assert retry_after(httpx.Headers({"Retry-After": "whenever"})) is None
    assert retry_after(httpx.Headers({"Retry-After": "inf"})) is None
    assert retry_after(httpx.Headers({})) is None


async def test_empty_keep_alive_events_are_skipped(autojump_clock: trio.testing.MockClock) -> None:
    chunks = [(0.0, b": keep-alive\n\ndata:\n\n"), *openai_answer()]
    server = FakeServer([sse_response(chunks)[0]])
    async with server.client() as http:
        result = await run_agent(
            OpenAIChat(http, model="m", base_url="http://model.test/v1"), Executor(slow_registry()), "x"
        )
    assert result.text == "All fine."


async def test_a_single_message_is_not_a_conversation() -> None:
    model = ScriptedModel([])
    with pytest.raises(TypeError, match="wrap a single message in a list"):
        await run_agent(model, Executor(slow_registry()), {"role": "user", "content": "hi"})  # type: ignore[arg-type]


async def test_a_server_that_keeps_talking_after_done_is_given_one_second(
    autojump_clock: trio.testing.MockClock,
) -> None:
    chunks = [*openai_answer(), (0.0, sse({"late": "ignored"})), (30.0, sse({"later": "never read"}))]
    response, stream = sse_response(chunks)
    server = FakeServer([response])
    t0 = trio.current_time()
    async with server.client() as http:
        result = await run_agent(
            OpenAIChat(http, model="m", base_url="http://model.test/v1"), Executor(slow_registry()), "x"
        )
    assert result.text == "All fine."
    assert result.finished_at - t0 == 1.0
    assert stream.closed_at is not None and stream.closed_at - t0 == 1.0
    assert stream.sent == len(chunks) - 1


async def test_request_bodies() -> None:
    async with httpx.AsyncClient() as http:
        _check_request_bodies(http)


def _check_request_bodies(http: httpx.AsyncClient) -> None:
    chat = OpenAIChat(http, model="m", include_usage=False, headers={"X-Trace": "1"})
    assert chat.request_body([{"role": "user", "content": "hi"}], tools=[]) == {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
    }
    assert chat.headers["X-Trace"] == "1"
    assert "Authorization" not in chat.headers
    claude = AnthropicMessages(http, model="c", stream=False, max_tokens=100, extra_body={"temperature": 0})
    assert claude.request_body([{"role": "user", "content": "hi"}], tools=[]) == {
        "model": "c",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 0,
    }
    assert "x-api-key" not in claude.headers


async def test_an_error_body_that_is_a_plain_string(autojump_clock: trio.testing.MockClock) -> None:
    server = FakeServer([httpx.Response(401, json={"error": "invalid key"})])
    async with server.client() as http:
        with pytest.raises(ModelError, match="401 Unauthorized: invalid key") as info:
            await run_agent(
                OpenAIChat(http, model="m", base_url="http://model.test/v1"), Executor(slow_registry()), "x"
            )
    assert info.value.body == '{"error":"invalid key"}'
