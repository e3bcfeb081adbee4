"""Decisions in plan order within an instant, whatever order Trio resumes the tasks woken at it.

Trio runs the tasks woken at one instant in a random order (a shuffle drawn
from ``trio._core._run._r``). Every test here runs the same turn under many
seeds of that shuffle and asserts one answer: the one plan order gives.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import trio
import trio.testing
from helpers import Log, sleeper

from trio_toolpar import (
    ErrorCode,
    Executor,
    Registry,
    Status,
    ToolCall,
)

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
