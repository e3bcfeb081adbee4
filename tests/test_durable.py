"""Durable turns (docs/durable.md): each test is named after the sentence of the contract it checks.

Times are exact, on a MockClock; `MemoryJournal(latency=...)` makes every
write take that long, so what waits for a write shows in the times.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager

import pytest
import trio
import trio.testing

from trio_toolpar import (
    Approval,
    CallContext,
    ErrorCode,
    Executor,
    Registry,
    Status,
    Tool,
    ToolCall,
    TurnResult,
    TurnStateError,
)
from trio_toolpar.abc import Journal
from trio_toolpar.journal import Decision, JournalCall, Record, Started, TurnBusy, TurnLog, TurnMismatch
from trio_toolpar.testing import MemoryJournal, SimulatedCrash


class Tools:
    """A registry whose tools note when each call starts (``starts``), on Trio's clock."""

    def __init__(self) -> None:
        self.registry = Registry()
        self.starts: dict[str, list[float]] = {}
        self.keys: dict[str, list[str]] = {}

        @self.registry.tool(side_effect="read")
        async def read(id: str, seconds: float = 1.0, value: object = None) -> dict[str, object]:
            self.starts.setdefault(id, []).append(trio.current_time())
            await trio.sleep(seconds)
            return {"id": id, "raw": b"\x00\xff", "pair": (1, 2)}

        @self.registry.tool()  # unannotated: not retry-safe
        async def write(id: str, seconds: float = 1.0, value: object = None) -> str:
            self.starts.setdefault(id, []).append(trio.current_time())
            await trio.sleep(seconds)
            return f"wrote {id}"

        @self.registry.tool(side_effect="write", idempotency_key=True)
        async def keyed_write(id: str, ctx: CallContext, seconds: float = 1.0, value: object = None) -> str:
            self.starts.setdefault(id, []).append(trio.current_time())
            self.keys.setdefault(id, []).append(ctx.idempotency_key)
            await trio.sleep(seconds)
            return f"wrote {id}"

        @self.registry.tool(side_effect="read")
        async def keyed_read(id: str, ctx: CallContext, seconds: float = 1.0) -> str:  # retry-safe, with a key
            self.starts.setdefault(id, []).append(trio.current_time())
            self.keys.setdefault(id, []).append(ctx.idempotency_key)
            await trio.sleep(seconds)
            return f"read {id}"

    def runs(self, call_id: str) -> int:
        return len(self.starts.get(call_id, []))


def call(call_id: str, tool: str, **arguments: object) -> ToolCall:
    return ToolCall(id=call_id, tool=tool, arguments={"id": call_id, **arguments})


async def crash(executor: Executor, calls: Sequence[ToolCall], turn_id: str) -> None:
    """Run until the journal crashes (the run must crash)."""
    with pytest.raises((SimulatedCrash, BaseExceptionGroup)) as info:
        await executor.run(calls, turn_id=turn_id)
    if isinstance(info.value, BaseExceptionGroup):
        assert info.value.split((SimulatedCrash, trio.Cancelled))[1] is None, info.value


# -- write-ahead ---------------------------------------------------------------------


async def test_a_call_that_is_not_retry_safe_starts_only_after_its_started_record_is_durable(
    autojump_clock: trio.testing.MockClock,
) -> None:
    tools = Tools()
    journal = MemoryJournal(latency=1.0)
    executor = Executor(tools.registry, journal=journal, deterministic=True)
    t0 = trio.current_time()
    await executor.run([call("r", "read"), call("w1", "write"), call("w2", "write", seconds=2.0)], turn_id="t")
    # begin takes 1 s; the read starts at once, the writes after their Started records' one write (1 s).
    assert tools.starts["r"] == [t0 + 1.0]
    assert tools.starts["w1"] == [t0 + 2.0]
    # w2 comes after w1 (a keyless write of the same tool): w1 runs 2..3, its Finished 3..4, w2's Started 4..5.
    assert tools.starts["w2"] == [t0 + 5.0]


