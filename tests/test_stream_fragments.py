"""Streams that reuse an index (Ollama 0.20, some gateways, Bedrock and OCI routes) or an index and an id
(OpenRouter): every call comes out whole, or is handed out so that the executor rejects it; none is lost."""

from __future__ import annotations

import json
from typing import Any

import trio
import trio.testing
from hypothesis import example, given
from hypothesis import strategies as st
from provider_fakes import check_openai_messages, openai_chunk

from trio_toolpar import ErrorCode, Executor, Registry, Status, ToolCall
from trio_toolpar.anthropic import MessageStream
from trio_toolpar.openai import ChatStream, ResponseStream


def feed_all(chunks: list[dict[str, Any]]) -> tuple[ChatStream, list[ToolCall]]:
    stream = ChatStream()
    out: list[ToolCall] = []
    for chunk in chunks:
        out.extend(stream.feed(chunk))
    out.extend(stream.finish())
    assert out == stream.calls
    return stream, out


def delta(*entries: dict[str, Any]) -> dict[str, Any]:
    return openai_chunk({"tool_calls": list(entries)})


def test_two_calls_under_one_index_are_two_calls() -> None:
    # Ollama 0.20.x, exactly as it streams two parallel calls.
    chunks = [
        json.loads(
            '{"choices":[{"delta":{"tool_calls":[{"id":"call_hk81","index":0,"type":"function","function":'
            '{"name":"file_write","arguments":"{\\"filePath\\": \\"hello.py\\"}"}}]}}]}'
        ),
        json.loads(
            '{"choices":[{"delta":{"tool_calls":[{"id":"call_rk2x","index":0,"type":"function","function":'
            '{"name":"file_write","arguments":"{\\"filePath\\": \\"world.py\\"}"}}]}}]}'
        ),
    ]
    stream = ChatStream()
    first = ToolCall(id="call_hk81", tool="file_write", arguments='{"filePath": "hello.py"}')
    assert stream.feed(chunks[0]) == []
    assert stream.feed(chunks[1]) == [first]  # a new id at the index: the first call is whole and done
    second = ToolCall(id="call_rk2x", tool="file_write", arguments='{"filePath": "world.py"}')
    assert stream.finish() == [second]
    check_openai_messages([stream.message()])


def test_a_reused_index_and_id_give_two_calls_with_distinct_ids() -> None:
    # OpenRouter: the same index and the same id for two calls.
    entry = {"index": 0, "id": "call_x", "type": "function"}
    _, out = feed_all(
        [
            delta({**entry, "function": {"name": "file_write", "arguments": ""}}),
            delta({"index": 0, "function": {"arguments": '{"filePath": "a.py"}'}}),
            delta({**entry, "function": {"name": "file_write", "arguments": '{"filePath":'}}),
            delta({"index": 0, "function": {"arguments": ' "b.py"}'}}),
        ]
    )
    assert out == [
        ToolCall(id="call_x", tool="file_write", arguments='{"filePath": "a.py"}'),
        ToolCall(id="call_x_1", tool="file_write", arguments='{"filePath": "b.py"}'),
    ]


def test_a_repeated_name_is_never_concatenated() -> None:
    # Some gateways repeat the id and the name in every delta of a call.
    entry = {"index": 0, "id": "c1", "type": "function"}
    _, out = feed_all(
        [delta({**entry, "function": {"name": "search", "arguments": f}}) for f in ('{"q"', ': "tea', '"}')]
    )
    assert out == [ToolCall(id="c1", tool="search", arguments='{"q": "tea"}')]


def test_a_second_object_after_a_whole_one_is_a_second_call_and_text_after_it_continues() -> None:
    _, out = feed_all(
        [
            delta({"index": 0, "id": "c1", "function": {"name": "search", "arguments": '{"q": 1}'}}),
            delta({"index": 0, "function": {"arguments": ' {"q": 2}'}}),
            delta({"index": 1, "id": "c3", "function": {"name": "search", "arguments": '{"q": 3}'}}),
            delta({"index": 1, "function": {"arguments": ', "r": 4}'}}),
        ]
    )
    assert [(c.id, c.arguments) for c in out] == [
        ("c1", '{"q": 1}'),
        ("c1_1", ' {"q": 2}'),
        ("c3", '{"q": 3}, "r": 4}'),  # a continuation: the planner rejects it, the model reads why
    ]


