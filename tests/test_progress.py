"""Progress reports from running tools: events in order on MockClock, the progress timeout they restart, threads."""

from __future__ import annotations

import io
import math
import threading

import pytest
import recording
import trio
import trio.testing
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from trio_toolpar import (
    CallContext,
    ErrorCode,
    Executor,
    RegistrationError,
    Registry,
    Retry,
    Retryable,
    Status,
    ToolCall,
)
from trio_toolpar._cli._progress import TurnProgress
from trio_toolpar._cli._views import PlainProgress
from trio_toolpar.events import CallProgressed
from trio_toolpar.otel import OpenTelemetry
from trio_toolpar.testing import MemoryJournal


class Recorder(recording.Recorder):
    def progress(self, call_id: str) -> list[tuple[float, int, float, float | None, str | None]]:
        """(time, attempt, done, total, message) of one call's progress events."""
        return [
            (e.time, e.attempt, e.done, e.total, e.message)
            for e in self.of_call(call_id)
            if isinstance(e, CallProgressed)
        ]

    def names(self, call_id: str) -> list[str]:
        return [type(e).__name__ for e in self.of_call(call_id)]


def reporter(
    registry: Registry, *, every: float, steps: int, silent_after: int | None = None, **options: object
) -> None:
    """``report``: ``steps`` steps of ``every`` seconds, a progress report after each (none past ``silent_after``)."""

    async def report(ctx: CallContext) -> int:
        for step in range(1, steps + 1):
            await trio.sleep(every)
            if silent_after is None or step <= silent_after:
                ctx.progress(step, steps, f"step {step}")
        return steps

    registry.add(report, side_effect="read", **options)  # type: ignore[arg-type]


async def test_progress_events_come_in_order_at_the_times_reported(autojump_clock: trio.testing.MockClock) -> None:
    registry = Registry()
    reporter(registry, every=1.5, steps=3)
    recorder = Recorder()
    t0 = trio.current_time()
    (outcome,) = await Executor(registry, instruments=[recorder]).run([ToolCall(id="r", tool="report")])
    assert (outcome.value, outcome.finished_at) == (3, t0 + 4.5)
    assert recorder.progress("r") == [
        (t0 + 1.5, 1, 1, 3, "step 1"),
        (t0 + 3.0, 1, 2, 3, "step 2"),
        (t0 + 4.5, 1, 3, 3, "step 3"),
    ]
    names = recorder.names("r")
    assert names[names.index("AttemptStarted") :] == [
        "AttemptStarted",
        "CallProgressed",
        "CallProgressed",
        "CallProgressed",
        "AttemptEnded",
        "CallFinished",
    ]
    event = next(e for e in recorder.events if isinstance(e, CallProgressed))
    assert (event.call_id, event.tool, event.index, event.resource) == ("r", "report", 0, None)


async def test_each_report_restarts_the_progress_timeout(autojump_clock: trio.testing.MockClock) -> None:
    registry = Registry()
    reporter(registry, every=1.5, steps=10, silent_after=3, progress_timeout=2.0)
    t0 = trio.current_time()
    (outcome,) = await Executor(registry).run([ToolCall(id="r", tool="report")])
    # Reports at 1.5, 3.0 and 4.5 s, then silence: 2 s after the last one it times out.
    assert (outcome.status, outcome.error_code, outcome.finished_at) == (Status.TIMEOUT, ErrorCode.TIMEOUT, t0 + 6.5)
    assert outcome.error == "no progress and no result within the tool's 2 s progress timeout"


async def test_a_tool_that_keeps_reporting_runs_past_its_progress_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry = Registry()
    reporter(registry, every=1.5, steps=10, progress_timeout=2.0)
    t0 = trio.current_time()
    (outcome,) = await Executor(registry).run([ToolCall(id="r", tool="report")])
    assert (outcome.status, outcome.value, outcome.finished_at) == (Status.OK, 10, t0 + 15.0)


