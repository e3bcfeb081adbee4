"""Observations: within max_chars whatever the outcome, one turn's within its budget, the same bytes every run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from trio_toolpar import ErrorCode, Executor, Outcome, Registry, Status, ToolCall, anthropic, openai, render_observation
from trio_toolpar._values._budget import fair_shares
from trio_toolpar.agent import (
    AnthropicMessages,
    Message,
    OpenAIChat,
    OpenAIResponses,
    ScriptedModel,
    ScriptedReply,
    run_agent,
)
from trio_toolpar.testing import hostile_values

ROOT = Path(__file__).resolve().parent.parent
SHORTEST = '{"ok":false,"truncated":true}'

# -- what the three formats send as the observations' text ----------------------------------------------------------

Render = Callable[..., list[str]]


def chat_contents(outcomes: Sequence[Outcome], **options: Any) -> list[str]:
    return [m["content"] for m in openai.tool_messages(outcomes, **options)]


def responses_outputs(outcomes: Sequence[Outcome], **options: Any) -> list[str]:
    return [item["output"] for item in openai.function_call_outputs(outcomes, **options)]


def anthropic_contents(outcomes: Sequence[Outcome], **options: Any) -> list[str]:
    return [block["content"] for block in anthropic.tool_result_message(outcomes, **options)["content"]]


FORMATS: dict[str, Render] = {"chat": chat_contents, "responses": responses_outputs, "anthropic": anthropic_contents}


def whole_messages(outcomes: Sequence[Outcome], **options: Any) -> bytes:
    """Everything the three formats send for ``outcomes``, as the bytes of one JSON document."""
    sent = {
        "chat": openai.tool_messages(outcomes, **options),
        "responses": openai.function_call_outputs(outcomes, **options),
        "anthropic": anthropic.tool_result_message(outcomes, **options),
    }
    return json.dumps(sent, ensure_ascii=False).encode()


# -- outcomes with values and messages that are hard to print and to bound --------------------------------------------

NASTY_CHARS = st.sampled_from(["x", '"', "\\", "\x00", "\x1f", "\u2028", "é", "😀", "\ud800"])
"""Characters that JSON escapes (to two or six characters), that are wide, or that UTF-8 cannot encode."""

nasty_text = st.one_of(
    st.text(NASTY_CHARS, max_size=40),
    st.builds(lambda char, n: char * n, NASTY_CHARS, st.integers(0, 30_000)),  # long runs of one character
)
nasty_values = st.one_of(
    nasty_text,
    hostile_values(),  # huge ints, NaN, bytes, sets, cycles, deep nesting, objects whose __str__ raises
    st.builds(lambda n: [{"row": i, "name": "é" * 5} for i in range(n)], st.integers(0, 3_000)),
    st.builds(lambda n: bytes(range(256)) * n, st.integers(0, 40)),  # base64 once rendered
)


@st.composite
def outcomes(draw: st.DrawFn, call_id: str = "c") -> Outcome:
    latency = draw(st.floats(0, 1e7))
    if draw(st.booleans()):
        return Outcome(call_id=call_id, tool="t", status=Status.OK, value=draw(nasty_values), latency_ms=latency)
    return Outcome(
        call_id=call_id,
        tool="t",
        status=draw(st.sampled_from([s for s in Status if s is not Status.OK])),
        error_code=draw(st.sampled_from(list(ErrorCode))),
        error=draw(nasty_text | st.none()),
        traceback=draw(nasty_text | st.none()),
        latency_ms=latency,
    )


@st.composite
def turns(draw: st.DrawFn) -> list[Outcome]:
    return [draw(outcomes(f"call_{n}")) for n in range(draw(st.integers(0, 6)))]


def check_marker(data: dict[str, Any], outcome: Outcome) -> None:
    """A cut observation says it was cut, and how much of each text it kept."""
    assert data["truncated"] is True
    assert data["ok"] is outcome.ok
    for key in ("result", "error", "traceback"):
        if f"{key}_chars" in data:
            assert data[f"{key}_chars"] > len(data[key])


# -- render_observation's bound ---------------------------------------------------------------------------------------


def test_the_reported_case_is_within_max_chars() -> None:
    """16,077 characters for max_chars=16000 before: the cap was on the result's prefix alone."""
    outcome = Outcome(call_id="c", tool="t", status=Status.OK, value="x" * 50_000, latency_ms=1234.5)
    text = render_observation(outcome, max_chars=16_000)
    assert len(text) == 16_000
    data = json.loads(text)
    assert data["result"] == '"' + "x" * (len(data["result"]) - 1)
    assert (data["result_chars"], data["dropped_chars"]) == (50_002, 50_002 - len(data["result"]))


