"""A call's wait for capacity, shown as its own segment: in outcomes, the timeline, the trace and OTel spans.

The turn of most tests: the resource ``api`` capped at 1, three calls of 1 s
each. Call 1 runs [0, 1]; call 2 waits [0, 1] and runs [1, 2]; call 3 waits
[0, 2] and runs [2, 3]. Every time is exact, on a MockClock.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import trio
import trio.testing
from otel_memory import Otel, parent_of
from test_trace import assert_valid_trace, track_names

from trio_toolpar import Executor, Registry, Retry, Retryable, Status, ToolCall, TurnResult
from trio_toolpar._cli._main import main, trace_events

TESTS = str(Path(__file__).parent)


def registry() -> Registry:
    registry = Registry()
    failed: set[int] = set()

    @registry.tool(side_effect="read", resource="api")
    async def work(n: int) -> int:
        """One second of work on the capped API."""
        await trio.sleep(1.0)
        return n

    @registry.tool(side_effect="read", resource="api", retry=Retry(attempts=2, backoff=0.5, jitter=0))
    async def flaky(n: int) -> int:
        """Like `work`, but its first attempt fails after one second."""
        await trio.sleep(1.0)
        if n not in failed:
            failed.add(n)
            raise Retryable("try again")
        return n

    @registry.tool(side_effect="none")
    async def local(n: int) -> int:
        """Work that needs no limit."""
        await trio.sleep(1.0)
        return n

    return registry


THREE = [ToolCall(id=f"c{n}", tool="work", arguments={"n": n}) for n in (1, 2, 3)]


def segments(result: TurnResult) -> dict[str, tuple[float | None, float | None, float | None]]:
    """Each call's (queued, started, finished), in seconds from the turn's start."""

    def at(t: float | None) -> float | None:
        return None if t is None else t - result.started_at

    return {o.call_id: (at(o.queued_at), at(o.started_at), at(o.finished_at)) for o in result}


async def test_outcomes_record_when_each_call_began_waiting(autojump_clock: trio.testing.MockClock) -> None:
    result = await Executor(registry(), limits={"api": 1}).run(
        [*THREE, ToolCall(id="free", tool="local", arguments={"n": 0})]
    )
    assert segments(result) == {
        "c1": (0.0, 0.0, 1.0),  # granted at once: a wait of 0
        "c2": (0.0, 1.0, 2.0),
        "c3": (0.0, 2.0, 3.0),
        "free": (None, 0.0, 1.0),  # needs no limit: it never queued
    }


async def test_the_timeline_draws_the_wait_before_the_run(autojump_clock: trio.testing.MockClock) -> None:
    result = await Executor(registry(), limits={"api": 1}).run(THREE)
    assert result.timeline(width=6).splitlines() == [
        "        |03.000s|",
        "c1 work |██    | ok",
        "c2 work |╌╌██  | ok",
        "c3 work |╌╌╌╌██| ok",
        "         █ ok  ▓ error  ▒ timeout  ░ cancelled  ╌ queued  · never started",
    ]


async def test_a_call_decided_while_it_waits_shows_its_wait_up_to_its_outcome(
    autojump_clock: trio.testing.MockClock,
) -> None:
    otel = Otel()
    executor = Executor(registry(), limits={"api": 1}, budget=1.5, instruments=[otel.instrument])
    result = await executor.run(THREE)
    assert [o.status for o in result] == [Status.OK, Status.CANCELLED, Status.SKIPPED]
    assert segments(result) == {"c1": (0.0, 0.0, 1.0), "c2": (0.0, 1.0, 1.5), "c3": (0.0, None, 1.5)}
    assert result.timeline(width=6).splitlines()[1:4] == [
        "c1 work |████  | ok",
        "c2 work |╌╌╌╌░░| cancelled (budget_exceeded)",
        "c3 work |╌╌╌╌╌╌| skipped (budget_exceeded)",
    ]
    doc = trace_events(result, executor.registry)
    assert_valid_trace(doc)
    queued = {e["name"]: (e["ts"], e["dur"]) for e in doc["traceEvents"] if e.get("cat") == "queued"}
    assert queued == {"c2": (0.0, 1_000_000.0), "c3": (0.0, 1_500_000.0)}
    (instant,) = [e for e in doc["traceEvents"] if e.get("cat") == "not started"]
    assert (instant["name"], instant["ts"], instant["args"]["queue_wait_ms"]) == ("c3", 1_500_000.0, 1500.0)
    waits = {(s.attributes or {})["gen_ai.tool.call.id"]: s for s in otel.spans() if s.name == "queued work"}
    assert set(waits) == {"c2", "c3"}
    assert (waits["c3"].attributes or {})["trio_toolpar.queue_wait_s"] == 1.5
    assert (waits["c3"].attributes or {})["trio_toolpar.attempt"] == 1


def queued_slices(doc: dict[str, Any]) -> dict[str, tuple[str, float, float]]:
    """Each ``queued`` slice by call id: (track name, start, duration) in microseconds."""
    names = track_names(doc)
    return {e["name"]: (names[e["tid"]], e["ts"], e["dur"]) for e in doc["traceEvents"] if e.get("cat") == "queued"}


async def test_the_trace_has_a_queued_slice_before_each_call_that_waited(
    autojump_clock: trio.testing.MockClock,
) -> None:
    executor = Executor(registry(), limits={"api": 1})
    doc = trace_events(await executor.run(THREE), executor.registry)
    assert_valid_trace(doc)
    assert queued_slices(doc) == {
        "c2": ("api queued", 0.0, 1_000_000.0),
        "c3": ("api queued (2)", 0.0, 2_000_000.0),
    }
    runs = {
        e["name"]: (e["ts"], e["dur"], e["args"]["queue_wait_ms"]) for e in doc["traceEvents"] if e.get("cat") == "call"
    }
    assert runs == {
        "c1": (0.0, 1_000_000.0, 0.0),
        "c2": (1_000_000.0, 1_000_000.0, 1000.0),
        "c3": (2_000_000.0, 1_000_000.0, 2000.0),
    }


def test_the_cli_trace_and_timeline_show_the_wait(tmp_path: Path, capsys: Any) -> None:
    calls = tmp_path / "calls.json"
    calls.write_text(
        json.dumps([{"id": f"c{n}", "tool": "lookup", "arguments": {"key": f"k{n}"}} for n in (1, 2, 3)]),
        encoding="utf-8",
    )
    trace = tmp_path / "turn.json"
    argv = ["run", str(calls), "--tools", "cli_registry_fixture:registry", "--app-dir", TESTS, "--virtual"]
    argv += ["--limit", "kv=1", "--progress", "off", "--width", "6", "--trace", str(trace)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "c2 lookup |╌╌██  | ok" in out.splitlines()
    assert "c3 lookup |╌╌╌╌██| ok" in out.splitlines()
    doc = json.loads(trace.read_text(encoding="utf-8"))
    assert_valid_trace(doc)
    assert queued_slices(doc) == {
        "c2": ("kv queued", 0.0, 1_000_000.0),
        "c3": ("kv queued (2)", 0.0, 2_000_000.0),
    }


async def test_otel_has_a_queued_span_for_each_wait(autojump_clock: trio.testing.MockClock) -> None:
    otel = Otel()
    await Executor(registry(), limits={"api": 1}, instruments=[otel.instrument]).run(THREE)
    turn = otel.span("trio_toolpar.turn")
    assert turn.start_time is not None
    waits = {(s.attributes or {})["gen_ai.tool.call.id"]: s for s in otel.spans() if s.name == "queued work"}
    assert set(waits) == {"c2", "c3"}  # c1 was granted at once: no span for a wait of 0
    for call_id, (start, end) in {"c2": (0.0, 1.0), "c3": (0.0, 2.0)}.items():
        span = waits[call_id]
        assert span.start_time is not None and span.end_time is not None
        assert ((span.start_time - turn.start_time) / 1e9, (span.end_time - turn.start_time) / 1e9) == (start, end)
        assert parent_of(span) == turn.context.span_id  # it waited before its call's span began
        assert dict(span.attributes or {}) == {
            "gen_ai.tool.name": "work",
            "gen_ai.tool.call.id": call_id,
            "trio_toolpar.attempt": 1,
            "trio_toolpar.queue_wait_s": end - start,
            "trio_toolpar.resource": "api",
        }


async def test_a_retry_waits_again_under_its_call_span_and_queued_at_stays_the_first_wait(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # r fails at 1 and backs off 0.5 s holding nothing; w takes the slot at 1; r waits for it [1.5, 2], runs [2, 3].
    otel = Otel()
    executor = Executor(registry(), limits={"api": 1}, instruments=[otel.instrument])
    result = await executor.run(
        [ToolCall(id="r", tool="flaky", arguments={"n": 1}), ToolCall(id="w", tool="work", arguments={"n": 2})]
    )
    assert result.ok and result["r"].attempts == 2
    assert segments(result) == {"r": (0.0, 0.0, 3.0), "w": (0.0, 1.0, 2.0)}
    turn, call = otel.span("trio_toolpar.turn"), otel.span("execute_tool flaky")
    assert turn.start_time is not None
    (retry_wait,) = [s for s in otel.spans() if s.name == "queued flaky"]
    assert parent_of(retry_wait) == call.context.span_id
    assert retry_wait.start_time is not None and retry_wait.end_time is not None
    assert (retry_wait.start_time - turn.start_time) / 1e9 == 1.5
    assert (retry_wait.end_time - turn.start_time) / 1e9 == 2.0
    assert (retry_wait.attributes or {})["trio_toolpar.attempt"] == 2
    assert (call.attributes or {})["trio_toolpar.queue_wait_s"] == 0.5  # every wait of the call, summed
    (w_wait,) = [s for s in otel.spans() if s.name == "queued work"]
    assert parent_of(w_wait) == turn.context.span_id
