"""Responses items other than function calls: a custom tool call runs, every other call is answered."""

from __future__ import annotations

import json
from typing import Any

import pytest
import trio
import trio.testing
from openai.types.responses import Response
from provider_fakes import (
    FakeServer,
    ResponsesWire,
    check_responses_events,
    check_responses_items,
    responses_object,
    sse_response,
)

from trio_toolpar import ErrorCode, Executor, FormatError, Registry, Status, ToolCall, openai
from trio_toolpar.agent import OpenAIResponses, StopReason, run_agent
from trio_toolpar.openai import ResponseStream

PATCH: dict[str, Any] = {
    "type": "apply_patch_call",
    "id": "apc_1",
    "call_id": "call_patch",
    "status": "completed",
    "operation": {"type": "update_file", "path": "a.py", "diff": "@@ -1 +1 @@\n-a\n+b\n"},
}
SHELL: dict[str, Any] = {
    "type": "shell_call",
    "id": "sh_1",
    "call_id": "call_shell",
    "status": "completed",
    "action": {"commands": ["ls"]},
}
LOCAL_SHELL: dict[str, Any] = {
    "type": "local_shell_call",
    "id": "lsh_1",
    "call_id": "call_local",
    "status": "completed",
    "action": {"type": "exec", "command": ["ls"], "env": {}},
}
APPROVAL: dict[str, Any] = {
    "type": "mcp_approval_request",
    "id": "mcpr_1",
    "name": "delete_repo",
    "arguments": "{}",
    "server_label": "github",
}
GRAMMAR: dict[str, Any] = {
    "type": "custom_tool_call",
    "id": "ctc_1",
    "call_id": "call_sql",
    "name": "run_sql",
    "input": "SELECT 1",
}
FETCH: dict[str, Any] = {
    "type": "function_call",
    "id": "fc_1",
    "call_id": "call_fetch",
    "name": "fetch",
    "arguments": '{"item": "a"}',
    "status": "completed",
}
UNREGISTERED: dict[str, Any] = {**GRAMMAR, "id": "ctc_2", "call_id": "call_lark", "name": "lark", "input": "start: x"}
OUTPUT: list[dict[str, Any]] = [PATCH, GRAMMAR, SHELL, FETCH, LOCAL_SHELL, APPROVAL, UNREGISTERED]


def registry(received: list[str]) -> Registry:
    tools = Registry()

    @tools.tool(side_effect="read")
    async def run_sql(input: str) -> list[int]:  # a custom tool: its one text input is `input`
        received.append(input)
        return [1]

    @tools.tool(side_effect="read")
    async def fetch(item: str) -> str:
        return item.upper()

    return tools


def test_the_items_are_what_the_sdk_reads() -> None:
    Response.model_validate(responses_object(OUTPUT))


def test_a_custom_tool_call_is_a_call_and_nothing_raises() -> None:
    calls = openai.calls_from_response(responses_object(OUTPUT))
    assert calls == [
        ToolCall(id="call_sql", tool="run_sql", arguments={"input": "SELECT 1"}),
        ToolCall(id="call_fetch", tool="fetch", arguments='{"item": "a"}'),
        ToolCall(id="call_lark", tool="lark", arguments={"input": "start: x"}),
    ]


def test_every_call_we_do_not_run_is_answered_right_after_it() -> None:
    items = openai.response_items(responses_object(OUTPUT))
    check_responses_items(items)
    kinds = [(i["type"], i.get("call_id") or i.get("id") or i.get("approval_request_id")) for i in items]
    assert kinds == [
        ("apply_patch_call", "call_patch"),
        ("apply_patch_call_output", "call_patch"),
        ("custom_tool_call", "call_sql"),
        ("shell_call", "call_shell"),
        ("shell_call_output", "call_shell"),
        ("function_call", "call_fetch"),
        ("local_shell_call", "call_local"),
        ("local_shell_call_output", "call_local"),
        ("mcp_approval_request", "mcpr_1"),
        ("mcp_approval_response", "mcpr_1"),
        ("custom_tool_call", "call_lark"),
    ]
    patch_answer = items[1]
    assert patch_answer["status"] == "failed"
    observation = json.loads(patch_answer["output"])
    assert (observation["ok"], observation["error_code"]) == (False, "unknown_tool")
    assert "apply_patch_call" in observation["error"]
    assert "shell_call" in items[4]["output"][0]["stderr"]
    assert items[9]["approve"] is False and "github" in items[9]["reason"]
    # Reading the kept items again answers nothing twice and finds the same calls.
    assert openai.response_items(items) == items
    assert openai.calls_from_response(items) == openai.calls_from_response(responses_object(OUTPUT))


