"""trio_toolpar.openai: Chat Completions and Responses API payloads in and out."""

from __future__ import annotations

import json
from typing import Any

import pydantic
import pytest
import trio.testing
from openai.types.chat import ChatCompletion, ChatCompletionMessage, ChatCompletionMessageParam
from openai.types.responses import Response
from provider_fakes import (
    check_openai_messages,
    check_openai_tools,
    check_responses_items,
    check_responses_tools,
    openai_completion,
    slow_registry,
)

from trio_toolpar import ErrorCode, Executor, FormatError, Registry, Status, ToolCall, openai
from trio_toolpar._wire._guide import REFERENCE_HINT

MESSAGE: dict[str, Any] = {
    "role": "assistant",
    "content": None,
    "refusal": None,
    "annotations": [],
    "tool_calls": [
        {"id": "call_a", "type": "function", "function": {"name": "fetch", "arguments": '{"item": "a"}'}},
        {"id": "call_b", "type": "function", "function": {"name": "fetch", "arguments": '{"item":"b"}'}},
        {"id": "call_n", "type": "function", "function": {"name": "note", "arguments": '{"text": "x"}'}},
    ],
}


def test_calls_from_message_keep_order_ids_and_raw_arguments() -> None:
    assert openai.calls_from_message(MESSAGE) == [
        ToolCall(id="call_a", tool="fetch", arguments='{"item": "a"}'),
        ToolCall(id="call_b", tool="fetch", arguments='{"item":"b"}'),
        ToolCall(id="call_n", tool="note", arguments='{"text": "x"}'),
    ]


def test_sdk_objects_read_like_dicts() -> None:
    completion = ChatCompletion.model_validate(openai_completion(MESSAGE))
    message = completion.choices[0].message
    assert isinstance(message, ChatCompletionMessage)
    assert openai.calls_from_message(message) == openai.calls_from_message(MESSAGE)
    assert openai.assistant_message(message) == openai.assistant_message(MESSAGE)


def test_a_message_without_calls_has_none() -> None:
    assert openai.calls_from_message({"role": "assistant", "content": "done"}) == []
    assert openai.assistant_message({"role": "assistant", "content": "done"}) == {
        "role": "assistant",
        "content": "done",
    }


def test_assistant_message_keeps_only_what_servers_accept() -> None:
    kept = openai.assistant_message(MESSAGE)
    assert kept == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "call_a", "type": "function", "function": {"name": "fetch", "arguments": '{"item": "a"}'}},
            {"id": "call_b", "type": "function", "function": {"name": "fetch", "arguments": '{"item":"b"}'}},
            {"id": "call_n", "type": "function", "function": {"name": "note", "arguments": '{"text": "x"}'}},
        ],
    }
    check_openai_messages([kept])


async def test_outcomes_become_tool_messages_in_the_models_order(autojump_clock: trio.testing.MockClock) -> None:
    executor = Executor(slow_registry(1.0))
    result = await executor.run(openai.calls_from_message(MESSAGE))
    messages = openai.tool_messages(result)
    assert [m["tool_call_id"] for m in messages] == ["call_a", "call_b", "call_n"]
    assert all(m["role"] == "tool" for m in messages)
    first = json.loads(messages[0]["content"])
    assert first == {"ok": True, "result": {"item": "a", "status": "fine"}}
    timed = json.loads(openai.tool_messages(result, include_timing=True)[0]["content"])
    assert timed == {"ok": True, "latency_ms": 1000, "result": {"item": "a", "status": "fine"}}
    check_openai_messages([{"role": "user", "content": "go"}, openai.assistant_message(MESSAGE), *messages])
    assert openai.tool_messages(result.outcomes) == messages  # outcomes work as well as the result


def test_tool_definitions_validate_and_carry_the_parallel_note() -> None:
    registry = slow_registry()
    tools = openai.tools(registry)
    check_openai_tools(tools)
    fetch, note = tools
    assert fetch["function"]["name"] == "fetch"
    assert fetch["function"]["parameters"]["properties"] == {"item": {"type": "string"}}
    assert fetch["function"]["description"].startswith("Fetch one item.\n\nParallel-safe: read-only")
    assert "item:{item}" in fetch["function"]["description"]
    assert "one at a time, in the order you emit them" in note["function"]["description"]
    plain = openai.tools(registry, notes=False)
    assert [t["function"]["description"] for t in plain] == ["Fetch one item.", "Write a note."]


