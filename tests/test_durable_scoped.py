"""Scoped fail-fast on durable turns: a failure stops what it reaches when it is decided, not once recorded.

A journaled turn holds each outcome until its record is durable
(docs/durable.md); the calls a failure stops are stopped at the failure's
own instant all the same (docs/semantics.md, "Scoped fail-fast"), and
announced after it. Times are exact, on a MockClock; `MemoryJournal(latency=1.0)`
makes each write take a second, so what waited for a record shows.
"""

from __future__ import annotations

import pytest
import trio
import trio.testing

from trio_toolpar import BestEffort, ErrorCode, Executor, FailFast, Registry, Status, ToolCall
from trio_toolpar.testing import MemoryJournal, SimulatedCrash


def tools() -> Registry:
    registry = Registry()

    @registry.tool(side_effect="read", resource="db")
    async def query(seconds: float, fail: bool = False) -> str:
        await trio.sleep(seconds)
        if fail:
            raise RuntimeError("db query failed")
        return "rows"

    @registry.tool(resource="db")  # unannotated: not retry-safe
    async def update(seconds: float) -> str:
        await trio.sleep(seconds)
        return "updated"

    return registry


def query(call_id: str, seconds: float, *, fail: bool = False, after: str | None = None) -> ToolCall:
    arguments: dict[str, object] = {"seconds": seconds, "fail": fail}
    return ToolCall(id=call_id, tool="query", arguments=arguments, after=(after,) if after else ())


async def test_a_failure_stops_its_resource_at_its_own_instant_and_is_announced_first(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal = MemoryJournal(latency=1.0)
    executor = Executor(tools(), journal=journal, policy=FailFast(scope="resource"), deterministic=True)
    calls = [query("bad", 1.0, fail=True), query("slow", 5.0), query("later", 1.0, after="slow")]
    seen: list[str] = []
    async with executor.stream(calls) as outcomes:
        async for outcome in outcomes:
            seen.append(outcome.call_id)
    result = outcomes.turn.result
    bad, slow, later = result["bad"], result["slow"], result["later"]
    assert bad.status is Status.ERROR
    assert (slow.status, slow.error_code) == (Status.CANCELLED, ErrorCode.SIBLING_FAILED)
    assert (later.status, later.error_code) == (Status.SKIPPED, ErrorCode.SIBLING_FAILED)
    assert "call 'bad' failed" in (slow.error or "") and "call 'bad' failed" in (later.error or "")
    # Stopped when the failure was decided, not a write later when its record was durable.
    assert slow.finished_at == bad.finished_at == result.started_at + 1.0
    assert result.finished_at == bad.finished_at + 1.0  # the one write of their records
    assert seen == ["bad", "slow", "later"]
    log = await journal.load(result.turn_id)
    assert log is not None and set(log.finished) == {"bad", "slow", "later"}
    again = await executor.run(calls, turn_id=result.turn_id)
    assert list(again) == list(result) and again.replayed == ("bad", "slow", "later")


async def test_a_resume_keeps_a_call_in_doubt_that_a_recorded_failure_s_scope_would_reach(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Writes: begin; the Started records of both calls; bad's Finished at t=1; upd's Finished: the crash.
    journal = MemoryJournal(crash_after=3)
    calls = [ToolCall(id="upd", tool="update", arguments={"seconds": 5.0}), query("bad", 1.0, fail=True)]
    with pytest.raises((SimulatedCrash, BaseExceptionGroup)):
        await Executor(tools(), journal=journal, policy=BestEffort(), deterministic=True).run(calls, turn_id="t")
    journal.recover()
    # Resumed under a policy whose scope reaches upd: it may have taken effect, so it stays in doubt.
    executor = Executor(tools(), journal=journal, policy=FailFast(scope="resource"), deterministic=True)
    result = await executor.run(calls, turn_id="t")
    assert (result["upd"].status, result["upd"].error_code) == (Status.IN_DOUBT, ErrorCode.IN_DOUBT)
    assert result["bad"].status is Status.ERROR and result.replayed == ("bad",)