async def test_a_silent_tool_times_out_at_its_progress_timeout(autojump_clock: trio.testing.MockClock) -> None:
    registry = Registry()
    reporter(registry, every=5.0, steps=1, progress_timeout=2.0, timeout=10.0)
    t0 = trio.current_time()
    (outcome,) = await Executor(registry).run([ToolCall(id="r", tool="report")])
    assert (outcome.status, outcome.finished_at) == (Status.TIMEOUT, t0 + 2.0)
    assert outcome.error == "no progress and no result within the tool's 2 s progress timeout"


async def test_the_timeout_still_ends_a_tool_that_keeps_reporting(autojump_clock: trio.testing.MockClock) -> None:
    registry = Registry()
    reporter(registry, every=1.0, steps=10, progress_timeout=2.0, timeout=5.5)
    recorder = Recorder()
    t0 = trio.current_time()
    (outcome,) = await Executor(registry, instruments=[recorder]).run([ToolCall(id="r", tool="report")])
    assert (outcome.status, outcome.finished_at) == (Status.TIMEOUT, t0 + 5.5)
    assert outcome.error == "no result within the tool's 5.5 s timeout"
    assert [at - t0 for at, *_ in recorder.progress("r")] == [1.0, 2.0, 3.0, 4.0, 5.0]


async def test_the_context_deadline_is_the_progress_timeout_s(autojump_clock: trio.testing.MockClock) -> None:
    registry = Registry()
    seen: list[float] = []

    async def look(ctx: CallContext) -> None:
        seen.append(ctx.deadline)

    registry.add(look, side_effect="read", progress_timeout=2.0, timeout=10.0)
    t0 = trio.current_time()
    await Executor(registry).run([ToolCall(id="l", tool="look")])
    assert seen == [t0 + 2.0]


async def test_each_attempt_reports_as_itself_and_a_past_attempt_is_not_heard(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry = Registry()
    contexts: list[CallContext] = []

    async def flaky(ctx: CallContext) -> str:
        contexts.append(ctx)
        await trio.sleep(1.0)
        if ctx.attempt == 1:
            ctx.progress(1, message="first")
            raise Retryable("again")
        contexts[0].progress(7, message="too late")  # the first attempt is over
        ctx.progress(1, message="second")
        return "ok"

    registry.add(flaky, side_effect="read", retry=Retry(attempts=2, backoff=0.5, jitter=0.0))
    recorder = Recorder()
    t0 = trio.current_time()
    (outcome,) = await Executor(registry, instruments=[recorder]).run([ToolCall(id="f", tool="flaky")])
    assert outcome.value == "ok"
    assert recorder.progress("f") == [(t0 + 1.0, 1, 1, None, "first"), (t0 + 2.5, 2, 1, None, "second")]


async def test_reports_after_the_call_ended_are_ignored(autojump_clock: trio.testing.MockClock) -> None:
    registry = Registry()
    kept: list[CallContext] = []

    async def keep(ctx: CallContext) -> None:
        kept.append(ctx)

    registry.add(keep, side_effect="read", progress_timeout=1.0)
    recorder = Recorder()
    await Executor(registry, instruments=[recorder]).run([ToolCall(id="k", tool="keep")])
    before = len(recorder.events)
    kept[0].progress(1)  # from Trio's thread
    await trio.to_thread.run_sync(kept[0].progress, 2)  # and from another
    await trio.testing.wait_all_tasks_blocked()
    assert len(recorder.events) == before
    assert recorder.progress("k") == []


async def test_a_sync_tool_reports_from_its_thread_in_order(autojump_clock: trio.testing.MockClock) -> None:
    registry = Registry()

    def count(n: int, ctx: CallContext) -> int:
        for i in range(1, n + 1):
            ctx.progress(i, n)
        return n

    registry.add(count, side_effect="read")
    recorder = Recorder()
    t0 = trio.current_time()
    (outcome,) = await Executor(registry, instruments=[recorder]).run(
        [ToolCall(id="c", tool="count", arguments={"n": 50})]
    )
    assert outcome.value == 50
    assert recorder.progress("c") == [(t0, 1, i, 50, None) for i in range(1, 51)]
    names = recorder.names("c")
    assert names[-2:] == ["AttemptEnded", "CallFinished"]  # every report before the thread's result
    assert names.index("AttemptStarted") < names.index("CallProgressed")


async def test_a_thread_abandoned_by_its_call_reports_without_waiting(autojump_clock: trio.testing.MockClock) -> None:
    registry = Registry()
    go, reported = threading.Event(), threading.Event()

    def stuck(ctx: CallContext) -> None:
        go.wait(10)
        ctx.progress(1, message="still here")  # its call was cancelled long ago: must not block
        reported.set()

    registry.add(stuck, side_effect="read", abandon_on_cancel=True)
    recorder = Recorder()
    (outcome,) = await Executor(registry, instruments=[recorder], budget=1.0).run([ToolCall(id="s", tool="stuck")])
    assert (outcome.status, outcome.error_code) == (Status.CANCELLED, ErrorCode.BUDGET_EXCEEDED)
    go.set()
    assert await trio.to_thread.run_sync(reported.wait, 10)
    await trio.testing.wait_all_tasks_blocked()
    assert recorder.progress("s") == []


async def test_without_instruments_or_a_progress_timeout_reports_go_nowhere(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry = Registry()
    reporter(registry, every=1.0, steps=3)
    (outcome,) = await Executor(registry).run([ToolCall(id="r", tool="report")])
    assert outcome.value == 3


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        ((math.nan,), ValueError, "progress: done must be a non-negative, finite number, not nan"),
        ((-1,), ValueError, "progress: done must be a non-negative, finite number, not -1"),
        ((math.inf,), ValueError, "progress: done must be a non-negative, finite number, not inf"),
        (("3",), TypeError, "progress: done must be a non-negative, finite number, not '3'"),
        ((True,), TypeError, "progress: done must be a non-negative, finite number, not True"),
        ((1, -2), ValueError, "progress: total must be a non-negative, finite number or None, not -2"),
        ((5, 3), ValueError, "progress: done must be at most total (3), not 5"),
        ((1, 2, 3), TypeError, "progress: message must be a str or None, not 3"),
    ],
)
def test_a_report_that_is_not_one_raises_where_it_is_made(
    args: tuple[object, ...], error: type[Exception], message: str
) -> None:
    context = CallContext(call_id="c", tool="t", attempt=1, idempotency_key="k", deadline=math.inf)
    with pytest.raises(error) as caught:
        context.progress(*args)  # type: ignore[arg-type]
    assert str(caught.value) == message