@given(
    outcome=outcomes(),
    max_chars=st.one_of(st.integers(29, 200), st.integers(29, 40_000)),
    traceback=st.booleans(),
    include_timing=st.booleans(),
)
def test_an_observation_is_never_longer_than_max_chars(
    outcome: Outcome, max_chars: int, traceback: bool, include_timing: bool
) -> None:
    text = render_observation(outcome, max_chars=max_chars, traceback=traceback, include_timing=include_timing)
    assert len(text) <= max_chars
    data = json.loads(text)  # standard JSON: NaN and its kin are refused
    json.dumps(data, allow_nan=False)
    text.encode("utf-8")  # no lone surrogate
    whole = render_observation(outcome, max_chars=10**9, traceback=traceback, include_timing=include_timing)
    if whole != text:
        check_marker(data, outcome)


def test_max_chars_below_the_shortest_cut_observation_is_refused() -> None:
    outcome = Outcome(call_id="c", tool="t", status=Status.ERROR, error_code=ErrorCode.TOOL_ERROR, error="e" * 99)
    assert render_observation(outcome, max_chars=29) == SHORTEST
    with pytest.raises(ValueError, match="max_chars must be a whole number >= 29, not 28"):
        render_observation(outcome, max_chars=28)


def test_a_cut_keeps_what_fits_and_says_what_it_dropped() -> None:
    error = "RuntimeError: " + "disk on fire " * 20
    outcome = Outcome(call_id="c", tool="t", status=Status.ERROR, error_code=ErrorCode.TOOL_ERROR, error=error)
    text = render_observation(outcome, max_chars=150)
    assert text == (
        '{"ok":false,"error_code":"tool_error","error":"RuntimeError: disk on fire disk on fire disk o",'
        '"truncated":true,"error_chars":274,"dropped_chars":228}'
    )
    assert len(text) == 150
    # Too short for the text and its marker: the marker alone, then the shortest.
    assert render_observation(outcome, max_chars=100) == (
        '{"ok":false,"error_code":"tool_error","truncated":true,"dropped_chars":274}'
    )
    assert render_observation(outcome, max_chars=60) == SHORTEST


# -- the budget's fair split ------------------------------------------------------------------------------------------


def test_small_observations_stay_whole_and_the_rest_share_equally() -> None:
    assert fair_shares([100, 5_000, 300, 8_000], 4_000) == [100, 1_800, 300, 1_800]
    # The character that does not divide goes to the earliest in the calls' order.
    assert fair_shares([100, 5_000, 300, 8_000], 4_001) == [100, 1_801, 300, 1_800]
    assert fair_shares([8_000, 5_000], 4_001) == [2_001, 2_000]
    assert fair_shares([100, 200], 300) == [100, 200]  # they fit: nothing is cut
    assert fair_shares([], 0) == []


@given(sizes=st.lists(st.integers(0, 10_000), max_size=12), budget=st.integers(0, 60_000))
def test_the_shares_are_max_min_fair_and_fill_the_budget(sizes: list[int], budget: int) -> None:
    shares = fair_shares(sizes, budget)
    assert all(0 <= share <= size for share, size in zip(shares, sizes, strict=True))
    assert sum(shares) == min(budget, sum(sizes))
    for i, share in enumerate(shares):
        if share < sizes[i]:  # a cut one gets no less than any other, within the one leftover character
            assert all(other <= share + 1 for other in shares)
            assert all(shares[j] >= share for j in range(i) if shares[j] < sizes[j])  # the earlier, not less


@pytest.mark.parametrize("fmt", list(FORMATS))
@given(turn=turns(), data=st.data())
def test_a_turns_observations_stay_within_the_budget(fmt: str, turn: list[Outcome], data: st.DataObject) -> None:
    render = FORMATS[fmt]
    max_chars = data.draw(st.integers(29, 20_000), label="max_chars")
    full = [len(text) for text in render(turn, max_chars=max_chars)]
    least = sum(min(size, 29) for size in full)
    budget = data.draw(st.integers(least, sum(full) + 10), label="budget")
    texts = render(turn, max_chars=max_chars, budget=budget)
    assert sum(len(text) for text in texts) <= budget
    for outcome, text, size in zip(turn, texts, full, strict=True):
        assert len(text) <= size
        parsed = json.loads(text)
        if len(text) < size:
            check_marker(parsed, outcome)
    if least:
        with pytest.raises(ValueError, match=f"budget={least - 1} is too small for these {len(turn)} observations"):
            render(turn, max_chars=max_chars, budget=least - 1)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_a_budget_is_a_whole_number_of_characters(fmt: str) -> None:
    turn = [Outcome(call_id="c", tool="t", status=Status.OK, value="v" * 100)]
    for wrong in (1.5, "100", True):
        with pytest.raises(TypeError, match="budget must be a whole number >= 0 or None"):
            FORMATS[fmt](turn, budget=wrong)
    with pytest.raises(ValueError, match="budget must be a whole number >= 0 or None, not -1"):
        FORMATS[fmt](turn, budget=-1)
    assert FORMATS[fmt]([], budget=0) == []


