"""The OpenTelemetry edge: spans turn -> call -> attempt, GenAI attributes, causes, the duration histogram."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from typing import Any

import pytest
import trio
import trio.testing
from helpers import instrumented
from hypothesis import given
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode
from otel_memory import Otel, parent_of, seconds

from trio_toolpar import (
    CallContext,
    ErrorCode,
    Executor,
    FailFast,
    Registry,
    Retry,
    Retryable,
    Status,
    ToolCall,
)
from trio_toolpar.testing import TurnSpec, turns


def registry() -> Registry:
    registry = Registry()

    async def fetch(url: str, seconds: float = 1.0, fail: bool = False) -> dict[str, str]:
        await trio.sleep(seconds)
        if fail:
            raise ConnectionError(f"could not reach {url}")
        return {"url": url, "body": "secret-body"}

    registry.add(fetch, side_effect="read", resource="web")
    return registry


async def test_turn_call_attempt_spans_with_genai_attributes(autojump_clock: trio.testing.MockClock) -> None:
    otel = Otel()
    executor = Executor(registry(), limits={"web": 1}, instruments=[otel.instrument], deterministic=True)
    result = await executor.run(
        [
            ToolCall(id="a", tool="fetch", arguments={"url": "https://a.example", "seconds": 2}),
            ToolCall(id="b", tool="fetch", arguments={"url": "https://b.example", "seconds": 1}),
        ]
    )
    assert result.ok
    turn, a, b = otel.span("trio_toolpar.turn"), *[s for s in otel.spans() if s.name == "execute_tool fetch"]
    attempts = [s for s in otel.spans() if s.name == "attempt fetch"]
    queued = otel.span("queued fetch")  # b's wait for the one "web" slot
    assert len(otel.spans()) == 6 and len(attempts) == 2
    assert parent_of(queued) == turn.context.span_id
    assert turn.parent is None
    assert {parent_of(a), parent_of(b)} == {turn.context.span_id}
    assert {parent_of(s) for s in attempts} == {a.context.span_id, b.context.span_id}
    assert {s.context.trace_id for s in otel.spans()} == {turn.context.trace_id}
    assert a.kind is SpanKind.INTERNAL
    assert dict(a.attributes or {}) == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "fetch",
        "gen_ai.tool.call.id": "a",
        "gen_ai.tool.type": "function",
        "trio_toolpar.resource": "web",
        "trio_toolpar.wave": 0,
        "trio_toolpar.queue_wait_s": 0.0,
        "trio_toolpar.attempts": 1,
    }
    assert a.status.status_code is StatusCode.UNSET
    # Virtual time: a runs 0-2 s; b waits for the one "web" slot, then runs 2-3 s.
    assert (seconds(turn), seconds(a), seconds(b)) == (3.0, 2.0, 1.0)
    assert b.attributes is not None and b.attributes["trio_toolpar.queue_wait_s"] == 2.0
    assert b.start_time is not None and turn.start_time is not None
    assert (b.start_time - turn.start_time) / 1e9 == 2.0
    assert turn.attributes is not None and turn.attributes["trio_toolpar.calls.ok"] == 2
    assert sorted(p.sum for p in otel.durations()) == [3.0]  # one series: 2 s + 1 s
    (point,) = otel.durations()
    assert point.count == 2
    assert dict(point.attributes or {}) == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "fetch",
        "gen_ai.tool.type": "function",
    }


async def test_no_argument_or_result_is_recorded_unless_asked(autojump_clock: trio.testing.MockClock) -> None:
    calls = [ToolCall(id="a", tool="fetch", arguments={"url": "https://token@a.example"})]
    quiet, loud = Otel(), Otel(record_arguments=True, max_chars=40)
    await Executor(registry(), instruments=[quiet.instrument, loud.instrument]).run(calls)
    for span in quiet.spans():
        assert all("token@" not in str(v) and "secret-body" not in str(v) for v in (span.attributes or {}).values())
        assert not any(k.startswith("gen_ai.tool.call.a") for k in span.attributes or {})
    attributes = loud.span("execute_tool fetch").attributes or {}
    assert attributes["gen_ai.tool.call.arguments"] == '{"url":"https://token@a.example"}'
    assert attributes["gen_ai.tool.call.result"] == '{"url":"https://token@a.example","body":...<14 more characters>'


async def test_a_failed_call_has_its_error_type(autojump_clock: trio.testing.MockClock) -> None:
    otel = Otel()
    await Executor(registry(), instruments=[otel.instrument]).run(
        [ToolCall(id="a", tool="fetch", arguments={"url": "u", "fail": True})]
    )
    call, attempt = otel.span("execute_tool fetch"), otel.span("attempt fetch")
    assert call.status.status_code is StatusCode.ERROR and call.status.description == "tool_error"
    assert call.attributes is not None and call.attributes["error.type"] == "ConnectionError"
    assert "trio_toolpar.cancel_cause" not in call.attributes
    assert attempt.status.status_code is StatusCode.ERROR
    assert attempt.attributes is not None and attempt.attributes["error.type"] == "ConnectionError"
    (point,) = otel.durations()
    assert point.attributes is not None and point.attributes["error.type"] == "ConnectionError"


def cause_of(span: ReadableSpan) -> tuple[StatusCode, str | None, Any, Any]:
    attributes = span.attributes or {}
    return (
        span.status.status_code,
        span.status.description,
        attributes["trio_toolpar.cancel_cause"],
        attributes["error.type"],
    )


async def test_fail_fast_marks_the_cancelled_sibling_with_its_cause(autojump_clock: trio.testing.MockClock) -> None:
    otel = Otel()
    result = await Executor(registry(), policy=FailFast(), instruments=[otel.instrument]).run(
        [
            ToolCall(id="slow", tool="fetch", arguments={"url": "s", "seconds": 5}),
            ToolCall(id="bad", tool="fetch", arguments={"url": "b", "seconds": 1, "fail": True}),
            ToolCall(id="later", tool="fetch", arguments={"url": "$bad.url"}),
        ]
    )
    assert [o.error_code for o in result] == [ErrorCode.SIBLING_FAILED, ErrorCode.TOOL_ERROR, ErrorCode.SIBLING_FAILED]
    slow = next(
        s for s in otel.spans() if (s.attributes or {}).get("gen_ai.tool.call.id") == "slow" and s.name[0] == "e"
    )
    assert cause_of(slow) == (StatusCode.ERROR, "sibling_failed", "sibling_failed", "sibling_failed")
    assert seconds(slow) == 1.0
    slow_attempt = next(s for s in otel.spans() if s.name == "attempt fetch" and parent_of(s) == slow.context.span_id)
    assert cause_of(slow_attempt)[2] == "sibling_failed"
    (event,) = otel.span("trio_toolpar.turn").events
    assert event.name == "trio_toolpar.call_not_run"
    assert dict(event.attributes or {}) == {
        "gen_ai.tool.name": "fetch",
        "gen_ai.tool.call.id": "later",
        "trio_toolpar.status": "skipped",
        "trio_toolpar.error_code": "sibling_failed",
    }


async def test_the_budget_marks_running_calls_budget_exceeded(autojump_clock: trio.testing.MockClock) -> None:
    otel = Otel()
    await Executor(registry(), budget=2, instruments=[otel.instrument]).run(
        [ToolCall(id="a", tool="fetch", arguments={"url": "a", "seconds": 5})]
    )
    call = otel.span("execute_tool fetch")
    assert cause_of(call) == (StatusCode.ERROR, "budget_exceeded", "budget_exceeded", "budget_exceeded")
    assert seconds(call) == 2.0
    turn = otel.span("trio_toolpar.turn")
    assert turn.attributes is not None and turn.attributes["trio_toolpar.budget_s"] == 2.0


async def test_an_outer_cancellation_marks_the_turn(autojump_clock: trio.testing.MockClock) -> None:
    otel = Otel()
    with trio.move_on_after(1):
        await Executor(registry(), instruments=[otel.instrument]).run(
            [ToolCall(id="a", tool="fetch", arguments={"url": "a", "seconds": 5})]
        )
    turn, call = otel.span("trio_toolpar.turn"), otel.span("execute_tool fetch")
    assert turn.status.status_code is StatusCode.ERROR and turn.attributes is not None
    assert turn.attributes["trio_toolpar.cancel_cause"] == "cancelled"
    assert cause_of(call)[:3] == (StatusCode.ERROR, "cancelled", "cancelled")


async def test_retries_are_attempt_spans(autojump_clock: trio.testing.MockClock) -> None:
    registry = Registry()

    async def flaky(ctx: CallContext) -> str:
        await trio.sleep(1)
        if ctx.attempt < 3:
            raise Retryable("try again")
        return "done"

    registry.add(flaky, side_effect="read", retry=Retry(attempts=3, backoff=0.5, multiplier=2, jitter=0))
    otel = Otel()
    await Executor(registry, instruments=[otel.instrument]).run([ToolCall(id="f", tool="flaky")])
    call = otel.span("execute_tool flaky")
    attempts = sorted((s for s in otel.spans() if s.name == "attempt flaky"), key=lambda s: s.start_time or 0)
    assert [(s.attributes or {})["trio_toolpar.attempt"] for s in attempts] == [1, 2, 3]
    assert [s.status.status_code for s in attempts] == [StatusCode.ERROR, StatusCode.ERROR, StatusCode.UNSET]
    assert [parent_of(s) for s in attempts] == [call.context.span_id] * 3
    assert call.start_time is not None
    assert [((s.start_time or 0) - call.start_time) / 1e9 for s in attempts] == [0.0, 1.5, 3.5]
    assert [(e.name, dict(e.attributes or {})) for e in call.events] == [
        ("trio_toolpar.retry", {"trio_toolpar.attempt": 1, "trio_toolpar.delay_s": 0.5}),
        ("trio_toolpar.retry", {"trio_toolpar.attempt": 2, "trio_toolpar.delay_s": 1.0}),
    ]
    assert seconds(call) == 4.5 and (call.attributes or {})["trio_toolpar.attempts"] == 3


async def test_context_propagates_to_tools_and_from_the_caller(autojump_clock: trio.testing.MockClock) -> None:
    otel = Otel()
    seen: list[tuple[str, int]] = []
    registry = Registry()

    async def probe(tag: str) -> None:
        seen.append((tag, trace.get_current_span().get_span_context().span_id))

    def probe_sync(tag: str) -> None:
        seen.append((tag, trace.get_current_span().get_span_context().span_id))

    registry.add(probe, side_effect="none")
    registry.add(probe_sync, side_effect="none")
    tracer = otel.provider.get_tracer("test")
    with tracer.start_as_current_span("agent step") as outer:
        await Executor(registry, instruments=[otel.instrument]).run(
            [
                ToolCall(id="a", tool="probe", arguments={"tag": "async"}),
                ToolCall(id="s", tool="probe_sync", arguments={"tag": "thread"}),
            ]
        )
        assert trace.get_current_span() is outer  # the turn restored the caller's context
    turn = otel.span("trio_toolpar.turn")
    assert parent_of(turn) == outer.get_span_context().span_id
    attempt_ids = {
        (s.attributes or {})["gen_ai.tool.call.id"]: s.context.span_id for s in otel.spans() if s.name[:7] == "attempt"
    }
    assert dict(seen) == {"async": attempt_ids["a"], "thread": attempt_ids["s"]}


def spans_named(spans: Sequence[ReadableSpan], prefix: str) -> int:
    return sum(s.name.startswith(prefix) for s in spans)


async def test_concurrent_turns_of_one_executor_stay_apart(autojump_clock: trio.testing.MockClock) -> None:
    otel = Otel()
    executor = Executor(registry(), instruments=[otel.instrument])
    calls = [ToolCall(id="same", tool="fetch", arguments={"url": "x"})]
    async with trio.open_nursery() as nursery:
        nursery.start_soon(executor.run, calls)
        nursery.start_soon(executor.run, calls)
    turns = [s for s in otel.spans() if s.name == "trio_toolpar.turn"]
    calls_spans = [s for s in otel.spans() if s.name == "execute_tool fetch"]
    assert len(turns) == 2 and spans_named(otel.spans(), "attempt") == 2
    assert {parent_of(s) for s in calls_spans} == {t.context.span_id for t in turns}


def test_importing_without_the_extra_names_it() -> None:
    code = "import sys; sys.modules['opentelemetry'] = None; import trio_toolpar.otel"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 1
    assert "pip install 'trio_toolpar[otel]'" in done.stderr


@pytest.mark.parametrize("value", [float("nan"), b"\xff", {"deep": [[[[1]]]]}])
async def test_odd_results_are_recorded_as_json_text(value: object, autojump_clock: trio.testing.MockClock) -> None:
    registry = Registry()

    async def odd() -> object:
        return value

    registry.add(odd, side_effect="none")
    otel = Otel(record_arguments=True)
    (outcome,) = await Executor(registry, instruments=[otel.instrument]).run([ToolCall(id="o", tool="odd")])
    assert outcome.ok
    result = (otel.span("execute_tool odd").attributes or {})["gen_ai.tool.call.result"]
    assert isinstance(result, str) and result != ""


@given(turn=turns())
async def test_spans_agree_with_the_outcomes(turn: TurnSpec, autojump_clock: trio.testing.MockClock) -> None:
    otel = Otel()
    result = await instrumented(turn, otel.instrument).run(turn.tool_calls())
    spans = otel.spans()
    (root,) = [s for s in spans if s.name == "trio_toolpar.turn"]
    calls = [s for s in spans if s.name.startswith("execute_tool ")]
    ran = [o for o in result if o.started_at is not None]
    assert sorted(str((s.attributes or {})["gen_ai.tool.call.id"]) for s in calls) == sorted(o.call_id for o in ran)
    assert len(root.events) == len(result) - len(ran)  # each call that never ran is an event of the turn
    by_id = {(s.attributes or {})["gen_ai.tool.call.id"]: s for s in calls}
    for outcome in ran:
        span = by_id[outcome.call_id]
        assert parent_of(span) == root.context.span_id
        assert seconds(span) == pytest.approx(outcome.latency_ms / 1000, abs=1e-6)
        attempts = [s for s in spans if s.name.startswith("attempt ") and parent_of(s) == span.context.span_id]
        assert len(attempts) == outcome.attempts
        # Its wait before the first attempt, if it waited: a span beside the call's, as long as the outcome says.
        first_waits = [
            s
            for s in spans
            if s.name.startswith("queued ")
            and (s.attributes or {})["gen_ai.tool.call.id"] == outcome.call_id
            and (s.attributes or {})["trio_toolpar.attempt"] == 1
        ]
        assert outcome.started_at is not None
        waited = 0.0 if outcome.queued_at is None else outcome.started_at - outcome.queued_at
        assert [seconds(s) for s in first_waits] == pytest.approx([waited] if waited > 0 else [], abs=1e-6)
        assert all(parent_of(s) == root.context.span_id for s in first_waits)
        if outcome.ok:
            assert span.status.status_code is StatusCode.UNSET
        else:
            assert (span.status.status_code, span.status.description) == (StatusCode.ERROR, str(outcome.error_code))
            cause = (span.attributes or {}).get("trio_toolpar.cancel_cause")
            assert cause == (str(outcome.error_code) if outcome.status is Status.CANCELLED else None)
    assert sum(p.count for p in otel.durations()) == len(ran)


async def test_a_resumed_turn_names_its_id_and_the_calls_it_replayed(autojump_clock: trio.testing.MockClock) -> None:
    from trio_toolpar.testing import MemoryJournal

    otel, journal = Otel(), MemoryJournal()
    calls = [ToolCall(id="a", tool="fetch", arguments={"url": "u"})]
    await Executor(registry(), journal=journal).run(calls, turn_id="t1")
    await Executor(registry(), journal=journal, instruments=[otel.instrument]).run(calls, turn_id="t1")
    turn = otel.span("trio_toolpar.turn")
    assert turn.attributes is not None and turn.attributes["trio_toolpar.turn_id"] == "t1"
    assert turn.attributes["trio_toolpar.resumed"] is True
    assert tuple(turn.attributes["trio_toolpar.replayed"]) == ("a",)  # type: ignore[arg-type]
