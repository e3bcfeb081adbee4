"""trio_toolpar.anthropic: Messages API payloads in and out."""

from __future__ import annotations

import json
from typing import Any

import anthropic.types
import pydantic
import pytest
import trio.testing
from provider_fakes import anthropic_message, check_anthropic_messages, check_anthropic_tools, slow_registry

from trio_toolpar import ErrorCode, Executor, FormatError, Status, ToolCall
from trio_toolpar import anthropic as fmt

CONTENT: list[dict[str, Any]] = [
    {"type": "thinking", "thinking": "Two reads, then a note.", "signature": "sig=="},
    {"type": "text", "text": "Let me look.", "citations": None},
    {"type": "tool_use", "id": "toolu_a", "name": "fetch", "input": {"item": "a"}},
    {"type": "tool_use", "id": "toolu_b", "name": "fetch", "input": {"item": "b"}},
    {"type": "tool_use", "id": "toolu_n", "name": "note", "input": {"text": "x"}},
]


def test_tool_use_blocks_become_calls_in_order() -> None:
    assert fmt.calls_from_message(anthropic_message(CONTENT)) == [
        ToolCall(id="toolu_a", tool="fetch", arguments={"item": "a"}),
        ToolCall(id="toolu_b", tool="fetch", arguments={"item": "b"}),
        ToolCall(id="toolu_n", tool="note", arguments={"text": "x"}),
    ]
    assert fmt.calls_from_message(CONTENT) == fmt.calls_from_message(anthropic_message(CONTENT))  # blocks alone


def test_sdk_message_reads_like_a_dict() -> None:
    message = anthropic.types.Message.model_validate(anthropic_message(CONTENT))
    assert fmt.calls_from_message(message) == fmt.calls_from_message(anthropic_message(CONTENT))
    assert fmt.assistant_message(message) == fmt.assistant_message(anthropic_message(CONTENT))


def test_assistant_message_keeps_thinking_and_drops_nulls() -> None:
    kept = fmt.assistant_message(anthropic_message(CONTENT))
    assert kept["role"] == "assistant"
    assert kept["content"][0] == {"type": "thinking", "thinking": "Two reads, then a note.", "signature": "sig=="}
    assert kept["content"][1] == {"type": "text", "text": "Let me look."}
    assert kept["content"][2] == {"type": "tool_use", "id": "toolu_a", "name": "fetch", "input": {"item": "a"}}
    check_anthropic_messages([kept])


async def test_outcomes_become_one_user_message_of_tool_results(autojump_clock: trio.testing.MockClock) -> None:
    registry = slow_registry(1.0)

    @registry.tool
    async def broken() -> None:
        """Always fails."""
        raise RuntimeError("disk on fire")

    content = [*CONTENT, {"type": "tool_use", "id": "toolu_x", "name": "broken", "input": {}}]
    result = await Executor(registry).run(fmt.calls_from_message(content))
    answer = fmt.tool_result_message(result)
    assert answer["role"] == "user"
    blocks = answer["content"]
    assert [b["tool_use_id"] for b in blocks] == ["toolu_a", "toolu_b", "toolu_n", "toolu_x"]
    assert [b.get("is_error", False) for b in blocks] == [False, False, False, True]
    assert json.loads(blocks[3]["content"]) == {
        "ok": False,
        "error_code": "tool_error",
        "error": "RuntimeError: disk on fire",
    }
    check_anthropic_messages([{"role": "user", "content": "go"}, fmt.assistant_message(content), answer])


def test_tool_definitions_validate() -> None:
    tools = fmt.tools(slow_registry())
    check_anthropic_tools(tools)
    assert tools[0]["name"] == "fetch"
    assert tools[0]["input_schema"]["type"] == "object"
    assert "Parallel-safe" in tools[0]["description"]
    assert fmt.tools(slow_registry(), notes=False)[0]["description"] == "Fetch one item."


