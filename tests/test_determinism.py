"""Decisions in plan order within an instant, whatever order Trio resumes the tasks woken at it.

Trio runs the tasks woken at one instant in a random order (a shuffle drawn
from ``trio._core._run._r``). Every test here runs the same turn under many
seeds of that shuffle and asserts one answer: the one plan order gives.
"""

from __future__ import annotations

import inspect
import logging
import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import trio
import trio.testing
from helpers import Log, sleeper
from hypothesis import given, settings

from trio_toolpar import (
    ErrorCode,
    Executor,
    FailFast,
    Registry,
    Status,
    ToolCall,
    TurnResult,
)
from trio_toolpar.events import Event, TurnStarted
from trio_toolpar.testing import Recorder, TurnSpec, turns

SEEDS = range(20)


@contextmanager
def scheduling_seed(seed: int) -> Iterator[None]:
    """Seed Trio's in-batch shuffle for the block, then put its state back.

    ``_r`` is private to Trio; it is the only handle on the order in which
    Trio runs the tasks woken at one instant, which is what these tests vary.
    """
    shuffle: random.Random = trio._core._run._r
    state = shuffle.getstate()
    shuffle.seed(seed)
    try:
        yield
    finally:
        shuffle.setstate(state)


def searches() -> tuple[Registry, Log]:
    registry, log = Registry(), Log()
    sleeper(registry, log, "search", side_effect="read")
    return registry, log


def member(tag: str, seconds: float, *, race: str | None = "g", tool: str = "search", **arguments: Any) -> ToolCall:
    return ToolCall(id=tag, tool=tool, arguments={"tag": tag, "seconds": seconds, **arguments}, race=race)


def since(time: float | None, t0: float) -> float:
    assert time is not None
    return time - t0


# -- 1. race members that end ok at one instant: the first in plan order wins ------------------------


@pytest.mark.parametrize("deterministic", [True, False])
async def test_a_tie_of_race_members_is_won_by_the_first_in_plan_order(
    deterministic: bool, autojump_clock: trio.testing.MockClock
) -> None:
    seen = set()
    for seed in SEEDS:
        registry, _ = searches()
        with scheduling_seed(seed):
            t0 = trio.current_time()
            result = await Executor(registry, deterministic=deterministic).run(
                [member("a", 1), member("b", 1), member("c", 1)]
            )
        seen.add(tuple((o.call_id, o.status, o.error_code, o.error, since(o.finished_at, t0)) for o in result))
    assert seen == {
        (
            ("a", Status.OK, None, None, 1.0),
            ("b", Status.CANCELLED, ErrorCode.LOST_RACE, "stopped: 'a' won race 'g' first", 1.0),
            ("c", Status.CANCELLED, ErrorCode.LOST_RACE, "stopped: 'a' won race 'g' first", 1.0),
        )
    }


async def test_a_tie_is_won_by_rank_priority_first(autojump_clock: trio.testing.MockClock) -> None:
    winners = set()
    for seed in SEEDS:
        registry, _ = searches()
        calls = [member("a", 1), member("b", 1), member("c", 1)]
        calls[2] = ToolCall(id="c", tool="search", arguments={"tag": "c", "seconds": 1}, race="g", priority=1)
        with scheduling_seed(seed):
            result = await Executor(registry, deterministic=True).run(calls)
        winners.add(tuple(o.call_id for o in result if o.ok))
    assert winners == {("c",)}


async def test_simultaneous_endings_reach_on_outcome_in_plan_order(autojump_clock: trio.testing.MockClock) -> None:
    orders = set()
    for seed in SEEDS:
        registry, _ = searches()
        calls = [member(f"c{i}", 1, race=None) for i in range(6)]
        with scheduling_seed(seed):
            async with Executor(registry).stream(calls) as outcomes:
                t0 = trio.current_time()
                orders.add(tuple([(o.call_id, since(o.finished_at, t0)) async for o in outcomes]))
    assert orders == {tuple((f"c{i}", 1.0) for i in range(6))}


# -- 2. under FailFast, a race member rejected at planning is a failed member of its group -----------


@pytest.mark.parametrize("schedule", ["waves", "eager"])
async def test_a_rejected_member_does_not_stop_a_fail_fast_turn_while_its_group_can_win(
    schedule: Any, autojump_clock: trio.testing.MockClock
) -> None:
    registry, _ = searches()
    executor = Executor(registry, policy=FailFast(), schedule=schedule, deterministic=True)
    t0 = trio.current_time()
    result = await executor.run(
        [
            member("unknown", 1, tool="nope"),
            member("invalid", 1, surprise=True),
            member("b", 2),
            member("other", 3, race=None),
        ]
    )
    by = {o.call_id: o for o in result}
    assert (by["unknown"].status, by["unknown"].error_code) == (Status.REJECTED, ErrorCode.UNKNOWN_TOOL)
    assert (by["invalid"].status, by["invalid"].error_code) == (Status.REJECTED, ErrorCode.INVALID_ARGUMENTS)
    assert by["b"].ok and by["b"].finished_at == t0 + 2
    assert by["other"].ok and result.finished_at == t0 + 3


