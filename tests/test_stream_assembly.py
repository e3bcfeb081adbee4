"""ChatStream and MessageStream: when each streamed tool call is complete, and what the message looks like."""

from __future__ import annotations

import json
from typing import Any, cast

import anthropic.types
import openai.types.chat
import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st
from provider_fakes import (
    check_anthropic_messages,
    check_openai_messages,
    fragments,
    openai_call_args,
    openai_call_start,
    openai_chunk,
    openai_usage_chunk,
)

from trio_toolpar import FormatError, ToolCall
from trio_toolpar.anthropic import MessageStream
from trio_toolpar.openai import ChatStream


def _openai_chunks() -> list[dict[str, Any]]:
    chunks = [openai_chunk({"role": "assistant", "content": "Checking "}), openai_chunk({"content": "both."})]
    for index, (call_id, item) in enumerate([("call_a", "alpha"), ("call_b", "beta")]):
        chunks.append(openai_call_start(index, call_id, "fetch"))
        chunks.extend(openai_call_args(index, f) for f in fragments(f'{{"item": "{item}"}}', 4))
    chunks.append(openai_chunk({}, finish_reason="tool_calls"))
    chunks.append(openai_usage_chunk(12, 34))
    return chunks


def test_openai_calls_complete_when_the_next_starts_and_at_finish() -> None:
    stream = ChatStream()
    emitted: list[tuple[int, list[str]]] = []
    for n, chunk in enumerate(_openai_chunks()):
        calls = stream.feed(chunk)
        if calls:
            emitted.append((n, [c.id for c in calls]))
    # call_a completes at the chunk where call_b starts; call_b at the finish_reason chunk.
    starts = [n for n, c in enumerate(_openai_chunks()) if c["choices"] and "id" in str(c["choices"][0]["delta"])]
    assert emitted == [(starts[1], ["call_a"]), (len(_openai_chunks()) - 2, ["call_b"])]
    assert stream.finish() == []
    assert stream.calls == [
        ToolCall(id="call_a", tool="fetch", arguments='{"item": "alpha"}'),
        ToolCall(id="call_b", tool="fetch", arguments='{"item": "beta"}'),
    ]
    assert stream.text == "Checking both."
    assert stream.finish_reason == "tool_calls"
    assert stream.usage == {"prompt_tokens": 12, "completion_tokens": 34, "total_tokens": 46}
    assert stream.model == "gpt-test"
    message = stream.message()
    assert message["content"] == "Checking both."
    assert [c["function"]["arguments"] for c in message["tool_calls"]] == ['{"item": "alpha"}', '{"item": "beta"}']
    check_openai_messages([message])


def test_openai_chunks_as_sdk_objects() -> None:
    stream = ChatStream()
    for chunk in _openai_chunks():
        stream.feed(openai.types.chat.ChatCompletionChunk.model_validate(chunk))
    assert [c.arguments for c in stream.calls] == ['{"item": "alpha"}', '{"item": "beta"}']


def test_openai_stream_that_ends_without_finish_reason() -> None:
    stream = ChatStream()
    assert stream.feed(openai_call_start(0, "call_a", "fetch")) == []
    assert stream.feed(openai_call_args(0, '{"item": "trunc')) == []
    # The connection closed: the call is complete (and the planner will reject its arguments).
    assert stream.finish() == [ToolCall(id="call_a", tool="fetch", arguments='{"item": "trunc')]
    assert stream.finish() == []


def test_openai_servers_without_index_or_id() -> None:
    stream = ChatStream()
    # Some OpenAI-compatible servers send each call whole, without an index, sometimes without an id.
    first = stream.feed(openai_chunk({"tool_calls": [{"function": {"name": "fetch", "arguments": '{"item": "a"}'}}]}))
    assert first == []
    second = stream.feed(openai_chunk({"tool_calls": [{"id": "c2", "function": {"name": "fetch", "arguments": "{}"}}]}))
    assert second == [ToolCall(id="missing_id_0", tool="fetch", arguments='{"item": "a"}')]
    assert stream.feed(openai_chunk({}, finish_reason="tool_calls")) == [
        ToolCall(id="c2", tool="fetch", arguments="{}")
    ]


def _deltas(*entries: tuple[int, str | None, str]) -> dict[str, Any]:
    """One chunk carrying ``(index, id or None, arguments fragment)`` tool-call deltas."""
    calls: list[dict[str, Any]] = []
    for index, call_id, fragment in entries:
        entry: dict[str, Any] = {"index": index, "function": {"arguments": fragment}}
        if call_id is not None:
            entry.update(id=call_id, type="function")
            entry["function"]["name"] = "fetch"
        calls.append(entry)
    return openai_chunk({"tool_calls": calls})


