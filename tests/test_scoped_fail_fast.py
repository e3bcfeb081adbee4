"""Scoped fail-fast: what one failure stops, at which virtual instant, and in which words.

Each test is named after a sentence of the "Scoped fail-fast" section of
docs/semantics.md. The turn of the first tests has a call that fails at
t=1 beside every kind of sibling: one that references it, one a shared key
orders after it, one that reads the same key at the same time, one on the
same resource, one that waits for that one, independent ones, and two that
return at the very instant of the failure.
"""

from __future__ import annotations

import re

import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from trio_toolpar import (
    BestEffort,
    ErrorCode,
    Executor,
    FailFast,
    Outcome,
    Registry,
    Status,
    ToolCall,
    TurnResult,
)
from trio_toolpar.abc import FailureScope, Policy
from trio_toolpar.testing import Oracle, Recorder, TurnSpec, turns

FAILS, OK, CANCELLED, SKIPPED = Status.ERROR, Status.OK, Status.CANCELLED, Status.SKIPPED
SIBLING = ErrorCode.SIBLING_FAILED

WHY = {
    "turn": "the policy stops the whole turn",
    "dependents": "the policy stops the calls that wait for it",
    "resource": "the policy stops the calls that share its resource or a key with it, and those that wait for them",
}


def not_executed(scope: str, failed: str = "pay", code: str = "tool_error") -> str:
    return f"not executed: call {failed!r} failed ({code}), and {WHY[scope]}; this is not a user interrupt"


def stopped(scope: str, failed: str = "pay", code: str = "tool_error") -> str:
    return (
        f"stopped before it finished: call {failed!r} failed ({code}), and {WHY[scope]}; this is not a user interrupt"
    )


def shop() -> Registry:
    tools = Registry()

    @tools.tool(side_effect="read", resource="shop", key="order:{order}")
    async def order(order: str, seconds: float, fail: bool = False) -> str:
        """Read an order; fail on request."""
        await trio.sleep(seconds)
        if fail:
            raise RuntimeError(f"order {order} is unreadable")
        return order

    @tools.tool(side_effect="write", resource="shop", key="order:{order}")
    async def refund(order: str, seconds: float) -> str:
        """Refund an order."""
        await trio.sleep(seconds)
        return order

    @tools.tool(side_effect="read", resource="web")
    async def search(seconds: float, inputs: object = None) -> float:
        """Search the web."""
        await trio.sleep(seconds)
        return seconds

    return tools


CALLS = [
    ToolCall(id="pay", tool="order", arguments={"order": "1", "seconds": 1, "fail": True}),
    ToolCall(id="receipt", tool="search", arguments={"seconds": 2, "inputs": "$pay"}),  # references it
    ToolCall(id="email", tool="search", arguments={"seconds": 1, "inputs": "$receipt"}),  # ... transitively
    ToolCall(id="stock", tool="order", arguments={"order": "1", "seconds": 3}),  # reads the same key meanwhile
    ToolCall(id="refund", tool="refund", arguments={"order": "1", "seconds": 1}),  # its key orders it after pay
    ToolCall(id="other", tool="order", arguments={"order": "2", "seconds": 3}),  # the same resource
    ToolCall(id="notify", tool="search", arguments={"seconds": 1, "inputs": "$other"}),  # waits for that one
    ToolCall(id="news", tool="search", arguments={"seconds": 3}),  # independent
    ToolCall(id="weather", tool="search", arguments={"seconds": 1}),  # independent, returns at t=1
    ToolCall(id="cache", tool="order", arguments={"order": "3", "seconds": 1}),  # the same resource, returns at t=1
]


def since(result: TurnResult, outcome: Outcome) -> float:
    """When ``outcome`` was decided, relative to its turn's start."""
    assert outcome.finished_at is not None
    return outcome.finished_at - result.started_at


def timeline(result: TurnResult) -> dict[str, tuple[Status, ErrorCode | None, float | None, float, str | None]]:
    """Every call's status, code, start and finish (relative to the turn's start) and message."""

    def at(t: float | None) -> float | None:
        return None if t is None else t - result.started_at

    return {
        o.call_id: (o.status, o.error_code, at(o.started_at), at(o.finished_at) or 0.0, o.error)
        for o in result
        if o.call_id != "pay"
    }