async def test_a_group_of_rejected_members_fails_when_its_last_member_fails(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry, _ = searches()
    result = await Executor(registry, policy=FailFast(), deterministic=True).run(
        [member("unknown", 1, tool="nope"), member("b", 1, fail=True), member("other", 3, race=None)]
    )
    by = {o.call_id: o for o in result}
    assert by["unknown"].error_code is ErrorCode.UNKNOWN_TOOL and by["b"].status is Status.ERROR
    assert (by["other"].status, by["other"].error_code) == (Status.CANCELLED, ErrorCode.SIBLING_FAILED)
    assert by["other"].finished_at == by["b"].finished_at


async def test_a_race_all_of_whose_members_are_rejected_stops_a_fail_fast_turn(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry, log = searches()
    result = await Executor(registry, policy=FailFast(), deterministic=True).run(
        [member("x", 1, tool="nope"), member("y", 1, tool="nope"), member("other", 3, race=None)]
    )
    assert [(o.status, o.error_code) for o in result] == [
        (Status.REJECTED, ErrorCode.UNKNOWN_TOOL),
        (Status.REJECTED, ErrorCode.UNKNOWN_TOOL),
        (Status.SKIPPED, ErrorCode.SIBLING_FAILED),
    ]
    assert log.events == []


async def test_an_open_turn_member_rejected_on_arrival_is_a_failed_member(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry, _ = searches()
    async with Executor(registry, policy=FailFast(), deterministic=True).open_turn() as turn:
        turn.submit(member("unknown", 1, tool="nope"))
        turn.submit(member("b", 2))
        turn.submit(member("other", 3, race=None))
    assert [o.error_code for o in turn.result] == [ErrorCode.UNKNOWN_TOOL, None, None]


# -- 3. a KeyboardInterrupt from an instrument at TurnStarted: every call still decided --------------


class InterruptsAtTurnStarted:
    def on_event(self, event: Event) -> None:
        if isinstance(event, TurnStarted):
            raise KeyboardInterrupt


async def test_a_keyboard_interrupt_at_turn_started_propagates_and_every_call_is_decided(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry, log = searches()
    executor = Executor(registry, instruments=[InterruptsAtTurnStarted()])
    turn = executor.turn([member("a", 1, race=None), member("ghost", 1, race=None, tool="nope")])
    with pytest.raises(KeyboardInterrupt):
        await turn.run()
    a, ghost = turn.result
    assert (a.status, a.error_code, a.started_at) == (Status.SKIPPED, ErrorCode.CANCELLED, None)
    assert (ghost.status, ghost.error_code) == (Status.REJECTED, ErrorCode.UNKNOWN_TOOL)
    assert log.events == []


# -- 4. an instrument that would wait is refused; an awaitable it returns is closed -----------------


class AsyncInstrument:
    async def on_event(self, event: Event) -> None:
        raise AssertionError("never awaited")


def test_an_async_on_event_is_refused_when_the_executor_is_built() -> None:
    with pytest.raises(TypeError, match=r"AsyncInstrument.*synchronously.*must not wait.*send_nowait"):
        Executor(Registry(), instruments=[AsyncInstrument()])  # type: ignore[list-item]


class ReturnsCoroutines:
    def __init__(self) -> None:
        self.made: list[Any] = []

    def on_event(self, event: Event) -> Any:
        async def later() -> None:
            raise AssertionError("never awaited")

        coroutine = later()
        self.made.append(coroutine)
        return coroutine


async def test_a_coroutine_returned_by_on_event_is_closed_and_the_instrument_removed(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    registry, _ = searches()
    instrument = ReturnsCoroutines()
    with caplog.at_level(logging.ERROR, logger="trio_toolpar"):
        result = await Executor(registry, instruments=[instrument]).run([member("a", 1, race=None)])
    assert result[0].ok
    (coroutine,) = instrument.made  # removed after the first event
    assert inspect.getcoroutinestate(coroutine) == inspect.CORO_CLOSED
    (record,) = caplog.records
    assert "returned an awaitable" in record.getMessage() and "TurnStarted" in record.getMessage()


# -- the property: deterministic turns do not depend on Trio's scheduling order ----------------------

Timeline = tuple[tuple[object, ...], ...]


def run_under_seed(turn: TurnSpec, seed: int) -> tuple[Timeline, tuple[str, ...], Timeline]:
    """``turn`` run once in a fresh `trio.run` on a MockClock, Trio's shuffle seeded with ``seed``.

    Returns every outcome (with its times), the order outcomes were decided
    in (as `Executor.stream` yields them), and every attempt the fake tools saw.
    """
    recorder = Recorder()
    decided: list[str] = []
    result: list[TurnResult] = []

    async def main() -> None:
        executor = turn.executor(recorder)
        async with executor.stream(turn.tool_calls(), races=turn.races) as outcomes:
            decided.extend([o.call_id async for o in outcomes])
        result.append(outcomes.turn.result)

    with scheduling_seed(seed):
        trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    outcomes = tuple(
        (o.call_id, o.status, o.error_code, o.error, o.value, o.started_at, o.finished_at, o.attempts)
        for o in result[0]
    )
    attempts = tuple(sorted((i.call_id, i.attempt, i.start, i.end, i.ending) for i in recorder.intervals))
    return outcomes, tuple(decided), attempts


def same_under_twenty_seeds(turn: TurnSpec) -> None:
    first = run_under_seed(turn, 0)
    for seed in range(1, 20):
        assert run_under_seed(turn, seed) == first, f"scheduling seed {seed}"


@settings(max_examples=100, deadline=None)
@given(turn=turns(max_calls=8, races=True, gates=True, weights=True))
def test_property_same_outcomes_and_timeline_under_twenty_scheduling_seeds(turn: TurnSpec) -> None:
    same_under_twenty_seeds(turn)


@pytest.mark.slow
def test_property_long_run() -> None:
    """The property on larger turns and many more of them (minutes): ``pytest -m slow`` (deselected otherwise)."""
    long_run = settings(max_examples=1000, deadline=None)(
        given(turn=turns(max_calls=12, races=True, gates=True, weights=True))(same_under_twenty_seeds)
    )
    long_run()
