"""Example scenarios with exact virtual times (MockClock, autojump)."""

from __future__ import annotations

import pytest
import trio
import trio.testing
from conftest import toolpar_tasks
from helpers import Log, sleeper

from trio_toolpar import ErrorCode, Executor, FailFast, Registry, Status, ToolCall, TurnStateError


def call(cid: str, tool: str = "read", **arguments: object) -> ToolCall:
    return ToolCall(id=cid, tool=tool, arguments={"tag": cid, **arguments})


async def test_eight_independent_reads_take_the_slowest_not_the_sum(autojump_clock: trio.testing.MockClock) -> None:
    registry, log = Registry(), Log()
    sleeper(registry, log, "read")
    latencies = [5.0, 6.0, 7.0, 5.5, 6.5, 5.0, 6.0, 7.0]
    result = await Executor(registry).run([call(f"r{i}", seconds=s) for i, s in enumerate(latencies)])
    assert result.ok
    assert result.elapsed == 7.0
    assert sum(latencies) == 48.0
    assert [o.latency_ms for o in result] == [s * 1000 for s in latencies]


async def test_twelve_calls_capped_at_three_take_exactly_four_seconds(autojump_clock: trio.testing.MockClock) -> None:
    registry, log = Registry(), Log()
    sleeper(registry, log, "read", resource="jira")
    executor = Executor(registry, limits={"jira": 3})
    result = await executor.run([call(f"c{i}", seconds=1.0) for i in range(12)])
    assert result.elapsed == 4.0
    starts = [o.started_at - result.started_at for o in result if o.started_at is not None]
    assert starts == [0.0] * 3 + [1.0] * 3 + [2.0] * 3 + [3.0] * 3  # granted in emission order


async def test_priority_decides_who_gets_capacity_first(autojump_clock: trio.testing.MockClock) -> None:
    registry, log = Registry(), Log()
    sleeper(registry, log, "read", resource="jira")
    calls = [
        ToolCall(id=f"c{i}", tool="read", arguments={"tag": f"c{i}", "seconds": 1}, priority=p)
        for i, p in enumerate([0, 5, 1, 5])
    ]
    result = await Executor(registry, limits={"jira": 1}).run(calls)
    order = sorted(result, key=lambda o: o.started_at or 0.0)
    assert [o.call_id for o in order] == ["c1", "c3", "c2", "c0"]


async def test_a_write_waits_for_earlier_reads_of_its_key(autojump_clock: trio.testing.MockClock) -> None:
    registry, log = Registry(), Log()
    sleeper(registry, log, "get_order", key="order:{k}")
    sleeper(registry, log, "refund", side_effect="write", key="order:{k}")
    result = await Executor(registry, schedule="eager").run(
        [
            ToolCall(id="r1", tool="get_order", arguments={"tag": "r1", "seconds": 2, "k": "1"}),
            ToolCall(id="r2", tool="get_order", arguments={"tag": "r2", "seconds": 3, "k": "1"}),
            ToolCall(id="other", tool="get_order", arguments={"tag": "other", "seconds": 1, "k": "2"}),
            ToolCall(id="w", tool="refund", arguments={"tag": "w", "seconds": 1, "k": "1"}),
            ToolCall(id="r3", tool="get_order", arguments={"tag": "r3", "seconds": 1, "k": "1"}),
        ]
    )
    t0 = result.started_at
    starts = {o.call_id: (o.started_at or 0.0) - t0 for o in result}
    assert starts == {"r1": 0.0, "r2": 0.0, "other": 0.0, "w": 3.0, "r3": 4.0}
    assert result.elapsed == 5.0


async def test_two_writes_to_one_key_never_overlap_and_keep_emission_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry, log = Registry(), Log()
    sleeper(registry, log, "update", side_effect="write", key="ticket:{k}")
    calls = [
        ToolCall(id="w1", tool="update", arguments={"tag": "w1", "seconds": 2, "k": "7"}),
        ToolCall(id="w2", tool="update", arguments={"tag": "w2", "seconds": 1, "k": "7"}, priority=9),
    ]
    result = await Executor(registry, schedule="eager").run(calls)
    ends, starts = log.times("end"), log.times("start")
    assert starts["w2"] == ends["w1"] == result.started_at + 2.0
    assert result.elapsed == 3.0