async def run(scope: FailureScope, schedule: str = "waves") -> TurnResult:
    result = await Executor(shop(), policy=FailFast(scope=scope), schedule=schedule).run(CALLS)  # type: ignore[arg-type]
    failed = result["pay"]
    assert (failed.status, failed.error_code, since(result, failed)) == (FAILS, "tool_error", 1.0)
    return result


schedules = pytest.mark.parametrize("schedule", ["waves", "eager"])


@schedules
async def test_fail_fast_turn_stops_every_call_of_the_turn_at_the_first_failure(
    schedule: str, autojump_clock: trio.testing.MockClock
) -> None:
    result = await run("turn", schedule)
    assert timeline(result) == {
        "receipt": (SKIPPED, SIBLING, None, 1.0, not_executed("turn")),
        "email": (SKIPPED, SIBLING, None, 1.0, not_executed("turn")),
        "refund": (SKIPPED, SIBLING, None, 1.0, not_executed("turn")),
        "stock": (CANCELLED, SIBLING, 0.0, 1.0, stopped("turn")),
        "other": (CANCELLED, SIBLING, 0.0, 1.0, stopped("turn")),
        "notify": (SKIPPED, SIBLING, None, 1.0, not_executed("turn")),
        "news": (CANCELLED, SIBLING, 0.0, 1.0, stopped("turn")),
        "weather": (OK, None, 0.0, 1.0, None),
        "cache": (OK, None, 0.0, 1.0, None),
    }
    assert result.elapsed == 1.0


@schedules
async def test_fail_fast_dependents_stops_only_the_calls_that_wait_for_the_failed_call_transitively(
    schedule: str, autojump_clock: trio.testing.MockClock
) -> None:
    result = await run("dependents", schedule)
    assert timeline(result) == {
        "receipt": (SKIPPED, SIBLING, None, 1.0, not_executed("dependents")),
        "email": (SKIPPED, SIBLING, None, 1.0, not_executed("dependents")),
        "refund": (SKIPPED, SIBLING, None, 1.0, not_executed("dependents")),
        "stock": (OK, None, 0.0, 3.0, None),
        "other": (OK, None, 0.0, 3.0, None),
        "notify": (OK, None, 3.0, 4.0, None),
        "news": (OK, None, 0.0, 3.0, None),
        "weather": (OK, None, 0.0, 1.0, None),
        "cache": (OK, None, 0.0, 1.0, None),
    }
    assert result.elapsed == 4.0


@schedules
async def test_fail_fast_resource_also_stops_the_calls_sharing_its_resource_or_a_key_and_those_that_wait_for_them(
    schedule: str, autojump_clock: trio.testing.MockClock
) -> None:
    result = await run("resource", schedule)
    assert timeline(result) == {
        "receipt": (SKIPPED, SIBLING, None, 1.0, not_executed("resource")),
        "email": (SKIPPED, SIBLING, None, 1.0, not_executed("resource")),
        "refund": (SKIPPED, SIBLING, None, 1.0, not_executed("resource")),
        "stock": (CANCELLED, SIBLING, 0.0, 1.0, stopped("resource")),
        "other": (CANCELLED, SIBLING, 0.0, 1.0, stopped("resource")),
        "notify": (SKIPPED, SIBLING, None, 1.0, not_executed("resource")),
        "news": (OK, None, 0.0, 3.0, None),
        "weather": (OK, None, 0.0, 1.0, None),
        "cache": (OK, None, 0.0, 1.0, None),
    }
    assert result.elapsed == 3.0


async def test_the_scopes_nest(autojump_clock: trio.testing.MockClock) -> None:
    def stopped_ids(result: TurnResult) -> set[str]:
        return {o.call_id for o in result if o.error_code is SIBLING}

    dependents, resource, turn = [stopped_ids(await run(scope)) for scope in ("dependents", "resource", "turn")]
    assert dependents < resource < turn
    assert turn == {c.id for c in CALLS} - {"pay", "weather", "cache"}
    best = await Executor(shop(), policy=BestEffort()).run(CALLS)
    assert stopped_ids(best) == set()


