"""Durable turns through `Executor.stream`: a crash and a resume, the outcomes streamed as they are decided.

An outcome is streamed only once its record is durable; a resume streams
the recorded outcomes first, as the journal holds them. Open turns are not
journaled: an executor with a journal refuses to open one, saying what to
do instead. Times are exact, on a MockClock.
"""

from __future__ import annotations

import pytest
import trio
import trio.testing
from resumed_turn import CALLS, registry

from trio_toolpar import Executor, Status, ToolCall, TurnResult, TurnStateError
from trio_toolpar.journal import TurnMismatch
from trio_toolpar.testing import MemoryJournal, SimulatedCrash


async def streamed(
    executor: Executor, calls: list[ToolCall], turn_id: str, seen: list[tuple[str, Status, float]]
) -> TurnResult:
    """Stream the turn, noting each outcome as (call id, status, seconds since the stream began)."""
    t0 = trio.current_time()
    async with executor.stream(calls, turn_id=turn_id) as outcomes:
        async for outcome in outcomes:
            seen.append((outcome.call_id, outcome.status, trio.current_time() - t0))
    return outcomes.turn.result


async def test_a_turn_crashed_and_resumed_through_stream_streams_the_recorded_outcomes_first(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal = MemoryJournal(crash_after=3)  # begin; the starts of w and k; a's outcome at 1 s; then the crash
    before: list[tuple[str, Status, float]] = []
    with pytest.raises(SimulatedCrash):
        await streamed(Executor(registry, journal=journal, deterministic=True), CALLS, "t", before)
    # Streamed once recorded, at 1 s, while w and k ran; what the crash unwinds is never recorded.
    assert before[0] == ("a", Status.OK, 1.0) and all(t == 3.0 for _, _, t in before[1:])
    journal.recover()
    seen: list[tuple[str, Status, float]] = []
    result = await streamed(Executor(registry, journal=journal, deterministic=True), CALLS, "t", seen)
    assert seen == [("a", Status.OK, 0.0), ("w", Status.IN_DOUBT, 0.0), ("k", Status.OK, 3.0)]
    assert (result.turn_id, result.resumed, result.replayed) == ("t", True, ("a",))
    # Once finished, the turn streams as recorded: every outcome at once, the same outcomes.
    again: list[tuple[str, Status, float]] = []
    replayed = await streamed(Executor(registry, journal=journal, deterministic=True), CALLS, "t", again)
    assert again == [("a", Status.OK, 0.0), ("w", Status.IN_DOUBT, 0.0), ("k", Status.OK, 0.0)]
    assert list(replayed) == list(result) and replayed.replayed == ("a", "w", "k")


async def test_a_stream_of_a_recorded_turn_with_other_calls_raises_turn_mismatch(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal = MemoryJournal()
    executor = Executor(registry, journal=journal, deterministic=True)
    await executor.run(CALLS, turn_id="t")
    seen: list[tuple[str, Status, float]] = []
    with pytest.raises(TurnMismatch, match="call 1 has arguments"):
        await streamed(executor, [ToolCall(id="a", tool="read", arguments={"id": "b"})], "t", seen)
    assert seen == []


async def test_an_executor_with_a_journal_refuses_an_open_turn_saying_what_to_do() -> None:
    executor = Executor(registry, journal=MemoryJournal())
    with pytest.raises(TurnStateError, match=r"open turns are not journaled") as info:
        async with executor.open_turn():
            pass  # pragma: no cover - refused before the block runs
    message = str(info.value)
    assert "executor.run(calls, turn_id=...)" in message
    assert "executor.stream(calls, turn_id=...)" in message
    assert "executor without a journal" in message