async def test_data_after_a_handed_out_call_becomes_a_call_the_executor_rejects(
    autojump_clock: trio.testing.MockClock,
) -> None:
    stream = ChatStream()
    handed = stream.feed(
        delta(
            {"index": 0, "id": "c0", "function": {"name": "search", "arguments": "{}"}},
            {"index": 1, "id": "c1", "function": {"name": "search", "arguments": ""}},
        )
    )
    assert handed == [ToolCall(id="c0", tool="search", arguments="{}")]  # c0 may already be running
    assert stream.feed(delta({"index": 0, "function": {"arguments": ', "x": 1}'}})) == []
    # c1 is whole, and a later call started (the text that could not join c0): c1 is done.
    assert stream.feed(delta({"index": 1, "function": {"arguments": "{}"}})) == [
        ToolCall(id="c1", tool="search", arguments="{}")
    ]
    assert stream.finish() == [ToolCall(id="c0_2", tool="search", arguments=', "x": 1}')]
    registry = Registry()

    @registry.tool(side_effect="read")
    async def search(x: int = 0) -> int:
        return x

    result = await Executor(registry).run(stream.calls)
    assert [o.status for o in result] == [Status.OK, Status.OK, Status.REJECTED]
    assert result[2].error_code is ErrorCode.INVALID_ARGUMENTS
    assert result[2].error is not None and "not valid JSON" in result[2].error
    check_openai_messages([stream.message()])


# -- the property: any fragmentation, index reuse and id reuse included ------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 99) | st.text(alphabet='ab {}"\\,:[]é', max_size=5),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.sampled_from("xyz"), inner, max_size=2),
    max_leaves=4,
)


@st.composite
def fragmentations(draw: st.DrawFn) -> tuple[list[tuple[str, str, str]], list[dict[str, Any]], str]:
    """Calls ``(id, name, arguments)``, the chunks a server streams them in, and how it numbers them.

    How: ``index`` (each call its own), ``one index`` (every call at index 0), ``one index and id``
    (index 0 and one id for all), ``no index``; any of them may repeat the id and name in every delta,
    send a call's first fragment with its name or after it, and end with a finish_reason or not.
    """
    how = draw(st.sampled_from(["index", "one index", "one index and id", "no index"]))
    repeat_header = draw(st.booleans())
    ids = draw(st.sampled_from(["unique", "absent"])) if how != "one index and id" else "same"
    calls: list[tuple[str, str, str]] = []
    for n in range(draw(st.integers(1, 5))):
        name = draw(st.sampled_from(["file_write", "search", "f"]))
        arguments = json.dumps(draw(st.dictionaries(st.sampled_from(["filePath", "q", "n"]), json_values, max_size=3)))
        call_id = {"unique": f"call_{n}", "absent": "", "same": "call_same"}[ids]
        calls.append((call_id, name, arguments))
    chunks: list[dict[str, Any]] = []
    for n, (call_id, name, arguments) in enumerate(calls):
        cuts = sorted(draw(st.lists(st.integers(0, len(arguments)), max_size=4)))
        pieces = [arguments[a:b] for a, b in zip([0, *cuts], [*cuts, len(arguments)], strict=True)]
        if draw(st.booleans()):
            pieces.insert(0, "")  # the name first, the arguments after it
        for k, piece in enumerate(pieces):
            entry: dict[str, Any] = {"function": {"arguments": piece}}
            if how == "index":
                entry["index"] = n
            elif how != "no index":
                entry["index"] = 0
            if k == 0 or repeat_header:
                entry["type"] = "function"
                entry["function"]["name"] = name
                if call_id:
                    entry["id"] = call_id
            chunks.append(delta(entry))
    if draw(st.booleans()):
        chunks.append(openai_chunk({}, finish_reason="tool_calls"))
    return calls, chunks, how


@given(fragmentations())
@example(
    (
        [("call_hk81", "file_write", '{"filePath": "hello.py"}'), ("call_rk2x", "file_write", '{"filePath": "w.py"}')],
        [
            delta({"index": 0, "id": i, "type": "function", "function": {"name": "file_write", "arguments": a}})
            for i, a in (("call_hk81", '{"filePath": "hello.py"}'), ("call_rk2x", '{"filePath": "w.py"}'))
        ],
        "one index",
    )
)
def test_any_fragmentation_gives_back_every_call_whole_and_in_order(
    case: tuple[list[tuple[str, str, str]], list[dict[str, Any]], str],
) -> None:
    calls, chunks, _ = case
    stream, out = feed_all(chunks)
    assert [(c.tool, json.loads(str(c.arguments))) for c in out] == [(n, json.loads(a)) for _, n, a in calls]
    ids = [c.id for c in out]
    assert len(set(ids)) == len(ids)  # a reused id is made unique, so each call gets its own answer
    for (call_id, _, _), out_id in zip(calls, ids, strict=True):
        assert out_id.startswith(call_id or "missing_id_")
    if calls[0][0] == "call_0":
        assert ids == [call_id for call_id, _, _ in calls]
    check_openai_messages([stream.message()])