async def test_outputs_answer_custom_calls_as_custom_tool_call_outputs(autojump_clock: trio.testing.MockClock) -> None:
    received: list[str] = []
    response = responses_object(OUTPUT)
    result = await Executor(registry(received)).run(openai.calls_from_response(response))
    assert received == ["SELECT 1"]
    assert [o.status for o in result] == [Status.OK, Status.OK, Status.REJECTED]
    assert result[2].error_code is ErrorCode.UNKNOWN_TOOL
    outputs = openai.function_call_outputs(result, response=response)
    check_responses_items([*openai.response_items(response), *outputs])
    assert [(o["type"], o["call_id"]) for o in outputs] == [
        ("custom_tool_call_output", "call_sql"),
        ("function_call_output", "call_fetch"),
        ("custom_tool_call_output", "call_lark"),
    ]
    assert json.loads(outputs[0]["output"])["result"] == [1]
    assert json.loads(outputs[2]["output"])["error_code"] == "unknown_tool"
    # Without the response, every outcome is a function_call_output, as before.
    assert {o["type"] for o in openai.function_call_outputs(result)} == {"function_call_output"}


def test_a_call_the_client_cannot_answer_in_words_and_unknown_items_still_raise() -> None:
    computer = {"type": "computer_call", "id": "cu_1", "call_id": "call_cu", "status": "completed", "actions": []}
    with pytest.raises(FormatError, match=r"computer_call.*screenshot"):
        openai.calls_from_response([computer])
    with pytest.raises(FormatError, match="'hologram'"):
        openai.response_items([{"type": "hologram"}])
    assert openai.response_items([computer, PATCH], unknown="ignore")[0]["type"] == "apply_patch_call"


def custom_wire() -> ResponsesWire:
    """A patch the model asked for, a custom call whose input streams until t=2, then the end at t=3."""
    wire = ResponsesWire().created(0.0)
    wire.item(0.0, dict(PATCH, status="in_progress"), dict(PATCH))
    wire.custom_call(0.5, 2.0, "call_sql", "run_sql", "SELECT 1")
    return wire.completed(3.0)


def test_the_stream_hands_out_a_custom_call_when_its_input_is_done() -> None:
    events = custom_wire().data()
    check_responses_events(events)
    stream = ResponseStream()
    handed: list[tuple[str, list[ToolCall]]] = []
    for event in events:
        calls = stream.feed(event)
        if calls:
            handed.append((event["type"], calls))
    assert handed == [
        (
            "response.custom_tool_call_input.done",
            [ToolCall(id="call_sql", tool="run_sql", arguments={"input": "SELECT 1"})],
        )
    ]
    items = stream.items()
    check_responses_items(items)
    assert [i["type"] for i in items] == ["apply_patch_call", "apply_patch_call_output", "custom_tool_call"]
    assert items[2]["input"] == "SELECT 1"


async def test_the_agent_loop_runs_custom_calls_and_answers_the_rest(autojump_clock: trio.testing.MockClock) -> None:
    received: list[str] = []
    answer = ResponsesWire().created().text(0.0, "Done.").completed(0.0)
    for stream in (True, False):
        replies = (
            [sse_response(custom_wire().sse())[0], sse_response(answer.sse())[0]]
            if stream
            else [_json(custom_wire().output), _json(answer.output)]
        )
        server = FakeServer(replies)
        async with server.client() as http:
            model = OpenAIResponses(http, model="gpt-test", base_url="http://model.test/v1", stream=stream)
            result = await run_agent(model, Executor(registry(received)), "Count.")
        assert result.stop is StopReason.ANSWERED and result.text == "Done."
        second = server.seen[1].body["input"]
        check_responses_items(second)
        assert [i.get("type", "message") for i in second] == [
            "message",
            "apply_patch_call",
            "apply_patch_call_output",
            "custom_tool_call",
            "custom_tool_call_output",
        ]
        assert json.loads(second[-1]["output"])["result"] == [1]
    assert received == ["SELECT 1", "SELECT 1"]


def _json(output: list[dict[str, Any]]) -> Any:
    import httpx

    return httpx.Response(200, json=responses_object(output))
