"""Outcome safety: nothing a tool returns or raises, and nothing a model sends, costs a turn an outcome.

The values come from `trio_toolpar.testing.hostile_values`, `hostile_exceptions`
and `hostile_arguments`: huge ints, NaN, bytes, cycles, objects whose own
methods raise, nesting past every limit, lone surrogates, malformed JSON.
Whatever they are, under both schedules and both policies, with and without
``redact``:

* a turn of N calls yields exactly N outcomes, in input order;
* every observation is standard JSON that UTF-8 can carry;
* the result's table, timeline and unstructured form never raise, and the
  unstructured form is JSON too;
* the plan renders.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

import attrs
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from trio_toolpar import (
    BestEffort,
    CallContext,
    ErrorCode,
    Executor,
    FailFast,
    Registry,
    Status,
    ToolCall,
    TurnResult,
    render_observation,
)
from trio_toolpar._values._convert import converter
from trio_toolpar.plan import Plan
from trio_toolpar.testing import hostile_arguments, hostile_exceptions, hostile_values

Kind = Literal["give", "throw", "ref", "write"]


@attrs.frozen
class Step:
    kind: Kind
    payload: Any  # the value given, or the exception raised
    target: int = 0  # for "ref" and "write": the earlier call referenced
    path: str = ".x"  # "" references the whole value
    positional: bool = False  # "$#N" rather than "$cN"
    latency: float = 0.0


@st.composite
def steps(draw: st.DrawFn) -> list[Step]:
    n = draw(st.integers(1, 6))
    out: list[Step] = []
    for i in range(n):
        kind: Kind = draw(st.sampled_from(("give", "throw", "ref", "write"))) if i else "give"
        payload = draw(hostile_exceptions()) if kind == "throw" else draw(hostile_values())
        out.append(
            Step(
                kind=kind,
                payload=payload,
                target=draw(st.integers(0, i - 1)) if i else 0,
                path=draw(st.sampled_from((".x", "", ".x.0", ".x.d"))),
                positional=draw(st.booleans()),
                latency=draw(st.sampled_from((0.0, 0.25, 1.0))),
            )
        )
    return out


def build(spec: list[Step]) -> tuple[Registry, list[ToolCall]]:
    by_id = {f"c{i}": s for i, s in enumerate(spec)}
    registry = Registry()

    @registry.tool(side_effect="read")
    async def give(context: CallContext) -> object:
        step = by_id[context.call_id]
        await trio.sleep(step.latency)
        return {"x": step.payload}

    @registry.tool(side_effect="read")
    async def throw(context: CallContext) -> object:
        step = by_id[context.call_id]
        await trio.sleep(step.latency)
        raise step.payload

    @registry.tool(side_effect="read", parameters={"type": "object"})
    async def echo(**arguments: Any) -> object:
        return arguments

    @registry.tool(side_effect="write", parameters={"type": "object"})
    async def store(context: CallContext, **arguments: Any) -> object:
        return {"key": context.idempotency_key, "stored": arguments}

    tools = {"give": "give", "throw": "throw", "ref": "echo", "write": "store"}
    calls = []
    for i, s in enumerate(spec):
        arguments: dict[str, Any] = {}
        if s.kind in ("ref", "write"):
            name = f"#{s.target + 1}" if s.positional else f"c{s.target}"
            arguments = {"v": f"${name}{s.path}"}
        calls.append(ToolCall(id=f"c{i}", tool=tools[s.kind], arguments=arguments))
    return registry, calls


def redact_digits(text: str) -> str:
    return "".join("#" if c.isdigit() else c for c in text)


def check_result_is_safe(result: TurnResult, calls: list[ToolCall]) -> None:
    """N outcomes in input order; every rendering of them is JSON that UTF-8 can carry."""
    assert [o.call_id for o in result] == [c.id for c in calls]
    assert [o.tool for o in result] == [c.tool for c in calls]
    for outcome in result:
        text = render_observation(outcome)
        text.encode("utf-8")
        observation = json.loads(text)
        assert observation["ok"] is outcome.ok
        render_observation(outcome, max_chars=40, traceback=True).encode("utf-8")
    result.table().encode("utf-8")
    result.timeline().encode("utf-8")
    json.dumps(converter.unstructure(result), allow_nan=False, ensure_ascii=False).encode("utf-8")


@given(
    spec=steps(),
    schedule=st.sampled_from(("waves", "eager")),
    fail_fast=st.booleans(),
    redact=st.booleans(),
)
async def test_hostile_values_returned_raised_referenced_and_written_lose_no_outcome(
    spec: list[Step], schedule: Literal["waves", "eager"], fail_fast: bool, redact: bool, autojump_clock: Any
) -> None:
    registry, calls = build(spec)
    executor = Executor(
        registry,
        schedule=schedule,
        policy=FailFast() if fail_fast else BestEffort(),
        redact=redact_digits if redact else None,
        deterministic=True,
    )
    result = await executor.run(calls)
    check_result_is_safe(result, calls)
    Plan.build(registry, calls).render().encode("utf-8")
    if fail_fast:
        return
    # Under BestEffort each kind of call ends one exact way.
    for step, outcome in zip(spec, result, strict=True):
        if step.kind == "give":
            assert outcome.status is Status.OK
            assert outcome.value["x"] is step.payload  # kept as the tool returned it
        elif step.kind == "throw":
            assert (outcome.status, outcome.error_code) == (Status.ERROR, ErrorCode.TOOL_ERROR)
            assert outcome.exception is step.payload
            assert outcome.error is not None
            if isinstance(step.payload, ExceptionGroup):  # its errors are named (tests/test_tool_exceptions.py)
                assert all(type(e).__qualname__ in outcome.error for e in step.payload.exceptions), outcome.error
            else:
                assert outcome.error.startswith(type(step.payload).__qualname__), outcome.error
        elif result[step.target].status is not Status.OK:
            assert (outcome.status, outcome.error_code) == (Status.SKIPPED, ErrorCode.DEPENDENCY_FAILED)
        else:
            assert outcome.status in (Status.OK, Status.REJECTED)
            if outcome.status is Status.REJECTED:
                assert outcome.error_code in (ErrorCode.BAD_REFERENCE, ErrorCode.INVALID_ARGUMENTS)
        if step.kind == "write" and outcome.ok:
            assert outcome.idempotency_key is not None
            assert outcome.value["key"] == outcome.idempotency_key


def typed_registry(seen: list[object]) -> Registry:
    registry = Registry()

    @registry.tool(side_effect="read")
    async def typed(x: int = 0) -> object:
        seen.append(x)
        return x

    @registry.tool(side_effect="read", parameters={"type": "object"})
    async def loose(**arguments: Any) -> object:
        return arguments

    return registry


def _constants_or_invalid(text: str) -> bool:
    """Whether argument text fails JSON's own rules: not an object, malformed, or holding NaN/Infinity.

    (Integer literals of any length are JSON: ``parse_int`` keeps Python's digit limit out of it.)
    """
    constants: list[str] = []
    try:
        parsed = json.loads(text, parse_constant=constants.append, parse_int=len) if text.strip() else {}
    except (ValueError, RecursionError):
        return True
    return bool(constants) or not isinstance(parsed, Mapping)


@given(
    arguments=st.lists(hostile_arguments(), min_size=1, max_size=4),
    schedule=st.sampled_from(("waves", "eager")),
    fail_fast=st.booleans(),
)
async def test_hostile_arguments_lose_no_outcome(
    arguments: list[Mapping[str, Any] | str], schedule: Literal["waves", "eager"], fail_fast: bool, autojump_clock: Any
) -> None:
    seen: list[object] = []
    registry = typed_registry(seen)
    calls = [ToolCall(id=f"c{i}", tool=("typed", "loose")[i % 2], arguments=a) for i, a in enumerate(arguments)]
    executor = Executor(registry, schedule=schedule, policy=FailFast() if fail_fast else BestEffort())
    result = await executor.run(calls)
    check_result_is_safe(result, calls)
    Plan.build(registry, calls).render().encode("utf-8")
    for raw, outcome in zip(arguments, result, strict=True):
        if isinstance(raw, str) and _constants_or_invalid(raw):
            assert (outcome.status, outcome.error_code) == (Status.REJECTED, ErrorCode.INVALID_ARGUMENTS)


@given(digits=st.integers(4_301, 6_000), sign=st.sampled_from(("", "-")), first=st.integers(1, 9))
async def test_a_long_integer_literal_is_an_int_the_tool_receives(
    digits: int, sign: str, first: int, autojump_clock: Any
) -> None:
    seen: list[object] = []
    literal = sign + str(first) + "7" * (digits - 1)
    result = await Executor(typed_registry(seen)).run(
        [ToolCall(id="c1", tool="typed", arguments=f'{{"x": {literal}}}')]
    )
    assert result[0].status is Status.OK
    (received,) = seen
    assert type(received) is int
    assert received.bit_length() > 14_000  # too long for str(): compare without printing it
    assert received == int(sign + "1") * (first * 10 ** (digits - 1) + 7 * (10 ** (digits - 1) - 1) // 9)
    check_result_is_safe(result, [ToolCall(id="c1", tool="typed")])


@given(text=st.sampled_from(('{"x": NaN}', '{"x": Infinity}', '{"x": -Infinity}', '{"y": [NaN]}')))
async def test_nan_and_infinity_text_is_rejected_as_invalid_arguments(text: str, autojump_clock: Any) -> None:
    seen: list[object] = []
    result = await Executor(typed_registry(seen)).run(
        [ToolCall(id="c1", tool="loose", arguments=text), ToolCall(id="c2", tool="typed", arguments=text)]
    )
    assert [(o.status, o.error_code) for o in result] == [(Status.REJECTED, ErrorCode.INVALID_ARGUMENTS)] * 2
    assert seen == []
    assert "JSON" in (result[0].error or "")


@given(values=st.lists(hostile_values(), min_size=1, max_size=4))
def test_a_plan_of_hostile_arguments_renders(values: list[object]) -> None:
    registry = typed_registry([])
    calls = [ToolCall(id=f"c{i}", tool="loose", arguments={"v": v, "w": [v, "$c0"]}) for i, v in enumerate(values)]
    text = Plan.build(registry, calls).render()
    text.encode("utf-8")
    assert text.startswith(f"plan: {len(values)} calls")


_model_text = st.text(max_size=6) | st.builds(lambda a, b: a + chr(b), st.text(max_size=3), st.integers(0xD800, 0xDFFF))


@given(
    ids=st.lists(_model_text, min_size=1, max_size=5),
    tools=st.lists(st.sampled_from(("typed", "loose")) | _model_text, min_size=5, max_size=5),
    references=st.lists(st.integers(1, 6).map(lambda n: f"$#{n}.x") | _model_text.map(lambda t: "$" + t), max_size=5),
    schedule=st.sampled_from(("waves", "eager")),
)
async def test_model_ids_tool_names_and_references_of_any_text_lose_no_outcome(
    ids: list[str], tools: list[str], references: list[str], schedule: Literal["waves", "eager"], autojump_clock: Any
) -> None:
    registry = typed_registry([])
    calls = [
        ToolCall(id=cid, tool=tools[i], arguments={"x": references[i]} if i < len(references) else {})
        for i, cid in enumerate(ids)
    ]
    result = await Executor(registry, schedule=schedule).run(calls)
    check_result_is_safe(result, calls)
    Plan.build(registry, calls).render().encode("utf-8")
