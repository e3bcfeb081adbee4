"""Planning without running: edges, keys, waves, rendering."""

from __future__ import annotations

from helpers import Log, sleeper

from trio_toolpar import ErrorCode, Registry, ToolCall
from trio_toolpar.plan import Plan


def registry() -> Registry:
    reg, log = Registry(), Log()
    sleeper(reg, log, "get", key="doc:{k}")
    sleeper(reg, log, "put", side_effect="write", key="doc:{k}", resource="store")
    sleeper(reg, log, "pure", side_effect="none")
    sleeper(reg, log, "post", side_effect="write")
    return reg


def c(cid: str, tool: str, **arguments: object) -> ToolCall:
    return ToolCall(id=cid, tool=tool, arguments={"tag": cid, "seconds": 1, **arguments})


def test_conflict_edges_follow_emission_order() -> None:
    plan = Plan.build(
        registry(),
        [
            c("r1", "get", k="a"),
            c("r2", "get", k="a"),
            c("w1", "put", k="a"),
            c("r3", "get", k="a"),
            c("other", "put", k="b"),
            c("p", "pure"),
        ],
    )
    after = {pc.call.id: {plan.calls[i].call.id for i in pc.after} for pc in plan.calls}
    assert after == {"r1": set(), "r2": set(), "w1": {"r1", "r2"}, "r3": {"w1"}, "other": set(), "p": set()}
    assert [[plan.calls[i].call.id for i in wave] for wave in plan.waves] == [
        ["r1", "r2", "other", "p"],
        ["w1"],
        ["r3"],
    ]
    assert plan.calls[2].keys == ("doc:a",)


def test_a_key_filled_from_a_reference_conflicts_with_every_keyed_call() -> None:
    plan = Plan.build(
        registry(),
        [
            c("r1", "get", k="a"),
            c("src", "pure"),
            c("w", "put", k="$src.tag"),
            c("r2", "get", k="z"),
            c("post", "post"),
        ],
    )
    by_id = {pc.call.id: pc for pc in plan.calls}
    assert by_id["w"].keys is None
    assert {plan.calls[i].call.id for i in by_id["w"].predecessors} == {"r1", "src"}
    assert {plan.calls[i].call.id for i in by_id["r2"].predecessors} == {"w"}
    assert by_id["post"].predecessors == ()


def test_render_shows_waves_edges_and_rejections() -> None:
    text = Plan.build(
        registry(),
        [
            c("r1", "get", k="a"),
            c("w1", "put", k="a", value="$r1.tag"),
            ToolCall(id="x", tool="gett", arguments={}),
        ],
    ).render()
    assert text.splitlines() == [
        "plan: 3 calls, 2 waves",
        '  wave 0:  r1 get(tag="r1", seconds=1, k="a") [read doc:a]',
        '  wave 1:  w1 put(tag="w1", seconds=1, k="a", value="$r1.tag") [write doc:a @store] needs r1',
        "  not run:",
        "    x gett: rejected (unknown_tool) tool 'gett' is not registered; did you mean 'get'?",
    ]


def test_plans_of_ten_thousand_calls_stay_linear_enough() -> None:
    calls = [c(f"c{i}", "get", k=f"k{i % 50}") for i in range(10_000)] + [c("w", "put", k="k0")]
    plan = Plan.build(registry(), calls)
    assert len(plan.waves) == 2
    assert len(plan.calls[-1].after) == 200


def test_verdicts_are_in_the_plan() -> None:
    plan = Plan.build(registry(), [c("a", "get", k="a"), c("a", "get", k="b")])
    assert plan.rejected
    assert [pc.verdict.code for pc in plan.calls if pc.verdict] == [ErrorCode.DUPLICATE_CALL_ID] * 2
    assert not plan.calls[0].runnable


async def test_a_verdict_is_the_outcome_s_status_code_and_message() -> None:
    """Planning's `Verdict` and a refused call's outcome are one shape: (status, code, message)."""
    from trio_toolpar import Executor
    from trio_toolpar.plan import Verdict

    calls = [c("a", "get", k="a"), ToolCall(id="b", tool="missing", arguments={})]
    verdict = Plan.build(registry(), calls).calls[1].verdict
    assert isinstance(verdict, Verdict)
    status, code, message = verdict
    outcome = (await Executor(registry()).run(calls))["b"]
    assert (outcome.status, outcome.error_code, outcome.error) == (status, code, message) == tuple(verdict)
    assert code is ErrorCode.UNKNOWN_TOOL and "missing" in message