def test_a_budget_split_across_three_results() -> None:
    values = {"small": "ok", "medium": "m" * 3_000, "large": "l" * 20_000}
    turn = [Outcome(call_id=k, tool="t", status=Status.OK, value=v) for k, v in values.items()]
    messages = openai.tool_messages(turn, budget=4_000)
    small, medium, large = (json.loads(m["content"]) for m in messages)
    # 25 characters for the small one; 3,975 left for the two others: 1,988 for the first, 1,987 for the second.
    assert small == {"ok": True, "result": "ok"}
    assert [len(m["content"]) for m in openai.tool_messages(turn)] == [25, 3_023, 15_999]  # without the budget
    assert [len(m["content"]) for m in messages] == [25, 1_988, 1_987]
    assert (medium["result_chars"], medium["dropped_chars"]) == (3_002, 3_002 - len(medium["result"]))
    assert (large["result_chars"], large["dropped_chars"]) == (20_002, 20_002 - len(large["result"]))


# -- byte stability ---------------------------------------------------------------------------------------------------


@given(turn=turns(), latencies=st.lists(st.floats(0, 1e7), min_size=6, max_size=6), budget=st.integers(200, 50_000))
def test_equal_outcomes_render_to_equal_bytes_whatever_their_timing(
    turn: list[Outcome], latencies: list[float], budget: int
) -> None:
    retimed = [
        attrs.evolve(o, latency_ms=latency, started_at=latency, finished_at=2 * latency, attempts=3)
        for o, latency in zip(turn, latencies, strict=False)
    ]
    least = 29 * len(turn)
    for options in ({}, {"budget": max(budget, least)}, {"max_chars": 500}):
        assert whole_messages(turn, **options) == whole_messages(turn, **options)
        assert whole_messages(retimed, **options) == whole_messages(turn, **options)


def test_timing_is_shown_only_when_asked() -> None:
    quick = Outcome(call_id="c", tool="t", status=Status.OK, value=1, latency_ms=12.4)
    slow = attrs.evolve(quick, latency_ms=987.6)
    assert render_observation(quick) == render_observation(slow) == '{"ok":true,"result":1}'
    assert render_observation(quick, include_timing=True) == '{"ok":true,"latency_ms":12,"result":1}'
    assert render_observation(slow, include_timing=True) == '{"ok":true,"latency_ms":988,"result":1}'
    assert whole_messages([quick], include_timing=True) != whole_messages([slow], include_timing=True)


def turn_registry(delays: dict[str, float]) -> Registry:
    registry = Registry()

    @registry.tool(side_effect="read")
    async def lookup(key: str) -> dict[str, Any]:
        await trio.sleep(delays[key])
        return {"key": key, "tags": {"red", "green", "blue", key}, "seen": frozenset({("a", 1), ("b", 2)})}

    @registry.tool(side_effect="read")
    async def report() -> str:
        await trio.sleep(delays["report"])
        return "r" * 30_000

    @registry.tool(side_effect="read")
    async def broken() -> None:
        await trio.sleep(delays["broken"])
        raise ValueError(f"cannot use {object()!r}")  # a default repr, with its address

    return registry


CALLS = [
    ToolCall(id="a", tool="lookup", arguments={"key": "a"}),
    ToolCall(id="b", tool="lookup", arguments={"key": "b"}),
    ToolCall(id="r", tool="report"),
    ToolCall(id="x", tool="broken"),
]