@st.composite
def soups(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Deltas no server should send: any index, id, name and fragment, in any order."""
    function = st.fixed_dictionaries(
        {},
        optional={"arguments": st.text(alphabet='{}"a:1,', min_size=1), "name": st.sampled_from(["search", "f", ""])},
    )
    entries = st.fixed_dictionaries(
        {"function": function},
        optional={"index": st.integers(0, 2), "id": st.sampled_from(["a", "b", ""]), "type": st.just("function")},
    )
    chunks = [delta(entry) for entry in draw(st.lists(entries, max_size=12))]
    if draw(st.booleans()):
        chunks.insert(draw(st.integers(0, len(chunks))), openai_chunk({}, finish_reason="tool_calls"))
    return chunks


@given(chunks=soups())
async def test_no_fragment_is_lost_and_no_name_is_concatenated(
    chunks: list[dict[str, Any]], autojump_clock: trio.testing.MockClock
) -> None:
    stream, out = feed_all(chunks)
    fed = [e["function"].get("arguments", "") for c in chunks for e in c["choices"][0]["delta"].get("tool_calls", [])]
    assert sum(len(str(c.arguments)) for c in out) == sum(len(f) for f in fed)
    assert {c.tool for c in out} <= {"search", "f", ""}
    assert len({c.id for c in out}) == len(out)
    registry = Registry()

    @registry.tool(side_effect="read")
    async def search(**arguments: Any) -> object:
        return arguments

    result = await Executor(registry).run(out)
    assert len(result) == len(out)
    for outcome in result:
        assert outcome.ok or (outcome.status is Status.REJECTED and outcome.error)
    check_openai_messages([stream.message()])


# -- Responses and Messages: a second item or block at an index holds another call ----------------


def test_a_responses_item_added_at_a_used_output_index_is_another_call() -> None:
    stream = ResponseStream()
    out: list[ToolCall] = []
    for n, (item_id, call_id, query) in enumerate((("fc_1", "call_1", "a"), ("fc_2", "call_2", "b"))):
        item = {"type": "function_call", "id": item_id, "call_id": call_id, "name": "search", "arguments": ""}
        out += stream.feed({"type": "response.output_item.added", "output_index": 0, "item": item})
        args = json.dumps({"q": query})
        event = {"output_index": 0, "item_id": item_id, "sequence_number": n}
        out += stream.feed({"type": "response.function_call_arguments.delta", **event, "delta": args})
        if n == 1:
            out += stream.feed({"type": "response.function_call_arguments.done", **event, "arguments": args})
    out += stream.finish()
    assert out == [
        ToolCall(id="call_1", tool="search", arguments='{"q": "a"}'),
        ToolCall(id="call_2", tool="search", arguments='{"q": "b"}'),
    ]
    assert [i["call_id"] for i in stream.items()] == ["call_1", "call_2"]


def test_an_anthropic_block_started_at_a_used_index_is_another_call() -> None:
    stream = MessageStream()
    out: list[ToolCall] = []
    for call_id, query in (("toolu_1", "a"), ("toolu_2", "b")):
        block = {"type": "tool_use", "id": call_id, "name": "search", "input": {}}
        out += stream.feed({"type": "content_block_start", "index": 0, "content_block": block})
        json_delta = {"type": "input_json_delta", "partial_json": json.dumps({"q": query})}
        out += stream.feed({"type": "content_block_delta", "index": 0, "delta": json_delta})
        if call_id == "toolu_2":
            out += stream.feed({"type": "content_block_stop", "index": 0})
    out += stream.finish()
    assert out == [
        ToolCall(id="toolu_1", tool="search", arguments='{"q": "a"}'),
        ToolCall(id="toolu_2", tool="search", arguments='{"q": "b"}'),
    ]
    assert [b["id"] for b in stream.message()["content"]] == ["toolu_1", "toolu_2"]