def test_parallel_notes_follow_side_effect_and_keys() -> None:
    registry = Registry()
    registry.add(lambda: 1, name="pure", side_effect="none", description="")
    registry.add(lambda: 1, name="read", side_effect="read")
    registry.add(
        lambda order_id: 1,
        name="pay",
        side_effect="write",
        key="order:{order_id}",
        parameters={"type": "object", "properties": {"order_id": {"type": "string"}}},
    )
    notes = {t.name: openai.parallel_note(t) for t in registry}
    assert notes["pure"].startswith("Parallel-safe: no side effects")
    assert notes["read"] == "Parallel-safe: read-only; call it alongside other tools in the same turn."
    assert notes["pay"].startswith("Writes order:{order_id}: calls touching the same key run one at a time")
    # No description: the note alone, then how to chain calls.
    assert openai.tools(registry)[0]["function"]["description"] == f"{notes['pure']} {REFERENCE_HINT}"


# -- malformed payloads ------------------------------------------------------------------------------


async def test_malformed_calls_become_outcomes_and_none_is_lost(autojump_clock: trio.testing.MockClock) -> None:
    message = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"type": "function", "function": {"name": "fetch", "arguments": '{"item": "no-id"}'}},
            {"id": "call_bad_json", "type": "function", "function": {"name": "fetch", "arguments": '{"item": '}},
            {"id": "call_unknown", "type": "function", "function": {"name": "fetsh", "arguments": "{}"}},
            {"id": "call_no_name", "type": "function", "function": {"arguments": "{}"}},
            {"id": "call_list", "type": "function", "function": {"name": "fetch", "arguments": [1, 2]}},
            {"id": "call_object", "function": {"name": "fetch", "arguments": {"item": "ollama-style"}}},
            {"id": "", "type": "function", "function": {"name": "fetch", "arguments": '{"item": "empty-id"}'}},
        ],
    }
    calls = openai.calls_from_message(message)
    result = await Executor(slow_registry(1.0)).run(calls)
    summary = [(o.call_id, o.status, o.error_code) for o in result]
    assert summary == [
        ("missing_id_0", Status.OK, None),
        ("call_bad_json", Status.REJECTED, ErrorCode.INVALID_ARGUMENTS),
        ("call_unknown", Status.REJECTED, ErrorCode.UNKNOWN_TOOL),
        ("call_no_name", Status.REJECTED, ErrorCode.UNKNOWN_TOOL),
        ("call_list", Status.REJECTED, ErrorCode.INVALID_ARGUMENTS),
        ("call_object", Status.OK, None),
        ("missing_id_6", Status.OK, None),
    ]
    assert "did you mean 'fetch'" in (result["call_unknown"].error or "")
    # The kept assistant message names the calls as they ran, so every tool message answers one of them.
    kept = openai.assistant_message(message)
    answers = openai.tool_messages(result)
    assert [c["id"] for c in kept["tool_calls"]] == [m["tool_call_id"] for m in answers]
    assert kept["tool_calls"][0]["function"]["arguments"] == '{"item": "no-id"}'
    assert kept["tool_calls"][5]["function"]["arguments"] == '{"item":"ollama-style"}'
    assert kept["tool_calls"][4]["function"]["arguments"] == "[1,2]"
    check_openai_messages([kept, *answers])


def test_unknown_tool_call_type_is_an_error_or_skipped() -> None:
    message = {
        "role": "assistant",
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "fetch", "arguments": "{}"}},
            {"id": "call_2", "type": "custom", "custom": {"name": "grammar_tool", "input": "x"}},
            {"id": "call_3", "type": "function", "function": {"name": "note", "arguments": "{}"}},
        ],
    }
    with pytest.raises(FormatError, match=r"tool_calls\[1\] has type 'custom'.*unknown='ignore'"):
        openai.calls_from_message(message)
    calls = openai.calls_from_message(message, unknown="ignore")
    assert [c.id for c in calls] == ["call_1", "call_3"]
    assert [c["id"] for c in openai.assistant_message(message, unknown="ignore")["tool_calls"]] == ["call_1", "call_3"]


