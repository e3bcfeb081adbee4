"""What a resumed durable turn tells its instruments: one `CallFinished` per call, replayed ones marked.

A call replayed from the journal did not run in this process: it has no
`CallStarted` nor attempts, only its `CallFinished` with ``replayed`` true.
A call settled by the resume (``in_doubt``) did not run either; a retry-safe
call that was in flight runs again, with every event of a call that runs.
Times are exact, on a MockClock.
"""

from __future__ import annotations

import trio
import trio.testing
from recording import Recorder
from resumed_turn import CALLS, crashed_turn, registry

from trio_toolpar import Executor, Status
from trio_toolpar.events import CallFinished, CallStarted, TurnEnded, TurnStarted
from trio_toolpar.testing import MemoryJournal


class Events(Recorder):
    def lines(self, t0: float) -> list[tuple[object, ...]]:
        """Each event as (kind, call id, seconds since ``t0``, and what it says of a journal)."""
        lines: list[tuple[object, ...]] = []
        for event in self.events:
            line: tuple[object, ...] = (type(event).__name__, getattr(event, "call_id", None), event.time - t0)
            if isinstance(event, TurnStarted):
                line += (event.resumed,)
            if isinstance(event, CallFinished):
                line += (event.outcome.status, event.replayed)
            lines.append(line)
        return lines

    def finished(self) -> list[CallFinished]:
        return [e for e in self.events if isinstance(e, CallFinished)]


async def test_a_resumed_turn_tells_each_call_once_replayed_run_again_or_in_doubt(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal = await crashed_turn()
    events = Events()
    t0 = trio.current_time()
    result = await Executor(registry, journal=journal, deterministic=True, instruments=[events]).run(CALLS, turn_id="t")
    assert events.lines(t0) == [
        ("TurnStarted", None, 0.0, True),
        # Settled before the recorded outcomes are replayed (see `replay`): it did not run here.
        ("CallFinished", "w", 0.0, Status.IN_DOUBT, False),
        ("CallFinished", "a", 0.0, Status.OK, True),
        ("WaveStarted", None, 0.0),
        # In flight at the crash and retry-safe: it runs again, as any call that runs.
        ("CallQueued", "k", 0.0),
        ("CallGranted", "k", 0.0),
        ("CallStarted", "k", 0.0),
        ("AttemptStarted", "k", 0.0),
        ("AttemptEnded", "k", 3.0),
        ("CallFinished", "k", 3.0, Status.OK, False),
        ("WaveEnded", None, 3.0),
        ("TurnEnded", None, 3.0),
    ]
    (ended,) = [e for e in events.events if isinstance(e, TurnEnded)]
    assert ended.result is not None and ended.result.replayed == result.replayed == ("a",)
    assert [e.outcome for e in events.finished() if e.call_id == "a"] == [result["a"]]


async def test_a_second_resume_replays_every_call_the_one_in_doubt_included(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal = await crashed_turn()
    first = await Executor(registry, journal=journal, deterministic=True).run(CALLS, turn_id="t")
    events = Events()
    t0 = trio.current_time()
    again = await Executor(registry, journal=journal, deterministic=True, instruments=[events]).run(CALLS, turn_id="t")
    assert list(again) == list(first) and again.replayed == ("a", "w", "k")
    assert events.lines(t0) == [
        ("TurnStarted", None, 0.0, True),
        ("CallFinished", "a", 0.0, Status.OK, True),
        ("CallFinished", "w", 0.0, Status.IN_DOUBT, True),
        ("CallFinished", "k", 0.0, Status.OK, True),
        ("WaveStarted", None, 0.0),
        ("WaveEnded", None, 0.0),
        ("TurnEnded", None, 0.0),
    ]


async def test_a_turn_that_does_not_resume_marks_nothing_replayed(autojump_clock: trio.testing.MockClock) -> None:
    for journal in (None, MemoryJournal()):
        events = Events()
        await Executor(registry, journal=journal, deterministic=True, instruments=[events]).run(CALLS)
        (started,) = [e for e in events.events if isinstance(e, TurnStarted)]
        assert started.resumed is False
        assert [(e.call_id, e.replayed) for e in events.finished()] == [("a", False), ("w", False), ("k", False)]
        assert [e.call_id for e in events.events if isinstance(e, CallStarted)] == ["a", "w", "k"]
