"""One test per defect class of outcome safety, each asserting the exact outcome.

Each class is a way a model, a tool or a caller's setting could once cost a
turn an outcome, a wrong cause, or a crash instead of a clear error: a turn
stopped at its first instant, the per-turn retry cap under simultaneous
failures, settings that cannot work, the deadline a tool is told, schema
edge cases, values whose own methods raise, text UTF-8 cannot carry, the
shapes `Executor.run` accepts, and missing extras.

Times are on ``MockClock(autojump_threshold=0)`` and exact.
"""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
from typing import Any

import pytest
import trio
import trio.testing

from trio_toolpar import (
    BestEffort,
    CallContext,
    ErrorCode,
    Executor,
    FailFast,
    Rate,
    Registry,
    Retry,
    Retryable,
    Status,
    ToolCall,
    render_observation,
)
from trio_toolpar._values._convert import converter
from trio_toolpar.plan import Plan
from trio_toolpar.testing._hostile import Classless, Unprintable, UnprintableError, UnprintableInt


def statuses(result: Any) -> list[tuple[str, Status, ErrorCode | None]]:
    return [(o.call_id, o.status, o.error_code) for o in result]


def chain_registry() -> Registry:
    registry = Registry()

    @registry.tool(side_effect="read")
    async def step(x: object = None) -> object:
        await trio.sleep(1)
        return {"x": x}

    return registry


CHAIN = [
    ToolCall(id="c1", tool="step"),
    ToolCall(id="c2", tool="step", arguments={"x": "$c1.x"}),
    ToolCall(id="c3", tool="step", arguments={"x": "$#2"}),
    ToolCall(id="c4", tool="step"),
]


# -- a turn stopped at its first instant gives every call the turn's cause --------------------------

each_schedule = pytest.mark.parametrize("schedule", ["eager", "waves"])
each_policy = pytest.mark.parametrize("policy", [BestEffort(), FailFast()], ids=["best-effort", "fail-fast"])


@each_schedule
@each_policy
async def test_a_zero_budget_gives_dependents_budget_exceeded_not_dependency_failed(
    schedule: Any, policy: Any, autojump_clock: trio.testing.MockClock
) -> None:
    start = trio.current_time()
    result = await Executor(chain_registry(), schedule=schedule, policy=policy).run(CHAIN, budget=0)
    assert statuses(result) == [(c.id, Status.SKIPPED, ErrorCode.BUDGET_EXCEEDED) for c in CHAIN]
    assert [(o.started_at, o.finished_at) for o in result] == [(None, start)] * len(CHAIN)


@each_schedule
@each_policy
async def test_a_caller_scope_cancelled_before_the_run_gives_dependents_cancelled(
    schedule: Any, policy: Any, autojump_clock: trio.testing.MockClock
) -> None:
    start = trio.current_time()
    turn = Executor(chain_registry(), schedule=schedule, policy=policy).turn(CHAIN)
    with trio.CancelScope() as scope:
        scope.cancel()
        await turn.run()
    assert scope.cancelled_caught  # Cancelled propagated out of run, as itself
    assert statuses(turn.result) == [(c.id, Status.SKIPPED, ErrorCode.CANCELLED) for c in CHAIN]
    assert [o.finished_at for o in turn.result] == [start] * len(CHAIN)


# -- the per-turn retry cap goes to the best-ranked call, whatever Trio's wake-up order ----------------


def flaky_registry() -> Registry:
    registry = Registry()

    @registry.tool(side_effect="read")
    async def flaky(tag: str) -> None:
        await trio.sleep(1)
        raise Retryable(f"{tag} failed")

    return registry


@pytest.mark.parametrize(
    ("priorities", "retried"),
    [((0, 1, 1, 0), "c1"), ((0, 0, 0, 0), "c0"), ((0, 0, 0, 5), "c3"), ((-1, -1, 0, -1), "c2")],
)
async def test_the_per_turn_retry_cap_goes_to_the_best_ranked_of_simultaneous_failures(
    priorities: tuple[int, ...], retried: str, autojump_clock: trio.testing.MockClock
) -> None:
    shuffle: random.Random = trio._core._run._r  # Trio's source of in-batch scheduling order
    state = shuffle.getstate()
    seen = set()
    try:
        for seed in range(25):
            shuffle.seed(seed)
            policy = BestEffort(retry=Retry(attempts=3, backoff=0.5, jitter=0.0), max_retries_per_turn=1)
            executor = Executor(flaky_registry(), policy=policy, deterministic=True)
            calls = [
                ToolCall(id=f"c{i}", tool="flaky", arguments={"tag": f"c{i}"}, priority=p)
                for i, p in enumerate(priorities)
            ]
            start = trio.current_time()
            result = await executor.run(calls)
            seen.add(tuple((o.call_id, o.attempts, (o.finished_at or 0.0) - start) for o in result))
    finally:
        shuffle.setstate(state)
    # Everyone fails at 1.0; the one retry (after a 0.5 s backoff) fails at 2.5 and finds the cap spent.
    expected = tuple((f"c{i}", 2, 2.5) if f"c{i}" == retried else (f"c{i}", 1, 1.0) for i in range(4))
    assert seen == {expected}


