"""Values at the edges: what a tool, a vendor or a name can hand us that once broke a mechanism.

Each test names the rule it checks; the rules are in docs/semantics.md and docs/rate-limits.md.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

import httpx
import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from trio_toolpar import (
    ErrorCode,
    Executor,
    Hedge,
    RateLimited,
    Registry,
    Retry,
    Status,
    ToolCall,
    raise_for_rate_limit,
)
from trio_toolpar._arguments._references import parse_reference
from trio_toolpar.agent import retry_after
from trio_toolpar.compose import parallel, sequence, step

# -- RateLimited(retry_after=...): a pause never outlives reason ----------------------------

LONGEST = 3600.0  # RateLimited.MAX_RETRY_AFTER, as docs/rate-limits.md says


@pytest.mark.parametrize(
    ("given_", "kept"),
    [
        (None, None),
        (0, 0.0),
        (2.5, 2.5),
        (-3.0, 0.0),  # a moment already past: no wait
        (math.inf, LONGEST),  # "wait forever" is the longest pause, not forever
        (1e12, LONGEST),
        (LONGEST + 1, LONGEST),
    ],
)
def test_retry_after_is_kept_within_zero_and_the_longest_pause(given_: float | None, kept: float | None) -> None:
    assert RateLimited(retry_after=given_).retry_after == kept


@pytest.mark.parametrize(("value", "error"), [(math.nan, ValueError), ("3", TypeError), (True, TypeError)])
def test_a_retry_after_that_says_no_time_is_refused(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="retry_after"):
        RateLimited(retry_after=value)


def test_retry_after_cannot_be_changed_once_raised() -> None:
    exc = RateLimited(retry_after=1.0)
    with pytest.raises(AttributeError):
        exc.retry_after = math.inf  # type: ignore[misc]


async def test_an_infinite_retry_after_pauses_the_resource_for_the_longest_pause_only(
    autojump_clock: trio.testing.MockClock,
) -> None:
    tools = Registry()
    answers: list[float | None] = [math.inf]

    @tools.tool(side_effect="read", resource="vendor", retry=Retry(attempts=1))
    async def lookup() -> str:
        if answers:
            raise RateLimited("quota", retry_after=answers.pop())
        return "ok"

    executor = Executor(tools, deterministic=True)
    first = await executor.run([ToolCall(id="a", tool="lookup")])
    assert first["a"].error_code is ErrorCode.RATE_LIMITED
    paused_at = first["a"].finished_at
    assert paused_at is not None
    with trio.fail_after(2 * LONGEST):  # a pause forever would hang every later turn
        later = await executor.run([ToolCall(id="b", tool="lookup")])
    assert later["b"].ok and later["b"].started_at == paused_at + LONGEST


# -- Retry-After headers: any mapping, any case; a huge value is the longest pause ---------


@pytest.mark.parametrize(
    "headers",
    [
        {"Retry-After": "7"},
        {"RETRY-AFTER": "7"},
        {"retry-after": "7"},
        {"Retry-After-Ms": "7000"},
        httpx.Headers({"Retry-After": "7"}),
    ],
)
def test_retry_after_headers_are_read_in_any_case_from_any_mapping(headers: Any) -> None:
    assert retry_after(headers) == 7.0
    with pytest.raises(RateLimited) as caught:
        raise_for_rate_limit(httpx.Response(429, headers=dict(headers.items())))
    assert caught.value.retry_after == 7.0


def test_a_plain_dict_of_capitalised_headers_reaches_the_rate_limit() -> None:
    class Response:
        def __init__(self) -> None:
            self.status_code = 503
            self.headers = {"Content-Type": "text/plain", "Retry-After": "12"}

    with pytest.raises(RateLimited) as caught:
        raise_for_rate_limit(Response())
    assert caught.value.retry_after == 12.0


@pytest.mark.parametrize("value", ["99999999999", "Fri, 31 Dec 9999 23:59:59 GMT", "9" * 400])
def test_a_vendors_huge_retry_after_is_the_longest_pause(value: str) -> None:
    with pytest.raises(RateLimited) as caught:
        raise_for_rate_limit(httpx.Response(429, headers={"Retry-After": value}), now=lambda: 0.0)
    assert caught.value.retry_after == LONGEST


@pytest.mark.parametrize("value", ["soon", "inf", "-inf", "nan", "1e400", ""])
def test_a_retry_after_that_is_neither_number_nor_date_is_no_answer(value: str) -> None:
    assert retry_after({"Retry-After": value}) is None
    assert retry_after({"retry-after-ms": value, "Retry-After": "4"}) == 4.0


# -- step ids: always an id a reference and an ordering can name ----------------------------


@given(st.from_regex(r"[A-Za-z0-9_\-]{1,64}", fullmatch=True))
def test_a_steps_default_id_is_referenceable_whatever_the_tool_is_called(tool: str) -> None:
    (call,) = step(tool).calls
    reference = parse_reference(step(tool).ref("x"))
    assert reference is not None and (reference.call_id, reference.path) == (call.id, ("x",))
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", tool):
        assert call.id == tool  # a name that is already an id stays the id


async def test_a_tool_named_3d_can_be_sequenced_and_referenced(autojump_clock: trio.testing.MockClock) -> None:
    tools = Registry()

    @tools.tool(name="3d", side_effect="read")
    async def render() -> dict[str, int]:
        return {"faces": 6}

    @tools.tool(side_effect="read")
    async def count(n: int) -> int:
        return n

    first = step("3d")
    pipeline = sequence(first, parallel(step("count", {"n": first.ref("faces")})))
    result = await Executor(tools).run(pipeline.calls, races=pipeline.races)
    assert [(o.status, o.value) for o in result] == [(Status.OK, {"faces": 6}), (Status.OK, 6)]


# -- async callables: objects with async __call__, partials of them --------------------------


class Adder:
    """Adds two numbers, asynchronously."""

    async def __call__(self, a: int, b: int) -> int:
        await trio.sleep(1.0)
        return a + b


async def add3(a: int, b: int, c: int) -> int:
    await trio.sleep(1.0)
    return a + b + c


@pytest.mark.parametrize(
    "fn",
    [
        Adder(),
        functools.partial(add3, c=0),
        functools.partial(Adder()),
        functools.partial(functools.partial(add3), c=0),
    ],
    ids=["async-call", "partial", "partial-of-async-call", "partial-of-partial"],
)
async def test_async_callables_register_as_async_and_run(fn: Any, autojump_clock: trio.testing.MockClock) -> None:
    tools = Registry()
    tool = tools.add(fn, name="add", side_effect="read")
    assert tool.is_async
    assert tool.parameters["required"] == ["a", "b"]
    t0 = trio.current_time()
    result = await Executor(tools).run([ToolCall(id=f"x{i}", tool="add", arguments={"a": i, "b": 1}) for i in range(3)])
    assert [o.value for o in result] == [1, 2, 3]
    assert {o.finished_at for o in result} == {t0 + 1.0}  # async: they overlap, no threads involved


async def test_a_hedged_async_callable_object_is_allowed() -> None:
    tools = Registry()
    tool = tools.add(Adder(), name="add", side_effect="read", hedge=Hedge(after=0.5))
    assert tool.is_async


def test_a_sync_callable_object_stays_sync() -> None:
    class Doubler:
        def __call__(self, n: int) -> int:
            return 2 * n

    tool = Registry().add(Doubler(), name="double", side_effect="read")
    assert not tool.is_async and tool.parameters["required"] == ["n"]


async def search(q: str, api_key: str, limit: int = 10) -> list[str]:
    return [q, api_key[:2], str(limit)]


def test_what_a_partial_fixes_is_not_the_models_to_pass() -> None:
    tool = Registry().add(functools.partial(search, api_key="secret"), name="search", side_effect="read")
    assert tool.is_async
    assert tool.parameters["properties"].keys() == {"q", "limit"}  # the key never reaches the model
    assert "secret" not in repr(tool.parameters)


async def test_an_async_callable_object_with_an_explicit_schema_runs(autojump_clock: trio.testing.MockClock) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}}
    tools = Registry()
    tools.add(Adder(), name="add", side_effect="read", parameters=schema)
    (outcome,) = await Executor(tools).run([ToolCall(id="x", tool="add", arguments={"a": 2, "b": 3})])
    assert outcome.ok and outcome.value == 5  # it was run in a thread as a sync tool, and failed
