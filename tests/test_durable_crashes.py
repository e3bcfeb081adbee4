"""Invariant 10 as a Hypothesis property: random turns crashed at any journal write, resumed, maybe crashed again.

`MemoryJournal(crash_after=k)` lets k more writes through and then fails
every write with `SimulatedCrash`, so the store holds exactly what was
committed before the "process" died; the next run of the turn id resumes it.
"""

from __future__ import annotations

import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from trio_toolpar import Status, TurnResult
from trio_toolpar._journal._outcomes import decode_outcome
from trio_toolpar.testing import MemoryJournal, Recorder, SimulatedCrash, TurnSpec, turns


async def run_or_crash(turn: TurnSpec, recorder: Recorder, journal: MemoryJournal) -> TurnResult | None:
    """Run the turn (id ``"t"``) until it ends, or until the journal crashes (then ``None``)."""
    try:
        return await turn.executor(recorder, journal=journal).run(turn.tool_calls(), turn_id="t", races=turn.races)
    except SimulatedCrash:
        return None
    except BaseExceptionGroup as group:
        rest = group.split((SimulatedCrash, trio.Cancelled))[1]
    if rest is not None:
        raise rest
    return None


@given(
    turn=turns(max_calls=8, races=True, gates=True),
    crashes=st.lists(st.integers(min_value=0, max_value=6), min_size=1, max_size=3),
)
async def test_10_across_crashes_and_resumes_one_outcome_per_call_and_no_write_twice(
    turn: TurnSpec, crashes: list[int], autojump_clock: trio.testing.MockClock
) -> None:
    recorder = Recorder()
    journal = MemoryJournal()
    retry_safe = {c.id: turn.executor(recorder).registry[c.tool].retry_safe for c in turn.calls}
    left_in_doubt: set[str] = set()
    for k in crashes:
        journal.crash_after = journal.writes + k
        await run_or_crash(turn, recorder, journal)
        log = await journal.load("t")
        if log is not None:  # started, never finished, not retry-safe: the resume must say in_doubt
            left_in_doubt |= {c for c in log.started if c not in log.finished and not retry_safe[c]}
    journal.recover()
    result = await run_or_crash(turn, recorder, journal)
    assert result is not None

    assert [o.call_id for o in result] == [c.id for c in turn.calls]  # one outcome per call, in order
    for call_id, safe in retry_safe.items():
        if not safe:
            assert sum(i.call_id == call_id for i in recorder.intervals) <= 1, call_id
    log = await journal.load("t")
    assert log is not None
    for call_id, finished in log.finished.items():  # the first record of each call is what it ends with
        assert result[call_id] == decode_outcome(finished.outcome), call_id
    assert set(log.finished) == {c.id for c in turn.calls}
    for call_id in left_in_doubt:
        assert result[call_id].status is Status.IN_DOUBT, call_id