async def test_a_bad_report_is_the_tool_s_own_error(autojump_clock: trio.testing.MockClock) -> None:
    registry = Registry()

    async def overshoot(ctx: CallContext) -> None:
        ctx.progress(5, 3)

    registry.add(overshoot, side_effect="read")
    recorder = Recorder()
    (outcome,) = await Executor(registry, instruments=[recorder]).run([ToolCall(id="o", tool="overshoot")])
    assert (outcome.status, outcome.error_code) == (Status.ERROR, ErrorCode.TOOL_ERROR)
    assert outcome.error == "ValueError: progress: done must be at most total (3), not 5"
    assert recorder.progress("o") == []


def test_a_progress_timeout_needs_a_call_context() -> None:
    registry = Registry()

    async def mute() -> None:
        pass

    with pytest.raises(RegistrationError, match="progress_timeout needs a way to report progress; add a parameter"):
        registry.add(mute, progress_timeout=1.0)
    with pytest.raises(ValueError, match="progress_timeout must be a positive number of seconds or None, not 0"):
        registry.add(lambda ctx: None, name="zero", progress_timeout=0)
    with pytest.raises(TypeError, match="progress_timeout must be a positive number of seconds or None, not '1'"):
        registry.add(lambda ctx: None, name="text", progress_timeout="1")  # type: ignore[arg-type]