async def test_records_of_calls_that_start_at_one_instant_are_committed_together(
    autojump_clock: trio.testing.MockClock,
) -> None:
    tools = Tools()
    journal = MemoryJournal(latency=1.0)
    executor = Executor(tools.registry, journal=journal, deterministic=True)
    calls = [call("k1", "keyed_write"), call("k2", "keyed_read"), call("r", "read"), call("w", "write")]
    await executor.run(calls, turn_id="t")
    first = journal.appends[0][1]
    assert {r.call_id for r in first if isinstance(r, Started)} == {"k1", "k2", "w"}  # a read has none to write
    assert tools.starts["w"] == [tools.starts["k1"][0] + 1.0]  # one write for the three starts


async def test_a_retry_safe_call_that_finishes_before_its_start_is_written_is_recorded_by_its_outcome_alone(
    autojump_clock: trio.testing.MockClock,
) -> None:
    tools = Tools()
    journal = MemoryJournal(latency=1.0)
    executor = Executor(tools.registry, journal=journal, deterministic=True)
    # fast and fast2 finish at the instant they start; slow's start is written while it runs.
    calls = [
        call("fast", "keyed_read", seconds=0.0),
        call("fast2", "keyed_read", seconds=0.0),
        call("slow", "keyed_read", seconds=5.0),
    ]
    first = await executor.run(calls, turn_id="t")
    written = [{(type(r).__name__, r.call_id) for r in records} for _, records in journal.appends]
    assert written == [{("Finished", "fast"), ("Finished", "fast2"), ("Started", "slow")}, {("Finished", "slow")}]
    log = await journal.load("t")
    assert log is not None and set(log.started) == {"slow"} and set(log.finished) == {"fast", "fast2", "slow"}
    again = await executor.run(calls, turn_id="t")
    assert list(again) == list(first) and again.replayed == ("fast", "fast2", "slow")
    assert tools.runs("fast") == tools.runs("slow") == 1


async def test_a_retry_safe_call_without_an_idempotency_key_writes_no_start_and_runs_again_after_a_crash(
    autojump_clock: trio.testing.MockClock,
) -> None:
    tools = Tools()
    journal = MemoryJournal(crash_after=2)  # begin, then the starts of k and w: the outcomes' write crashes
    calls = [call("r", "read"), call("k", "keyed_read"), call("w", "write")]
    executor = Executor(tools.registry, journal=journal, deterministic=True)
    await crash(executor, calls, "t")
    assert [{f"{type(r).__name__} {r.call_id}" for r in records} for _, records in journal.appends] == [
        {"Started k", "Started w"}
    ]
    journal.recover()
    result = await executor.run(calls, turn_id="t")
    assert result["r"].ok and result["k"].ok and result["w"].status is Status.IN_DOUBT
    assert tools.runs("r") == tools.runs("k") == 2  # r as if it never started; k under the key it had
    assert tools.keys["k"][0] == tools.keys["k"][1]


async def test_an_outcome_is_reported_only_after_its_finished_record_is_durable(
    autojump_clock: trio.testing.MockClock,
) -> None:
    tools = Tools()
    journal = MemoryJournal(latency=1.0)
    executor = Executor(tools.registry, journal=journal, deterministic=True)
    seen: dict[str, float] = {}
    t0 = trio.current_time()
    async with executor.stream([call("r", "read", seconds=3.0), call("d", "read", value="$r.id")]) as outcomes:
        async for outcome in outcomes:
            seen[outcome.call_id] = trio.current_time() - t0
    # r: begin 1 s, runs 1..4, its Finished (with its Started) 4..5; its dependent starts then, no wait (a read).
    assert seen["r"] == 5.0
    assert tools.starts["d"] == [t0 + 5.0]
    assert seen["d"] == 5.0 + 1.0 + 1.0


async def test_calls_decided_without_running_are_recorded_too(autojump_clock: trio.testing.MockClock) -> None:
    tools = Tools()
    journal = MemoryJournal()
    executor = Executor(tools.registry, journal=journal, deterministic=True)
    calls = [call("bad", "nope"), call("dep", "read", value="$bad"), call("ok", "read")]
    await executor.run(calls, turn_id="t")
    log = await journal.load("t")
    assert log is not None and set(log.finished) == {"bad", "dep", "ok"}


