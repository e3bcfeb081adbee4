"""Instruments: the events of a turn, in order, on Trio's clock; a failing instrument never breaks a turn."""

from __future__ import annotations

import logging

import pytest
import recording
import trio
import trio.testing
from helpers import Log, instrumented, sleeper
from hypothesis import given

from trio_toolpar import (
    CallContext,
    ErrorCode,
    Executor,
    FailFast,
    RateLimited,
    Registry,
    Retry,
    Retryable,
    Status,
    ToolCall,
)
from trio_toolpar.events import (
    AttemptEnded,
    AttemptStarted,
    CallEvent,
    CallFinished,
    CallGranted,
    CallQueued,
    CallStarted,
    Event,
    ResourcePaused,
    RetryScheduled,
    TurnEnded,
    TurnStarted,
    WaveEnded,
    WaveStarted,
)
from trio_toolpar.testing import TurnSpec, turns


class Recorder(recording.Recorder):
    def of(self, call_id: str) -> list[tuple[str, float]]:
        """(event class, time) of one call's events."""
        return [(type(e).__name__, e.time) for e in self.of_call(call_id)]


def two_tools() -> Registry:
    registry = Registry()
    sleeper(registry, Log(), "read", side_effect="read", resource="db")
    return registry


async def test_a_turn_tells_each_step_in_order_with_exact_times(autojump_clock: trio.testing.MockClock) -> None:
    recorder = Recorder()
    executor = Executor(two_tools(), limits={"db": 1}, instruments=[recorder], deterministic=True)
    start = trio.current_time()
    calls = [
        ToolCall(id="a", tool="read", arguments={"tag": "a", "seconds": 2}),
        ToolCall(id="b", tool="read", arguments={"tag": "b", "seconds": 1}),
        ToolCall(id="c", tool="read", arguments={"tag": "$a.tag", "seconds": 1}),
    ]
    result = await executor.run(calls)
    assert [o.status for o in result] == [Status.OK] * 3
    kinds = [type(e) for e in recorder.events]
    assert kinds[0] is TurnStarted and kinds[-1] is TurnEnded
    waves = {e.call_id: e.wave for e in recorder.events if isinstance(e, CallStarted)}
    assert waves == {"a": 0, "b": 0, "c": 1}
    relative = {cid: [(name, t - start) for name, t in recorder.of(cid)] for cid in "abc"}
    assert relative["a"] == [
        ("CallQueued", 0.0),
        ("CallGranted", 0.0),
        ("CallStarted", 0.0),
        ("AttemptStarted", 0.0),
        ("AttemptEnded", 2.0),
        ("CallFinished", 2.0),
    ]
    # b waits for a's slot of "db" (cap 1): queued at 0, granted at 2.
    assert relative["b"][:2] == [("CallQueued", 0.0), ("CallGranted", 2.0)]
    assert relative["c"][0] == ("CallQueued", 3.0)
    waits = {e.call_id: e.queue_wait for e in recorder.events if isinstance(e, CallGranted)}
    assert waits == {"a": 0.0, "b": 2.0, "c": 0.0}
    started = next(e for e in recorder.events if isinstance(e, CallStarted) and e.call_id == "c")
    assert (started.arguments, started.wave, started.resource, started.tool) == (
        {"tag": "a", "seconds": 1},
        1,
        "db",
        "read",
    )
    ended = recorder.events[-1]
    assert isinstance(ended, TurnEnded) and ended.result == result and not ended.interrupted
    turn_numbers = {e.turn for e in recorder.events}
    assert len(turn_numbers) == 1