def test_openai_interleaved_fragments_are_assembled_and_dispatched_when_provably_complete() -> None:
    stream = ChatStream()
    assert stream.feed(_deltas((0, "call_a", '{"item": '), (1, "call_b", '{"it'))) == []  # two calls in one delta
    assert stream.feed(_deltas((1, None, 'em": "b"}'))) == []  # b is whole, but a (emitted first) is not
    a = ToolCall(id="call_a", tool="fetch", arguments='{"item": "a"}')
    b = ToolCall(id="call_b", tool="fetch", arguments='{"item": "b"}')
    assert stream.feed(_deltas((0, None, '"a"}'))) == [a]  # a is whole, and a later call started
    assert stream.feed(_deltas((2, "call_c", '{"item": "c"}'))) == [b]  # c started: b is done
    # c is whole too, but it is the last call so far: it waits for a later call or the end.
    assert stream.feed(_deltas((2, None, "  "))) == []
    c = ToolCall(id="call_c", tool="fetch", arguments='{"item": "c"}  ')
    assert stream.feed(openai_chunk({}, finish_reason="tool_calls")) == [c]
    assert stream.finish() == []
    assert stream.calls == [a, b, c]
    check_openai_messages([stream.message()])


def test_openai_a_call_whose_json_is_whole_waits_for_a_later_start() -> None:
    stream = ChatStream()
    # A whole object waits for the next call's start (or the end) before it is handed out.
    assert stream.feed(_deltas((0, "c0", '{"n": 1'))) == []
    assert stream.feed(_deltas((0, None, "}"))) == []
    assert stream.feed(_deltas((1, "c1", ""))) == [ToolCall(id="c0", tool="fetch", arguments='{"n": 1}')]
    # Truncated arguments are never handed out early: only at the end, as they are.
    assert stream.feed(_deltas((1, None, '{"n": '), (2, "c2", "{}"))) == []
    assert stream.finish() == [
        ToolCall(id="c1", tool="fetch", arguments='{"n": '),
        ToolCall(id="c2", tool="fetch", arguments="{}"),
    ]


def test_openai_data_after_a_dispatched_call_is_a_call_of_its_own() -> None:
    stream = ChatStream()
    stream.feed(_deltas((0, "c0", "{}"), (1, "c1", "")))
    # c0 was handed out (it may be running): the rest cannot join it, and is not dropped either.
    assert stream.feed(_deltas((0, None, ', "x": 1}'))) == []
    assert stream.finish() == [
        ToolCall(id="c1", tool="fetch", arguments=""),
        ToolCall(id="c0_2", tool="fetch", arguments=', "x": 1}'),
    ]


@st.composite
def interleavings(draw: st.DrawFn) -> tuple[list[str], list[dict[str, Any]]]:
    """Argument texts of a few calls, cut into fragments, sent in an interleaving that keeps each call's order."""
    values = draw(st.lists(st.dictionaries(st.text(max_size=3), st.integers() | st.text(max_size=4)), max_size=5))
    texts = [json.dumps(v) for v in values]
    pending = [
        [t[i : i + k] for i in range(0, len(t), k)]
        for t, k in zip(texts, draw(st.lists(st.integers(1, 6), min_size=len(texts), max_size=len(texts))), strict=True)
    ]
    started: set[int] = set()
    chunks: list[dict[str, Any]] = []
    while any(pending):
        # A chunk carries fragments of one or two calls; a call may start only after the one before it.
        live = [n for n, p in enumerate(pending) if p and (n == 0 or n - 1 in started)]
        # Integers of fixed bounds, not a new sampled_from per chunk: Hypothesis caches those strategies.
        first = live.pop(draw(st.integers(0, len(live) - 1)))
        picks, two = [first], draw(st.booleans())
        if two and live:
            picks.append(live[draw(st.integers(0, len(live) - 1))])
        entries = []
        for n in sorted(picks):
            entries.append((n, None if n in started else f"call_{n}", pending[n].pop(0)))
            started.add(n)
        chunks.append(_deltas(*entries))
    chunks.append(openai_chunk({}, finish_reason="tool_calls"))
    return texts, chunks