async def test_without_a_turn_id_one_is_generated_and_is_on_the_result(autojump_clock: trio.testing.MockClock) -> None:
    tools = Tools()
    journal = MemoryJournal()
    executor = Executor(tools.registry, journal=journal)
    first = await executor.run([call("r", "read")])
    second = await executor.run([call("r", "read")])
    assert first.turn_id and second.turn_id and first.turn_id != second.turn_id
    assert await journal.load(first.turn_id) is not None
    assert tools.runs("r") == 2


# -- resume ---------------------------------------------------------------------------


async def test_finished_calls_return_their_recorded_outcomes(autojump_clock: trio.testing.MockClock) -> None:
    tools = Tools()
    journal = MemoryJournal()
    calls = [call("r", "read"), call("w", "write", value="$r.raw")]
    first = await Executor(tools.registry, journal=journal).run(calls, turn_id="t")
    again = await Executor(tools.registry, journal=journal).run(calls, turn_id="t")  # another "process"
    assert list(again) == list(first)
    assert again[0].value == {"id": "r", "raw": b"\x00\xff", "pair": (1, 2)}
    assert again.resumed and again.replayed == ("r", "w") and not first.resumed
    assert tools.runs("r") == tools.runs("w") == 1


async def test_references_resolve_from_the_recorded_values_and_calls_that_never_started_run(
    autojump_clock: trio.testing.MockClock,
) -> None:
    tools = Tools()
    journal = MemoryJournal(crash_after=2)  # begin, then r's Started and Finished: d's Started crashes
    calls = [call("r", "read"), call("w", "keyed_write", value="$r.id"), call("d", "write", value="$r.pair")]
    executor = Executor(tools.registry, journal=journal, deterministic=True)
    await crash(executor, calls, "t")
    assert tools.runs("r") == 1 and tools.runs("d") == 0
    journal.recover()
    result = await executor.run(calls, turn_id="t")
    assert [o.status for o in result] == [Status.OK] * 3
    assert result.replayed == ("r",)
    assert tools.runs("r") == 1 and tools.runs("d") == 1


async def test_retry_safe_calls_in_flight_run_again_with_the_same_idempotency_key_and_others_end_in_doubt(
    autojump_clock: trio.testing.MockClock,
) -> None:
    tools = Tools()
    # Writes: begin; the Started records of k and w (one group); w's Finished: the crash.
    journal = MemoryJournal(crash_after=2)
    calls = [
        call("k", "keyed_write", seconds=5.0),
        call("w", "write"),
        call("after_w", "read", value="$w"),
        call("free", "read", seconds=9.0),
    ]
    executor = Executor(tools.registry, journal=journal, deterministic=True)
    await crash(executor, calls, "t")
    assert tools.runs("k") == tools.runs("w") == 1
    journal.recover()
    result = await executor.run(calls, turn_id="t")
    assert tools.runs("k") == 2 and tools.keys["k"][0] == tools.keys["k"][1]
    assert tools.runs("w") == 1
    assert (result["w"].status, result["w"].error_code) == (Status.IN_DOUBT, ErrorCode.IN_DOUBT)
    assert "may or may not have taken effect" in (result["w"].error or "")
    assert "do not simply repeat it" in (result["w"].error or "")
    assert (result["after_w"].status, result["after_w"].error_code) == (Status.SKIPPED, ErrorCode.DEPENDENCY_IN_DOUBT)
    assert result["k"].ok and result["free"].ok
    # The in_doubt outcome is recorded: a later resume returns it as it was.
    assert list(await executor.run(calls, turn_id="t")) == list(result)
    assert tools.runs("w") == 1