async def test_retries_are_attempts_with_their_delays(autojump_clock: trio.testing.MockClock) -> None:
    registry = Registry()

    async def flaky(ctx: CallContext) -> str:
        await trio.sleep(1)
        if ctx.attempt < 3:
            raise Retryable(f"attempt {ctx.attempt} failed")
        return "done"

    registry.add(flaky, side_effect="read", retry=Retry(attempts=3, backoff=0.5, multiplier=2, jitter=0))
    recorder = Recorder()
    start = trio.current_time()
    (outcome,) = await Executor(registry, instruments=[recorder]).run([ToolCall(id="f", tool="flaky")])
    assert outcome.attempts == 3
    attempts = [
        (type(e).__name__, e.attempt, e.time - start)
        for e in recorder.events
        if isinstance(e, (AttemptStarted, AttemptEnded, RetryScheduled))
    ]
    assert attempts == [
        ("AttemptStarted", 1, 0.0),
        ("AttemptEnded", 1, 1.0),
        ("RetryScheduled", 1, 1.0),
        ("AttemptStarted", 2, 1.5),
        ("AttemptEnded", 2, 2.5),
        ("RetryScheduled", 2, 2.5),
        ("AttemptStarted", 3, 3.5),
        ("AttemptEnded", 3, 4.5),
    ]
    assert [e.delay for e in recorder.events if isinstance(e, RetryScheduled)] == [0.5, 1.0]
    ends = [e for e in recorder.events if isinstance(e, AttemptEnded)]
    assert [e.status for e in ends] == [Status.ERROR, Status.ERROR, Status.OK]
    assert isinstance(ends[0].exception, Retryable)
    assert [e.attempt for e in recorder.events if isinstance(e, CallQueued)] == [1, 2, 3]
    assert [e.attempt for e in recorder.events if isinstance(e, CallGranted)] == [1, 2, 3]
    assert sum(isinstance(e, CallStarted) for e in recorder.events) == 1


async def test_a_rate_limited_call_pauses_its_resource(autojump_clock: trio.testing.MockClock) -> None:
    registry = Registry()

    async def limited(ctx: CallContext) -> str:
        if ctx.attempt == 1:
            raise RateLimited("slow down", retry_after=4)
        return "ok"

    registry.add(limited, side_effect="read", resource="api", retry=Retry(attempts=2, backoff=0.1, jitter=0))
    recorder = Recorder()
    (outcome,) = await Executor(registry, instruments=[recorder]).run([ToolCall(id="r", tool="limited")])
    assert outcome.ok
    paused = [(e.resource, e.seconds) for e in recorder.events if isinstance(e, ResourcePaused)]
    assert paused == [("api", 4.0)]
    assert [e.delay for e in recorder.events if isinstance(e, RetryScheduled)] == [4.0]


async def test_cancelled_calls_get_no_attempt_end_and_a_cause(autojump_clock: trio.testing.MockClock) -> None:
    registry = two_tools()
    recorder = Recorder()
    executor = Executor(registry, policy=FailFast(), instruments=[recorder])
    result = await executor.run(
        [
            ToolCall(id="slow", tool="read", arguments={"tag": "s", "seconds": 5}),
            ToolCall(id="bad", tool="read", arguments={"tag": "b", "seconds": 1, "fail": True}),
        ]
    )
    assert [o.error_code for o in result] == [ErrorCode.SIBLING_FAILED, ErrorCode.TOOL_ERROR]
    assert [name for name, _ in recorder.of("slow")][-2:] == ["AttemptStarted", "CallFinished"]
    finished = {e.call_id: e.outcome for e in recorder.events if isinstance(e, CallFinished)}
    assert finished["slow"].status is Status.CANCELLED
    assert finished["slow"].error_code is ErrorCode.SIBLING_FAILED


async def test_an_outer_cancellation_ends_the_turn_interrupted(autojump_clock: trio.testing.MockClock) -> None:
    recorder = Recorder()
    turn = Executor(two_tools(), instruments=[recorder]).turn(
        [ToolCall(id="a", tool="read", arguments={"tag": "a", "seconds": 5})]
    )
    with trio.move_on_after(1):
        await turn.run()
    ended = recorder.events[-1]
    assert isinstance(ended, TurnEnded) and ended.interrupted
    assert ended.result.outcomes[0].error_code is ErrorCode.CANCELLED
    assert [type(e).__name__ for e in recorder.events][-2:] == ["CallFinished", "TurnEnded"]