@given(interleavings())
def test_openai_any_interleaving_hands_out_every_call_once_in_order_and_whole(
    case: tuple[list[str], list[dict[str, Any]]],
) -> None:
    texts, chunks = case
    stream = ChatStream()
    out: list[ToolCall] = []
    for chunk in chunks:
        out.extend(stream.feed(chunk))
    out.extend(stream.finish())
    assert [c.id for c in out] == [f"call_{n}" for n in range(len(texts))]
    assert [c.arguments for c in out] == texts  # never a prefix
    assert [json.loads(str(c.arguments)) for c in out] == [json.loads(t) for t in texts]


def test_openai_unknown_call_type_in_a_stream() -> None:
    custom = openai_chunk({"tool_calls": [{"index": 0, "id": "c0", "type": "custom", "custom": {"name": "g"}}]})
    with pytest.raises(FormatError, match="type 'custom'"):
        ChatStream().feed(custom)
    stream = ChatStream(unknown="ignore")
    assert stream.feed(custom) == []
    assert stream.feed(openai_chunk({"tool_calls": [{"index": 0, "custom": {"input": "more"}}]})) == []
    stream.feed(openai_call_start(1, "c1", "fetch"))
    assert stream.finish() == [ToolCall(id="c1", tool="fetch", arguments="")]


@pytest.mark.parametrize(
    ("chunk", "match"),
    [
        ("[DONE]", "must be a JSON object"),
        ({"error": {"message": "overloaded"}}, "the stream reported an error"),
        ({"choices": {"index": 0}}, "choices must be a list"),
        ({"choices": ["x"]}, "a choice must be an object"),
        ({"choices": [{"index": 0, "delta": ["content"]}]}, "delta must be an object"),
        ({"choices": [{"index": 0, "delta": {"tool_calls": {"index": 0}}}]}, "delta.tool_calls must be a list"),
        ({"choices": [{"index": 0, "delta": {"tool_calls": [1]}}]}, "a tool call delta must be an object"),
    ],
)
def test_openai_unreadable_chunks(chunk: object, match: str) -> None:
    with pytest.raises(FormatError, match=match):
        ChatStream().feed(chunk)


def test_openai_other_choices_are_ignored() -> None:
    stream = ChatStream()
    stream.feed({"choices": [{"index": 1, "delta": {"content": "other"}}]})
    assert stream.text is None
    assert stream.message() == {"role": "assistant", "content": ""}


# -- Anthropic -----------------------------------------------------------------------------------------


def _anthropic_events() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "content": [],
                "model": "claude-test",
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 25, "output_tokens": 1},
            },
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Two "}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "reads."}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "EqQB"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        {"type": "ping"},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Looking."}},
        {"type": "content_block_stop", "index": 1},
    ]
    for index, (call_id, item) in [(2, ("toolu_a", "alpha")), (3, ("toolu_b", "beta"))]:
        events.append(
            {
                "type": "content_block_start",
                "index": index,
                "content_block": {"type": "tool_use", "id": call_id, "name": "fetch", "input": {}},
            }
        )
        events.append(
            {"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": ""}}
        )
        events.extend(
            {"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": f}}
            for f in fragments(f'{{"item": "{item}"}}', 5)
        )
        events.append({"type": "content_block_stop", "index": index})
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {"output_tokens": 89},
        }
    )
    events.append({"type": "message_stop"})
    return events


def test_anthropic_calls_complete_at_their_block_stop() -> None:
    stream = MessageStream()
    events = _anthropic_events()
    emitted = [(n, [c.id for c in calls]) for n, e in enumerate(events) if (calls := stream.feed(e))]
    stops = [n for n, e in enumerate(events) if e["type"] == "content_block_stop"]
    assert emitted == [(stops[2], ["toolu_a"]), (stops[3], ["toolu_b"])]
    assert stream.done
    assert stream.finish() == []
    assert stream.calls == [
        ToolCall(id="toolu_a", tool="fetch", arguments='{"item": "alpha"}'),
        ToolCall(id="toolu_b", tool="fetch", arguments='{"item": "beta"}'),
    ]
    assert stream.text == "Looking."
    assert stream.stop_reason == "tool_use"
    assert stream.usage == {"input_tokens": 25, "output_tokens": 89}
    assert stream.model == "claude-test"
    message = stream.message()
    assert message["content"] == [
        {"type": "thinking", "thinking": "Two reads.", "signature": "EqQB"},
        {"type": "text", "text": "Looking."},
        {"type": "tool_use", "id": "toolu_a", "name": "fetch", "input": {"item": "alpha"}},
        {"type": "tool_use", "id": "toolu_b", "name": "fetch", "input": {"item": "beta"}},
    ]
    check_anthropic_messages([message])


