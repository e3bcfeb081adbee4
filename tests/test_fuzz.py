"""Bad input, fuzzed: whatever a model sends, every call gets exactly one outcome.

Properties, over arbitrary JSON arguments, adversarial reference strings,
unicode names and ids, duplicate ids and unknown ids:

* planning and running raise nothing (only documented `ToolparError`
  subclasses could, and none is expected here);
* a turn of N calls has N outcomes, in input order, each with a consistent
  status and code, and each renders to an observation JSON can parse;
* references walk only dict keys and list indices: a value whose attribute
  access, indexing or iteration has side effects is never touched by them.

The provider parsers (`trio_toolpar.openai`, `trio_toolpar.anthropic`) are
fuzzed with JSON-like payloads: they may only raise `FormatError`, and the
calls they return are either run or rejected.

The last section pins the planner's edge cases (cycles, waves, key templates,
messages, open-turn planning, reference resolution) that a first mutation
run over ``_plan.py`` and ``_references.py`` showed no test distinguished.

The inputs that crashed the library until 16ec337 (deep nesting, unhashable
types, values JSON cannot hold) are pinned in ``test_faults.py``.
"""

from __future__ import annotations

import json
import types
from collections.abc import Callable
from typing import Any

import attrs
import pytest
import trio
import trio.testing
from hypothesis import example, given, settings
from hypothesis import strategies as st

from trio_toolpar import (
    CallContext,
    ErrorCode,
    Executor,
    FailFast,
    FormatError,
    Registry,
    Status,
    ToolCall,
    TurnResult,
    render_observation,
)
from trio_toolpar import anthropic as anthropic_format
from trio_toolpar import openai as openai_format
from trio_toolpar.plan import Plan

# -- a value that records every way it is touched ------------------------------------------------


class Trap:
    """A tool result whose attributes, items and iteration record that they were reached.

    It copies as itself without touching anything (``__deepcopy__`` is
    defined, so ``copy.deepcopy`` never asks ``__getattr__`` for it).
    """

    def __init__(self, touched: list[str]) -> None:
        object.__setattr__(self, "_touched", touched)

    def __getattr__(self, name: str) -> Any:
        self._touched.append(f"getattr {name}")
        raise AttributeError(name)

    def __setattr__(self, name: str, value: object) -> None:
        self._touched.append(f"setattr {name}")

    @property
    def secret(self) -> str:
        self._touched.append("property secret")
        return "s3cr3t"

    @property
    def items(self) -> list[int]:
        self._touched.append("property items")
        return [1]

    def __getitem__(self, key: object) -> object:
        self._touched.append(f"getitem {key!r}")
        return "item"

    def __iter__(self) -> Any:
        self._touched.append("iter")
        return iter(())

    def __len__(self) -> int:
        self._touched.append("len")
        return 0

    def __deepcopy__(self, memo: dict[int, object]) -> Trap:
        return self

    def __str__(self) -> str:
        return "trap"

    def __repr__(self) -> str:
        return "Trap()"


# -- strategies --------------------------------------------------------------------------------------

IDS = ("c0", "c1", "c2", "t", "é", "_x-1")
ADVERSARIAL_STRINGS = (
    "$c1.__class__",
    "$c1.__class__.__init__.__globals__",
    "$c1.__dict__",
    "$c1.0.-1",
    "$c1.-1",
    "$c1..x",
    "$c1.",
    "$c1.01",
    "$c1.99999999999999999999999",
    "$c1.items",
    "$c1.secret",
    "$c1.keys",
    "$t",
    "$t.secret",
    "$t.items",
    "$t.0",
    "$t.__class__",
    "$t.__reduce__",
    "$t.trap.secret",
    "$t.list.0.secret",
    "$é",
    "$é.x",
    "$_x-1",
    "$nope",
    "$nope.a.b",
    "$",
    "$$",
    "$$c1",
    "$$$c1",
    "$5.00",
    "costs $5",
    "$c1\n",
    "$c1.a\x00b",
    "$c0.inputs",
    "$c0.value.0",
    "{c1}",
    "{0.__class__}",
    "%s%s%s",
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),  # NaN and infinities too: json.loads accepts them
    st.text(max_size=20),
    st.sampled_from(ADVERSARIAL_STRINGS),
    st.builds(lambda i, path: f"${i}{path}", st.sampled_from(IDS), st.text(max_size=8)),
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
argument_objects = st.dictionaries(
    st.sampled_from(("value", "n", "k", "items", "extra", "tag")) | st.text(max_size=6), json_values, max_size=4
)
raw_arguments = st.one_of(
    argument_objects,
    argument_objects.map(lambda a: json.dumps(a, allow_nan=True)),
    st.text(max_size=30),  # usually not JSON, or not an object
    json_values.map(lambda v: json.dumps(v, allow_nan=True)),
)
TOOLS = ("echo", "typed", "writer", "ctx", "trap", "fail", "slow")
calls_strategy = st.lists(
    st.builds(
        ToolCall,
        id=st.sampled_from(IDS) | st.text(max_size=6),
        tool=st.sampled_from(TOOLS) | st.text(max_size=6),
        arguments=raw_arguments,
        priority=st.integers(min_value=-3, max_value=3),
    ),
    max_size=8,
)


