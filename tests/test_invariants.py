"""The invariants of ARCHITECTURE.md, each a Hypothesis property on MockClock(autojump_threshold=0).

The expectations come from `Oracle`, which recomputes edges and times from the
generated spec without the planner's code. The MockClock carries over between
examples, so every time is taken relative to the turn's start.
"""

from __future__ import annotations

import random

import trio
import trio.testing
from conftest import toolpar_tasks
from hypothesis import given
from hypothesis import strategies as st

from trio_toolpar import ErrorCode, Status, TurnResult
from trio_toolpar.testing import Oracle, Recorder, TurnSpec, turns


async def run(turn: TurnSpec, recorder: Recorder, **kwargs: object) -> TurnResult:
    executor = turn.executor(recorder, **kwargs)  # type: ignore[arg-type]
    return await executor.run(turn.tool_calls())


@given(turn=turns())
async def test_1_one_outcome_per_call_in_input_order(turn: TurnSpec, autojump_clock: trio.testing.MockClock) -> None:
    result = await run(turn, Recorder())
    assert [o.call_id for o in result] == [c.id for c in turn.calls]
    assert [o.tool for o in result] == [c.tool for c in turn.calls]
    for o in result:
        assert o.ok == (o.status is Status.OK)
        assert (o.error_code is None) == o.ok
        assert o.finished_at is not None


@given(turn=turns(policies=("best-effort",)))
async def test_2_caps_are_never_exceeded(turn: TurnSpec, autojump_clock: trio.testing.MockClock) -> None:
    recorder = Recorder()
    await run(turn, recorder)
    for resource, cap in turn.limits.items():
        assert recorder.max_overlap_on(resource) <= cap
    if turn.max_concurrency is not None:
        assert recorder.max_overlap() <= turn.max_concurrency


@given(turn=turns())
async def test_3_conflicting_calls_never_overlap_and_keep_emission_order(
    turn: TurnSpec, autojump_clock: trio.testing.MockClock
) -> None:
    recorder = Recorder()
    await run(turn, recorder)
    for earlier, later in Oracle(turn).conflicts():
        for a in recorder.of(earlier):
            for b in recorder.of(later):
                assert not recorder.overlap(a, b), (earlier, later)
        assert recorder.first_ends_before(earlier, later), (earlier, later)


@given(turn=turns())
async def test_4_no_call_starts_before_its_dependencies_finished_ok(
    turn: TurnSpec, autojump_clock: trio.testing.MockClock
) -> None:
    recorder = Recorder()
    result = await run(turn, recorder)
    for call in turn.calls:
        attempts = recorder.of(call.id)
        for ref in call.refs:
            dep = result[ref]
            if attempts:
                assert dep.ok
                assert dep.finished_at is not None
                assert dep.finished_at <= attempts[0].start
            if not dep.ok:
                outcome = result[call.id]
                assert outcome.status is Status.SKIPPED
                assert outcome.error_code in (
                    ErrorCode.DEPENDENCY_FAILED,
                    ErrorCode.SIBLING_FAILED,
                    ErrorCode.BUDGET_EXCEEDED,
                )


@given(turn=turns(), budget=st.sampled_from([0.0, 0.25, 1.0, 2.5, 4.0]))
async def test_5_nothing_starts_or_runs_after_the_deadline(
    turn: TurnSpec, budget: float, autojump_clock: trio.testing.MockClock
) -> None:
    recorder = Recorder()
    start = trio.current_time()
    result = await turn.executor(recorder).run(turn.tool_calls(), budget=budget)
    deadline = start + budget
    assert result.finished_at <= deadline
    for interval in recorder.intervals:
        assert interval.start < deadline
        assert interval.end is not None and interval.end <= deadline
    for o in result:
        assert o.finished_at is not None and o.finished_at <= deadline
        if o.error_code is ErrorCode.BUDGET_EXCEEDED:
            assert o.status in (Status.CANCELLED, Status.SKIPPED)
            assert o.finished_at == deadline
            assert (o.status is Status.CANCELLED) == (o.started_at is not None)
    unfinished = [o for o in result if o.status in (Status.CANCELLED, Status.SKIPPED)]
    if any(o.error_code is ErrorCode.BUDGET_EXCEEDED for o in unfinished):
        assert result.finished_at == deadline


