"""Tools receive their declared Python types, and arguments that do not fit them are rejected with a path."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs
import trio
import trio.testing

from trio_toolpar import ErrorCode, Executor, Registry, Status, ToolCall


class Priority(enum.Enum):
    LOW = "low"
    HIGH = "high"


@attrs.frozen
class Item:
    sku: str
    count: int


def registry(seen: list[object]) -> Registry:
    tools = Registry()

    @tools.tool(side_effect="read")
    async def plan(priority: Priority, window: tuple[int, int], items: list[Item], at: datetime) -> str:
        seen.extend([priority, window, items, at])
        return f"{priority.value}:{sum(i.count for i in items)}"

    @tools.tool(side_effect="read")
    async def total() -> dict[str, object]:
        return {"items": [{"sku": "a", "count": 2}, {"sku": "b", "count": 5}], "when": "2026-12-01T10:00:00"}

    return tools


async def test_a_tool_gets_enums_tuples_classes_and_datetimes(autojump_clock: trio.testing.MockClock) -> None:
    seen: list[object] = []
    arguments = {"priority": "high", "window": [1, 2], "items": [{"sku": "a", "count": 2}], "at": "2026-12-01T10:00:00"}
    result = await Executor(registry(seen)).run([ToolCall(id="p", tool="plan", arguments=arguments)])
    assert result["p"].value == "high:2"
    assert seen == [Priority.HIGH, (1, 2), [Item(sku="a", count=2)], datetime(2026, 12, 1, 10, 0)]


async def test_referenced_values_are_structured_too(autojump_clock: trio.testing.MockClock) -> None:
    seen: list[object] = []
    calls = [
        ToolCall(id="t", tool="total"),
        ToolCall(
            id="p", tool="plan", arguments={"priority": "low", "window": [0, 9], "items": "$#1.items", "at": "$t.when"}
        ),
    ]
    result = await Executor(registry(seen)).run(calls)
    assert result["p"].value == "low:7"
    assert seen[2] == [Item(sku="a", count=2), Item(sku="b", count=5)]


async def test_a_value_that_does_not_fit_the_type_is_rejected_with_its_path(
    autojump_clock: trio.testing.MockClock,
) -> None:
    seen: list[object] = []
    calls = [
        ToolCall(id="t", tool="total"),
        ToolCall(id="p", tool="plan", arguments={"priority": "low", "window": [0, 9], "items": "$t.items", "at": "$t"}),
    ]
    result = await Executor(registry(seen)).run(calls)
    p = result["p"]
    assert (p.status, p.error_code) == (Status.REJECTED, ErrorCode.INVALID_ARGUMENTS)
    assert p.error is not None and "$.at" in p.error
    assert seen == []