def test_anthropic_events_as_sdk_objects() -> None:
    stream = MessageStream()
    adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(cast(Any, anthropic.types.RawMessageStreamEvent))
    for event in _anthropic_events():
        if event["type"] == "content_block_start" and event["content_block"]["type"] == "thinking":
            event["content_block"]["signature"] = ""  # the SDK's model requires the field
        if event["type"] != "ping":
            stream.feed(adapter.validate_python(event))
    assert stream.message()["content"][0]["signature"] == "EqQB"
    assert [c.arguments for c in stream.calls] == ['{"item": "alpha"}', '{"item": "beta"}']


def test_anthropic_truncated_and_malformed_calls() -> None:
    stream = MessageStream()
    stream.feed({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "name": "fetch"}})
    stream.feed(
        {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": '{"item": '}}
    )
    stream.feed(
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "toolu_e", "name": "note", "input": {}},
        }
    )
    # The stream broke off: both calls are complete now, none is lost.
    assert stream.finish() == [
        ToolCall(id="missing_id_0", tool="fetch", arguments='{"item": '),
        ToolCall(id="toolu_e", tool="note", arguments={}),
    ]
    assert stream.message()["content"][0] == {"type": "tool_use", "id": "missing_id_0", "name": "fetch", "input": {}}


def test_anthropic_unknown_block_in_a_stream() -> None:
    start = {"type": "content_block_start", "index": 0, "content_block": {"type": "hologram"}}
    with pytest.raises(FormatError, match="content block 0 has type 'hologram'"):
        MessageStream().feed(start)
    stream = MessageStream(unknown="ignore")
    stream.feed(start)
    stream.feed({"type": "content_block_delta", "index": 0, "delta": {"type": "hologram_delta"}})
    assert stream.feed({"type": "content_block_stop", "index": 0}) == []
    assert stream.feed({"type": "some_future_event"}) == []
    assert stream.message() == {"role": "assistant", "content": []}


@pytest.mark.parametrize(
    ("event", "match"),
    [
        ({"type": "error", "error": {"type": "overloaded_error"}}, "the stream reported an error"),
        ({"type": "content_block_stop"}, "needs an integer 'index'"),
        ({"type": "content_block_start", "index": 0}, "needs a 'content_block' object"),
        ({"type": "content_block_delta", "index": 3, "delta": {}}, "block 3, which never started"),
        (["x"], "must be a JSON object"),
    ],
)
def test_anthropic_unreadable_events(event: object, match: str) -> None:
    with pytest.raises(FormatError, match=match):
        MessageStream().feed(event)


def test_anthropic_delta_without_delta_object() -> None:
    stream = MessageStream()
    stream.feed({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
    with pytest.raises(FormatError, match="needs a 'delta' object"):
        stream.feed({"type": "content_block_delta", "index": 0})


def test_openai_refusal_and_continuations_without_index() -> None:
    stream = ChatStream()
    stream.feed(openai_chunk({"refusal": "I can't "}))
    stream.feed(openai_chunk({"refusal": "do that."}))
    stream.feed(openai_chunk({"tool_calls": [{"id": "c1", "function": {"name": "fetch", "arguments": '{"item"'}}]}))
    stream.feed(openai_chunk({"tool_calls": [{"function": {"arguments": ': "a"}'}}]}))  # no index, no id: continues
    assert stream.finish() == [ToolCall(id="c1", tool="fetch", arguments='{"item": "a"}')]
    message = stream.message()
    assert message["refusal"] == "I can't do that."
    check_openai_messages([message])


def test_anthropic_citations_and_sparse_events() -> None:
    stream = MessageStream()
    stream.feed({"type": "message_start", "message": {"usage": {"input_tokens": 3, "cache_read_input_tokens": None}}})
    stream.feed({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
    citation = {
        "type": "char_location",
        "cited_text": "x",
        "document_index": 0,
        "start_char_index": 0,
        "end_char_index": 1,
    }
    stream.feed({"type": "content_block_delta", "index": 0, "delta": {"type": "citations_delta", "citation": citation}})
    stream.feed({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "x"}})
    stream.feed({"type": "message_delta", "delta": {}})
    assert stream.finish() == []
    assert stream.model is None and stream.stop_reason is None
    assert stream.usage == {"input_tokens": 3}
    assert stream.message()["content"] == [{"type": "text", "text": "x", "citations": [citation]}]