async def test_a_keyless_write_is_ordered_against_every_call_of_its_tool(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry, log = Registry(), Log()
    sleeper(registry, log, "post", side_effect="write")
    result = await Executor(registry, schedule="eager").run([call(f"p{i}", "post", seconds=1) for i in range(3)])
    assert result.elapsed == 3.0


async def test_fail_fast_cancels_a_running_sibling_at_the_instant_of_the_failure(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry, log = Registry(), Log()
    sleeper(registry, log, "read")
    executor = Executor(registry, policy=FailFast(), schedule="eager")
    result = await executor.run(
        [
            call("slow", seconds=10),
            call("bad", seconds=1, fail=True),
            call("later", seconds=1, value="$slow"),
        ]
    )
    t0 = result.started_at
    slow, bad, later = result
    assert (bad.status, bad.error_code, bad.finished_at) == (Status.ERROR, ErrorCode.TOOL_ERROR, t0 + 1)
    assert (slow.status, slow.error_code, slow.finished_at) == (Status.CANCELLED, ErrorCode.SIBLING_FAILED, t0 + 1)
    assert (later.status, later.error_code) == (Status.SKIPPED, ErrorCode.SIBLING_FAILED)
    assert log.times("finally")["slow"] == t0 + 1  # its finally ran, at that instant
    assert "slow" not in log.times("end")
    assert result.elapsed == 1.0


async def test_best_effort_lets_siblings_finish(autojump_clock: trio.testing.MockClock) -> None:
    registry, log = Registry(), Log()
    sleeper(registry, log, "read")
    result = await Executor(registry).run([call("slow", seconds=10), call("bad", seconds=1, fail=True)])
    assert [o.status for o in result] == [Status.OK, Status.ERROR]
    assert result.elapsed == 10.0


async def test_budget_expiry_decides_everything_unfinished_at_exactly_the_deadline(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry, log = Registry(), Log()
    sleeper(registry, log, "read")
    executor = Executor(registry, budget=3.0)
    result = await executor.run(
        [
            call("quick", seconds=1),
            call("long", seconds=5),
            call("after", seconds=1, value="$long"),
            call("exact", seconds=3),
        ]
    )
    deadline = result.started_at + 3.0
    quick, long, after, exact = result
    assert quick.ok
    assert (long.status, long.error_code, long.finished_at) == (Status.CANCELLED, ErrorCode.BUDGET_EXCEEDED, deadline)
    assert (after.status, after.error_code, after.finished_at) == (Status.SKIPPED, ErrorCode.BUDGET_EXCEEDED, deadline)
    # A call that would return exactly at the deadline has not returned before it.
    assert (exact.status, exact.error_code) == (Status.CANCELLED, ErrorCode.BUDGET_EXCEEDED)
    assert log.times("finally")["long"] == deadline
    assert result.finished_at == deadline


async def test_outer_cancellation_propagates_leaves_nothing_running_and_keeps_partial_outcomes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry, log = Registry(), Log()
    sleeper(registry, log, "read", resource="r")
    executor = Executor(registry, limits={"r": 1}, schedule="eager")
    turn = executor.turn([call("a", seconds=1), call("b", seconds=5), call("c", seconds=1)])
    start = trio.current_time()
    caught: list[BaseException] = []
    with trio.move_on_after(2) as scope:
        try:
            await turn.run()
        except trio.Cancelled as exc:  # as itself, not wrapped in a group
            caught.append(exc)
            raise
    assert scope.cancelled_caught
    assert len(caught) == 1
    assert toolpar_tasks() == []
    a, b, c = turn.result
    assert a.ok
    assert a.finished_at == start + 1
    assert (b.status, b.error_code, b.finished_at) == (Status.CANCELLED, ErrorCode.CANCELLED, start + 2)
    assert (c.status, c.error_code) == (Status.SKIPPED, ErrorCode.CANCELLED)
    assert log.times("finally")["b"] == start + 2


async def test_turn_cancel_stops_a_running_turn(autojump_clock: trio.testing.MockClock) -> None:
    registry, log = Registry(), Log()
    sleeper(registry, log, "read")
    turn = Executor(registry).turn([call("a", seconds=1), call("b", seconds=5)])
    async with trio.open_nursery() as nursery:
        nursery.start_soon(turn.run)
        await trio.sleep(2)
        turn.cancel()
    a, b = turn.result
    assert a.ok
    assert (b.status, b.error_code) == (Status.CANCELLED, ErrorCode.CANCELLED)


async def test_waves_wait_for_the_whole_previous_wave_but_eager_does_not(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry, log = Registry(), Log()
    sleeper(registry, log, "read")
    calls = [call("a", seconds=1), call("b", seconds=5), call("c", seconds=1, value="$a")]
    waves = await Executor(registry, schedule="waves").run(calls)
    eager = await Executor(registry, schedule="eager").run(calls)
    assert (waves.elapsed, eager.elapsed) == (6.0, 5.0)
    assert [o.wave for o in waves] == [0, 0, 1]
    assert waves["c"].value == eager["c"].value == {"tag": "c", "value": {"tag": "a", "value": None}}


async def test_a_tool_returning_at_the_instant_a_sibling_fails_is_ok(autojump_clock: trio.testing.MockClock) -> None:
    registry, log = Registry(), Log()
    sleeper(registry, log, "read")
    result = await Executor(registry, policy=FailFast()).run(
        [
            call("bad", seconds=1, fail=True),
            call("same", seconds=1),
            call("zero", seconds=0),
        ]
    )
    assert [o.status for o in result] == [Status.ERROR, Status.OK, Status.OK]


async def test_a_turn_runs_once_and_its_result_waits_for_the_run() -> None:
    registry, log = Registry(), Log()
    sleeper(registry, log, "read")
    turn = Executor(registry).turn([call("a", seconds=0)])
    with pytest.raises(TurnStateError, match=r"await turn\.run"):
        turn.result  # noqa: B018
    await turn.run()
    assert turn.done
    with pytest.raises(TurnStateError, match="runs once"):
        await turn.run()