@given(turn=turns(policies=("fail-fast",), budgets=False))
async def test_6_fail_fast_stops_everything_at_the_first_failure(
    turn: TurnSpec, autojump_clock: trio.testing.MockClock
) -> None:
    recorder = Recorder()
    result = await run(turn, recorder)
    failures = [o for o in result if o.status is Status.ERROR]
    if not failures:
        assert all(o.ok or o.error_code is ErrorCode.DEPENDENCY_FAILED for o in result)
        return
    first = min(o.finished_at for o in failures if o.finished_at is not None)
    for interval in recorder.intervals:
        assert interval.start <= first
        assert interval.end is not None and interval.end <= first
    for o in result:
        if o.status is Status.CANCELLED:
            assert o.error_code is ErrorCode.SIBLING_FAILED
            assert o.finished_at == first
        elif o.status is Status.SKIPPED:
            assert o.error_code in (ErrorCode.SIBLING_FAILED, ErrorCode.DEPENDENCY_FAILED)
        elif o.status is Status.ERROR:
            assert o.finished_at == first
    assert result.finished_at == first


@given(turn=turns(), cut=st.sampled_from([0.0, 0.25, 0.5, 1.0, 2.0, 3.25, 7.0]))
async def test_7_outer_cancellation_propagates_and_leaves_nothing_running(
    turn: TurnSpec, cut: float, autojump_clock: trio.testing.MockClock
) -> None:
    recorder = Recorder()
    executor = turn.executor(recorder)
    t = executor.turn(turn.tool_calls())
    start = trio.current_time()
    saw_cancelled = False
    with trio.move_on_at(start + cut) as scope:
        try:
            await t.run()
        except trio.Cancelled:
            saw_cancelled = True
            raise
    assert saw_cancelled == scope.cancelled_caught
    assert toolpar_tasks() == []
    assert recorder.running() == []
    result = t.result
    assert [o.call_id for o in result] == [c.id for c in turn.calls]
    if scope.cancelled_caught:
        assert result.finished_at == start + cut
        for o in result:
            if o.error_code is ErrorCode.CANCELLED:
                assert o.status in (Status.CANCELLED, Status.SKIPPED)
                assert o.finished_at == start + cut
        for interval in recorder.intervals:
            assert interval.end is not None and interval.end <= start + cut


@given(turn=turns(failures=False, budgets=False, retries=False, policies=("best-effort",)))
async def test_8_makespans_equal_the_critical_path_and_the_sum_of_waves(
    turn: TurnSpec, autojump_clock: trio.testing.MockClock
) -> None:
    uncapped = TurnSpec(
        calls=turn.calls, limits={}, max_concurrency=None, budget=None, fail_fast=False, schedule="eager"
    )
    oracle = Oracle(uncapped)
    eager = await run(uncapped, Recorder(), schedule="eager")
    assert eager.elapsed == oracle.critical_path()
    waves = await run(uncapped, Recorder(), schedule="waves")
    assert waves.elapsed == oracle.waves_makespan()
    assert {o.call_id: o.wave for o in waves} == oracle.generations()
    assert all(o.ok for o in eager) and all(o.ok for o in waves)


def _timeline(result: TurnResult) -> list[tuple[object, ...]]:
    base = result.started_at
    return [
        (
            o.call_id,
            o.status,
            o.error_code,
            o.value,
            o.attempts,
            o.wave,
            None if o.started_at is None else o.started_at - base,
            None if o.finished_at is None else o.finished_at - base,
        )
        for o in result
    ]