def fuzz_registry(touched: list[str]) -> Registry:
    registry = Registry(default_side_effect="read")  # these tools are reads unless they say otherwise

    @registry.tool(parameters={"type": "object"})
    async def echo(**arguments: Any) -> object:
        await trio.sleep(0.5)
        return arguments

    @registry.tool
    async def typed(n: int, value: str = "", items: list[int] | None = None) -> dict[str, object]:
        return {"n": n, "value": value, "items": items}

    @registry.tool(side_effect="write", key="k:{k}", parameters={"type": "object", "properties": {"k": {}}})
    async def writer(**arguments: Any) -> str:
        await trio.sleep(1)
        return "written"

    @registry.tool(parameters={"type": "object"})
    async def ctx(context: CallContext, **arguments: Any) -> str:
        return context.idempotency_key

    @registry.tool(parameters={"type": "object"})
    async def trap(**arguments: Any) -> object:
        t = Trap(touched)
        return {"trap": t, "list": [t], "plain": {"a": [1, 2]}} if arguments else t

    @registry.tool(parameters={"type": "object"})
    async def fail(**arguments: Any) -> None:
        raise RuntimeError(f"failed with {len(arguments)} arguments")

    @registry.tool(timeout=1.0, parameters={"type": "object"})
    async def slow(**arguments: Any) -> None:
        await trio.sleep(5)

    return registry


def check_result(calls: list[ToolCall], result: TurnResult) -> None:
    """One outcome per call, in order, each consistent and observable as JSON."""
    assert [o.call_id for o in result] == [c.id for c in calls]
    assert [o.tool for o in result] == [c.tool for c in calls]
    for o in result:
        assert o.ok == (o.status is Status.OK)
        assert (o.error_code is None) == o.ok
        assert o.finished_at is not None
        if o.started_at is None:
            assert (o.attempts, o.latency_ms) == (0, 0.0)
            assert o.status in (Status.SKIPPED, Status.REJECTED)
        else:  # milliseconds, to the microsecond
            assert abs(o.latency_ms - (o.finished_at - o.started_at) * 1000.0) <= 0.0005 + 1e-9
            assert o.latency_ms == round(o.latency_ms, 3)
        if o.status is Status.REJECTED:
            assert o.started_at is None
        data = json.loads(render_observation(o, max_chars=2_000))  # Python's parser: NaN is tolerated here
        assert data["ok"] == o.ok


# -- the planner and the executor --------------------------------------------------------------------------


@given(calls=calls_strategy)
def test_planning_any_calls_never_raises(calls: list[ToolCall]) -> None:
    plan = Plan.build(fuzz_registry([]), calls)
    assert [pc.call for pc in plan.calls] == calls
    for pc in plan.calls:
        if pc.verdict is None:
            assert pc.tool is not None and pc.arguments is not None
            assert sum(pc.index in wave for wave in plan.waves) == 1
        else:
            assert pc.verdict.status in (Status.REJECTED, Status.SKIPPED)
            assert pc.generation is None
    assert isinstance(plan.render(), str)


@given(calls=calls_strategy, fail_fast=st.booleans(), eager=st.booleans(), budget=st.sampled_from((None, 0.75, 3.0)))
async def test_running_any_calls_gives_one_outcome_each_and_references_touch_nothing(
    calls: list[ToolCall],
    fail_fast: bool,
    eager: bool,
    budget: float | None,
    autojump_clock: trio.testing.MockClock,
) -> None:
    touched: list[str] = []
    executor = Executor(
        fuzz_registry(touched),
        limits={"none": 1},
        max_concurrency=3,
        policy=FailFast() if fail_fast else None,
        budget=budget,
        schedule="eager" if eager else "waves",
        seed=0,
    )
    result = await executor.run(calls)
    check_result(calls, result)
    assert touched == []
    for o in result:
        if o.tool == "fail" and o.started_at is not None and o.status is Status.ERROR:
            assert o.error_code is ErrorCode.TOOL_ERROR


@given(
    reference=st.sampled_from(ADVERSARIAL_STRINGS)
    | st.builds(
        lambda path: "$t" + "".join(f".{p}" for p in path),
        st.lists(
            st.sampled_from(("trap", "list", "plain", "a", "0", "1", "-1", "secret", "items", "__class__", ""))
            | st.text(max_size=5),
            max_size=4,
        ),
    ),
    nested=st.booleans(),
)
async def test_reference_walks_never_reach_attributes_items_or_code(
    reference: str, nested: bool, autojump_clock: trio.testing.MockClock
) -> None:
    touched: list[str] = []
    calls = [
        ToolCall(id="t", tool="trap", arguments={"nested": True} if nested else {}),
        ToolCall(id="e", tool="echo", arguments={"value": reference, "deep": {"list": [reference]}}),
    ]
    result = await Executor(fuzz_registry(touched)).run(calls)
    check_result(calls, result)
    assert touched == []
    echo = result[1]
    assert echo.status in (Status.OK, Status.REJECTED), echo
    if echo.status is Status.REJECTED:
        assert echo.error_code is ErrorCode.BAD_REFERENCE


def test_reference_paths_resolve_only_plain_keys_and_indices() -> None:
    """Each adversarial path against a plain value: the exact verdict."""
    from trio_toolpar._arguments._references import ReferenceError_, parse_reference, resolve
    from trio_toolpar._values._convert import jsonable

    value = {"a": [10, {"b": "x"}], "__class__": "key named __class__", "": "empty"}

    def walk(text: str) -> object:
        ref = parse_reference(text)
        assert ref is not None
        return resolve(ref, value, jsonable)

    assert walk("$c1.a.1.b") == "x"
    assert walk("$c1.__class__") == "key named __class__"  # a key like any other, never the attribute
    for bad in ("$c1.a.-1", "$c1.a.01", "$c1.a.2", "$c1.a.0.x", "$c1.b", "$c1.a.+1", "$c1.a. 1", "$c1.a.1e0"):
        try:
            walk(bad)
        except ReferenceError_:
            continue
        raise AssertionError(f"{bad} resolved")
    for malformed in ("$c1..a", "$c1.", "$c1.a."):
        try:
            parse_reference(malformed)
        except ReferenceError_:
            continue
        raise AssertionError(f"{malformed} parsed")