async def test_malformed_blocks_become_outcomes(autojump_clock: trio.testing.MockClock) -> None:
    content: list[dict[str, Any]] = [
        {"type": "tool_use", "name": "fetch", "input": {"item": "no-id"}},
        {"type": "tool_use", "id": "toolu_str", "name": "fetch", "input": '{"item": "as text"}'},
        {"type": "tool_use", "id": "toolu_badstr", "name": "fetch", "input": "{not json"},
        {"type": "tool_use", "id": "toolu_list", "name": "fetch", "input": ["a"]},
        {"type": "tool_use", "id": "toolu_unknown", "name": "fetsh", "input": {}},
        {"type": "tool_use", "id": "toolu_noname", "input": {}},
        {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "x"}},
        {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
    ]
    calls = fmt.calls_from_message(content)
    result = await Executor(slow_registry(1.0)).run(calls)
    assert [(o.call_id, o.status, o.error_code) for o in result] == [
        ("missing_id_0", Status.OK, None),
        ("toolu_str", Status.OK, None),
        ("toolu_badstr", Status.REJECTED, ErrorCode.INVALID_ARGUMENTS),
        ("toolu_list", Status.REJECTED, ErrorCode.INVALID_ARGUMENTS),
        ("toolu_unknown", Status.REJECTED, ErrorCode.UNKNOWN_TOOL),
        ("toolu_noname", Status.REJECTED, ErrorCode.UNKNOWN_TOOL),
    ]
    kept = fmt.assistant_message(content)
    uses = [b for b in kept["content"] if b["type"] == "tool_use"]
    assert [b["id"] for b in uses] == [o.call_id for o in result]
    assert [b["input"] for b in uses[:4]] == [{"item": "no-id"}, {"item": "as text"}, {}, {}]
    assert kept["content"][6]["type"] == "server_tool_use"  # the server's own blocks stay in the history
    answer = fmt.tool_result_message(result)
    check_anthropic_messages([kept, answer])


def test_unknown_block_type_is_an_error_or_skipped_without_losing_calls() -> None:
    content = [
        {"type": "tool_use", "id": "toolu_1", "name": "fetch", "input": {"item": "a"}},
        {"type": "hologram", "id": "h_1", "payload": "?"},
        {"type": "tool_use", "id": "toolu_2", "name": "fetch", "input": {"item": "b"}},
    ]
    with pytest.raises(FormatError, match=r"content\[1\] has type 'hologram'.*unknown='ignore'"):
        fmt.calls_from_message(content)
    with pytest.raises(FormatError, match="hologram"):
        fmt.assistant_message(content)
    assert [c.id for c in fmt.calls_from_message(content, unknown="ignore")] == ["toolu_1", "toolu_2"]
    kept = fmt.assistant_message(content, unknown="ignore")
    assert [b["id"] for b in kept["content"]] == ["toolu_1", "toolu_2"]
    with pytest.raises(FormatError, match=r"content\[0\] has type None"):
        fmt.calls_from_message([{"id": "x"}])


@pytest.mark.parametrize(
    ("message", "match"),
    [
        (42, "expected a message or a list of content blocks, got int"),
        ({"role": "assistant"}, "must have a 'content' list"),
        ({"role": "assistant", "content": ["text"]}, r"content\[0\] must be an object"),
    ],
)
def test_unreadable_messages_raise_format_error(message: object, match: str) -> None:
    with pytest.raises(FormatError, match=match):
        fmt.calls_from_message(message)
    with pytest.raises(FormatError, match=match):
        fmt.assistant_message(message)


def test_plain_text_message_has_no_calls() -> None:
    assert fmt.calls_from_message({"role": "assistant", "content": "Hello"}) == []


def test_the_sdk_validator_rejects_bad_messages() -> None:
    good = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "{}"}]}
    check_anthropic_messages([good])
    bad = {"role": "user", "content": [{"type": "tool_result", "content": "{}", "is_error": True}]}  # no tool_use_id
    pydantic.TypeAdapter(anthropic.types.MessageParam).validate_python(bad)  # lazy: passes unless consumed
    with pytest.raises(pydantic.ValidationError):
        check_anthropic_messages([bad])
    with pytest.raises(pydantic.ValidationError):
        check_anthropic_messages([{"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f"}]}])
    with pytest.raises(pydantic.ValidationError):
        check_anthropic_tools([{"name": "f", "description": "no schema"}])
