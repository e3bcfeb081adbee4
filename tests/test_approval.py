"""Approval gates: gated calls wait holding no capacity; refusals, failures, budget and cancellation."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing
from helpers import Log, sleeper

from trio_toolpar import (
    Approval,
    ErrorCode,
    Executor,
    FailFast,
    Registry,
    Status,
    Tool,
    ToolCall,
)


class Desk:
    """An approver that takes ``seconds`` to answer, refuses some documents, and records what it saw."""

    def __init__(self, seconds: float, refuse: frozenset[str] = frozenset()) -> None:
        self.seconds = seconds
        self.refuse = refuse
        self.asked: list[tuple[str, dict[str, Any], float]] = []
        self.cancelled: list[tuple[str, float]] = []

    async def __call__(self, call: ToolCall, tool: Tool) -> bool | Approval:
        assert not isinstance(call.arguments, str)
        self.asked.append((call.id, dict(call.arguments), trio.current_time()))
        try:
            await trio.sleep(self.seconds)
        except trio.Cancelled:
            self.cancelled.append((call.id, trio.current_time()))
            raise
        if call.arguments.get("tag") in self.refuse:
            return Approval(approved=False, reason="change freeze")
        return True


def tools(approval: Any = True) -> tuple[Registry, Log]:
    registry, log = Registry(), Log()
    sleeper(registry, log, "search", side_effect="read")
    sleeper(registry, log, "write_doc", side_effect="write", key="doc:{k}")
    registry.add(registry["write_doc"].fn, name="gated_write", side_effect="write", key="doc:{k}", approval=approval)
    return registry, log


def batch() -> list[ToolCall]:
    return [
        ToolCall(id="w1", tool="gated_write", arguments={"tag": "w1", "seconds": 1, "k": "a"}),
        ToolCall(id="w2", tool="gated_write", arguments={"tag": "w2", "seconds": 1, "k": "b"}),
        ToolCall(id="r1", tool="search", arguments={"tag": "r1", "seconds": 1}),
        ToolCall(id="r2", tool="search", arguments={"tag": "r2", "seconds": 2}),
        ToolCall(id="r3", tool="search", arguments={"tag": "r3", "seconds": 3}),
        ToolCall(id="after_w2", tool="search", arguments={"tag": "$w2.tag", "seconds": 1}),
    ]


@pytest.mark.parametrize("schedule", ["waves", "eager"])
async def test_reads_finish_while_gates_wait_and_a_refusal_skips_dependents(
    autojump_clock: trio.testing.MockClock, schedule: Any
) -> None:
    registry, log = tools()
    desk = Desk(5.0, refuse=frozenset({"w2"}))
    # One slot for everything: a gate waiting must not hold it.
    executor = Executor(registry, approve=desk, max_concurrency=1, deterministic=True, schedule=schedule)
    t0 = trio.current_time()
    result = await executor.run(batch())
    by = {o.call_id: o for o in result.outcomes}
    assert [o.call_id for o in result.outcomes] == ["w1", "w2", "r1", "r2", "r3", "after_w2"]
    # The reads ran one after another in the single slot while both gates waited.
    assert {k: v - t0 for k, v in log.times("end").items()} == {"r1": 1.0, "r2": 3.0, "r3": 6.0, "w1": 7.0}
    assert sorted((c, t - t0) for c, _, t in desk.asked) == [("w1", 0.0), ("w2", 0.0)]
    assert by["w1"].status is Status.OK and by["w1"].started_at == t0 + 6.0  # approved at 5, slot free at 6
    assert (by["w2"].status, by["w2"].error_code) == (Status.REJECTED, ErrorCode.NOT_APPROVED)
    assert by["w2"].error == "not approved: change freeze; the call did not run"
    assert by["w2"].finished_at == t0 + 5.0 and by["w2"].started_at is None and by["w2"].attempts == 0
    assert (by["after_w2"].status, by["after_w2"].error_code) == (Status.SKIPPED, ErrorCode.DEPENDENCY_FAILED)
    assert "w2" not in log.times("start")
    assert result.finished_at - t0 == 7.0


async def test_the_approver_sees_substituted_arguments(autojump_clock: trio.testing.MockClock) -> None:
    registry, _ = tools()
    desk = Desk(0.0)
    calls = [
        ToolCall(id="find", tool="search", arguments={"tag": "found", "seconds": 1, "value": "b"}),
        ToolCall(id="w", tool="gated_write", arguments={"tag": "w", "seconds": 1, "k": "$find.value"}),
    ]
    result = await Executor(registry, approve=desk).run(calls)
    assert all(o.ok for o in result.outcomes)
    assert [(c, args) for c, args, _ in desk.asked] == [("w", {"tag": "w", "seconds": 1, "k": "b"})]


async def test_a_tool_s_own_approver_wins_over_the_executor_s(autojump_clock: trio.testing.MockClock) -> None:
    own = Desk(2.0, refuse=frozenset({"w1"}))
    registry, _ = tools(approval=own)
    executor_desk = Desk(0.0)
    result = await Executor(registry, approve=executor_desk).run(batch()[:1])
    assert result.outcomes[0].error_code is ErrorCode.NOT_APPROVED
    assert [c for c, _, _ in own.asked] == ["w1"] and executor_desk.asked == []


async def test_ungated_tools_never_ask(autojump_clock: trio.testing.MockClock) -> None:
    registry, _ = tools()
    desk = Desk(1.0)
    result = await Executor(registry, approve=desk).run(batch()[2:5])
    assert all(o.ok for o in result.outcomes) and desk.asked == []


async def test_gated_without_an_approver_is_refused(autojump_clock: trio.testing.MockClock) -> None:
    registry, log = tools()
    result = await Executor(registry).run(batch()[:1])
    (outcome,) = result.outcomes
    assert (outcome.status, outcome.error_code) == (Status.REJECTED, ErrorCode.NOT_APPROVED)
    assert "Executor(approve=...)" in (outcome.error or "")
    assert log.events == []


async def test_budget_expires_while_a_gate_waits(autojump_clock: trio.testing.MockClock) -> None:
    registry, _ = tools()
    desk = Desk(100.0)
    t0 = trio.current_time()
    result = await Executor(registry, approve=desk, budget=4.0).run(batch()[:3])
    by = {o.call_id: o for o in result.outcomes}
    assert (by["w1"].status, by["w1"].error_code) == (Status.SKIPPED, ErrorCode.BUDGET_EXCEEDED)
    assert (by["w2"].status, by["w2"].error_code) == (Status.SKIPPED, ErrorCode.BUDGET_EXCEEDED)
    assert by["w1"].finished_at == t0 + 4.0 and by["w1"].started_at is None
    assert by["r1"].ok
    assert sorted((c, t - t0) for c, t in desk.cancelled) == [("w1", 4.0), ("w2", 4.0)]


async def test_caller_cancellation_while_a_gate_waits(autojump_clock: trio.testing.MockClock) -> None:
    registry, _ = tools()
    desk = Desk(100.0)
    turn = Executor(registry, approve=desk).turn(batch()[:3])
    t0 = trio.current_time()
    with trio.move_on_after(2.0):
        await turn.run()
    by = {o.call_id: o for o in turn.result.outcomes}
    assert (by["w1"].status, by["w1"].error_code) == (Status.SKIPPED, ErrorCode.CANCELLED)
    assert by["r1"].ok and by["w2"].finished_at == t0 + 2.0
    assert sorted((c, t - t0) for c, t in desk.cancelled) == [("w1", 2.0), ("w2", 2.0)]


class Broken:
    def __init__(self, answer: object) -> None:
        self.answer = answer

    async def __call__(self, call: ToolCall, tool: Tool) -> Any:
        await trio.sleep(1)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.mark.parametrize(
    ("answer", "text"),
    [
        (RuntimeError("policy engine down"), "the approval check failed: RuntimeError: policy engine down"),
        ("yes", "the approval check answered a str"),
        (None, "the approval check answered a NoneType"),
    ],
)
async def test_a_failing_approver_is_an_error_outcome(
    autojump_clock: trio.testing.MockClock, answer: object, text: str
) -> None:
    registry, _ = tools()
    result = await Executor(registry, approve=Broken(answer)).run(batch()[:3])
    by = {o.call_id: o for o in result.outcomes}
    assert (by["w1"].status, by["w1"].error_code) == (Status.ERROR, ErrorCode.APPROVAL_FAILED)
    assert (by["w1"].error or "").startswith(text)
    assert by["r1"].ok


async def test_a_refusal_under_fail_fast_stops_the_turn(autojump_clock: trio.testing.MockClock) -> None:
    registry, _ = tools()
    desk = Desk(0.5, refuse=frozenset({"w1"}))
    t0 = trio.current_time()
    result = await Executor(registry, approve=desk, policy=FailFast()).run(batch()[:3])
    by = {o.call_id: o for o in result.outcomes}
    assert by["w1"].error_code is ErrorCode.NOT_APPROVED
    assert (by["r1"].status, by["r1"].error_code) == (Status.CANCELLED, ErrorCode.SIBLING_FAILED)
    assert by["r1"].finished_at == t0 + 0.5


def test_approval_must_be_a_bool_or_a_callable() -> None:
    registry = Registry()

    async def tool() -> None: ...

    with pytest.raises(TypeError, match="tool 'tool': approval must be True, False or an async"):
        registry.add(tool, side_effect="write", approval="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="approve must be"):
        Executor(registry, approve="yes")  # type: ignore[arg-type]