async def test_a_call_that_returns_at_the_instant_of_the_failure_keeps_its_outcome(
    autojump_clock: trio.testing.MockClock,
) -> None:
    for scope in ("turn", "dependents", "resource"):
        result = await run(scope)
        for same_instant in ("weather", "cache"):  # "cache" shares pay's resource
            assert result[same_instant].ok
            assert result[same_instant].finished_at == result["pay"].finished_at


async def test_the_message_names_the_failed_call_and_its_code_and_is_no_user_interrupt(
    autojump_clock: trio.testing.MockClock,
) -> None:
    for scope in ("turn", "dependents", "resource"):
        result = await run(scope)
        messages = [o.error for o in result if o.error_code is SIBLING]
        assert messages
        for message in messages:
            assert message is not None
            assert "call 'pay' failed (tool_error)" in message
            assert message.endswith("; this is not a user interrupt")
            assert "cancelled by its caller" not in message and "interrupted" not in message


async def test_a_stopped_running_call_frees_its_capacity_at_the_instant_of_the_failure(
    autojump_clock: trio.testing.MockClock,
) -> None:
    executor = Executor(shop(), policy=FailFast(scope="resource"), max_concurrency=2)
    result = await executor.run(
        [
            ToolCall(id="pay", tool="order", arguments={"order": "1", "seconds": 1, "fail": True}),
            ToolCall(id="stock", tool="order", arguments={"order": "1", "seconds": 3}),
            ToolCall(id="news", tool="search", arguments={"seconds": 3}),  # waits for a slot of the global cap
        ]
    )
    start = result.started_at
    assert (result["stock"].status, since(result, result["stock"])) == (CANCELLED, 1.0)
    news = result["news"]
    assert news.ok and (news.started_at, news.finished_at) == (start + 1.0, start + 4.0)


async def test_when_several_calls_fail_at_one_instant_the_first_in_plan_order_is_named(
    autojump_clock: trio.testing.MockClock,
) -> None:
    calls = [
        ToolCall(id="early", tool="order", arguments={"order": "1", "seconds": 1, "fail": True}),
        ToolCall(id="urgent", tool="order", arguments={"order": "2", "seconds": 1, "fail": True}, priority=1),
        ToolCall(id="both", tool="search", arguments={"seconds": 1, "inputs": ["$early", "$urgent"]}),
        ToolCall(id="slow", tool="search", arguments={"seconds": 5}),
    ]
    for scope in ("turn", "dependents"):
        result = await Executor(shop(), policy=FailFast(scope=scope)).run(calls)
        assert [(o.status, o.error_code) for o in result] == [
            (FAILS, "tool_error"),
            (FAILS, "tool_error"),
            (SKIPPED, SIBLING),
            (CANCELLED, SIBLING) if scope == "turn" else (OK, None),
        ]
        assert result["both"].error == not_executed(scope, failed="urgent")


async def test_a_call_rejected_at_planning_is_a_failure_like_any_other(autojump_clock: trio.testing.MockClock) -> None:
    calls = [
        ToolCall(id="typo", tool="search", arguments={"seconds": "soon"}),
        ToolCall(id="after", tool="search", arguments={"seconds": 1, "inputs": "$typo"}),
        ToolCall(id="web", tool="search", arguments={"seconds": 2}),
        ToolCall(id="shop", tool="order", arguments={"order": "1", "seconds": 2}),
    ]
    turn = await Executor(shop(), policy=FailFast()).run(calls)
    assert [o.status for o in turn] == [Status.REJECTED, SKIPPED, SKIPPED, SKIPPED]
    assert turn["web"].error == turn["shop"].error == not_executed("turn", failed="typo", code="invalid_arguments")
    assert turn.elapsed == 0
    scoped = await Executor(shop(), policy=FailFast(scope="resource")).run(calls)
    assert [(o.status, o.error_code) for o in scoped] == [
        (Status.REJECTED, "invalid_arguments"),
        (SKIPPED, ErrorCode.DEPENDENCY_FAILED),  # found at planning: its own reason stays
        (SKIPPED, SIBLING),
        (OK, None),
    ]
    assert scoped["web"].error == not_executed("resource", failed="typo", code="invalid_arguments")
    assert scoped["web"].finished_at == scoped.started_at
    assert scoped.elapsed == 2.0


