"""Public objects: a turn has no public constructor, the default budget has a name, reprs show state."""

from __future__ import annotations

import inspect
import math
import re

import pytest
import trio
import trio.lowlevel
import trio.testing
from helpers import Log, sleeper

import trio_toolpar._values._exceptions as exceptions
from trio_toolpar import (
    USE_EXECUTOR_DEFAULT,
    Executor,
    Registry,
    ToolCall,
    ToolparError,
    Turn,
    UseExecutorDefault,
)
from trio_toolpar.agent import ModelError
from trio_toolpar.events import CapacityStatistics, ResourceStatistics


def shop(cap: int = 2) -> tuple[Executor, list[ToolCall]]:
    registry, log = Registry(), Log()
    sleeper(registry, log, "work", resource="shop")
    executor = Executor(registry, limits={"shop": cap}, budget=10, deterministic=True)
    return executor, [ToolCall(id=f"c{i}", tool="work", arguments={"tag": f"c{i}", "seconds": 1.0}) for i in range(7)]


# -- Turn has no public constructor -------------------------------------------------------------------


def test_a_turn_cannot_be_built_by_hand() -> None:
    with pytest.raises(TypeError, match=r"^no public constructor available for Turn; get one from executor\.turn"):
        Turn()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="no public constructor"):
        Turn(None, None, None, budget=None, sequence=1)  # type: ignore[arg-type,call-arg] # whatever the arguments
    executor, calls = shop()
    assert type(executor.turn(calls)) is Turn  # the executor builds them


# -- the named default --------------------------------------------------------------------------------


def test_the_default_budget_is_a_named_sentinel() -> None:
    assert repr(USE_EXECUTOR_DEFAULT) == "USE_EXECUTOR_DEFAULT"
    assert isinstance(USE_EXECUTOR_DEFAULT, UseExecutorDefault)
    for method in (Executor.run, Executor.turn, Executor.stream, Executor.open_turn):
        assert inspect.signature(method).parameters["budget"].default is USE_EXECUTOR_DEFAULT
    executor, calls = shop()
    assert executor.turn(calls).budget == 10.0
    assert executor.turn(calls, budget=USE_EXECUTOR_DEFAULT).budget == 10.0
    assert executor.turn(calls, budget=None).budget is None  # None is "no budget", not "the default"
    assert executor.turn(calls, budget=3).budget == 3.0


# -- reprs that show state ----------------------------------------------------------------------------


async def test_a_turns_repr_shows_its_state_and_progress(autojump_clock: trio.testing.MockClock) -> None:
    executor, calls = shop()
    turn = executor.turn(calls)
    assert repr(turn) == "<Turn 1 not started: 0 of 7 calls decided, budget 10.0 s>"
    assert turn.number == 1
    seen: list[str] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(turn.run)
        await trio.sleep(2.5)  # c0..c3 done at 1.0 and 2.0; c4, c5 hold the cap; c6 waits
        seen.append(repr(turn))
        seen.append(repr(executor.statistics()))
    assert seen == [
        "<Turn 1 running: 4 of 7 calls decided, budget 10.0 s>",
        "<CapacityStatistics 'shop': 2 of 2 held, 1 waiting; all: 0 held; threads: 0 held>",
    ]
    assert repr(turn) == "<Turn 1 done: 7 of 7 calls decided, budget 10.0 s>"


async def test_a_stopping_or_open_turn_says_so(autojump_clock: trio.testing.MockClock) -> None:
    executor, calls = shop()
    turn = executor.turn(calls, budget=None)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(turn.run)
        await trio.sleep(0.5)
        turn.cancel()
        assert repr(turn) == "<Turn 1 stopping: 0 of 7 calls decided, no budget>"
    assert repr(turn) == "<Turn 1 done: 7 of 7 calls decided, no budget>"
    async with executor.open_turn() as open_turn:
        open_turn.submit(calls[0])
        await trio.sleep(0.5)  # halfway through the call's 1 s
        assert repr(open_turn) == "<Turn 2 running (input open): 0 of 1 calls decided, budget 10.0 s>"


def test_an_executors_repr_shows_its_settings_and_turns() -> None:
    executor, calls = shop()
    executor.turn(calls)
    assert repr(executor) == (
        "<Executor registry=1 tool, limits={'shop': 2}, budget=10.0 s, "
        "policy=BestEffort(retry=None, max_retries_per_turn=None), schedule='waves', turns=1>"
    )
    bare = Executor(Registry(), max_concurrency=4, schedule="eager")
    assert repr(bare) == (
        "<Executor registry=0 tools, limits={}, max_concurrency=4, "
        "policy=BestEffort(retry=None, max_retries_per_turn=None), schedule='eager', turns=0>"
    )


def test_resource_statistics_show_only_what_applies() -> None:
    capped = ResourceStatistics(cap=3, held=1, waiting=2, tokens=math.inf, paused_until=None)
    rated = ResourceStatistics(cap=math.inf, held=0, waiting=1, tokens=0.5, paused_until=12.5)
    assert repr(capped) == "<ResourceStatistics 1 of 3 held, 2 waiting>"
    assert repr(rated) == "<ResourceStatistics 0 held (no cap), 1 waiting, 0.5 tokens, paused until 12.5>"
    both = CapacityStatistics(resources={"db": capped, "api": rated}, global_held=1, threads_held=0)
    assert repr(both) == (
        "<CapacityStatistics 'db': 1 of 3 held, 2 waiting; "
        "'api': 0 held (no cap), 1 waiting, 0.5 tokens, paused until 12.5; all: 1 held; threads: 0 held>"
    )


# -- Executor.limits is a read-only view --------------------------------------------------------------


def test_limits_are_the_caps_as_given_and_read_only() -> None:
    executor, _ = shop(cap=3)
    assert executor.limits == {"shop": 3}
    with pytest.raises(TypeError):
        executor.limits["shop"] = 5  # type: ignore[index]
    assert all(type(cap) is int for cap in executor.limits.values())  # no trio.CapacityLimiter handed out
    assert Executor(Registry(), max_concurrency=2).limits == {}  # the global cap and threads are not resources


# -- ModelError is in the tree ------------------------------------------------------------------------


def test_every_exception_is_drawn_in_the_tree() -> None:
    tree = exceptions.__doc__ or ""
    defined = [c for c in vars(exceptions).values() if isinstance(c, type) and issubclass(c, ToolparError)]
    assert ModelError in defined
    for cls in defined:
        assert re.search(rf"^\s*(?:[└├]── )?{cls.__name__}\b", tree, flags=re.MULTILINE), cls.__name__
    assert issubclass(ModelError, RuntimeError)