@pytest.mark.parametrize("options", [{}, {"budget": 6_000}, {"max_chars": 1_000}])
async def test_the_same_turn_run_twice_renders_to_the_same_bytes(
    options: dict[str, Any], autojump_clock: trio.testing.MockClock
) -> None:
    """The calls finish in another order and after other times; the model is sent the same bytes."""
    first = await Executor(turn_registry({"a": 1.0, "b": 2.0, "report": 3.0, "broken": 0.5})).run(CALLS)
    second = await Executor(turn_registry({"a": 4.0, "b": 0.25, "report": 1.5, "broken": 2.0})).run(CALLS)
    assert [o.latency_ms for o in first] == [1_000.0, 2_000.0, 3_000.0, 500.0]
    assert [o.latency_ms for o in second] == [4_000.0, 250.0, 1_500.0, 2_000.0]
    assert whole_messages(first.outcomes, **options) == whole_messages(second.outcomes, **options)
    error = json.loads(openai.tool_messages(first, **options)[3]["content"])["error"]
    assert error.startswith("ValueError: cannot use <object object>")
    timed = {**options, "include_timing": True}
    assert whole_messages(first.outcomes, **timed) != whole_messages(second.outcomes, **timed)


RENDER_IN_A_PROCESS = textwrap.dedent(
    """
    import json
    from trio_toolpar import Outcome, Status, anthropic, openai

    value = {"tags": {"alpha", "beta", "gamma", "delta", "epsilon"}, "pairs": frozenset({("x", 1), ("y", 2)}),
             "thing": object(), "f": 0.1 + 0.2, "n": float("nan")}
    turn = [Outcome(call_id="c", tool="t", status=Status.OK, value=value)]
    sent = [openai.tool_messages(turn), openai.function_call_outputs(turn), anthropic.tool_result_message(turn)]
    print(json.dumps(sent, ensure_ascii=False))
    """
)


def test_the_bytes_do_not_depend_on_the_process() -> None:
    """A set of strings iterates by a hash salted per process, and a default repr shows an address."""
    runs = set()
    for seed in ("1", "2", "3", "4"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [sys.executable, "-c", RENDER_IN_A_PROCESS], env=env, capture_output=True, text=True, check=True
        )
        runs.add(done.stdout)
    (only,) = runs
    content = json.loads(json.loads(only)[0][0]["content"])
    assert content["result"]["tags"] == ["alpha", "beta", "delta", "epsilon", "gamma"]
    assert content["result"]["pairs"] == [["x", 1], ["y", 2]]
    assert content["result"]["thing"] == "<object: <object object>>"
    assert (content["result"]["f"], content["result"]["n"]) == (0.30000000000000004, "nan")


async def test_the_agent_loop_sends_each_turns_observations_within_the_models_budget(
    autojump_clock: trio.testing.MockClock,
) -> None:
    tools = Registry()

    @tools.tool(side_effect="read")
    async def page(n: int) -> str:
        await trio.sleep(n)
        return f"page {n} " * 1_000

    def answer(messages: Sequence[Message]) -> ScriptedReply:
        return ScriptedReply(text=f"{len([m for m in messages if m['role'] == 'tool'])} pages")

    calls = tuple(ToolCall(id=f"p{n}", tool="page", arguments={"n": n}) for n in (1, 2, 3))
    model = ScriptedModel([ScriptedReply(calls=calls), answer], observation_budget=3_000)
    result = await run_agent(model, Executor(tools), "read them")
    assert result.text == "3 pages"
    sent = [m["content"] for m in model.requests[1] if m["role"] == "tool"]
    assert [len(content) for content in sent] == [1_000, 1_000, 1_000]
    assert all(json.loads(content)["truncated"] is True for content in sent)


async def test_the_http_clients_answer_within_their_budget(autojump_clock: trio.testing.MockClock) -> None:
    tools = Registry()

    @tools.tool(side_effect="read")
    async def page(n: int) -> str:
        return f"page {n} " * 1_000

    result = await Executor(tools).run([ToolCall(id=f"p{n}", tool="page", arguments={"n": n}) for n in (1, 2)])
    async with httpx.AsyncClient() as http:
        chat = OpenAIChat(http, model="m", observation_budget=1_000)
        responses = OpenAIResponses(http, model="m", observation_budget=1_000)
        claude = AnthropicMessages(http, model="m", observation_budget=1_000)
        sent = {
            "chat": [m["content"] for m in chat.tool_results(result)],
            "responses": [item["output"] for item in responses.tool_results(result)],
            "anthropic": [block["content"] for block in claude.tool_results(result)[0]["content"]],
        }
    assert {fmt: [len(text) for text in texts] for fmt, texts in sent.items()} == {fmt: [500, 500] for fmt in FORMATS}
    assert sent["chat"] == sent["responses"] == sent["anthropic"]