async def test_a_tool_s_reconcile_turns_in_doubt_into_the_real_outcome(autojump_clock: trio.testing.MockClock) -> None:
    asked: list[tuple[str, str | None]] = []

    async def reconcile(call: ToolCall, key: str | None) -> str:
        asked.append((call.id, key))
        return "found at the vendor"

    async def charge(id: str, ctx: CallContext) -> str:
        await trio.sleep(1)
        return "charged"

    async def lookup_fails(call: ToolCall, key: str | None) -> str:
        raise ConnectionError("vendor down")

    async def refund(id: str) -> str:
        await trio.sleep(1)
        return "refunded"

    registry = Registry()
    registry.add(charge, reconcile=reconcile)
    registry.add(refund, reconcile=lookup_fails)
    journal = MemoryJournal(crash_after=2)
    calls = [call("c", "charge"), call("r", "refund")]
    executor = Executor(registry, journal=journal, deterministic=True)
    await crash(executor, calls, "t")
    journal.recover()
    result = await executor.run(calls, turn_id="t")
    assert (result["c"].status, result["c"].value) == (Status.OK, "found at the vendor")
    assert asked and asked[0][0] == "c" and asked[0][1] is not None
    assert result["r"].status is Status.IN_DOUBT
    assert "vendor down" in (result["r"].error or "")


async def test_a_resumed_turn_with_other_calls_is_refused_naming_the_first_difference(
    autojump_clock: trio.testing.MockClock,
) -> None:
    tools = Tools()
    executor = Executor(tools.registry, journal=MemoryJournal())
    await executor.run([call("a", "read"), call("b", "write")], turn_id="t")
    with pytest.raises(TurnMismatch, match=r"call 2 has tool 'read', the journal 'write'"):
        await executor.run([call("a", "read"), call("b", "read")], turn_id="t")
    with pytest.raises(TurnMismatch, match="recorded with 2 calls and is run with 1"):
        await executor.run([call("a", "read")], turn_id="t")
    assert tools.runs("b") == 1


async def test_two_runs_of_one_turn_at_once_the_second_gets_turn_busy(autojump_clock: trio.testing.MockClock) -> None:
    tools = Tools()
    journal = MemoryJournal()
    calls = [call("w", "write", seconds=5.0)]
    results: list[TurnResult] = []

    async def first() -> None:
        results.append(await Executor(tools.registry, journal=journal).run(calls, turn_id="t"))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(first)
        await trio.sleep(1)
        with pytest.raises(TurnBusy):
            await Executor(tools.registry, journal=journal).run(calls, turn_id="t")
    assert results[0].ok and tools.runs("w") == 1


async def test_a_turn_cancelled_by_its_caller_is_resumed_like_a_crash(autojump_clock: trio.testing.MockClock) -> None:
    tools = Tools()
    journal = MemoryJournal()
    calls = [call("r", "read"), call("w", "write", seconds=5.0), call("later", "read", value="$w")]
    executor = Executor(tools.registry, journal=journal, deterministic=True)
    with trio.move_on_after(3):
        await executor.run(calls, turn_id="t")
    result = await executor.run(calls, turn_id="t")
    assert result.replayed == ("r",)
    assert result["w"].status is Status.IN_DOUBT
    assert result["later"].error_code is ErrorCode.DEPENDENCY_IN_DOUBT
    assert tools.runs("w") == 1


# -- what a store failure does -------------------------------------------------------------


class FailingJournal:
    """A `MemoryJournal` whose appends fail with ``OSError`` once ``broken`` is set."""

    def __init__(self) -> None:
        self.inner = MemoryJournal()
        self.broken = False

    def claim(self, turn_id: str) -> AbstractAsyncContextManager[None]:
        return self.inner.claim(turn_id)

    async def load(self, turn_id: str) -> TurnLog | None:
        return await self.inner.load(turn_id)

    async def begin(self, turn_id: str, calls: Sequence[JournalCall]) -> None:
        await self.inner.begin(turn_id, calls)

    async def append(self, turn_id: str, records: Sequence[Record]) -> None:
        if self.broken:
            raise OSError("store unreachable")
        await self.inner.append(turn_id, records)

    async def decide(self, turn_id: str, decision: Decision) -> None:
        await self.inner.decide(turn_id, decision)


