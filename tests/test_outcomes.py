"""Every status and every error code, each from the smallest turn that produces it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from helpers import Log, sleeper

from trio_toolpar import (
    BestEffort,
    CallContext,
    ErrorCode,
    Executor,
    FailFast,
    RateLimited,
    Registry,
    Retry,
    Status,
    ToolCall,
    TurnResult,
)


def registry_with_tools() -> tuple[Registry, Log]:
    registry, log = Registry(), Log()
    sleeper(registry, log, "search")
    sleeper(registry, log, "slow", timeout=2.0)

    @registry.tool
    async def lookup(order_id: int, fields: list[str] | None = None) -> dict[str, Any]:
        """Look an order up.

        Args:
            order_id: the order number.
            fields: which fields to return.
        """
        await trio.sleep(0.5)
        return {"order_id": order_id, "items": [{"sku": "A1", "qty": 2}], "owner": {"name": "Ada"}}

    return registry, log


async def run(calls: list[ToolCall], **options: Any) -> TurnResult:
    registry, _ = registry_with_tools()
    return await Executor(registry, **options).run(calls)


async def test_ok_error_and_timeout(autojump_clock: trio.testing.MockClock) -> None:
    result = await run(
        [
            ToolCall(id="a", tool="search", arguments={"tag": "a", "seconds": 1}),
            ToolCall(id="b", tool="search", arguments={"tag": "b", "seconds": 1, "fail": True}),
            ToolCall(id="c", tool="slow", arguments={"tag": "c", "seconds": 5}),
        ]
    )
    a, b, c = result
    assert (a.status, a.ok, a.error_code, a.attempts) == (Status.OK, True, None, 1)
    assert (b.status, b.error_code, b.error) == (Status.ERROR, ErrorCode.TOOL_ERROR, "RuntimeError: b failed")
    assert isinstance(b.exception, RuntimeError)
    assert (c.status, c.error_code) == (Status.TIMEOUT, ErrorCode.TIMEOUT)
    assert c.error == "no result within the tool's 2 s timeout"
    assert c.latency_ms == 2000.0


async def test_unknown_tool_suggests_the_closest_name(autojump_clock: trio.testing.MockClock) -> None:
    (o,) = await run([ToolCall(id="a", tool="serch", arguments={})])
    assert (o.status, o.error_code) == (Status.REJECTED, ErrorCode.UNKNOWN_TOOL)
    assert o.error == "tool 'serch' is not registered; did you mean 'search'?"
    assert o.started_at is None
    assert o.attempts == 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ('{"order_id": 1,', "arguments are not valid JSON"),
        ("[1, 2]", "arguments must be a JSON object, got list"),
        ({"order_id": "7"}, "$.order_id: expected integer, got string '7'"),
        ({"order_id": 7.5}, "$.order_id: expected integer, got number 7.5"),
        ({"order_id": True}, "$.order_id: expected integer, got boolean True"),
        ({}, "missing required property 'order_id'"),
        ({"order_id": 1, "colour": "red"}, "unexpected property 'colour' (known: fields, order_id)"),
        ({"order_id": 1, "fields": ["a", 2]}, "$.fields[1]: expected string, got integer 2"),
    ],
)
async def test_invalid_arguments(
    arguments: str | dict[str, Any], message: str, autojump_clock: trio.testing.MockClock
) -> None:
    (o,) = await run([ToolCall(id="a", tool="lookup", arguments=arguments)])
    assert (o.status, o.error_code) == (Status.REJECTED, ErrorCode.INVALID_ARGUMENTS)
    assert o.error is not None
    assert message in o.error


async def test_raw_json_arguments_are_parsed(autojump_clock: trio.testing.MockClock) -> None:
    (o,) = await run([ToolCall(id="a", tool="lookup", arguments='{"order_id": 9}')])
    assert o.ok
    assert o.value["order_id"] == 9


async def test_duplicate_ids_reject_every_call_sharing_the_id(autojump_clock: trio.testing.MockClock) -> None:
    result = await run(
        [
            ToolCall(id="x", tool="lookup", arguments={"order_id": 1}),
            ToolCall(id="y", tool="lookup", arguments={"order_id": 2}),
            ToolCall(id="x", tool="lookup", arguments={"order_id": 3}),
        ]
    )
    assert [(o.status, o.error_code) for o in result] == [
        (Status.REJECTED, ErrorCode.DUPLICATE_CALL_ID),
        (Status.OK, None),
        (Status.REJECTED, ErrorCode.DUPLICATE_CALL_ID),
    ]
    assert result[0].error == "call id 'x' is used by the calls at positions 0, 2; ids must be unique within a turn"


async def test_references_substitute_values_not_text(autojump_clock: trio.testing.MockClock) -> None:
    result = await run(
        [
            ToolCall(id="o", tool="lookup", arguments={"order_id": 1}),
            ToolCall(
                id="s",
                tool="search",
                arguments={
                    "tag": "$o.owner.name",
                    "seconds": 1,
                    "value": {"whole": "$o", "qty": "$o.items.0.qty", "list": ["$o.items.0"], "money": "$$5.00"},
                },
            ),
        ]
    )
    assert result.ok
    value = result["s"].value
    assert value["tag"] == "Ada"
    assert value["value"]["qty"] == 2
    assert value["value"]["whole"]["owner"] == {"name": "Ada"}
    assert value["value"]["list"] == [{"sku": "A1", "qty": 2}]
    assert value["value"]["money"] == "$5.00"
    assert result["s"].started_at == result["o"].finished_at


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("$o.missing", "$o has no key 'missing' (keys: 'order_id', 'items', 'owner')"),
        ("$o.items.5", "index 5 is out of range for $o.items (length 1)"),
        ("$o.items.-1", "$o.items is a list; '-1' is not a non-negative index"),
        ("$o.__class__", "$o has no key '__class__'"),
        ("$o.order_id.real", "$o.order_id is a int, it has no 'real'"),
    ],
)
async def test_bad_reference_paths_are_rejected_when_the_call_would_start(
    reference: str, message: str, autojump_clock: trio.testing.MockClock
) -> None:
    result = await run(
        [
            ToolCall(id="o", tool="lookup", arguments={"order_id": 1}),
            ToolCall(id="s", tool="search", arguments={"tag": "t", "seconds": 1, "value": reference}),
        ]
    )
    s = result["s"]
    assert (s.status, s.error_code) == (Status.REJECTED, ErrorCode.BAD_REFERENCE)
    assert s.error is not None
    assert message in s.error
    assert s.finished_at == result["o"].finished_at


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("$nope", "refers to call 'nope', which is not in this turn"),
        ("$o.", "has an empty path segment"),
        ("$o..x", "has an empty path segment"),
    ],
)
async def test_bad_references_found_when_planning(
    reference: str, message: str, autojump_clock: trio.testing.MockClock
) -> None:
    result = await run(
        [
            ToolCall(id="o", tool="lookup", arguments={"order_id": 1}),
            ToolCall(id="s", tool="search", arguments={"tag": reference, "seconds": 1}),
        ]
    )
    s = result["s"]
    assert (s.status, s.error_code) == (Status.REJECTED, ErrorCode.BAD_REFERENCE)
    assert s.error is not None
    assert message in s.error
    assert s.started_at is None


async def test_strings_that_only_look_like_references_are_literal(autojump_clock: trio.testing.MockClock) -> None:
    literals = ["$5.00", "costs $5", "$", "$ x", "a$b"]
    result = await run([ToolCall(id="s", tool="search", arguments={"tag": "t", "seconds": 0, "value": literals})])
    assert result[0].value["value"] == literals


async def test_arguments_are_checked_again_after_substitution(autojump_clock: trio.testing.MockClock) -> None:
    result = await run(
        [
            ToolCall(id="o", tool="lookup", arguments={"order_id": 1}),
            ToolCall(id="p", tool="lookup", arguments={"order_id": "$o.owner.name"}),
        ]
    )
    p = result["p"]
    assert (p.status, p.error_code) == (Status.REJECTED, ErrorCode.INVALID_ARGUMENTS)
    assert p.error is not None
    assert "once references are substituted" in p.error
    assert "$.order_id: expected integer, got string 'Ada'" in p.error


async def test_a_cycle_rejects_the_whole_batch_and_names_it(autojump_clock: trio.testing.MockClock) -> None:
    result = await run(
        [
            ToolCall(id="free", tool="lookup", arguments={"order_id": 1}),
            ToolCall(id="c1", tool="search", arguments={"tag": "$c2", "seconds": 1}),
            ToolCall(id="c2", tool="search", arguments={"tag": "$c1", "seconds": 1}),
        ]
    )
    free, c1, c2 = result
    assert (free.status, free.error_code) == (Status.REJECTED, ErrorCode.BATCH_REJECTED)
    assert (c1.status, c1.error_code) == (Status.REJECTED, ErrorCode.DEPENDENCY_CYCLE)
    assert (c2.status, c2.error_code) == (Status.REJECTED, ErrorCode.DEPENDENCY_CYCLE)
    assert c1.error is not None
    assert "c1 -> c2 -> c1" in c1.error
    assert "serial plan" in c1.error
    assert free.error is not None
    assert "c1 -> c2 -> c1" in free.error
    assert result.elapsed == 0.0
    assert result.plan.cycle == ("c1", "c2", "c1")


async def test_a_cycle_through_a_conflict_edge_is_rejected_too(autojump_clock: trio.testing.MockClock) -> None:
    registry, log = Registry(), Log()
    sleeper(registry, log, "put", side_effect="write", key="doc:{k}")
    # w1 is emitted first, so the conflict orders w1 before w2; w1 also needs w2's result.
    result = await Executor(registry).run(
        [
            ToolCall(id="w1", tool="put", arguments={"tag": "1", "seconds": 1, "k": "a", "value": "$w2"}),
            ToolCall(id="w2", tool="put", arguments={"tag": "2", "seconds": 1, "k": "a"}),
        ]
    )
    assert [o.error_code for o in result] == [ErrorCode.DEPENDENCY_CYCLE, ErrorCode.DEPENDENCY_CYCLE]


async def test_dependency_failed_is_transitive(autojump_clock: trio.testing.MockClock) -> None:
    result = await run(
        [
            ToolCall(id="a", tool="search", arguments={"tag": "a", "seconds": 1, "fail": True}),
            ToolCall(id="b", tool="search", arguments={"tag": "$a", "seconds": 1}),
            ToolCall(id="c", tool="search", arguments={"tag": "$b.tag", "seconds": 1}),
            ToolCall(id="d", tool="nope", arguments={}),
            ToolCall(id="e", tool="search", arguments={"tag": "$d", "seconds": 1}),
        ]
    )
    a, b, c, d, e = result
    assert a.status is Status.ERROR
    assert (b.status, b.error_code) == (Status.SKIPPED, ErrorCode.DEPENDENCY_FAILED)
    assert b.error == "not run: it depends on call 'a', which ended error (tool_error)"
    assert (c.status, c.error_code) == (Status.SKIPPED, ErrorCode.DEPENDENCY_FAILED)
    assert d.error_code is ErrorCode.UNKNOWN_TOOL
    assert (e.status, e.error_code) == (Status.SKIPPED, ErrorCode.DEPENDENCY_FAILED)
    assert e.error == "not run: it depends on call 'd', which was rejected (unknown_tool)"


async def test_fail_fast_with_a_rejected_call_starts_nothing(autojump_clock: trio.testing.MockClock) -> None:
    result = await run(
        [
            ToolCall(id="a", tool="search", arguments={"tag": "a", "seconds": 1}),
            ToolCall(id="b", tool="nope", arguments={}),
        ],
        policy=FailFast(),
    )
    a, b = result
    assert (a.status, a.error_code, a.started_at) == (Status.SKIPPED, ErrorCode.SIBLING_FAILED, None)
    assert b.error_code is ErrorCode.UNKNOWN_TOOL


async def test_rate_limited_after_retries_honours_retry_after(autojump_clock: trio.testing.MockClock) -> None:
    registry = Registry(default_side_effect="read")
    seen: list[tuple[int, float]] = []

    @registry.tool(retry=Retry(attempts=3, backoff=0.5, jitter=0.0))
    async def api(ctx: CallContext) -> None:
        seen.append((ctx.attempt, trio.current_time()))
        raise RateLimited("slow down", retry_after=4.0)

    start = trio.current_time()
    (o,) = await Executor(registry).run([ToolCall(id="a", tool="api")])
    assert (o.status, o.error_code, o.attempts) == (Status.ERROR, ErrorCode.RATE_LIMITED, 3)
    assert o.error == "RateLimited: slow down (after 3 attempts)"
    assert [(n, t - start) for n, t in seen] == [(1, 0.0), (2, 4.0), (3, 8.0)]


async def test_cancelled_and_skipped_carry_the_callers_code(autojump_clock: trio.testing.MockClock) -> None:
    registry, _ = registry_with_tools()
    turn = Executor(registry, policy=BestEffort()).turn(
        [
            ToolCall(id="a", tool="search", arguments={"tag": "a", "seconds": 3}),
            ToolCall(id="b", tool="search", arguments={"tag": "$a", "seconds": 1}),
        ]
    )
    with trio.move_on_after(1):
        await turn.run()
    a, b = turn.result
    assert (a.status, a.error_code) == (Status.CANCELLED, ErrorCode.CANCELLED)
    assert a.error == "stopped: the turn was cancelled by its caller"
    assert (b.status, b.error_code) == (Status.SKIPPED, ErrorCode.CANCELLED)
    assert b.error == "not started: the turn was cancelled by its caller"


def test_every_error_code_is_documented() -> None:
    text = (Path(__file__).parent.parent / "docs" / "semantics.md").read_text(encoding="utf-8")
    for code in ErrorCode:
        assert f"`{code.value}`" in text, code
    for status in Status:
        assert f"`{status.value}`" in text, status


async def test_outcomes_serialize_to_json(autojump_clock: trio.testing.MockClock) -> None:
    from trio_toolpar._values._convert import converter

    result = await run([ToolCall(id="o", tool="lookup", arguments={"order_id": 1})])
    data = json.loads(json.dumps(converter.unstructure(result)))
    assert data["ok"] is True
    assert data["outcomes"][0]["status"] == "ok"
    assert data["outcomes"][0]["ok"] is True
    assert data["outcomes"][0]["value"]["owner"] == {"name": "Ada"}
    assert "exception" not in data["outcomes"][0]