# -- settings that cannot work are refused up front, naming the argument --------------------------------


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"thread_limit": 0}, "thread_limit"),
        ({"limits": {"x": 0}}, r"limits\['x'\] must be a whole number >= 1, not 0"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"budget": -1}, "budget"),
        ({"budget": math.nan}, "budget"),
    ],
)
def test_an_impossible_setting_raises_value_error_naming_it(options: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=named) as caught:
        Executor(chain_registry(), **options)
    assert not isinstance(caught.value, TypeError)


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"thread_limit": 2.0}, "thread_limit must be a whole number >= 1, not 2.0"),
        ({"rates": {"x": 3}}, r"rates\['x'\] must be a Rate"),
        ({"rates": {"x": {"per_second": 1}}}, r"rates\['x'\] must be a Rate"),
    ],
)
def test_a_setting_of_the_wrong_type_raises_type_error_naming_it(options: dict[str, Any], named: str) -> None:
    with pytest.raises(TypeError, match=named) as caught:
        Executor(chain_registry(), **options)
    assert not isinstance(caught.value, ValueError)


@pytest.mark.parametrize("policy", [BestEffort, FailFast])
@pytest.mark.parametrize(("cap", "error"), [(-1, ValueError), (1.5, TypeError), (True, TypeError)])
def test_a_negative_retry_cap_is_refused_when_the_policy_is_made(policy: Any, cap: object, error: type) -> None:
    with pytest.raises(error, match="max_retries_per_turn must be a whole number >= 0 or None"):
        policy(max_retries_per_turn=cap)


@pytest.mark.parametrize("budget", [-1, math.nan, -math.inf])
async def test_an_impossible_turn_budget_raises_value_error_naming_it(budget: float) -> None:
    with pytest.raises(ValueError, match="budget"):
        await Executor(chain_registry()).run(CHAIN, budget=budget)


async def test_a_rate_is_accepted() -> None:
    executor = Executor(chain_registry(), rates={"x": Rate(per_second=1)})
    assert set(executor.statistics().resources) == {"x"}


# -- CallContext.deadline is the innermost deadline the attempt runs under ---------------------------


def deadline_registry(seen: list[float]) -> Registry:
    registry = Registry()

    @registry.tool(side_effect="read", timeout=5)
    async def when(context: CallContext) -> float:
        seen.append(context.deadline)
        await trio.sleep(0.25)
        return context.deadline

    return registry


@pytest.mark.parametrize(
    ("caller", "budget", "innermost"),
    [(2.0, None, 2.0), (20.0, None, 5.0), (20.0, 3.0, 3.0), (4.0, 10.0, 4.0), (math.inf, None, 5.0)],
)
async def test_the_deadline_a_tool_sees_is_the_innermost_one(
    caller: float, budget: float | None, innermost: float, autojump_clock: trio.testing.MockClock
) -> None:
    seen: list[float] = []
    start = trio.current_time()
    with trio.move_on_after(caller):
        result = await Executor(deadline_registry(seen)).run([ToolCall(id="c1", tool="when")], budget=budget)
    assert seen == [start + innermost]
    assert (result[0].status, result[0].value) == (Status.OK, start + innermost)


# -- schema edge cases ---------------------------------------------------------------------------------


def schema_registry() -> Registry:
    registry = Registry()

    @registry.tool(
        side_effect="read",
        parameters={"type": "object", "properties": {"x": {"enum": [1]}, "n": {"type": "integer", "multipleOf": 7}}},
    )
    async def pick(x: object = 1, n: int = 0) -> object:
        return {"x": x, "n": n}

    return registry


async def test_enum_of_one_rejects_true_and_accepts_one(autojump_clock: trio.testing.MockClock) -> None:
    calls = [
        ToolCall(id="bool", tool="pick", arguments='{"x": true}'),
        ToolCall(id="one", tool="pick", arguments='{"x": 1}'),
    ]
    result = await Executor(schema_registry()).run(calls)
    assert statuses(result) == [("bool", Status.REJECTED, ErrorCode.INVALID_ARGUMENTS), ("one", Status.OK, None)]
    assert "True is not one of [1]" in (result["bool"].error or "")