async def test_open_and_eager_turns_tell_their_start(autojump_clock: trio.testing.MockClock) -> None:
    recorder = Recorder()
    executor = Executor(two_tools(), instruments=[recorder])
    async with executor.open_turn() as turn:
        turn.submit(ToolCall(id="a", tool="read", arguments={"tag": "a", "seconds": 1}))
    started = recorder.events[0]
    assert isinstance(started, TurnStarted) and started.call_ids == ("a",) and started.budget is None
    assert sum(isinstance(e, CallFinished) for e in recorder.events) == 1
    eager = Executor(two_tools(), schedule="eager", instruments=[recorder], budget=10)
    recorder.events.clear()
    await eager.run([ToolCall(id="a", tool="read", arguments={"tag": "a", "seconds": 1})])
    assert [e.wave for e in recorder.events if isinstance(e, CallStarted)] == [0]
    first = recorder.events[0]
    assert isinstance(first, TurnStarted) and first.deadline == first.time + 10


async def test_calls_that_never_run_still_finish(autojump_clock: trio.testing.MockClock) -> None:
    recorder = Recorder()
    await Executor(two_tools(), instruments=[recorder]).run(
        [ToolCall(id="x", tool="nope"), ToolCall(id="y", tool="read", arguments={"tag": "$x", "seconds": 1})]
    )
    finished = [(e.call_id, e.outcome.error_code, e.resource) for e in recorder.events if isinstance(e, CallFinished)]
    assert finished == [("x", ErrorCode.UNKNOWN_TOOL, None), ("y", ErrorCode.DEPENDENCY_FAILED, "db")]
    assert not any(isinstance(e, CallStarted) for e in recorder.events)


class Broken:
    def __init__(self, on: type[Event]) -> None:
        self.on = on
        self.calls = 0

    def on_event(self, event: Event) -> None:
        if isinstance(event, self.on):
            self.calls += 1
            raise ValueError("instrument bug")