@settings(max_examples=25)
@given(
    ids=st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=12),
    names=st.lists(st.text(max_size=70), min_size=1, max_size=4),
)
async def test_unicode_and_odd_ids_and_tool_names(
    ids: list[str], names: list[str], autojump_clock: trio.testing.MockClock
) -> None:
    """Any id (empty, duplicated, control characters, RTL marks) and any tool name: one outcome each."""
    calls = [
        ToolCall(id=cid, tool=(names[i % len(names)] if i % 2 else "echo"), arguments={"value": f"${ids[0]}"})
        for i, cid in enumerate(ids)
    ]
    result = await Executor(fuzz_registry([])).run(calls)
    check_result(calls, result)
    duplicated = {cid for cid in ids if ids.count(cid) > 1}
    for o in result:
        if result.plan.cycle is not None:  # e.g. the first call refers to itself: nothing runs
            assert o.error_code in (ErrorCode.DEPENDENCY_CYCLE, ErrorCode.BATCH_REJECTED)
        elif o.call_id in duplicated:
            assert (o.status, o.error_code) == (Status.REJECTED, ErrorCode.DUPLICATE_CALL_ID)


async def test_huge_strings_and_wide_objects_in_arguments(autojump_clock: trio.testing.MockClock) -> None:
    big = "é" * 5_000_000
    wide = {f"k{i}": i for i in range(100_000)}
    calls = [
        ToolCall(id="big", tool="echo", arguments={"value": big}),
        ToolCall(id="wide", tool="echo", arguments=wide),
        ToolCall(id="raw", tool="echo", arguments=json.dumps({"value": big})),
        ToolCall(id="typed", tool="typed", arguments={"n": 1, "value": big}),
        ToolCall(id="bad", tool="typed", arguments={"n": big}),
        ToolCall(id="ref", tool="echo", arguments={"value": "$big.value"}),
    ]
    start = trio.current_time()
    result = await Executor(fuzz_registry([])).run(calls)
    check_result(calls, result)
    assert [(o.status, o.error_code) for o in result] == [
        (Status.OK, None),
        (Status.OK, None),
        (Status.OK, None),
        (Status.OK, None),
        (Status.REJECTED, ErrorCode.INVALID_ARGUMENTS),
        (Status.OK, None),
    ]
    assert result["ref"].value == {"value": big}
    assert result["ref"].finished_at == start + 1.0
    bad = result["bad"]
    assert bad.error is not None and len(bad.error) < 300  # the value is shortened in the message
    assert len(render_observation(result["big"])) < 2 * 16_000 + 100


@pytest.mark.parametrize("depth", [100, 101, 10_000])
async def test_deep_nesting_is_held_to_the_limit(depth: int, autojump_clock: trio.testing.MockClock) -> None:
    """Arguments may nest 100 levels: as JSON text or as parsed data, one more is ``invalid_arguments``.

    (10,000 levels of JSON text fail in ``json.loads`` itself, with its own message.)
    """
    deep: object = 1
    for _ in range(depth - 1):  # with "x" itself, ``depth`` levels of objects
        deep = {"a": deep}

    registry = Registry()

    @registry.tool(parameters={"type": "object"})
    async def sink(**arguments: Any) -> str:
        return "swallowed"

    calls = [
        ToolCall(id="text", tool="sink", arguments='{"x":' + "[" * (depth - 1) + "]" * (depth - 1) + "}"),
        ToolCall(id="parsed", tool="sink", arguments={"x": deep}),
    ]
    result = await Executor(registry).run(calls)
    if depth <= 100:
        assert [(o.status, o.value) for o in result] == [(Status.OK, "swallowed"), (Status.OK, "swallowed")]
        return
    for o in result:
        assert (o.status, o.error_code) == (Status.REJECTED, ErrorCode.INVALID_ARGUMENTS)
    text, parsed = result
    assert parsed.error == "arguments nest deeper than 100 levels; send a flatter object"
    if depth < 900:
        assert text.error == parsed.error
    else:
        assert (
            text.error is not None
            and text.error == "arguments are not valid JSON (they nest too deeply); send one JSON object"
        )