async def test_multiple_of_on_a_40_digit_integer_is_exact(autojump_clock: trio.testing.MockClock) -> None:
    multiple = 7 * 10**39
    off = multiple + 1
    assert len(str(off)) == 40
    assert (off / 7).is_integer()  # float arithmetic would call it a multiple
    calls = [
        ToolCall(id="multiple", tool="pick", arguments=f'{{"n": {multiple}}}'),
        ToolCall(id="off", tool="pick", arguments=f'{{"n": {off}}}'),
    ]
    result = await Executor(schema_registry()).run(calls)
    assert statuses(result) == [("multiple", Status.OK, None), ("off", Status.REJECTED, ErrorCode.INVALID_ARGUMENTS)]
    assert result["multiple"].value == {"x": 1, "n": multiple}
    assert "is not a multiple of 7" in (result["off"].error or "")


# -- values whose own methods raise ----------------------------------------------------------------------


def hostile_registry() -> Registry:
    registry = Registry()

    @registry.tool(side_effect="read")
    async def boom() -> None:
        raise UnprintableError

    @registry.tool(side_effect="read")
    async def odd() -> object:
        return Unprintable()

    @registry.tool(side_effect="read")
    async def batch() -> None:
        raise ExceptionGroup("batch failed", [UnprintableError()])

    return registry


async def test_an_exception_whose_str_raises_is_an_error_naming_its_type(
    autojump_clock: trio.testing.MockClock,
) -> None:
    (outcome,) = await Executor(hostile_registry()).run([ToolCall(id="c1", tool="boom")])
    assert (outcome.status, outcome.error_code) == (Status.ERROR, ErrorCode.TOOL_ERROR)
    assert outcome.error == "UnprintableError: <UnprintableError>"
    assert isinstance(outcome.exception, UnprintableError)
    assert json.loads(render_observation(outcome)) == {
        "ok": False,
        "error_code": "tool_error",
        "error": "UnprintableError: <UnprintableError>",
    }


async def test_a_value_whose_repr_raises_is_ok_and_its_observation_is_json(
    autojump_clock: trio.testing.MockClock,
) -> None:
    (outcome,) = await Executor(hostile_registry()).run([ToolCall(id="c1", tool="odd")])
    assert outcome.status is Status.OK
    assert isinstance(outcome.value, Unprintable)
    assert json.loads(render_observation(outcome)) == {
        "ok": True,
        "result": "<Unprintable: <Unprintable>>",
    }


async def test_a_schema_message_about_a_number_whose_repr_raises_names_its_type(
    autojump_clock: trio.testing.MockClock,
) -> None:
    calls = [ToolCall(id="c1", tool="pick", arguments={"n": [UnprintableInt(3)]})]
    (outcome,) = await Executor(schema_registry()).run(calls)
    assert (outcome.status, outcome.error_code) == (Status.REJECTED, ErrorCode.INVALID_ARGUMENTS)
    assert "got array [<UnprintableInt>]" in (outcome.error or "")


async def test_a_referenced_value_that_cannot_be_read_is_a_bad_reference_naming_the_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry = chain_registry()

    @registry.tool(side_effect="read")
    async def classless() -> object:
        return {"x": Classless()}

    calls = [ToolCall(id="a", tool="classless"), ToolCall(id="b", tool="step", arguments={"x": "$a.x"})]
    result = await Executor(registry).run(calls)
    assert statuses(result) == [("a", Status.OK, None), ("b", Status.REJECTED, ErrorCode.BAD_REFERENCE)]
    assert result["b"].error == "a referenced value could not be read: RuntimeError"
    json.loads(render_observation(result["a"]))


async def test_arguments_a_python_caller_passes_that_cannot_be_read_are_invalid_arguments(
    autojump_clock: trio.testing.MockClock,
) -> None:
    calls = [ToolCall(id="a", tool="step", arguments={"x": [Classless()]}), ToolCall(id="b", tool="step")]
    registry = chain_registry()
    result = await Executor(registry).run(calls)
    assert statuses(result) == [("a", Status.REJECTED, ErrorCode.INVALID_ARGUMENTS), ("b", Status.OK, None)]
    assert result["a"].error == "the arguments could not be read: RuntimeError"
    assert "the arguments could not be read: RuntimeError" in Plan.build(registry, calls).render()


# -- text UTF-8 cannot carry: a model's ids, tool names and keys ---------------------------------------


