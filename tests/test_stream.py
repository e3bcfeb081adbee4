"""Streaming outcomes, open turns, sync tools and BaseException propagation."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
import trio
import trio.testing
from conftest import toolpar_tasks
from helpers import Log, sleeper

from trio_toolpar import ErrorCode, Executor, FailFast, Registry, Status, ToolCall, Turn, TurnStateError


def reads(*latencies: float) -> list[ToolCall]:
    return [
        ToolCall(id=f"c{i}", tool="read", arguments={"tag": f"c{i}", "seconds": s}) for i, s in enumerate(latencies)
    ]


async def test_stream_yields_outcomes_as_they_are_decided(autojump_clock: trio.testing.MockClock) -> None:
    registry, log = Registry(), Log()
    sleeper(registry, log, "read")
    seen = []
    async with Executor(registry).stream([*reads(3, 1, 2), ToolCall(id="bad", tool="nope")]) as outcomes:
        async for outcome in outcomes:
            seen.append(
                (
                    outcome.call_id,
                    trio.current_time() - outcomes.turn.result.started_at
                    if outcomes.turn.done
                    else outcome.finished_at,
                )
            )
    order = [cid for cid, _ in seen]
    assert order == ["bad", "c1", "c2", "c0"]
    assert len(outcomes.turn.result) == 4


async def test_leaving_a_stream_early_cancels_the_rest(autojump_clock: trio.testing.MockClock) -> None:
    registry, log = Registry(), Log()
    sleeper(registry, log, "read")
    async with Executor(registry).stream(reads(1, 5, 6)) as outcomes:
        first = await outcomes.__anext__()
    assert first.call_id == "c0"
    result = outcomes.turn.result
    assert [(o.status, o.error_code) for o in result] == [
        (Status.OK, None),
        (Status.CANCELLED, ErrorCode.CANCELLED),
        (Status.CANCELLED, ErrorCode.CANCELLED),
    ]
    assert set(log.times("finally")) == {"c0", "c1", "c2"}
    assert toolpar_tasks() == []


async def test_an_exception_in_a_stream_body_propagates_as_itself(autojump_clock: trio.testing.MockClock) -> None:
    registry, log = Registry(), Log()
    sleeper(registry, log, "read")

    async def consume() -> None:
        async with Executor(registry).stream(reads(1, 5)) as outcomes:
            async for _ in outcomes:
                raise ValueError("consumer broke")

    with pytest.raises(ValueError, match="consumer broke"):
        await consume()
    assert toolpar_tasks() == []


async def test_open_turn_starts_calls_as_they_arrive(autojump_clock: trio.testing.MockClock) -> None:
    registry, log = Registry(), Log()
    sleeper(registry, log, "read")
    start = trio.current_time()
    async with Executor(registry).open_turn() as turn:
        for i in range(3):
            await trio.sleep(1)
            turn.submit(ToolCall(id=f"c{i}", tool="read", arguments={"tag": f"c{i}", "seconds": 2}))
        await trio.sleep(1)  # the stream ends at t=4
    assert trio.current_time() - start == 5.0
    assert [o.started_at - start for o in turn.result if o.started_at is not None] == [1.0, 2.0, 3.0]


async def test_open_turn_forward_references_wait_and_missing_ones_are_rejected(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry, log = Registry(), Log()
    sleeper(registry, log, "read")
    async with Executor(registry).open_turn() as turn:
        turn.submit(ToolCall(id="later", tool="read", arguments={"tag": "$first.tag", "seconds": 1}))
        turn.submit(ToolCall(id="ghost", tool="read", arguments={"tag": "$never", "seconds": 1}))
        await trio.sleep(2)
        turn.submit(ToolCall(id="first", tool="read", arguments={"tag": "one", "seconds": 1}))
        turn.submit(ToolCall(id="first", tool="read", arguments={"tag": "dup", "seconds": 1}))
        turn.submit(ToolCall(id="a", tool="read", arguments={"tag": "$b", "seconds": 1}))
        turn.submit(ToolCall(id="b", tool="read", arguments={"tag": "$a", "seconds": 1}))
    result = turn.result
    assert result["later"].value == {"tag": "one", "value": None}
    assert [(o.call_id, o.status, o.error_code) for o in result if not o.ok] == [
        ("ghost", Status.REJECTED, ErrorCode.BAD_REFERENCE),
        ("first", Status.REJECTED, ErrorCode.DUPLICATE_CALL_ID),
        ("a", Status.REJECTED, ErrorCode.DEPENDENCY_CYCLE),
        ("b", Status.REJECTED, ErrorCode.DEPENDENCY_CYCLE),
    ]
    assert result[3].call_id == "first"
    assert result["later"].wave == 1
    with pytest.raises(TurnStateError):
        turn.submit(ToolCall(id="z", tool="read", arguments={}))


async def test_a_call_an_open_turn_skips_for_its_failed_dependency_keeps_its_wave_as_in_a_batch(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry, log = Registry(), Log()
    sleeper(registry, log, "read")
    calls = [
        ToolCall(id="bad", tool="read", arguments={"tag": "bad", "seconds": 1, "fail": True}),
        ToolCall(id="uses", tool="read", arguments={"tag": "$bad.tag", "seconds": 1}),
    ]
    batch = await Executor(registry).run(calls)
    async with Executor(registry).open_turn() as turn:
        for call in calls:
            turn.submit(call)
    for result in (batch, turn.result):
        assert [(o.status, o.error_code, o.wave) for o in result] == [
            (Status.ERROR, ErrorCode.TOOL_ERROR, 0),
            (Status.SKIPPED, ErrorCode.DEPENDENCY_FAILED, 1),
        ]
        assert result.plan.waves == ((0,), (1,))


async def test_open_turn_calls_after_a_fail_fast_stop_are_skipped(autojump_clock: trio.testing.MockClock) -> None:
    registry, log = Registry(), Log()
    sleeper(registry, log, "read")
    async with Executor(registry, policy=FailFast()).open_turn() as turn:
        turn.submit(ToolCall(id="bad", tool="read", arguments={"tag": "bad", "seconds": 1, "fail": True}))
        await trio.sleep(2)
        turn.submit(ToolCall(id="late", tool="read", arguments={"tag": "late", "seconds": 1}))
    assert [(o.status, o.error_code) for o in turn.result] == [
        (Status.ERROR, ErrorCode.TOOL_ERROR),
        (Status.SKIPPED, ErrorCode.SIBLING_FAILED),
    ]


async def test_sync_tools_run_in_threads() -> None:
    registry = Registry()
    threads: list[int] = []

    @registry.tool
    def blocking(x: int) -> int:
        threads.append(threading.get_ident())
        return x * 2

    @registry.tool
    def broken() -> None:
        raise OSError("disk on fire")

    result = await Executor(registry, thread_limit=2).run(
        [ToolCall(id=f"c{i}", tool="blocking", arguments={"x": i}) for i in range(4)]
        + [ToolCall(id="b", tool="broken")]
    )
    assert [o.value for o in result][:4] == [0, 2, 4, 6]
    assert result[4].error == "OSError: disk on fire"
    assert threading.get_ident() not in threads


async def test_a_cancelled_sync_tool_is_waited_for_unless_abandoned() -> None:
    registry = Registry()
    started, release = threading.Event(), threading.Event()
    finished: list[str] = []

    def stuck(name: str) -> str:
        started.set()
        release.wait(5)
        finished.append(name)
        return name

    registry.add(stuck, name="waited", side_effect="write")
    registry.add(stuck, name="abandoned", side_effect="write", abandon_on_cancel=True)

    async def run_and_cancel_once_started(tool: str, *, then: Callable[[], None] = lambda: None) -> Turn:
        turn = Executor(registry).turn([ToolCall(id="a", tool=tool, arguments={"name": tool})])
        async with trio.open_nursery() as nursery:
            with trio.CancelScope() as scope:

                async def cancel_once_started() -> None:
                    await trio.to_thread.run_sync(started.wait, 5)  # the tool's thread is running now
                    scope.cancel()
                    then()

                nursery.start_soon(cancel_once_started)
                await turn.run()
        return turn

    # Abandoned: the call ends cancelled at once; the thread is still blocked then.
    turn = await run_and_cancel_once_started("abandoned")
    assert (turn.result[0].status, finished) == (Status.CANCELLED, [])
    release.set()
    with trio.fail_after(5):  # the abandoned thread runs on, unobserved, once released
        while finished != ["abandoned"]:  # noqa: ASYNC110 - a thread, not a task, sets it
            await trio.sleep(0.01)
    # Waited: run() cannot end before the thread returns, and keeps what it returned.
    started.clear()
    release.clear()
    finished.clear()
    turn = await run_and_cancel_once_started("waited", then=lambda: threading.Timer(0.1, release.set).start())
    assert finished == ["waited"]
    assert (turn.result[0].status, turn.result[0].value) == (Status.OK, "waited")


async def test_keyboard_interrupt_from_a_tool_propagates_as_itself(autojump_clock: trio.testing.MockClock) -> None:
    registry, log = Registry(), Log()
    sleeper(registry, log, "read")

    @registry.tool
    async def interrupt() -> None:
        await trio.sleep(1)
        raise KeyboardInterrupt

    turn = Executor(registry).turn([ToolCall(id="k", tool="interrupt"), *reads(5)])
    with pytest.raises(KeyboardInterrupt):
        await turn.run()
    assert log.times("finally") == {"c0": turn.result.started_at + 1}
    assert [o.status for o in turn.result] == [Status.CANCELLED, Status.CANCELLED]
    assert toolpar_tasks() == []


async def test_a_budget_and_an_outer_deadline_at_the_same_instant_agree_on_the_cause(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The turn's deadline has passed when the block's exit asks to cancel: budget_exceeded, every time."""
    registry, log = Registry(), Log()
    sleeper(registry, log, "read")
    shuffle = trio._core._run._r
    state = shuffle.getstate()
    codes = set()
    try:
        for seed in range(40):
            shuffle.seed(seed)
            with trio.move_on_after(2):
                async with Executor(registry).open_turn(budget=2) as turn:
                    turn.submit(ToolCall(id="c", tool="read", arguments={"tag": "c", "seconds": 5}))
                    await trio.sleep(10)
            codes.add(turn.result[0].error_code)
    finally:
        shuffle.setstate(state)
    assert codes == {ErrorCode.BUDGET_EXCEEDED}