async def test_a_call_that_is_not_retry_safe_does_not_start_if_its_start_cannot_be_recorded(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    tools = Tools()
    journal = FailingJournal()
    assert isinstance(journal, Journal)
    journal.broken = True
    with caplog.at_level(logging.WARNING, logger="trio_toolpar"):
        result = await Executor(tools.registry, journal=journal).run([call("w", "write"), call("r", "read")])
    assert (result["w"].status, result["w"].error_code) == (Status.ERROR, ErrorCode.JOURNAL_UNAVAILABLE)
    assert "store unreachable" in (result["w"].error or "") and result["w"].started_at is None
    assert tools.runs("w") == 0
    # An outcome whose record cannot be written is reported all the same, and the failure logged once.
    assert result["r"].ok and tools.runs("r") == 1
    assert len([r for r in caplog.records if "could not record" in r.getMessage()]) == 1


# -- suspension ---------------------------------------------------------------------------


async def test_a_turn_whose_approver_defers_suspends_and_resumes_with_the_recorded_decisions(
    autojump_clock: trio.testing.MockClock,
) -> None:
    tools = Tools()
    asked: list[str] = []

    async def defer(call: ToolCall, tool: Tool) -> Approval:
        asked.append(call.id)
        return Approval.defer("a person must look")

    async def gated(id: str) -> str:
        tools.starts.setdefault(id, []).append(trio.current_time())
        return f"did {id}"

    tools.registry.add(gated, side_effect="write", key="item:{id}", approval=True)
    journal = MemoryJournal()
    calls = [
        call("r1", "read"),
        call("r2", "read"),
        call("r3", "read"),
        call("g1", "gated"),
        call("g2", "gated"),
        call("after_g2", "read", value="$g2"),
    ]
    result = await Executor(tools.registry, journal=journal, approve=defer).run(calls, turn_id="t")
    assert result.awaiting == ("g1", "g2")
    assert [o.status for o in result][:3] == [Status.OK] * 3
    assert result["g1"].error_code is ErrorCode.AWAITING_APPROVAL
    assert result["after_g2"].error_code is ErrorCode.DEPENDENCY_AWAITING
    assert tools.runs("g1") == tools.runs("g2") == 0

    other = Executor(tools.registry, journal=journal)  # another process, with no approver at all
    await other.decide("t", "g1", approved=True)
    await other.decide("t", "g2", approved=False, reason="too risky")
    with pytest.raises(KeyError):
        await other.decide("t", "nope", approved=True)

    resumed = await Executor(tools.registry, journal=journal, approve=defer).run(calls, turn_id="t")
    assert resumed.awaiting == ()
    assert resumed["g1"].ok and tools.runs("g1") == 1
    assert (resumed["g2"].status, resumed["g2"].error_code) == (Status.REJECTED, ErrorCode.NOT_APPROVED)
    assert "too risky" in (resumed["g2"].error or "")
    assert resumed["after_g2"].error_code is ErrorCode.DEPENDENCY_FAILED
    assert resumed.replayed == ("r1", "r2", "r3")
    assert [tools.runs(c) for c in ("r1", "r2", "r3")] == [1, 1, 1]
    assert sorted(asked) == ["g1", "g2"]  # a resume asks the recorded decision, not the approver


async def test_a_call_after_a_waiting_call_on_its_key_waits_too(autojump_clock: trio.testing.MockClock) -> None:
    registry = Registry()

    async def change(id: str, order: str) -> str:
        return id

    registry.add(change, name="gated_change", side_effect="write", key="order:{order}", approval=True)
    registry.add(change, name="change", side_effect="write", key="order:{order}")

    async def defer(call: ToolCall, tool: Tool) -> Approval:
        return Approval.defer()

    calls = [call("first", "gated_change", order="1"), call("second", "change", order="1")]
    result = await Executor(registry, journal=MemoryJournal(), approve=defer).run(calls)
    assert result["second"].error_code is ErrorCode.DEPENDENCY_AWAITING


async def test_without_a_journal_a_deferred_call_is_rejected(autojump_clock: trio.testing.MockClock) -> None:
    tools = Tools()

    async def defer(call: ToolCall, tool: Tool) -> Approval:
        return Approval.defer()

    tools.registry.add(tools.registry["write"].fn, name="gated", approval=defer)
    result = await Executor(tools.registry).run([call("g", "gated")])
    assert (result["g"].status, result["g"].error_code) == (Status.REJECTED, ErrorCode.NOT_APPROVED)
    assert "without a journal" in (result["g"].error or "")
    with pytest.raises(TurnStateError, match="journal"):
        await Executor(tools.registry).decide("t", "g", approved=True)