async def test_model_text_with_lone_surrogates_renders_as_utf8(autojump_clock: trio.testing.MockClock) -> None:
    calls = [
        ToolCall(id="a\ud800", tool="step"),
        ToolCall(id="b", tool="st\udfffep", arguments={"x": "$#1"}),
        ToolCall(id="c", tool="step", arguments={"\ud83d": "$a\ud800"}),
    ]
    registry = chain_registry()
    result = await Executor(registry).run(calls)
    # The outcomes keep the ids as sent, so that a provider can match them; every rendering is UTF-8.
    assert [o.call_id for o in result] == ["a\ud800", "b", "c"]
    assert statuses(result)[1][1:] == (Status.REJECTED, ErrorCode.UNKNOWN_TOOL)
    renderings = [
        result.table(),
        result.timeline(),
        json.dumps(converter.unstructure(result), ensure_ascii=False),
        Plan.build(registry, calls).render(),
        *(render_observation(o) for o in result),
    ]
    for text in renderings:
        text.encode("utf-8")
    for text in renderings[:4]:
        assert "a\ufffd" in text
    assert [o["call_id"] for o in converter.unstructure(result)["outcomes"]] == ["a\ufffd", "b", "c"]


# -- the shapes Executor.run accepts, and what a result is indexed by ------------------------------------


async def test_a_result_is_indexed_by_id_and_by_position(autojump_clock: trio.testing.MockClock) -> None:
    result = await Executor(chain_registry()).run(CHAIN)
    assert result["c2"] is result[1] is result.get("c2")
    assert result[-1].call_id == "c4"
    assert result["c3"].value == {"x": {"x": None}}
    with pytest.raises(KeyError, match="no call of this turn has the id 'c9'"):
        result["c9"]
    with pytest.raises(IndexError):
        result[4]


async def test_result_get_is_like_dict_get_and_indexing_stays_strict(autojump_clock: trio.testing.MockClock) -> None:
    result = await Executor(chain_registry()).run(CHAIN)
    assert result.get("c1") is result["c1"] is result[0]
    assert result.get("c9") is None
    sentinel = object()
    assert result.get("c9", sentinel) is sentinel
    assert result.get("c1", sentinel) is result[0]
    with pytest.raises(KeyError, match=r"no call of this turn has the id 'c9' \(ids: 'c1', 'c2', 'c3', 'c4'\)"):
        result["c9"]


async def test_run_accepts_mappings_and_refuses_other_things_saying_what_to_pass(
    autojump_clock: trio.testing.MockClock,
) -> None:
    executor = Executor(chain_registry())
    result = await executor.run([{"id": "a", "tool": "step"}, {"id": "b", "tool": "step", "arguments": '{"x": 2}'}])
    assert statuses(result) == [("a", Status.OK, None), ("b", Status.OK, None)]
    assert result["b"].value == {"x": 2}
    with pytest.raises(
        TypeError, match=r"call 0 is an? int; pass ToolCall\(id=\.\.\., tool=\.\.\., arguments=\.\.\.\)"
    ):
        await executor.run([42])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"call 1 is a mapping that is not a tool call .*give 'id', 'tool'"):
        await executor.run([{"id": "a", "tool": "step"}, {"tool": "step"}])


# -- missing extras name the install command -------------------------------------------------------------


def run_without(module: str, code: str) -> subprocess.CompletedProcess[str]:
    prelude = f"import sys; sys.modules[{module!r}] = None\n"
    return subprocess.run([sys.executable, "-c", prelude + code], capture_output=True, text=True, timeout=60)


def test_importing_testing_without_hypothesis_names_the_extra() -> None:
    done = run_without("hypothesis", "import trio_toolpar.testing")
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: ")
    assert "pip install 'trio_toolpar[testing]'" in last


def test_a_model_request_without_httpx_names_the_extra() -> None:
    code = (
        "import trio\n"
        "from trio_toolpar.agent import OpenAIChat\n"
        "model = OpenAIChat(object(), model='m', base_url='http://127.0.0.1:9')\n"
        "trio.run(lambda: model.complete([{'role': 'user', 'content': 'hi'}], tools=[]))\n"
    )
    done = run_without("httpx", code)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: ")
    assert "pip install 'trio_toolpar[http]'" in last


async def test_an_unprintable_exception_in_a_group_the_tool_builds_is_an_error_naming_its_type(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Only Trio's own nursery formats a child's error with repr (docs/semantics.md, "What a tool raises")."""
    (outcome,) = await Executor(hostile_registry()).run([ToolCall(id="c1", tool="batch")])
    assert (outcome.status, outcome.error_code) == (Status.ERROR, ErrorCode.TOOL_ERROR)
    assert outcome.error == "UnprintableError: <UnprintableError> (in the tool's exception group 'batch failed')"
