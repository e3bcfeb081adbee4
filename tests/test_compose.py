"""Composition: `step`, `parallel`, `sequence`, `race` build plain call lists; `ToolCall.after` orders them."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing
from helpers import Log, sleeper

from trio_toolpar import ErrorCode, Executor, Registry, Status, ToolCall, TurnResult
from trio_toolpar.compose import Pipeline, parallel, race, sequence, step


def tools() -> tuple[Registry, Log]:
    registry, log = Registry(), Log()
    sleeper(registry, log, "work", side_effect="read")
    return registry, log


def work(tag: str, seconds: float, **extra: Any) -> Pipeline:
    return step("work", {"tag": tag, "seconds": seconds, **extra}, id=tag)


async def run(p: Pipeline, **options: Any) -> tuple[TurnResult, dict[str, Any], float]:
    registry, _ = tools()
    t0 = trio.current_time()
    result = await Executor(registry, deterministic=True, **options).run(p.calls, races=p.races)
    return result, {o.call_id: o for o in result.outcomes}, t0


def test_a_pipeline_is_the_call_list_a_model_would_send() -> None:
    p = sequence(
        work("a", 1),
        parallel(work("b", 1), race(work("c", 1), work("d", 2), name="g")),
        work("e", 1, value="$@g.tag"),
    )
    assert [(c.id, c.after, c.race) for c in p.calls] == [
        ("a", (), None),
        ("b", ("a",), None),
        ("c", ("a",), "g"),
        ("d", ("a",), "g"),
        ("e", ("b", "@g"), None),
    ]
    assert set(p.races) == {"g"}
    assert p.exits == ("e",) and p.ref("tag") == "$e.tag"


async def test_sequence_and_parallel_timeline(autojump_clock: trio.testing.MockClock) -> None:
    p = sequence(parallel(work("a", 1), work("b", 3)), race(work("c", 2), work("d", 1), name="g"), work("e", 1))
    result, by, t0 = await run(p)
    assert {k: (o.started_at - t0 if o.started_at is not None else None) for k, o in by.items()} == {
        "a": 0.0,
        "b": 0.0,
        "c": 3.0,
        "d": 3.0,
        "e": 4.0,
    }
    assert by["c"].error_code is ErrorCode.LOST_RACE and by["d"].ok
    assert result.finished_at - t0 == 5.0


async def test_a_race_s_winner_flows_into_the_next_step(autojump_clock: trio.testing.MockClock) -> None:
    search = race(work("slow", 3, value="S"), work("fast", 1, value="F"), name="search")
    p = sequence(search, work("use", 1, value=search.ref("value")))
    _, by, _ = await run(p)
    assert by["use"].value == {"tag": "use", "value": "F"}


async def test_a_failed_step_skips_what_follows(autojump_clock: trio.testing.MockClock) -> None:
    _, by, _ = await run(sequence(work("a", 1, fail=True), work("b", 1), work("c", 1)))
    assert by["a"].status is Status.ERROR
    assert [(by[k].status, by[k].error_code) for k in "bc"] == [(Status.SKIPPED, ErrorCode.DEPENDENCY_FAILED)] * 2


async def test_a_race_without_a_winner_skips_what_follows(autojump_clock: trio.testing.MockClock) -> None:
    p = sequence(race(work("a", 1, fail=True), work("b", 2, fail=True), name="g"), work("c", 1))
    _, by, _ = await run(p)
    assert (by["c"].status, by["c"].error_code) == (Status.SKIPPED, ErrorCode.DEPENDENCY_FAILED)


async def test_after_from_a_model_batch(autojump_clock: trio.testing.MockClock) -> None:
    registry, _ = tools()
    t0 = trio.current_time()
    result = await Executor(registry).run(
        [
            {"id": "x", "tool": "work", "arguments": {"tag": "x", "seconds": 2}},
            {"id": "y", "tool": "work", "arguments": {"tag": "y", "seconds": 1}, "after": ["x"]},
            {"id": "z", "tool": "work", "arguments": {"tag": "z", "seconds": 1}, "after": ["#2"]},
            {"id": "bad", "tool": "work", "arguments": {"tag": "b", "seconds": 1}, "after": ["x.path"]},
            {"id": "ghost", "tool": "work", "arguments": {"tag": "g", "seconds": 1}, "after": ["nope"]},
        ]
    )
    by = {o.call_id: o for o in result.outcomes}
    assert by["y"].started_at == t0 + 2.0 and by["z"].started_at == t0 + 3.0
    assert by["bad"].error_code is ErrorCode.BAD_REFERENCE and "without a path" in (by["bad"].error or "")
    assert by["ghost"].error_code is ErrorCode.BAD_REFERENCE


async def test_after_in_an_open_turn(autojump_clock: trio.testing.MockClock) -> None:
    registry, _ = tools()
    t0 = trio.current_time()
    async with Executor(registry).open_turn() as turn:
        turn.submit(ToolCall(id="b", tool="work", arguments={"tag": "b", "seconds": 1}, after=("a",)))
        turn.submit(ToolCall(id="a", tool="work", arguments={"tag": "a", "seconds": 2}))
    assert turn.result["b"].started_at == t0 + 2.0


def test_composition_refuses_what_cannot_run() -> None:
    with pytest.raises(ValueError, match="id 'a'"):
        parallel(work("a", 1), work("a", 2))
    with pytest.raises(ValueError, match="two races are named 'g'"):
        parallel(race(work("a", 1), name="g"), race(work("b", 1), name="g"))
    with pytest.raises(ValueError, match="single steps"):
        race(sequence(work("a", 1), work("b", 1)), name="g")
    with pytest.raises(ValueError, match="race name"):
        race(work("a", 1), name="not ok")
    with pytest.raises(ValueError, match="at least one"):
        sequence()
    with pytest.raises(ValueError, match="ends in 2 results"):
        parallel(work("a", 1), work("b", 1)).ref()