async def test_a_key_known_only_at_run_time_shares_a_key_with_every_keyed_call(
    autojump_clock: trio.testing.MockClock,
) -> None:
    tools = shop()

    @tools.tool(side_effect="read", key="stock:{item}")
    async def count(item: float, seconds: float) -> int:
        """Count an item (no resource of its own)."""
        await trio.sleep(seconds)
        return 0

    result = await Executor(tools, policy=FailFast(scope="resource"), schedule="eager").run(
        [
            ToolCall(id="pick", tool="search", arguments={"seconds": 1}),
            ToolCall(id="pay", tool="order", arguments={"order": "1", "seconds": 2, "fail": True}),
            ToolCall(id="late", tool="count", arguments={"item": "$pick", "seconds": 3}),  # key from a reference
            ToolCall(id="plain", tool="search", arguments={"seconds": 4}),  # no key, another resource
        ]
    )
    assert [(o.status, o.error_code, since(result, o)) for o in result] == [
        (OK, None, 1.0),
        (FAILS, "tool_error", 2.0),
        (CANCELLED, SIBLING, 2.0),
        (OK, None, 4.0),
    ]


async def test_a_call_submitted_to_an_open_turn_after_the_failure_is_outside_its_scope(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with Executor(shop(), policy=FailFast(scope="dependents")).open_turn() as turn:
        turn.submit(CALLS[0])  # pay: fails at t=1
        turn.submit(ToolCall(id="receipt", tool="search", arguments={"seconds": 1, "inputs": "$pay"}))
        await trio.sleep(2)
        turn.submit(ToolCall(id="retry", tool="search", arguments={"seconds": 1, "inputs": "$receipt"}))
        turn.submit(ToolCall(id="fresh", tool="order", arguments={"order": "1", "seconds": 1}))
        turn.close()
    result = turn.result
    assert result["receipt"].error == not_executed("dependents")
    assert (result["retry"].status, result["retry"].error_code) == (SKIPPED, ErrorCode.DEPENDENCY_FAILED)
    assert result["retry"].error == "not run: it depends on call 'receipt', which ended skipped (sibling_failed)"
    assert result["fresh"].ok and since(result, result["fresh"]) == 3.0


async def test_best_effort_stops_nothing(autojump_clock: trio.testing.MockClock) -> None:
    result = await Executor(shop(), policy=BestEffort()).run(CALLS)
    assert {o.call_id for o in result if not o.ok} == {"pay", "receipt", "email"}
    assert result["receipt"].error_code is ErrorCode.DEPENDENCY_FAILED
    assert result["refund"].ok  # a conflict edge only orders


def test_a_policy_says_what_a_failure_stops() -> None:
    failed = Outcome(call_id="c", tool="t", status=FAILS, error_code=ErrorCode.TOOL_ERROR, error="e")
    returned = Outcome(call_id="c", tool="t", status=OK, value=1)
    for scope in ("turn", "dependents", "resource"):
        policy = FailFast(scope=scope)
        assert isinstance(policy, Policy)
        assert (policy.failure_scope(failed), policy.failure_scope(returned)) == (scope, None)
    assert BestEffort().failure_scope(failed) is None
    assert FailFast().scope == "turn"
    with pytest.raises(ValueError, match=r"FailFast\.scope"):
        FailFast(scope="everything")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"FailFast\.scope"):
        FailFast(scope=None)  # type: ignore[arg-type]