@pytest.mark.parametrize("on", [TurnStarted, CallGranted, AttemptStarted, AttemptEnded, CallFinished, TurnEnded])
async def test_a_raising_instrument_is_removed_and_reported_once(
    on: type[Event], autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    broken, recorder = Broken(on), Recorder()
    executor = Executor(two_tools(), instruments=[broken, recorder])
    calls = [ToolCall(id=c, tool="read", arguments={"tag": c, "seconds": 1}) for c in "ab"]
    with caplog.at_level(logging.ERROR, logger="trio_toolpar"):
        first = await executor.run(calls)
        second = await executor.run(calls)
    assert [o.status for o in (*first, *second)] == [Status.OK] * 4
    assert broken.calls == 1
    (record,) = caplog.records
    assert f"raised on {on.__name__} and was removed" in record.getMessage()
    assert record.exc_info is not None and isinstance(record.exc_info[1], ValueError)
    assert sum(isinstance(e, TurnEnded) for e in recorder.events) == 2  # the others still hear everything


class Interrupting:
    def on_event(self, event: Event) -> None:
        if isinstance(event, AttemptStarted):
            raise KeyboardInterrupt


async def test_an_instrument_base_exception_is_not_swallowed(autojump_clock: trio.testing.MockClock) -> None:
    executor = Executor(two_tools(), instruments=[Interrupting()])
    with pytest.raises(KeyboardInterrupt):
        await executor.run([ToolCall(id="a", tool="read", arguments={"tag": "a", "seconds": 1})])


def test_an_instrument_needs_on_event() -> None:
    with pytest.raises(TypeError, match=r"instruments\[0\] must be an Instrument \(with on_event\(event\)\)"):
        Executor(Registry(), instruments=[object()])  # type: ignore[list-item]


async def test_without_instruments_no_event_is_built(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[str] = []
    original = Event.__init__

    def spy(self: Event, **kwargs: object) -> None:
        built.append(type(self).__name__)

    for cls in (TurnStarted, CallQueued, CallGranted, CallStarted, AttemptStarted, AttemptEnded, CallFinished):
        monkeypatch.setattr(cls, "__init__", spy)
    result = await Executor(two_tools()).run([ToolCall(id="a", tool="read", arguments={"tag": "a", "seconds": 1})])
    assert result[0].ok and built == []
    # The spy does see events when an instrument is installed: the test can fail.
    await Executor(two_tools(), instruments=[Recorder()]).run(
        [ToolCall(id="a", tool="read", arguments={"tag": "a", "seconds": 1})]
    )
    assert "CallStarted" in built
    assert original is Event.__init__


@given(turn=turns())
async def test_events_agree_with_the_outcomes(turn: TurnSpec, autojump_clock: trio.testing.MockClock) -> None:
    recorder = Recorder()
    result = await instrumented(turn, recorder).run(turn.tool_calls())
    events = recorder.events
    assert isinstance(events[0], TurnStarted) and isinstance(events[-1], TurnEnded)
    assert events[-1].result == result
    assert [e.time for e in events] == sorted(e.time for e in events)  # in the order they happened
    finished = {e.index: e.outcome for e in events if isinstance(e, CallFinished)}
    assert [finished[i] for i in range(len(result))] == list(result)  # one CallFinished per call, the outcome
    for i, outcome in enumerate(result):
        mine = [e for e in events if isinstance(e, CallEvent) and e.index == i]
        assert isinstance(mine[-1], CallFinished) and mine[-1].time == outcome.finished_at
        started = [e for e in mine if isinstance(e, CallStarted)]
        assert len(started) == (outcome.started_at is not None)
        assert [e.time for e in started] == ([outcome.started_at] if started else [])
        assert [e.attempt for e in mine if isinstance(e, AttemptStarted)] == list(range(1, outcome.attempts + 1))
        ended = [e for e in mine if isinstance(e, AttemptEnded)]
        if outcome.status in (Status.OK, Status.ERROR, Status.TIMEOUT):
            assert len(ended) == outcome.attempts and str(ended[-1].status) == str(outcome.status)
        retries = [e for e in mine if isinstance(e, RetryScheduled)]
        # A retry scheduled and then stopped by the turn (in its backoff) never becomes an attempt.
        stopped_in_backoff = 1 if outcome.status is Status.CANCELLED and len(retries) == outcome.attempts else 0
        assert len(retries) == max(outcome.attempts - 1, 0) + stopped_in_backoff


async def test_waves_are_told_when_they_begin_and_when_they_are_drained(
    autojump_clock: trio.testing.MockClock,
) -> None:
    recorder = Recorder()
    calls = [
        ToolCall(id="a", tool="read", arguments={"tag": "a", "seconds": 2}),
        ToolCall(id="b", tool="read", arguments={"tag": "b", "seconds": 1}),
        ToolCall(id="c", tool="read", arguments={"tag": "$a.tag", "seconds": 1}),
    ]
    start = trio.current_time()
    await Executor(two_tools(), instruments=[recorder], deterministic=True).run(calls)
    waves = [
        (type(e).__name__, e.wave, e.call_ids, e.time - start)
        for e in recorder.events
        if isinstance(e, (WaveStarted, WaveEnded))
    ]
    assert waves == [
        ("WaveStarted", 0, ("a", "b"), 0.0),
        ("WaveEnded", 0, ("a", "b"), 2.0),
        ("WaveStarted", 1, ("c",), 2.0),
        ("WaveEnded", 1, ("c",), 3.0),
    ]
    eager = Recorder()
    await Executor(two_tools(), schedule="eager", instruments=[eager]).run(calls)
    assert not [e for e in eager.events if isinstance(e, (WaveStarted, WaveEnded))]