@pytest.mark.parametrize(
    ("message", "match"),
    [
        ("not a message", "an assistant message must be a JSON object, got str"),
        ({"role": "assistant", "tool_calls": {"id": "x"}}, "tool_calls must be a list, got dict"),
        ({"role": "assistant", "tool_calls": ["call_1"]}, r"tool_calls\[0\] must be an object, got str"),
    ],
)
def test_unreadable_messages_raise_format_error(message: object, match: str) -> None:
    with pytest.raises(FormatError, match=match) as info:
        openai.calls_from_message(message)
    assert isinstance(info.value, ValueError)
    assert info.value.payload is not None


# -- Responses API ---------------------------------------------------------------------------------

RESPONSE: dict[str, Any] = {
    "id": "resp_1",
    "object": "response",
    "created_at": 1700000000,
    "model": "gpt-test",
    "status": "completed",
    "parallel_tool_calls": True,
    "tool_choice": "auto",
    "tools": [],
    "output": [
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {
            "type": "function_call",
            "id": "fc_1",
            "call_id": "call_r1",
            "name": "fetch",
            "arguments": '{"item": "a"}',
            "status": "completed",
        },
        {
            "type": "message",
            "id": "msg_1",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": "Looking.", "annotations": []}],
        },
        {"type": "function_call", "id": "fc_2", "call_id": "call_r2", "name": "note", "arguments": "{oops"},
    ],
}


async def test_responses_function_calls_in_and_outputs_out(autojump_clock: trio.testing.MockClock) -> None:
    calls = openai.calls_from_response(RESPONSE)
    assert calls == [
        ToolCall(id="call_r1", tool="fetch", arguments='{"item": "a"}'),
        ToolCall(id="call_r2", tool="note", arguments="{oops"),
    ]
    assert openai.calls_from_response(Response.model_validate(RESPONSE)) == calls  # the SDK's object
    assert openai.calls_from_response(RESPONSE["output"]) == calls  # or just the items
    result = await Executor(slow_registry(1.0)).run(calls)
    outputs = openai.function_call_outputs(result)
    assert [(o["type"], o["call_id"]) for o in outputs] == [
        ("function_call_output", "call_r1"),
        ("function_call_output", "call_r2"),
    ]
    assert json.loads(outputs[1]["output"])["error_code"] == "invalid_arguments"
    # The next request's input: the model's output items, then the answers.
    check_responses_items([{"role": "user", "content": "go"}, *RESPONSE["output"], *outputs])


def test_responses_tools_validate() -> None:
    tools = openai.response_tools(slow_registry())
    check_responses_tools(tools)
    assert tools[0]["name"] == "fetch"
    assert tools[0]["strict"] is False
    assert tools[0]["parameters"]["required"] == ["item"]


def test_responses_malformed_items() -> None:
    items = [
        {"type": "function_call", "name": "fetch", "arguments": "{}"},  # no call_id
        {"type": "web_search_call", "id": "ws_1", "status": "completed"},  # the server's own tool
        {"type": "computer_call", "call_id": "cc_1"},  # a client-side kind trio_toolpar does not run
    ]
    with pytest.raises(FormatError, match=r"output\[2\] has type 'computer_call'"):
        openai.calls_from_response(items)
    calls = openai.calls_from_response(items, unknown="ignore")
    assert calls == [ToolCall(id="missing_id_0", tool="fetch", arguments="{}")]
    with pytest.raises(FormatError, match="must have an 'output' list"):
        openai.calls_from_response({"id": "resp_1"})
    with pytest.raises(FormatError, match="got int"):
        openai.calls_from_response(5)
    with pytest.raises(FormatError, match=r"output\[0\] must be an object"):
        openai.calls_from_response(["function_call"])


# -- the validator itself ------------------------------------------------------------------------------


def test_the_sdk_validator_rejects_bad_messages() -> None:
    """The checks above could fail: the same validator refuses malformed messages."""
    with pytest.raises(pydantic.ValidationError):
        check_openai_messages([{"role": "tool", "content": "{}"}])  # no tool_call_id
    bad_call = {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": {"a": 1}}}],
    }
    # pydantic checks Iterable fields lazily: validation alone lets the bad call through ...
    pydantic.TypeAdapter(ChatCompletionMessageParam).validate_python(bad_call)
    # ... which is why the helpers consume them.
    with pytest.raises(pydantic.ValidationError, match="arguments"):
        check_openai_messages([bad_call])
    with pytest.raises(pydantic.ValidationError):
        check_openai_tools([{"type": "function", "function": {"description": "no name"}}])
    with pytest.raises(pydantic.ValidationError):
        check_responses_items([{"type": "function_call_output", "call_id": "c", "output": 5}])