def test_a_policy_written_for_cancels_turn_is_told_how_to_move_on() -> None:
    class Old:
        retry = None
        max_retries_per_turn = None

        def cancels_turn(self, outcome: Outcome) -> bool:
            return True

    with pytest.raises(TypeError, match=r"Old has cancels_turn\(outcome\), which is now failure_scope\(outcome\)"):
        Executor(shop(), policy=Old())  # type: ignore[arg-type]


# -- invariant 11 --------------------------------------------------------------------------------

NAMED = re.compile(r"call '([^']+)' failed \(")


def ended_by(outcome: Outcome, at: float | None) -> bool:
    """Whether ``outcome`` is a call's own ending (not a stop) at or before ``at``."""
    assert outcome.finished_at is not None and at is not None
    return outcome.finished_at <= at and outcome.error_code is not SIBLING


def static_scope(turn: TurnSpec, failed: str, scope: str, result: TurnResult) -> set[str]:
    """Every call ``scope`` reaches from ``failed``, from the spec: the calls that wait for it (references
    and conflicts, transitively); with "resource", also those sharing its resource or key, unless they
    ended on their own by the instant it failed, and the calls that wait for them."""
    oracle = Oracle(turn)
    waiting = {c.id: {d.id for d in turn.calls if c.id in oracle.predecessors(d.id)} for c in turn.calls}
    spec = turn.by_id()[failed]
    seeds = {failed}
    if scope == "resource":
        at = result[failed].finished_at
        seeds |= {
            c.id
            for c in turn.calls
            if ((spec.resource is not None and c.resource == spec.resource) or (spec.key and c.key == spec.key))
            and not ended_by(result[c.id], at)
        }
    found, todo = set(seeds), list(seeds)
    while todo:
        for k in waiting[todo.pop()] - found:
            found.add(k)
            todo.append(k)
    return found - {failed}


def check_scoped(turn: TurnSpec, scope: str, result: TurnResult, recorder: Recorder) -> None:
    failures = {o.call_id: o for o in result if o.status in (FAILS, Status.TIMEOUT, Status.REJECTED)}
    for o in result:
        if o.error_code is not SIBLING:
            continue
        assert o.error is not None
        match = NAMED.search(o.error)
        assert match is not None, o.error
        failed = failures[match.group(1)]  # the named call failed
        assert o.call_id in static_scope(turn, failed.call_id, scope, result), (o.call_id, failed.call_id)
        assert o.finished_at == failed.finished_at
        assert o.status is (CANCELLED if o.started_at is not None else SKIPPED)
        for interval in recorder.of(o.call_id):
            assert interval.end is not None and failed.finished_at is not None
            assert interval.end <= failed.finished_at
    for failed in failures.values():  # and everything it reaches is stopped, at its instant at the latest
        at = failed.finished_at
        assert at is not None
        for call_id in static_scope(turn, failed.call_id, scope, result):
            reached = result[call_id]
            assert reached.finished_at is not None and reached.finished_at <= at, (failed.call_id, call_id)


async def scoped_turn(turn: TurnSpec, scope: FailureScope) -> None:
    recorder = Recorder()
    policy = FailFast(scope=scope, retry=turn.retry)
    result = await turn.executor(recorder, policy=policy).run(turn.tool_calls())
    check_scoped(turn, scope, result, recorder)


@given(turn=turns(policies=("fail-fast",)), scope=st.sampled_from(("dependents", "resource")))
async def test_11_a_scoped_failure_never_stops_a_call_outside_its_scope(
    turn: TurnSpec, scope: FailureScope, autojump_clock: trio.testing.MockClock
) -> None:
    await scoped_turn(turn, scope)


@pytest.mark.slow
def test_11_long_run() -> None:
    """The property on larger turns and many more of them (minutes): ``pytest -m slow`` (deselected otherwise)."""

    @settings(max_examples=1000, deadline=None)
    @given(turn=turns(max_calls=14, policies=("fail-fast",)), scope=st.sampled_from(("dependents", "resource")))
    def long_run(turn: TurnSpec, scope: FailureScope) -> None:
        trio.run(scoped_turn, turn, scope, clock=trio.testing.MockClock(autojump_threshold=0))

    long_run()
