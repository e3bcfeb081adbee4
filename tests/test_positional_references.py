"""Positional references: ``$#N`` names the turn's N-th call, for models that cannot know call ids."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

from trio_toolpar import ErrorCode, Executor, Registry, Status, ToolCall
from trio_toolpar._arguments._references import parse_reference


def registry() -> Registry:
    tools = Registry()

    @tools.tool(side_effect="read")
    async def fetch(order_id: int) -> dict[str, Any]:
        await trio.sleep(1)
        return {"order": {"id": order_id, "total": order_id * 10}}

    @tools.tool(side_effect="read")
    async def echo(value: Any) -> Any:
        await trio.sleep(0.5)
        return value

    return tools


@pytest.mark.parametrize(
    ("text", "position", "path"),
    [("$#1", 0, ()), ("$#12.order.id", 11, ("order", "id")), ("$#3.items.0", 2, ("items", "0"))],
)
def test_positional_forms_parse(text: str, position: int, path: tuple[str, ...]) -> None:
    ref = parse_reference(text)
    assert ref is not None
    assert (ref.position, ref.path) == (position, path)


@pytest.mark.parametrize("text", ["$#0", "$#", "$#x", "$#01", "$$#1", "#1", "costs $#1"])
def test_other_hash_strings_are_literal(text: str) -> None:
    assert parse_reference(text) is None


def test_an_id_reference_has_no_position() -> None:
    ref = parse_reference("$c1.total")
    assert ref is not None and ref.position is None


async def test_batch_positional_reference_waits_and_substitutes(autojump_clock: trio.testing.MockClock) -> None:
    executor = Executor(registry())
    start = trio.current_time()
    result = await executor.run(
        [
            ToolCall(id="call_b", tool="echo", arguments={"value": "$#2.order.total"}),
            ToolCall(id="call_a", tool="fetch", arguments={"order_id": 4}),
            ToolCall(id="call_c", tool="echo", arguments={"value": "$$#2"}),
        ]
    )
    assert [o.status for o in result] == [Status.OK, Status.OK, Status.OK]
    assert result[0].value == 40
    assert result[2].value == "$#2"
    assert result[0].started_at is not None
    assert result[0].started_at - start == 1.0
    assert result[0].wave == 1


async def test_a_position_past_the_turn_is_a_bad_reference(autojump_clock: trio.testing.MockClock) -> None:
    result = await Executor(registry()).run(
        [
            ToolCall(id="a", tool="echo", arguments={"value": "$#3"}),
            ToolCall(id="b", tool="echo", arguments={"value": 1}),
        ]
    )
    assert result[0].status is Status.REJECTED
    assert result[0].error_code == ErrorCode.BAD_REFERENCE
    assert result[0].error is not None and "#3" in result[0].error and "2 call(s)" in result[0].error
    assert result[1].ok


async def test_a_call_naming_its_own_position_is_a_cycle(autojump_clock: trio.testing.MockClock) -> None:
    result = await Executor(registry()).run([ToolCall(id="a", tool="echo", arguments={"value": "$#1"})])
    assert result[0].error_code == ErrorCode.DEPENDENCY_CYCLE


async def test_open_turn_counts_positions_as_submitted(autojump_clock: trio.testing.MockClock) -> None:
    executor = Executor(registry())
    start = trio.current_time()
    async with executor.open_turn() as turn:
        turn.submit(ToolCall(id="x", tool="echo", arguments={"value": "$#2.order.id"}))  # waits for a later call
        await trio.sleep(0.25)
        turn.submit(ToolCall(id="y", tool="fetch", arguments={"order_id": 9}))
        turn.submit(ToolCall(id="z", tool="echo", arguments={"value": "$#7"}))  # never arrives
    result = turn.result
    assert result[0].value == 9
    assert result[0].started_at is not None and result[0].started_at - start == 1.25
    assert result[2].status is Status.REJECTED
    assert result[2].error_code == ErrorCode.BAD_REFERENCE
