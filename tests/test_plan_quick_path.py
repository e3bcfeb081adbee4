"""The planner's quick path: a call planned at once decides nothing the full checks would decide otherwise.

Calls whose arguments are a flat dict that fits the tool are planned in one
step, most without a draft. Sent as JSON text, the same calls take the full
path (parse, scan for references, validate); both plans must agree on
everything but the `ToolCall` objects themselves.
"""

from __future__ import annotations

import json
from typing import Any

import attrs
from hypothesis import example, given
from hypothesis import strategies as st

from trio_toolpar import ErrorCode, Registry, Status, ToolCall
from trio_toolpar.plan import Plan


def registry() -> Registry:
    reg = Registry()

    @reg.tool(name="pure", side_effect="none")
    async def pure(n: int = 0) -> int:
        """A call that touches nothing."""
        return n

    @reg.tool(name="get", side_effect="read", key="doc:{k}")
    async def get(k: str) -> str:
        """Read a document."""
        return k

    @reg.tool(name="put", side_effect="write", key="doc:{k}")
    async def put(k: str, n: int = 0) -> int:
        """Write a document."""
        return n

    @reg.tool(name="post", side_effect="write")
    async def post(n: int = 0) -> int:
        """Write somewhere without a key."""
        return n

    return reg


IDS = ["a", "b", "c", "d", "e", "f"]
VALUES = st.sampled_from([0, 1, "x", "y", "$a", "$b.n", "$#1", "$#9", "$$y", "$@r", True, None])


@st.composite
def batches(draw: st.DrawFn) -> list[ToolCall]:
    calls = []
    for i in range(draw(st.integers(min_value=0, max_value=8))):
        tool = draw(st.sampled_from(["pure", "pure", "get", "put", "post", "nope"]))
        arguments = draw(st.dictionaries(st.sampled_from(["n", "k", "z"]), VALUES, max_size=2))
        if tool in ("get", "put") and draw(st.booleans()):
            arguments["k"] = draw(st.sampled_from(["x", "y"]))
        calls.append(
            ToolCall(
                id=draw(st.sampled_from(IDS)) if draw(st.booleans()) else f"u{i}",
                tool=tool,
                arguments=arguments,
                priority=draw(st.sampled_from([0, 0, 1, 2])),
                race=draw(st.sampled_from([None, None, None, "r", "bad name"])),
                after=draw(st.sampled_from([(), (), ("a",), ("#2",)])),
            )
        )
    return calls


def as_text(call: ToolCall) -> ToolCall:
    return attrs.evolve(call, arguments=json.dumps(call.arguments))


def decisions(plan: Plan) -> list[dict[str, Any]]:
    """Every field of every planned call but the call itself (whose arguments differ in form only)."""
    return [{k: v for k, v in attrs.asdict(pc, recurse=False).items() if k != "call"} for pc in plan.calls]


@given(batches())
@example(
    [
        ToolCall(id="a", tool="get", arguments={"k": "x"}),
        ToolCall(id="b", tool="put", arguments={"k": "x"}),
        ToolCall(id="c", tool="get", arguments={"k": "x"}),
    ]
)
@example([ToolCall(id="a", tool="pure", arguments={"n": "$b"}), ToolCall(id="b", tool="pure", arguments={"n": "$a"})])
def test_the_quick_path_plans_what_the_full_checks_plan(calls: list[ToolCall]) -> None:
    reg = registry()
    quick, full = Plan.build(reg, calls), Plan.build(reg, [as_text(c) for c in calls])
    assert decisions(quick) == decisions(full)
    assert (quick.waves, quick.cycle) == (full.waves, full.cycle)
    assert [pc.call for pc in quick.calls] == calls


def test_reads_wait_for_a_write_before_them_and_a_write_for_the_reads_before_it() -> None:
    plan = Plan.build(
        registry(),
        [
            ToolCall(id="r1", tool="get", arguments={"k": "x"}),
            ToolCall(id="p", tool="pure", arguments={"n": 1}),
            ToolCall(id="w", tool="put", arguments={"k": "x"}),
            ToolCall(id="r2", tool="get", arguments={"k": "x"}),
        ],
    )
    assert [pc.after for pc in plan.calls] == [(), (), (0,), (2,)]
    assert plan.waves == ((0, 1), (2,), (3,))


def test_a_cycle_rejects_the_calls_planned_at_once_as_well() -> None:
    plan = Plan.build(
        registry(),
        [
            ToolCall(id="p", tool="pure", arguments={"n": 1}),
            ToolCall(id="a", tool="pure", arguments={"n": "$b"}),
            ToolCall(id="b", tool="pure", arguments={"n": "$a"}),
        ],
    )
    assert plan.cycle == ("a", "b", "a")
    assert plan.waves == ()
    assert [(pc.verdict and pc.verdict.code, pc.generation) for pc in plan.calls] == [
        (ErrorCode.BATCH_REJECTED, None),
        (ErrorCode.DEPENDENCY_CYCLE, None),
        (ErrorCode.DEPENDENCY_CYCLE, None),
    ]
    assert plan.calls[0].verdict is not None and plan.calls[0].verdict.status is Status.REJECTED
    assert "dependency cycle a -> b -> a" in plan.calls[0].verdict.message


def test_waves_rank_larger_priorities_first_then_emission_order() -> None:
    plan = Plan.build(
        registry(),
        [ToolCall(id=f"c{i}", tool="pure", arguments={"n": i}, priority=p) for i, p in enumerate([0, 2, 1, 2, 0])],
    )
    assert plan.waves == ((1, 3, 2, 0, 4),)
    assert all(pc.generation == 0 and pc.runnable for pc in plan.calls)
