"""Turn admission: a turn runs at most ``admit`` calls; the others end ``deferred`` (docs/semantics.md)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
import trio
import trio.testing
from hypothesis import given, settings

from trio_toolpar import (
    USE_EXECUTOR_DEFAULT,
    ErrorCode,
    Executor,
    FailFast,
    Registry,
    Status,
    ToolCall,
    anthropic,
    openai,
)
from trio_toolpar.agent import Message, ScriptedModel, ScriptedReply, run_agent
from trio_toolpar.plan import Plan
from trio_toolpar.testing import Oracle, Recorder, TurnSpec, turns

LIMIT_5 = "not run: this turn admits at most 5 calls; issue this call again in your next turn"


def waits_5(call_id: str) -> str:
    return (
        f"not run: it waits for call {call_id!r}, which this turn did not admit (at most 5 calls); "
        "issue both again in your next turn"
    )


def registry() -> Registry:
    """``search`` (read), ``get_order``/``refund`` (read/write ``order:{k}``), ``summarize`` (no effect)."""
    tools = Registry()

    async def search(q: str, seconds: float = 1.0) -> str:
        await trio.sleep(seconds)
        return q

    async def get_order(k: str, seconds: float = 1.0) -> dict[str, str]:
        await trio.sleep(seconds)
        return {"k": k}

    async def refund(k: str, seconds: float = 1.0) -> str:
        await trio.sleep(seconds)
        return f"refunded {k}"

    async def summarize(text: str) -> str:
        await trio.sleep(1.0)
        return text.upper()

    tools.add(search, side_effect="read")
    tools.add(get_order, side_effect="read", key="order:{k}")
    tools.add(refund, side_effect="write", key="order:{k}")
    tools.add(summarize, side_effect="none")
    return tools


def call(cid: str, tool: str, priority: int = 0, **arguments: Any) -> ToolCall:
    return ToolCall(id=cid, tool=tool, arguments=arguments, priority=priority)


TWELVE = [
    call("s1", "search", q="a"),
    call("g1", "get_order", k="1", seconds=2),
    call("sum1", "summarize", text="$s2"),  # needs s2: two calls, when one slot is left
    call("s2", "search", q="b"),
    call("r1", "refund", k="1"),  # a write after g1
    call("s3", "search", q="c"),
    call("g2", "get_order", k="2"),
    call("r2", "refund", k="2"),  # a write after the deferred read g2
    call("sum2", "summarize", text="$g2.k"),  # references the deferred g2
    call("g3", "get_order", k="1"),  # a read after the deferred write r1
    call("urgent", "summarize", priority=1, text="$s4"),  # first in plan order, with the call it needs
    call("s4", "search", q="d"),
]

DEFERRED_12 = {
    "sum1": LIMIT_5,
    "r1": LIMIT_5,
    "s3": LIMIT_5,
    "g2": LIMIT_5,
    "r2": waits_5("g2"),
    "sum2": waits_5("g2"),
    "g3": waits_5("r1"),
}


async def test_twelve_calls_with_a_limit_of_five(autojump_clock: trio.testing.MockClock) -> None:
    result = await Executor(registry(), max_calls_per_turn=5).run(TWELVE)
    t0 = result.started_at
    assert [o.call_id for o in result] == [c.id for c in TWELVE]  # one outcome per call, in input order
    times = {
        o.call_id: (o.started_at - t0, o.finished_at - t0)
        for o in result
        if o.started_at is not None and o.finished_at is not None
    }
    assert {o.call_id for o in result if o.ok} == set(times)
    assert times == {
        "urgent": (2.0, 3.0),  # wave 1: after s4
        "s4": (0.0, 1.0),
        "s1": (0.0, 1.0),
        "g1": (0.0, 2.0),
        "s2": (0.0, 1.0),
    }
    assert result["urgent"].value == "D"
    assert result.elapsed == 3.0
    deferred = {o.call_id: o for o in result if o.status is Status.DEFERRED}
    assert {k: o.error for k, o in deferred.items()} == DEFERRED_12
    for o in deferred.values():
        assert (o.error_code, o.started_at, o.finished_at, o.attempts, o.wave) == (
            ErrorCode.NOT_ADMITTED,
            None,
            t0,
            0,
            None,
        )


def test_the_plan_shows_which_calls_it_admits() -> None:
    plan = Executor(registry(), max_calls_per_turn=5).plan(TWELVE)
    assert plan.admit == 5
    assert [[plan.calls[i].call.id for i in wave] for wave in plan.waves] == [["s1", "g1", "s2", "s4"], ["urgent"]]
    assert {pc.call.id: pc.verdict.message for pc in plan.calls if pc.verdict is not None} == DEFERRED_12
    assert not plan.rejected  # deferred is neither rejected nor skipped
    assert plan.render().splitlines()[:6] == [
        "plan: 12 calls, 2 waves; admits at most 5 calls, 7 deferred",
        '  wave 0:  s1 search(q="a") [read]',
        '           g1 get_order(k="1", seconds=2) [read order:1]',
        '           s2 search(q="b") [read]',
        '           s4 search(q="d") [read]',
        '  wave 1:  urgent summarize(text="$s4") needs s4',
    ]
    assert f"    g3 get_order: deferred (not_admitted) {waits_5('r1')}" in plan.render().splitlines()


def test_a_turn_within_its_limit_is_planned_as_without_one() -> None:
    tools, calls = registry(), TWELVE[:5]
    assert Plan.build(tools, calls, admit=5).calls == Plan.build(tools, calls).calls


def test_calls_refused_at_planning_take_no_slot() -> None:
    calls = [call("bad", "nope"), call("skip", "summarize", text="$bad"), call("a", "search", q="a")]
    plan = Plan.build(registry(), calls, admit=1)
    assert [(pc.call.id, pc.verdict and pc.verdict.status) for pc in plan.calls] == [
        ("bad", Status.REJECTED),
        ("skip", Status.SKIPPED),
        ("a", None),
    ]


def test_a_call_and_what_it_waits_for_are_admitted_together_or_not_at_all() -> None:
    # c needs b, which needs a: with two slots, c does not fit and neither is split from it; d takes the second slot.
    calls = [
        call("x", "search", q="x"),
        call("c", "summarize", priority=1, text="$b"),
        call("b", "summarize", text="$a"),
        call("a", "search", q="a"),
        call("d", "search", q="d"),
    ]
    plan = Plan.build(registry(), calls, admit=2)
    admitted = [pc.call.id for pc in plan.calls if pc.verdict is None]
    assert admitted == ["x", "a"]  # plan order: c (does not fit), x, b (needs a: fits), ...
    plan = Plan.build(registry(), calls, admit=3)
    assert [pc.call.id for pc in plan.calls if pc.verdict is None] == ["c", "b", "a"]


def test_a_later_access_to_a_key_is_never_admitted_without_the_earlier_write() -> None:
    calls = [call("w", "refund", k="1"), call("r", "get_order", priority=1, k="1"), call("s", "search", q="s")]
    # r reads after w: with one slot, r (first in plan order) cannot have it without w; w takes it.
    plan = Plan.build(registry(), calls, admit=1)
    assert [pc.call.id for pc in plan.calls if pc.verdict is None] == ["w"]
    plan = Plan.build(registry(), calls, admit=2)
    assert [pc.call.id for pc in plan.calls if pc.verdict is None] == ["w", "r"]


def test_a_race_is_admitted_whole_or_deferred_whole() -> None:
    calls = [
        ToolCall(id="m1", tool="search", arguments={"q": "1"}, race="fast"),
        ToolCall(id="m2", tool="search", arguments={"q": "2"}, race="fast"),
        call("s", "search", q="s"),
    ]
    assert [pc.call.id for pc in Plan.build(registry(), calls, admit=1).calls if pc.verdict is None] == ["s"]
    assert [pc.call.id for pc in Plan.build(registry(), calls, admit=2).calls if pc.verdict is None] == ["m1", "m2"]


async def test_a_deferred_call_is_not_a_failure_for_fail_fast(autojump_clock: trio.testing.MockClock) -> None:
    result = await Executor(registry(), policy=FailFast()).run(TWELVE, admit=5)
    assert {o.call_id for o in result if o.status is Status.DEFERRED} == set(DEFERRED_12)
    assert all(o.ok for o in result if o.status is not Status.DEFERRED)


async def test_a_turn_overrides_the_executor_limit(autojump_clock: trio.testing.MockClock) -> None:
    executor = Executor(registry(), max_calls_per_turn=5)
    assert len([o for o in await executor.run(TWELVE, admit=None) if o.ok]) == 12
    assert len([o for o in await executor.run(TWELVE, admit=USE_EXECUTOR_DEFAULT) if o.ok]) == 5
    assert len([o for o in await executor.run(TWELVE, admit=11) if o.ok]) == 11
    async with executor.stream(TWELVE, admit=2) as outcomes:
        assert sum([o.ok async for o in outcomes]) == 2


async def test_an_open_turn_admits_calls_in_arrival_order(autojump_clock: trio.testing.MockClock) -> None:
    async with Executor(registry(), max_calls_per_turn=2).open_turn() as turn:
        turn.submit(call("a", "search", q="a"))
        await trio.sleep(0.5)
        turn.submit(call("hot", "search", priority=9, q="hot"))  # priority orders capacity, not arrival
        turn.submit(call("late", "search", q="late"))
        late = turn.outcome("late")  # decided when submitted
        assert late is not None and (late.status, late.finished_at) == (Status.DEFERRED, trio.current_time())
    result = turn.result
    assert [(o.call_id, o.status) for o in result] == [
        ("a", Status.OK),
        ("hot", Status.OK),
        ("late", Status.DEFERRED),
    ]
    assert result["late"].error == "not run: this turn admits at most 2 calls; issue this call again in your next turn"
    assert turn.plan.render().splitlines()[0] == "plan: 3 calls, 1 waves; admits at most 2 calls, 1 deferred"


async def test_an_open_turn_defers_a_call_that_waits_for_a_deferred_one(autojump_clock: trio.testing.MockClock) -> None:
    async with Executor(registry()).open_turn(admit=2) as turn:
        turn.submit(call("wait", "summarize", text="$later"))  # admitted while `later` has not arrived
        turn.submit(call("a", "search", q="a"))
        turn.submit(call("later", "search", q="later"))  # deferred: so is `wait`, whose slot stays used
        turn.submit(call("after", "summarize", text="$a"))  # deferred: no slot left
    result = turn.result
    assert [(o.call_id, o.status, o.finished_at) for o in result] == [
        ("wait", Status.DEFERRED, result.started_at),
        ("a", Status.OK, result.started_at + 1.0),
        ("later", Status.DEFERRED, result.started_at),
        ("after", Status.DEFERRED, result.started_at),
    ]
    assert result["wait"].error == (
        "not run: it waits for call 'later', which this turn did not admit (at most 2 calls); "
        "issue both again in your next turn"
    )


@pytest.mark.parametrize(
    ("value", "error"),
    [(0, ValueError), (-3, ValueError), (2.0, TypeError), ("5", TypeError), (True, TypeError)],
)
async def test_the_limit_is_a_whole_number_of_at_least_one(value: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="max_calls_per_turn"):
        Executor(registry(), max_calls_per_turn=value)  # type: ignore[arg-type]
    executor = Executor(registry())
    with pytest.raises(error, match="admit"):
        await executor.run(TWELVE, admit=value)  # type: ignore[arg-type]
    with pytest.raises(error, match="admit"):
        executor.plan(TWELVE, admit=value)  # type: ignore[arg-type]
    with pytest.raises(error, match="admit"):
        Plan.build(registry(), TWELVE, admit=value)  # type: ignore[arg-type]
    with pytest.raises(error, match="admit"):
        async with executor.open_turn(admit=value):  # type: ignore[arg-type]
            pass


def test_the_executor_shows_its_limit() -> None:
    executor = Executor(registry(), max_calls_per_turn=5)
    assert executor.max_calls_per_turn == 5
    assert "max_calls_per_turn=5" in repr(executor)


async def test_providers_tell_the_model_to_issue_a_deferred_call_again(autojump_clock: trio.testing.MockClock) -> None:
    result = await Executor(registry(), max_calls_per_turn=1).run(
        [call("a", "search", q="a"), call("b", "search", q="b")]
    )
    observation = (
        '{"ok":false,"error_code":"not_admitted","error":"not run: this turn admits at most 1 call; '
        'issue this call again in your next turn"}'
    )
    assert openai.tool_messages(result)[1] == {"role": "tool", "tool_call_id": "b", "content": observation}
    assert openai.function_call_outputs(result)[1] == {
        "type": "function_call_output",
        "call_id": "b",
        "output": observation,
    }
    assert anthropic.tool_result_message(result)["content"][1] == {
        "type": "tool_result",
        "tool_use_id": "b",
        "content": observation,
        "is_error": True,
    }


async def test_the_message_is_the_same_bytes_every_run(autojump_clock: trio.testing.MockClock) -> None:
    first = await Executor(registry(), max_calls_per_turn=5).run(TWELVE)
    await trio.sleep(7.25)
    second = await Executor(registry(), max_calls_per_turn=5).run(TWELVE)
    assert openai.tool_messages(first) == openai.tool_messages(second)


@settings(max_examples=300)  # a wrong admission hides in few turns: look at many
@given(turn=turns(max_calls=8, keys=("k1", "k2"), admission=True, budgets=False, failures=False, races=True))
async def test_admission_invariants(turn: TurnSpec, autojump_clock: trio.testing.MockClock) -> None:
    recorder = Recorder()
    result = await turn.executor(recorder).run(turn.tool_calls(), races=turn.races)
    assert [o.call_id for o in result] == [c.id for c in turn.calls]  # exactly one outcome per call
    deferred = {o.call_id for o in result if o.status is Status.DEFERRED}
    if turn.admit is None:
        assert not deferred
        return
    admitted = {c.id for c in turn.calls} - deferred
    assert len(admitted) <= turn.admit
    assert admitted == Oracle(turn).admitted(turn.admit)
    assert set(recorder.calls()) <= admitted  # a deferred call never starts
    for c in turn.calls:
        if c.id in admitted:
            assert not (Oracle(turn).predecessors(c.id) & deferred)  # never waits for a deferred call


async def test_reports_count_a_deferred_call_as_work_not_done(autojump_clock: trio.testing.MockClock) -> None:
    from trio_toolpar._cli._render import speedup_lines

    result = await Executor(registry(), max_calls_per_turn=1).run(
        [call("a", "search", q="a"), call("b", "search", q="b")]
    )
    assert speedup_lines(result, unit="s")[1] == (
        "no speed-up to report: 1 of 2 calls were cancelled, skipped or deferred (not_admitted), "
        "so this turn did less work than a serial run would"
    )
    assert result.table().splitlines()[3].split() == ["b", "search", "deferred", "not_admitted", "0", "0.0"]


async def test_the_agent_loop_gives_the_model_its_deferred_calls_to_issue_again(
    autojump_clock: trio.testing.MockClock,
) -> None:
    def again(messages: Sequence[Message]) -> ScriptedReply:
        answers = {m["tool_call_id"]: json.loads(m["content"]) for m in messages if m["role"] == "tool"}
        assert answers["a"] == {"ok": True, "result": "a"}
        assert answers["b"]["error_code"] == "not_admitted"
        return ScriptedReply(calls=(call("b2", "search", q="b"),))

    model = ScriptedModel(
        [
            ScriptedReply(calls=(call("a", "search", q="a"), call("b", "search", q="b"))),
            again,
            ScriptedReply(text="done"),
        ]
    )
    result = await run_agent(model, Executor(registry(), max_calls_per_turn=1), "go")
    assert [[(o.call_id, o.status) for o in turn] for turn in result.turns] == [
        [("a", Status.OK), ("b", Status.DEFERRED)],
        [("b2", Status.OK)],
    ]
