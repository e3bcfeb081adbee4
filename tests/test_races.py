"""Races: the first member to succeed wins, the others stop at that instant with `lost_race`."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import trio
import trio.testing
from helpers import Log, sleeper
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trio_toolpar import (
    BestEffort,
    ErrorCode,
    Executor,
    FailFast,
    RaceRules,
    Registry,
    Status,
    ToolCall,
    TurnResult,
)


def tools() -> tuple[Registry, Log]:
    registry, log = Registry(), Log()
    sleeper(registry, log, "search", side_effect="read")
    sleeper(registry, log, "capped", side_effect="read", resource="api")
    return registry, log


def member(tag: str, seconds: float, *, race: str | None = "s", fail: bool = False, tool: str = "search") -> ToolCall:
    return ToolCall(
        id=tag, tool=tool, arguments={"tag": tag, "seconds": seconds, "fail": fail, "value": tag.upper()}, race=race
    )


async def run(calls: list[ToolCall], **options: Any) -> tuple[TurnResult, dict[str, Any], Log, float]:
    registry, log = tools()
    races = options.pop("races", None)
    executor = Executor(registry, deterministic=True, limits={"api": 1}, **options)
    t0 = trio.current_time()
    result = await executor.run(calls, races=races)
    return result, {o.call_id: o for o in result.outcomes}, log, t0


@pytest.mark.parametrize("schedule", ["waves", "eager"])
@pytest.mark.parametrize("policy", [BestEffort(), FailFast()])
async def test_the_fastest_search_wins_and_the_others_stop_at_its_instant(
    autojump_clock: trio.testing.MockClock, schedule: Any, policy: Any
) -> None:
    result, by, log, t0 = await run([member("a", 3), member("b", 1), member("c", 2)], schedule=schedule, policy=policy)
    assert result.finished_at - t0 == 1.0
    assert (by["b"].status, by["b"].value) == (Status.OK, {"tag": "b", "value": "B"})
    for loser in ("a", "c"):
        assert (by[loser].status, by[loser].error_code) == (Status.CANCELLED, ErrorCode.LOST_RACE)
        assert by[loser].finished_at == t0 + 1.0 and by[loser].started_at == t0
        assert by[loser].error == "stopped: 'b' won race 's' first"
    assert {k: v - t0 for k, v in log.times("finally").items()} == {"a": 1.0, "b": 1.0, "c": 1.0}
    assert set(log.times("end")) == {"b"}


async def test_an_accept_predicate_refusing_the_first_answer(autojump_clock: trio.testing.MockClock) -> None:
    result, by, log, t0 = await run(
        [member("a", 3), member("b", 1), member("c", 2)],
        races={"s": RaceRules(accept=lambda value: value["tag"] != "b")},
    )
    assert result.finished_at - t0 == 2.0
    assert (by["b"].status, by["b"].error_code) == (Status.ERROR, ErrorCode.NOT_ACCEPTED)
    assert by["b"].value == {"tag": "b", "value": "B"} and by["b"].finished_at == t0 + 1.0
    assert by["c"].ok and by["c"].finished_at == t0 + 2.0
    assert (by["a"].status, by["a"].error_code, by["a"].finished_at) == (Status.CANCELLED, ErrorCode.LOST_RACE, t0 + 2)
    assert log.times("finally")["a"] == t0 + 2.0


async def test_a_predicate_that_raises_refuses(autojump_clock: trio.testing.MockClock) -> None:
    def accept(value: Any) -> bool:
        raise ValueError("bad predicate")

    _, by, _, _ = await run([member("a", 1), member("b", 2)], races={"s": RaceRules(accept=accept)})
    assert [by[k].error_code for k in "ab"] == [ErrorCode.NOT_ACCEPTED, ErrorCode.NOT_ACCEPTED]
    assert "ValueError: bad predicate" in (by["a"].error or "")


async def test_the_winner_is_referenced_with_dollar_at(autojump_clock: trio.testing.MockClock) -> None:
    result, by, _, t0 = await run(
        [
            member("a", 3),
            member("b", 1),
            ToolCall(id="use", tool="search", arguments={"tag": "use", "seconds": 1, "value": "$@s.value"}),
            ToolCall(id="whole", tool="search", arguments={"tag": "whole", "seconds": 1, "value": "$@s"}),
        ]
    )
    assert by["use"].value == {"tag": "use", "value": "B"}
    assert by["whole"].value == {"tag": "whole", "value": {"tag": "b", "value": "B"}}
    assert by["use"].started_at == t0 + 1.0 and result.finished_at - t0 == 2.0


async def test_keep_first_k(autojump_clock: trio.testing.MockClock) -> None:
    _, by, _, t0 = await run(
        [
            member("a", 3),
            member("b", 1),
            member("c", 2),
            ToolCall(id="use", tool="search", arguments={"tag": "use", "seconds": 0, "value": "$@s"}),
        ],
        races={"s": RaceRules(keep=2)},
    )
    assert [by[k].status for k in "abc"] == [Status.CANCELLED, Status.OK, Status.OK]
    assert by["a"].finished_at == t0 + 2.0
    assert by["use"].value["value"] == [{"tag": "b", "value": "B"}, {"tag": "c", "value": "C"}]


async def test_unstarted_members_are_skipped(autojump_clock: trio.testing.MockClock) -> None:
    # One slot on "api": the second and third members wait for it, and never get it.
    _, by, log, t0 = await run([member("a", 1, tool="capped"), member("b", 1, tool="capped"), member("c", 1)])
    assert by["a"].ok or by["c"].ok
    waiting = by["b"]
    assert (waiting.status, waiting.error_code, waiting.started_at) == (Status.SKIPPED, ErrorCode.LOST_RACE, None)
    assert waiting.finished_at == t0 + 1.0 and "b" not in log.times("start")


async def test_a_member_of_a_later_wave_loses_before_its_wave(autojump_clock: trio.testing.MockClock) -> None:
    result, by, log, t0 = await run(
        [
            ToolCall(id="first", tool="search", arguments={"tag": "first", "seconds": 2}),
            member("fast", 1),
            ToolCall(id="late", tool="search", arguments={"tag": "late", "seconds": 1, "value": "$first"}, race="s"),
        ]
    )
    assert (by["late"].status, by["late"].error_code, by["late"].finished_at) == (
        Status.SKIPPED,
        ErrorCode.LOST_RACE,
        t0 + 1.0,
    )
    assert "late" not in log.times("start") and result.finished_at - t0 == 2.0


@pytest.mark.parametrize("policy", [BestEffort(), FailFast()])
async def test_a_group_fails_as_a_group(autojump_clock: trio.testing.MockClock, policy: Any) -> None:
    _, by, _, t0 = await run(
        [
            member("a", 1, fail=True),
            member("b", 2, fail=True),
            ToolCall(id="other", tool="search", arguments={"tag": "other", "seconds": 5}),
            ToolCall(id="use", tool="search", arguments={"tag": "use", "seconds": 1, "value": "$@s"}),
        ],
        policy=policy,
    )
    assert [by[k].status for k in "ab"] == [Status.ERROR, Status.ERROR]
    if isinstance(policy, FailFast):  # the first failure did not stop the turn: the group could still win
        assert (by["other"].status, by["other"].error_code) == (Status.CANCELLED, ErrorCode.SIBLING_FAILED)
        assert by["other"].finished_at == t0 + 2.0
        assert (by["use"].status, by["use"].error_code) == (Status.SKIPPED, ErrorCode.SIBLING_FAILED)
    else:
        assert by["other"].ok
        assert (by["use"].status, by["use"].error_code) == (Status.SKIPPED, ErrorCode.DEPENDENCY_FAILED)
        assert by["use"].error == "not run: it depends on race 's', which no member won"


async def test_a_lost_race_is_not_a_failure_under_fail_fast(autojump_clock: trio.testing.MockClock) -> None:
    _, by, _, _ = await run(
        [member("a", 3), member("b", 1), ToolCall(id="other", tool="search", arguments={"tag": "other", "seconds": 5})],
        policy=FailFast(),
    )
    assert by["other"].ok and by["a"].error_code is ErrorCode.LOST_RACE


async def test_the_budget_applies_to_races(autojump_clock: trio.testing.MockClock) -> None:
    _, by, _, t0 = await run([member("a", 3), member("b", 2)], budget=1.5)
    for k in "ab":
        assert (by[k].status, by[k].error_code, by[k].finished_at) == (
            Status.CANCELLED,
            ErrorCode.BUDGET_EXCEEDED,
            t0 + 1.5,
        )


async def test_planning_checks_race_names_and_references(autojump_clock: trio.testing.MockClock) -> None:
    _, by, _, _ = await run(
        [
            member("a", 1),
            member("bad", 1, race="no spaces"),
            ToolCall(id="ghost", tool="search", arguments={"tag": "g", "seconds": 1, "value": "$@nope"}),
            ToolCall(id="self", tool="search", arguments={"tag": "x", "seconds": 1, "value": "$@s"}, race="s"),
        ]
    )
    assert by["bad"].error_code is ErrorCode.INVALID_ARGUMENTS
    assert by["ghost"].error_code is ErrorCode.BAD_REFERENCE and "races: s" in (by["ghost"].error or "")
    assert by["self"].error_code is ErrorCode.BAD_REFERENCE and by["a"].ok


async def test_a_model_batch_names_the_race_in_its_mapping(autojump_clock: trio.testing.MockClock) -> None:
    registry, _ = tools()
    result = await Executor(registry).run(
        [
            {"id": "x", "tool": "search", "arguments": {"tag": "x", "seconds": 2}, "race": "r"},
            {"id": "y", "tool": "search", "arguments": {"tag": "y", "seconds": 1}, "race": "r"},
        ]
    )
    assert [o.error_code for o in result.outcomes] == [ErrorCode.LOST_RACE, None]


async def test_an_open_turn_member_arriving_after_the_win_is_skipped(autojump_clock: trio.testing.MockClock) -> None:
    registry, log = tools()
    async with Executor(registry).open_turn() as turn:
        turn.submit(member("a", 1))
        turn.submit(member("b", 5))
        await trio.sleep(2)
        turn.submit(member("c", 1))
    by = {o.call_id: o for o in turn.result.outcomes}
    assert [by[k].error_code for k in "abc"] == [None, ErrorCode.LOST_RACE, ErrorCode.LOST_RACE]
    assert by["c"].status is Status.SKIPPED and "c" not in log.times("start")


def test_race_rules_are_checked() -> None:
    with pytest.raises(ValueError, match="keep"):
        RaceRules(keep=0)
    with pytest.raises(TypeError, match="races must map"):
        Executor(Registry()).turn([], races={"s": 1})  # type: ignore[dict-item]


def _fails(call: ToolCall) -> bool:
    assert not isinstance(call.arguments, str)
    return bool(call.arguments["fail"])


@st.composite
def race_turns(draw: st.DrawFn) -> tuple[list[ToolCall], dict[str, RaceRules]]:
    calls: list[ToolCall] = []
    rules: dict[str, RaceRules] = {}
    for g in range(draw(st.integers(1, 3))):
        rules[f"g{g}"] = RaceRules(keep=draw(st.integers(1, 2)))
        for m in range(draw(st.integers(1, 4))):
            calls.append(
                member(
                    f"g{g}m{m}",
                    draw(st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0])),
                    race=f"g{g}",
                    fail=draw(st.booleans()),
                    tool=draw(st.sampled_from(["search", "capped"])),
                )
            )
    calls.append(ToolCall(id="plain", tool="search", arguments={"tag": "plain", "seconds": 2.5}))
    return draw(st.permutations(calls)), rules


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None, max_examples=60)
@given(
    turn=race_turns(), policy=st.sampled_from([BestEffort(), FailFast()]), schedule=st.sampled_from(["waves", "eager"])
)
async def test_property_winners_and_no_loser_runs_after_the_win(
    turn: tuple[list[ToolCall], dict[str, RaceRules]],
    policy: Any,
    schedule: Any,
    autojump_clock: trio.testing.MockClock,
) -> None:
    calls, rules = turn
    result, by, log, _ = await run(calls, races=rules, policy=policy, schedule=schedule)
    assert [o.call_id for o in result.outcomes] == [c.id for c in calls]
    stopped_turn = any(o.error_code is ErrorCode.SIBLING_FAILED for o in result.outcomes)
    for group, rule in rules.items():
        members = [by[c.id] for c in calls if c.race == group]
        winners = [o for o in members if o.ok]
        assert len(winners) <= rule.keep
        if len(winners) == rule.keep:
            instant = max(o.finished_at for o in winners)
            for o in members:
                if o.error_code is ErrorCode.LOST_RACE:
                    assert o.finished_at == instant
                    assert log.times("finally").get(o.call_id, instant) <= instant
        elif not stopped_turn:
            # Short of winners: every member that did not win ended by its own failure, never by losing.
            assert all(o.error_code is not ErrorCode.LOST_RACE for o in members)
        if not stopped_turn:
            could_win = len([c for c in calls if c.race == group and not _fails(c)])
            assert len(winners) == min(rule.keep, could_win)
        assert all(o.error_code is not ErrorCode.LOST_RACE for o in winners)
    # The cap of one on "api" holds while losers unwind: no two capped calls overlap.
    starts, ends = log.times("start"), log.times("finally")
    spans = sorted((starts[c.id], ends[c.id]) for c in calls if c.tool == "capped" and c.id in starts)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans))
    # A lost race never stops a fail-fast turn: only a group's (or a plain call's) failure can.
    if stopped_turn:
        failures = [o for o in result.outcomes if o.status in (Status.ERROR, Status.TIMEOUT, Status.REJECTED)]
        assert failures