@given(turn=turns(), seeds=st.tuples(st.integers(0, 2**32), st.integers(0, 2**32)))
async def test_9_same_inputs_same_outcomes_and_timeline_whatever_the_wakeup_order(
    turn: TurnSpec, seeds: tuple[int, int], autojump_clock: trio.testing.MockClock
) -> None:
    timelines = []
    shuffle: random.Random = trio._core._run._r  # Trio's source of in-batch scheduling order
    state = shuffle.getstate()
    try:
        for seed in seeds:
            shuffle.seed(seed)
            timelines.append(_timeline(await run(turn, Recorder())))
    finally:
        shuffle.setstate(state)
    assert timelines[0] == timelines[1]


@given(turn=turns(failures=False, budgets=False, retries=False, policies=("best-effort",)))
async def test_waves_and_eager_agree_on_outcomes_under_best_effort(
    turn: TurnSpec, autojump_clock: trio.testing.MockClock
) -> None:
    def summary(result: TurnResult) -> list[tuple[object, ...]]:
        return [(o.call_id, o.status, o.error_code, o.value) for o in result]

    waves = await run(turn, Recorder(), schedule="waves")
    eager = await run(turn, Recorder(), schedule="eager")
    assert summary(waves) == summary(eager)


@given(turn=turns(budgets=False, policies=("best-effort",)))
async def test_best_effort_outcomes_match_the_oracle(turn: TurnSpec, autojump_clock: trio.testing.MockClock) -> None:
    result = await run(turn, Recorder())
    expected = Oracle(turn).expected_ok()
    assert {o.call_id: o.ok for o in result} == expected
    for o in result:
        if not o.ok:
            call = turn.by_id()[o.call_id]
            if all(expected[r] for r in call.refs):
                assert (o.status, o.error_code) == (Status.ERROR, ErrorCode.TOOL_ERROR)
            else:
                assert (o.status, o.error_code) == (Status.SKIPPED, ErrorCode.DEPENDENCY_FAILED)


@given(turn=turns())
def test_planner_edges_match_the_oracle(turn: TurnSpec) -> None:
    executor = turn.executor(Recorder())
    plan = executor.plan(turn.tool_calls())
    oracle = Oracle(turn)
    ids = [c.id for c in turn.calls]
    for pc in plan.calls:
        # The planner may drop edges implied by others (a write after several reads), so
        # compare what each call transitively waits for.
        assert _closure(
            plan_preds={c.call.id: {ids[j] for j in c.predecessors} for c in plan.calls}, node=pc.call.id
        ) == _closure(plan_preds={c: oracle.predecessors(c) for c in ids}, node=pc.call.id)


def _closure(*, plan_preds: dict[str, set[str]], node: str) -> set[str]:
    seen: set[str] = set()
    stack = list(plan_preds[node])
    while stack:
        n = stack.pop()
        if n not in seen:
            seen.add(n)
            stack.extend(plan_preds[n])
    return seen


@given(
    turn=turns(budgets=False, policies=("best-effort",)),
    gaps=st.lists(st.sampled_from([0.0, 0.25, 1.0]), min_size=10, max_size=10),
)
async def test_open_turns_agree_with_batches_and_keep_the_invariants(
    turn: TurnSpec, gaps: list[float], autojump_clock: trio.testing.MockClock
) -> None:
    """Calls submitted one by one (as a stream delivers them) end as in a batch, caps and order held."""
    batch = await run(turn, Recorder(), schedule="eager")
    recorder = Recorder()
    executor = turn.executor(recorder, schedule="eager")
    async with executor.open_turn() as open_turn:
        for call, gap in zip(turn.tool_calls(), gaps, strict=False):
            await trio.sleep(gap)
            open_turn.submit(call)
    streamed = open_turn.result
    assert [(o.call_id, o.status, o.error_code, o.value) for o in streamed] == [
        (o.call_id, o.status, o.error_code, o.value) for o in batch
    ]
    for resource, cap in turn.limits.items():
        assert recorder.max_overlap_on(resource) <= cap
    for earlier, later in Oracle(turn).conflicts():
        assert recorder.first_ends_before(earlier, later)
    if not any(gaps[: len(turn.calls)]):
        assert streamed.elapsed == batch.elapsed
