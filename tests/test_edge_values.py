"""Values at the edges: what a tool, a vendor or a name can hand us that once broke a mechanism.

Each test names the rule it checks; the rules are in docs/semantics.md and docs/rate-limits.md.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import trio
import trio.testing

from trio_toolpar import (
    ErrorCode,
    Executor,
    RateLimited,
    Registry,
    Retry,
    ToolCall,
)

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