async def test_ten_thousand_adversarial_calls_in_one_turn(autojump_clock: trio.testing.MockClock) -> None:
    """10,000 calls mixing every kind of bad input; each gets exactly one outcome."""
    n = 10_000
    kinds: list[Callable[[int], ToolCall]] = [
        lambda i: ToolCall(id=f"c{i}", tool="echo", arguments={"value": i}),
        lambda i: ToolCall(id=f"c{i}", tool="echo", arguments={"value": f"$c{i - 6}.value"}),
        lambda i: ToolCall(id=f"ü{i}", tool="typed", arguments='{"n": "not a number"}'),
        lambda i: ToolCall(id=f"c{i}", tool="ech0", arguments={}),
        lambda i: ToolCall(id=f"c{i}", tool="writer", arguments={"k": str(i % 7)}),
        lambda i: ToolCall(id=f"c{i}", tool="echo", arguments={"value": "$c0.__class__"}),
        lambda i: ToolCall(id=f"c{i}", tool="fail", arguments={}),
        lambda i: ToolCall(id="same" if i % 1000 == 7 else f"c{i}", tool="echo", arguments="{not json"),
        lambda i: ToolCall(id=f"c{i}", tool="echo", arguments={"value": "$$escaped"}),
        lambda i: ToolCall(id=f"c{i}", tool="trap", arguments={}),
    ]
    calls = [kinds[i % len(kinds)](i) for i in range(n)]
    touched: list[str] = []
    executor = Executor(fuzz_registry(touched), max_concurrency=100, seed=0)
    result = await executor.run(calls)
    check_result(calls, result)
    assert touched == []
    counts: dict[tuple[Status, ErrorCode | None], int] = {}
    for o in result:
        counts[o.status, o.error_code] = counts.get((o.status, o.error_code), 0) + 1
    assert counts == {
        (Status.OK, None): 4_000,  # plain echoes, writes, $$ escapes, traps
        (Status.REJECTED, ErrorCode.INVALID_ARGUMENTS): 1_990,  # bad types, bad JSON
        (Status.REJECTED, ErrorCode.DUPLICATE_CALL_ID): 10,  # the ten calls named "same"
        (Status.REJECTED, ErrorCode.UNKNOWN_TOOL): 1_000,
        (Status.REJECTED, ErrorCode.BAD_REFERENCE): 1_001,  # $c0.__class__ (run time), and $c-5 (planning)
        (Status.SKIPPED, ErrorCode.DEPENDENCY_FAILED): 999,  # references to the rejected $c0.__class__ calls
        (Status.ERROR, ErrorCode.TOOL_ERROR): 1_000,
    }


# -- the provider parsers ----------------------------------------------------------------------------------

TYPES = (
    "function",
    "function_call",
    "tool_use",
    "text",
    "message",
    "reasoning",
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
    "input_json_delta",
    "text_delta",
    "thinking_delta",
    "signature_delta",
    "citations_delta",
    "ping",
    "error",
    "web_search_tool_result",
    "server_tool_use",
    "custom",
)
payload_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-2, max_value=5),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.sampled_from(TYPES),
    st.sampled_from(("echo", "typed", '{"n": 1}', '{"value": "$c0"}', "{", "c0", "c1")),
)
anything = st.recursive(
    payload_scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=8,
)