async def test_each_report_is_an_event_on_the_call_s_span(autojump_clock: trio.testing.MockClock) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    registry = Registry()

    async def pages(ctx: CallContext) -> None:
        await trio.sleep(1.0)
        ctx.progress(1, 2, "page 1 of a very long listing")
        await trio.sleep(1.0)
        ctx.progress(2)

    registry.add(pages, side_effect="read")
    otel = OpenTelemetry(tracer_provider=provider, max_chars=6)
    await Executor(registry, instruments=[otel]).run([ToolCall(id="p", tool="pages")])
    (call,) = [s for s in exporter.get_finished_spans() if s.name == "execute_tool pages"]
    assert call.start_time is not None
    assert [(e.name, (e.timestamp - call.start_time) / 1e9, dict(e.attributes or {})) for e in call.events] == [
        (
            "trio_toolpar.progress",
            1.0,
            {
                "trio_toolpar.attempt": 1,
                "trio_toolpar.progress.done": 1,
                "trio_toolpar.progress.total": 2,
                "trio_toolpar.progress.message": "page 1...<23 more characters>",
            },
        ),
        ("trio_toolpar.progress", 2.0, {"trio_toolpar.attempt": 1, "trio_toolpar.progress.done": 2}),
    ]


async def test_the_command_s_live_view_shows_a_running_call_s_latest_report(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry = Registry()

    async def pages(ctx: CallContext) -> None:
        await trio.sleep(1.0)
        ctx.progress(1, 3, "page 1")
        await trio.sleep(1.0)
        ctx.progress(2, 3, "page 2,\nthen a message far too long to show on one line of a table")
        await trio.sleep(1.0)
        ctx.progress(2.5)
        await trio.sleep(1.0)

    registry.add(pages, side_effect="read")
    progress = TurnProgress(limits={}, max_concurrency=None, schedule="eager")
    out = io.StringIO()
    view = PlainProgress(out)
    turn = Executor(registry, instruments=[progress]).turn([ToolCall(id="p", tool="pages")])
    progress.watch(turn.plan)
    seen = []
    async with trio.open_nursery() as nursery:
        t0 = trio.current_time()
        nursery.start_soon(turn.run)
        for at in (0.5, 1.5, 2.5, 3.5):
            await trio.sleep_until(t0 + at)
            seen.append(progress.state(0, trio.current_time()))
            view.show(progress, progress.take_moved(), trio.current_time())
    assert seen == [
        "running",
        "running: 1/3 page 1",
        "running: 2/3 page 2, then a message far too long t...",
        "running: 2.5",
    ]
    assert progress.state(0, trio.current_time()) == "ok"
    assert [" ".join(line.split()) for line in out.getvalue().splitlines()] == [
        "0.000 s p running 0/1 done, 1 running",
        "1.000 s p running: 1/3 page 1 0/1 done, 1 running",
        "2.000 s p running: 2/3 page 2, then a message far too long t... 0/1 done, 1 running",
        "3.000 s p running: 2.5 0/1 done, 1 running",
    ]


async def test_a_durable_turn_reports_progress_and_its_resume_replays_the_outcome_without_reports(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry = Registry()
    reporter(registry, every=1.5, steps=3, progress_timeout=2.0)
    journal = MemoryJournal(latency=1.0)
    first, again = Recorder(), Recorder()
    t0 = trio.current_time()
    (outcome,) = await Executor(registry, journal=journal, instruments=[first]).run(
        [ToolCall(id="r", tool="report")], turn_id="t"
    )
    # The turn's record takes 1 s; the read starts then (its start is written with its outcome, not waited for).
    assert (outcome.status, outcome.value, outcome.started_at, outcome.finished_at) == (Status.OK, 3, t0 + 1, t0 + 5.5)
    assert first.progress("r") == [
        (t0 + 2.5, 1, 1, 3, "step 1"),
        (t0 + 4.0, 1, 2, 3, "step 2"),
        (t0 + 5.5, 1, 3, 3, "step 3"),
    ]
    assert journal.writes == 2  # the turn, then the call's outcome (its start with it, in one write)

    result = await Executor(registry, journal=journal, instruments=[again]).run(
        [ToolCall(id="r", tool="report")], turn_id="t"
    )
    assert result.replayed == ("r",) and result["r"] == outcome
    assert again.progress("r") == []  # it did not run again: nothing to report
    assert again.names("r") == ["CallFinished"]