def some_of(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with any subset of ``fields``: the shape of a payload, with any values."""
    return st.fixed_dictionaries({}, optional=fields)


openai_entry = some_of(
    {
        "id": anything,
        "type": anything,
        "index": anything,
        "function": some_of({"name": anything, "arguments": anything}),
    }
)
openai_message = some_of(
    {
        "role": anything,
        "content": anything,
        "refusal": anything,
        "tool_calls": st.lists(openai_entry | anything, max_size=3),
    }
)
openai_item = some_of(
    {"type": anything, "call_id": anything, "name": anything, "arguments": anything, "role": anything}
)
openai_response = some_of({"output": st.lists(openai_item | anything, max_size=3) | anything}) | st.lists(
    openai_item, max_size=3
)
openai_chunk = some_of(
    {
        "choices": st.lists(
            some_of(
                {
                    "index": anything,
                    "finish_reason": anything,
                    "delta": some_of({"content": anything, "tool_calls": st.lists(openai_entry | anything, max_size=2)})
                    | anything,
                }
            )
            | anything,
            max_size=2,
        ),
        "usage": anything,
        "model": anything,
        "error": anything,
    }
)
anthropic_block = some_of({"type": anything, "id": anything, "name": anything, "input": anything, "text": anything})
anthropic_message = some_of({"role": anything, "content": st.lists(anthropic_block | anything, max_size=3) | anything})
anthropic_event = some_of(
    {
        "type": anything,
        "index": anything,
        "content_block": anthropic_block | anything,
        "delta": some_of({"type": anything, "partial_json": anything, "text": anything, "stop_reason": anything})
        | anything,
        "message": anything,
        "usage": anything,
    }
)


def parse_or_format_error(parse: Callable[[], object]) -> list[ToolCall]:
    """The calls ``parse`` returns, or none if it raised `FormatError` (anything else fails the test)."""
    try:
        parsed = parse()
    except FormatError:
        return []
    if not isinstance(parsed, list):
        assert isinstance(parsed, dict)  # an assistant message to keep in the conversation
        return []
    for c in parsed:
        assert isinstance(c, ToolCall)
        assert isinstance(c.id, str) and c.id and isinstance(c.tool, str)
        assert isinstance(c.arguments, (str, dict))
    return parsed


def run_parsed(calls: list[ToolCall]) -> None:
    """Parsed calls run like any others: each one is run or rejected, none raises."""
    if not calls:
        return
    result = trio.run(Executor(fuzz_registry([])).run, calls, clock=trio.testing.MockClock(autojump_threshold=0))
    check_result(calls, result)
    for o in result:
        assert o.status is not Status.CANCELLED, o


@settings(max_examples=150)
@given(message=openai_message | anything, response=openai_response | anything, ignore=st.booleans())
def test_openai_parsers_raise_only_format_error(message: object, response: object, ignore: bool) -> None:
    unknown: Any = "ignore" if ignore else "error"
    run_parsed(parse_or_format_error(lambda: openai_format.calls_from_message(message, unknown=unknown)))
    parse_or_format_error(lambda: openai_format.assistant_message(message, unknown=unknown))
    run_parsed(parse_or_format_error(lambda: openai_format.calls_from_response(response, unknown=unknown)))


@settings(max_examples=150)
@given(chunks=st.lists(openai_chunk | anything, max_size=5), ignore=st.booleans())
def test_openai_chat_stream_raises_only_format_error(chunks: list[object], ignore: bool) -> None:
    stream = openai_format.ChatStream(unknown="ignore" if ignore else "error")
    calls: list[ToolCall] = []
    for chunk in chunks:
        try:
            calls += stream.feed(chunk)
        except FormatError:
            break
    calls += parse_or_format_error(stream.finish)
    parse_or_format_error(stream.message)
    run_parsed(calls)


@settings(max_examples=150)
@given(message=anthropic_message | st.lists(anthropic_block, max_size=3) | anything, ignore=st.booleans())
def test_anthropic_parsers_raise_only_format_error(message: object, ignore: bool) -> None:
    unknown: Any = "ignore" if ignore else "error"
    run_parsed(parse_or_format_error(lambda: anthropic_format.calls_from_message(message, unknown=unknown)))
    parse_or_format_error(lambda: anthropic_format.assistant_message(message, unknown=unknown))


@settings(max_examples=150)
@given(events=st.lists(anthropic_event | anything, max_size=6), ignore=st.booleans())
def test_anthropic_message_stream_raises_only_format_error(events: list[object], ignore: bool) -> None:
    stream = anthropic_format.MessageStream(unknown="ignore" if ignore else "error")
    calls: list[ToolCall] = []
    for event in events:
        try:
            calls += stream.feed(event)
        except FormatError:
            break
    calls += parse_or_format_error(stream.finish)
    parse_or_format_error(stream.message)
    run_parsed(calls)


# -- the planner's edge cases, from the mutants that survived the first mutation run -----------------------------


@st.composite
def reference_graphs(draw: st.DrawFn) -> list[tuple[str, tuple[int, ...], int]]:
    """Up to 7 calls ``(id, referenced indices, priority)``.

    References may point forward, back, or to the call itself.
    """
    n = draw(st.integers(min_value=1, max_value=7))
    return [
        (
            f"g{i}",
            tuple(draw(st.lists(st.integers(min_value=0, max_value=n - 1), max_size=3, unique=True))),
            draw(st.integers(min_value=0, max_value=2)),
        )
        for i in range(n)
    ]


def oracle_generations(graph: list[tuple[str, tuple[int, ...], int]]) -> dict[int, int] | None:
    """Each call's longest chain of references back to a source, or None if the references form a cycle."""
    generation: dict[int, int] = {}
    visiting: set[int] = set()

    def visit(i: int) -> int:
        if i in generation:
            return generation[i]
        if i in visiting:
            raise RecursionError("cycle")  # caught below: a cycle, not a depth problem (n <= 7)
        visiting.add(i)
        generation[i] = max((visit(j) + 1 for j in graph[i][1]), default=0)
        visiting.discard(i)
        return generation[i]

    try:
        for i in range(len(graph)):
            visit(i)
    except RecursionError:
        return None
    return generation


@example(graph=[("g0", (), 0), ("g1", (0, 3), 0), ("g2", (), 0), ("g3", (2,), 0)])  # a later, deeper predecessor
@example(graph=[("g0", (1,), 0), ("g1", (), 0), ("g2", (3,), 0), ("g3", (2,), 0)])  # a cycle after a visited root
@example(graph=[("g0", (), 0), ("g1", (), 2), ("g2", (), 1)])  # no edges: priority still orders the wave
@given(graph=reference_graphs())
def test_plans_find_every_cycle_and_the_exact_waves(graph: list[tuple[str, tuple[int, ...], int]]) -> None:
    registry = fuzz_registry([])
    calls = [
        ToolCall(id=cid, tool="echo", arguments={"value": [f"${graph[j][0]}.value" for j in refs]}, priority=p)
        for cid, refs, p in graph
    ]
    plan = Plan.build(registry, calls)
    expected = oracle_generations(graph)
    if expected is None:
        assert plan.cycle is not None
        assert plan.waves == ()
        # The named cycle is real: each id waits for the next one.
        ids = {cid: i for i, (cid, _, _) in enumerate(graph)}
        for a, b in zip(plan.cycle, plan.cycle[1:], strict=False):
            assert ids[b] in graph[ids[a]][1]
        assert plan.cycle[0] == plan.cycle[-1]
        members = set(plan.cycle)
        names = " -> ".join(plan.cycle)
        for pc in plan.calls:
            assert pc.verdict is not None and pc.generation is None
            code = ErrorCode.DEPENDENCY_CYCLE if pc.call.id in members else ErrorCode.BATCH_REJECTED
            assert (pc.verdict.status, pc.verdict.code) == (Status.REJECTED, code)
            assert pc.verdict.message == (
                f"calls form a dependency cycle ({names}; 'a -> b' means a waits for b), so no order can run them; "
                "nothing in this turn ran. Send a serial plan: call them in separate turns, "
                "without references between them"
                if pc.call.id in members
                else f"not run: the turn was rejected because of the dependency cycle {names}; send this call again"
            )
    else:
        assert plan.cycle is None
        assert [pc.generation for pc in plan.calls] == [expected[i] for i in range(len(graph))]
        waves = [
            sorted((i for i in range(len(graph)) if expected[i] == g), key=lambda i: (-graph[i][2], i))
            for g in sorted(set(expected.values()))
        ]
        assert [list(w) for w in plan.waves] == waves
        assert [pc.needs for pc in plan.calls] == [tuple(sorted(set(refs))) for _, refs, _ in graph]


def test_planning_messages_name_what_is_known() -> None:
    registry = fuzz_registry([])
    nothing_runs = Plan.build(Registry(), [ToolCall(id="a", tool="zzz")])
    assert nothing_runs.waves == ()
    (unknown,) = nothing_runs.calls
    assert unknown.verdict is not None
    assert unknown.verdict.message == "tool 'zzz' is not registered; known tools: none"
    (far,) = Plan.build(registry, [ToolCall(id="a", tool="zzzzzz")]).calls
    assert far.verdict is not None
    assert (
        far.verdict.message
        == "tool 'zzzzzz' is not registered; known tools: ctx, echo, fail, slow, trap, typed, writer"
    )
    alone, _ = Plan.build(
        registry, [ToolCall(id="a", tool="echo", arguments={"x": "$nope"}), ToolCall(id="b", tool="echo")]
    ).calls
    assert alone.verdict is not None
    assert alone.verdict.message == (
        "'$nope' refers to call 'nope', which is not in this turn (other ids: 'b'); write '$$' for a literal '$'"
    )
    (single,) = Plan.build(registry, [ToolCall(id="a", tool="echo", arguments={"x": "$nope.y"})]).calls
    assert single.verdict is not None and "(other ids: none)" in single.verdict.message
    (wrong,) = Plan.build(registry, [ToolCall(id="a", tool="typed", arguments={f"x{i}": i for i in range(7)})]).calls
    assert wrong.verdict is not None
    assert wrong.verdict.message == (
        "arguments for 'typed' do not fit its schema: $: missing required property 'n'; "
        "$: unexpected property 'x0' (known: items, n, value); $: unexpected property 'x1' (known: items, n, value); "
        "$: unexpected property 'x2' (known: items, n, value); $: unexpected property 'x3' (known: items, n, value)"
    )
    _, dependent, _, dependent2 = Plan.build(
        registry,
        [
            ToolCall(id="bad", tool="nope"),
            ToolCall(id="dep", tool="echo", arguments={"x": "$bad"}),
            ToolCall(id="bad2", tool="typed", arguments={}),
            ToolCall(id="dep2", tool="echo", arguments={"x": "$bad2"}),
        ],
    ).calls
    for pc, name, code in ((dependent, "bad", "unknown_tool"), (dependent2, "bad2", "invalid_arguments")):
        assert pc.verdict is not None
        assert (pc.verdict.status, pc.verdict.code) == (Status.SKIPPED, ErrorCode.DEPENDENCY_FAILED)
        assert pc.verdict.message == f"not run: it depends on call {name!r}, which was rejected ({code})"


def key_registry() -> Registry:
    registry = Registry()
    schema = {"type": "object", "properties": {"doc": {"default": "main"}, "order": {}, "a": {}, "b": {}}}
    for name, key in (("put", "doc:{doc}"), ("nested", "o:{order.id}"), ("twice", ("d:{a}", "d:{b}"))):

        async def write(**arguments: Any) -> str:
            await trio.sleep(1)
            return "written"

        registry.add(write, name=name, side_effect="write", key=key, parameters=schema)
    return registry


async def test_key_templates_defaults_nested_fields_and_json_values(autojump_clock: trio.testing.MockClock) -> None:
    calls = [
        ToolCall(id="p1", tool="put"),  # the schema default fills the key: doc:main
        ToolCall(id="p2", tool="put", arguments={"doc": "main"}),
        ToolCall(id="p3", tool="put", arguments={"doc": "other"}),
        ToolCall(id="n1", tool="nested", arguments={"order": {"id": 7}}),
        ToolCall(id="n2", tool="nested", arguments={"order": {"id": "7"}}),  # 7 and "7" give the same key
        ToolCall(id="n3", tool="nested", arguments={"order": {"no_id": 1}}),  # unknown key: after every keyed call
        ToolCall(id="t", tool="twice", arguments={"a": {"x": 1, "y": 2}, "b": {"y": 2, "x": 1}}),  # one key, twice
        ToolCall(id="t2", tool="twice", arguments={"a": {"y": 2, "x": 1}, "b": 0}),
        ToolCall(id="bad", tool="put", arguments={"doc": "other", "order": "$missing"}),
        ToolCall(id="p4", tool="put", arguments={"doc": "other"}),
    ]
    plan = Plan.build(key_registry(), calls)
    by_id = {pc.call.id: pc for pc in plan.calls}
    assert {cid: pc.keys for cid, pc in by_id.items()} == {
        "p1": ("doc:main",),
        "p2": ("doc:main",),
        "p3": ("doc:other",),
        "n1": ("o:7",),
        "n2": ("o:7",),
        "n3": None,
        "t": ('d:{"x": 1, "y": 2}', 'd:{"x": 1, "y": 2}'),
        "t2": ('d:{"x": 1, "y": 2}', "d:0"),
        "bad": (),
        "p4": ("doc:other",),
    }
    after = {cid: [plan.calls[i].call.id for i in pc.after] for cid, pc in by_id.items()}
    assert after == {
        "p1": [],
        "p2": ["p1"],
        "p3": [],
        "n1": [],
        "n2": ["n1"],
        "n3": ["p2", "p3", "n2"],  # an unknown key waits for every earlier keyed call...
        "t": ["n3"],  # ... and every later keyed call waits for it
        "t2": ["n3", "t"],
        "bad": [],  # rejected: it orders nothing, and nothing waits for it
        "p4": ["n3"],
    }
    assert plan.render() == "\n".join(
        [
            "plan: 10 calls, 5 waves",
            "  wave 0:  p1 put() [write doc:main]",
            '           p3 put(doc="other") [write doc:other]',
            '           n1 nested(order={"id": 7}) [write o:7]',
            '  wave 1:  p2 put(doc="main") [write doc:main] after p1',
            '           n2 nested(order={"id": "7"}) [write o:7] after n1',
            '  wave 2:  n3 nested(order={"no_id": 1}) [write <key known at run time>] after p2,p3,n2',
            '  wave 3:  t twice(a={"x": 1, "y": 2}, b={"y": 2, "x": 1}) [write d:{"x": 1, "y": 2},d:{"x": 1, "y": 2}] '
            "after n3",
            '           p4 put(doc="other") [write doc:other] after n3',
            '  wave 4:  t2 twice(a={"y": 2, "x": 1}, b=0) [write d:{"x": 1, "y": 2},d:0] after n3,t',
            "  not run:",
            "    bad put: rejected (bad_reference) '$missing' refers to call 'missing', which is not in this turn "
            "(other ids: 'p1', 'p2', 'p3', 'n1', 'n2', 'n3', 't', 't2', 'p4'); write '$$' for a literal '$'",
        ]
    )
    result = await Executor(key_registry()).run(calls)
    assert result["t"].status is Status.OK  # no edge to itself, so no false cycle
    assert result["bad"].status is Status.REJECTED
    assert [o.wave for o in result] == [0, 1, 0, 0, 1, 2, 3, 4, None, 3]


async def test_open_turn_planning_forward_references_cycles_and_duplicates(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry = Registry()

    @registry.tool(parameters={"type": "object"}, side_effect="none")
    async def echo(**arguments: Any) -> object:
        await trio.sleep(1)
        return arguments

    start = trio.current_time()
    async with Executor(registry).open_turn() as turn:
        turn.submit(ToolCall(id="a", tool="echo", arguments={"x": "$c"}))
        turn.submit(ToolCall(id="b", tool="echo", arguments={"x": "$a"}))
        turn.submit(ToolCall(id="d", tool="echo", arguments={"x": "$b"}))
        turn.submit(ToolCall(id="c", tool="echo", arguments={"x": "$b"}))  # closes c -> b -> a -> c
        turn.submit(ToolCall(id="s", tool="echo", arguments={"x": "$s"}))
        turn.submit(ToolCall(id="f", tool="echo", arguments={"x": "$g.x"}))  # waits for g, which comes next
        turn.submit(ToolCall(id="g", tool="echo", arguments={"x": 1}))
        turn.submit(ToolCall(id="g", tool="echo", arguments={"x": 2}))
        turn.submit(ToolCall(id="h", tool="echo", arguments={"x": ["$g.x", "$$y"]}))
    cycle = (
        "calls form a dependency cycle (c -> b -> a -> c; 'a -> b' means a waits for b); "
        "the calls of the cycle did not run. Send them as a serial plan, in separate turns"
    )
    assert [(o.call_id, o.status, o.error_code, o.error) for o in turn.result if not o.ok] == [
        ("a", Status.REJECTED, ErrorCode.DEPENDENCY_CYCLE, cycle),
        ("b", Status.REJECTED, ErrorCode.DEPENDENCY_CYCLE, cycle),
        (
            "d",
            Status.SKIPPED,
            ErrorCode.DEPENDENCY_FAILED,
            "not run: it depends on call 'b', which ended rejected (dependency_cycle)",
        ),
        ("c", Status.REJECTED, ErrorCode.DEPENDENCY_CYCLE, cycle),
        ("s", Status.REJECTED, ErrorCode.DEPENDENCY_CYCLE, "'$s' refers to the call itself (s -> s)"),
        (
            "g",
            Status.REJECTED,
            ErrorCode.DUPLICATE_CALL_ID,
            "call id 'g' was already used by the call at position 6; ids must be unique within a turn",
        ),
    ]
    assert [(o.call_id, o.value, o.started_at, o.wave) for o in turn.result if o.ok] == [
        ("f", {"x": 1}, start + 1.0, 1),
        ("g", {"x": 1}, start, 0),
        ("h", {"x": [1, "$y"]}, start + 1.0, 1),
    ]


async def test_reference_resolution_messages_copies_and_containers(autojump_clock: trio.testing.MockClock) -> None:
    registry = Registry()

    @attrs.frozen
    class Ticket:
        key: str
        votes: int

    @registry.tool(parameters={"type": "object"}, side_effect="none")
    async def source() -> object:
        return {
            "items": [1, 2],
            "wide": {f"k{i}": i for i in range(12)},
            "empty": {},
            "ticket": Ticket("OPS-1", 3),
            "nested": {"list": [1]},
        }

    @registry.tool(parameters={"type": "object"}, side_effect="none")
    async def mutate(**arguments: Any) -> object:
        arguments["x"]["nested"]["list"].append("changed")
        return arguments

    @registry.tool(parameters={"type": "object"}, side_effect="none")
    async def echo(**arguments: Any) -> object:
        return arguments

    def ref(cid: str, value: object) -> ToolCall:
        return ToolCall(id=cid, tool="echo", arguments={"x": value})

    result = await Executor(registry).run(
        [
            ToolCall(id="s", tool="source"),
            ref("range", "$s.items.2"),
            ref("last", "$s.items.1"),
            ref("keys", "$s.wide.zz"),
            ref("none", "$s.empty.x"),
            ref("scalar", "$s.items.0.x"),
            ref("negative", "$s.items.-1"),
            ref("attrs_mid", "$s.ticket.key"),
            ref("attrs_end", "$s.ticket"),
            ToolCall(id="m", tool="mutate", arguments={"x": "$s"}),
            ref("after_m", "$s.nested"),
            ToolCall(
                id="proxy", tool="echo", arguments=types.MappingProxyType({"x": ("$s.items.0", ["$s.items.1", "$$z"])})
            ),
            ref("escape_only", ["$$5.00", {"y": "$$"}]),
            ToolCall(id="empty_text", tool="echo", arguments=""),
            ToolCall(id="blank_text", tool="echo", arguments="  "),
        ]
    )
    errors = {o.call_id: o.error for o in result if not o.ok}
    assert errors == {
        "range": "'$s.items.2': index 2 is out of range for $s.items (length 2)",
        "keys": "'$s.wide.zz': $s.wide has no key 'zz' "
        "(keys: 'k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8', 'k9')",
        "none": "'$s.empty.x': $s.empty has no key 'x' (keys: none)",
        "scalar": "'$s.items.0.x': $s.items.0 is a int, it has no 'x'",
        "negative": "'$s.items.-1': $s.items is a list; '-1' is not a non-negative index",
    }
    values = {o.call_id: o.value for o in result if o.ok}
    assert values["last"] == {"x": 2}
    assert values["attrs_mid"] == {"x": "OPS-1"}
    assert values["attrs_end"] == {"x": {"key": "OPS-1", "votes": 3}}
    # Each reference is a copy: the mutating tool changed its own copy only.
    assert values["m"]["x"]["nested"] == {"list": [1, "changed"]}
    assert values["after_m"] == {"x": {"list": [1]}}
    assert result["s"].value["nested"] == {"list": [1]}
    assert values["proxy"] == {"x": [1, [2, "$z"]]}
    assert values["escape_only"] == {"x": ["$5.00", {"y": "$"}]}
    assert values["empty_text"] == values["blank_text"] == {}
    plan = result.plan
    assert plan.calls[11].needs == (0,)
    text = plan.render()
    assert '  wave 1:  range echo(x="$s.items.2") needs s' in text
    assert 'proxy echo(x=["$s.items.0", ["$s.items.1", "$$z"]]) needs s' in text
    long_call = Plan.build(registry, [ToolCall(id="l", tool="echo", arguments={"x": "y" * 100})]).render()
    assert long_call == 'plan: 1 calls, 1 waves\n  wave 0:  l echo(x="' + "y" * 54 + "...)"


async def test_more_planner_edges(autojump_clock: trio.testing.MockClock) -> None:
    """Rendering details, keyless writes that were rejected, escaped keys, skipped literals, open-turn cycles."""
    registry = Registry()
    schema = {"type": "object", "properties": {"doc": {}, "n": {"type": "integer"}}, "additionalProperties": False}

    async def tool(**arguments: Any) -> object:
        await trio.sleep(1)
        return arguments

    registry.add(tool, name="post", side_effect="write", resource="api", parameters=schema)  # keyless write
    registry.add(tool, name="put", side_effect="write", key="doc:{doc}", parameters=schema)
    registry.add(tool, name="echo", side_effect="none", parameters={"type": "object"})
    calls = [
        ToolCall(id="bad", tool="post", arguments={"n": "not an int"}),
        ToolCall(id="p", tool="post", arguments={"doc": "é"}),
        ToolCall(id="k", tool="put", arguments={"doc": "$$x"}),
        ToolCall(id="e", tool="echo", arguments={"v": ["$p.doc", "plain", "$k.doc"], "w": "x" * 49}),
        ToolCall(id="f", tool="echo", arguments={"v": "x" * 56}),  # v="..." is exactly 60 characters: kept
        ToolCall(id="g", tool="echo", arguments={"v": "x" * 57}),  # 61 characters: cut to 57 and "..."
    ]
    plan = Plan.build(registry, calls)
    assert [(pc.call.id, pc.after, pc.generation) for pc in plan.calls] == [
        ("bad", (), None),
        ("p", (), 0),  # a rejected call orders nothing, even on a keyless write's tool
        ("k", (), 0),
        ("e", (), 1),
        ("f", (), 0),
        ("g", (), 0),
    ]
    assert plan.calls[2].keys == ("doc:$x",)  # "$$" in a key field stands for "$"
    assert plan.render().splitlines()[1:6] == [
        '  wave 0:  p post(doc="é") [write @api]',
        '           k put(doc="$$x") [write doc:$x]',
        '           f echo(v="' + "x" * 56 + '")',
        '           g echo(v="' + "x" * 54 + "...)",
        '  wave 1:  e echo(v=["$p.doc", "plain", "$k.doc"], w="' + "x" * 21 + "...) needs p,k",
    ]
    result = await Executor(registry).run(calls)
    assert result["e"].value == {"v": ["é", "plain", "$x"], "w": "x" * 49}

    start = trio.current_time()
    with trio.fail_after(100):  # a cycle the planner misses would wait forever
        async with Executor(registry).open_turn() as turn:
            turn.submit(ToolCall(id="src", tool="echo"))
            turn.submit(ToolCall(id="t", tool="echo", arguments={"x": "$z"}))
            turn.submit(ToolCall(id="d", tool="echo", arguments={"x": ["$src", "$t"]}))
            turn.submit(ToolCall(id="c", tool="echo", arguments={"x": "$src"}))
            turn.submit(ToolCall(id="z", tool="echo", arguments={"x": ["$c", "$d"]}))  # closes z -> d -> t -> z
            await trio.sleep(0.5)  # the turn is running: r is planned while others run
            turn.submit(ToolCall(id="r", tool="put", arguments={"doc": "$later", "n": "x"}))  # invalid, and waiting
    assert [(o.call_id, o.status, o.error_code) for o in turn.result] == [
        ("src", Status.OK, None),
        ("t", Status.REJECTED, ErrorCode.DEPENDENCY_CYCLE),
        ("d", Status.REJECTED, ErrorCode.DEPENDENCY_CYCLE),
        ("c", Status.OK, None),
        ("z", Status.REJECTED, ErrorCode.DEPENDENCY_CYCLE),
        ("r", Status.REJECTED, ErrorCode.INVALID_ARGUMENTS),
    ]
    assert trio.current_time() == start + 2.0
