"""Hedged reads: a slow attempt starts a duplicate; the first copy to return wins, the rest stop then."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

from trio_toolpar import ErrorCode, Executor, Hedge, RegistrationError, Registry, Status, ToolCall


class Copies:
    """A read whose n-th copy takes ``plan[n][0]`` seconds and then fails if ``plan[n][1]``; logs everything."""

    def __init__(self, *plan: tuple[float, bool]) -> None:
        self.plan = list(plan)
        self.log: list[tuple[str, int, float]] = []

    async def search(self, q: str) -> dict[str, Any]:
        n = len([e for e in self.log if e[0] == "start"])
        seconds, fail = self.plan[n]
        self.log.append(("start", n, trio.current_time()))
        try:
            await trio.sleep(seconds)
            if fail:
                raise RuntimeError(f"copy {n} failed")
            return {"copy": n, "q": q}
        finally:
            self.log.append(("finally", n, trio.current_time()))

    def times(self, event: str) -> dict[int, float]:
        return {n: t for e, n, t in self.log if e == event}


async def run(copies: Copies, hedge: Hedge, **options: Any) -> tuple[Any, float]:
    registry = Registry()
    registry.add(copies.search, name="search", side_effect="read", hedge=hedge, timeout=options.pop("timeout", None))
    t0 = trio.current_time()
    result = await Executor(registry, **options).run([ToolCall(id="s", tool="search", arguments={"q": "x"})])
    return result.outcomes[0], t0


async def test_a_slow_first_copy_is_overtaken_by_its_hedge(autojump_clock: trio.testing.MockClock) -> None:
    copies = Copies((3.0, False), (1.0, False))
    outcome, t0 = await run(copies, Hedge(after=0.5))
    assert outcome.ok and outcome.value == {"copy": 1, "q": "x"}
    assert outcome.finished_at == t0 + 1.5 and outcome.attempts == 1
    assert {n: t - t0 for n, t in copies.times("start").items()} == {0: 0.0, 1: 0.5}
    assert {n: t - t0 for n, t in copies.times("finally").items()} == {0: 1.5, 1: 1.5}  # the loser stopped then


async def test_a_fast_answer_starts_no_hedge(autojump_clock: trio.testing.MockClock) -> None:
    copies = Copies((0.2, False), (1.0, False))
    outcome, t0 = await run(copies, Hedge(after=0.5))
    assert outcome.ok and outcome.finished_at == t0 + 0.2 and list(copies.times("start")) == [0]


async def test_a_failure_before_the_hedge_fails_the_attempt(autojump_clock: trio.testing.MockClock) -> None:
    copies = Copies((0.1, True), (1.0, False))
    outcome, t0 = await run(copies, Hedge(after=0.5))
    assert (outcome.status, outcome.error_code) == (Status.ERROR, ErrorCode.TOOL_ERROR)
    assert outcome.finished_at == t0 + 0.1 and list(copies.times("start")) == [0]


async def test_one_copy_failing_leaves_the_other_to_win(autojump_clock: trio.testing.MockClock) -> None:
    copies = Copies((0.8, True), (1.0, False))
    outcome, t0 = await run(copies, Hedge(after=0.5))
    assert outcome.ok and outcome.value["copy"] == 1 and outcome.finished_at == t0 + 1.5


async def test_every_copy_failing_fails_with_the_first_error(autojump_clock: trio.testing.MockClock) -> None:
    copies = Copies((1.0, True), (1.0, True), (1.0, True))
    outcome, t0 = await run(copies, Hedge(after=0.25, copies=2))
    assert outcome.status is Status.ERROR and "copy 0 failed" in (outcome.error or "")
    assert outcome.finished_at == t0 + 1.5  # the last copy started at 0.5
    assert {n: t - t0 for n, t in copies.times("start").items()} == {0: 0.0, 1: 0.25, 2: 0.5}


async def test_every_copy_failing_fails_with_the_first_copys_error_not_the_earliest(
    autojump_clock: trio.testing.MockClock,
) -> None:
    copies = Copies((2.0, True), (0.25, True))  # the hedge fails first, at 0.75; the first copy at 2.0
    outcome, t0 = await run(copies, Hedge(after=0.5))
    assert outcome.status is Status.ERROR and outcome.error == "RuntimeError: copy 0 failed"
    assert outcome.finished_at == t0 + 2.0


async def test_the_timeout_bounds_the_whole_attempt(autojump_clock: trio.testing.MockClock) -> None:
    copies = Copies((5.0, False), (5.0, False))
    outcome, t0 = await run(copies, Hedge(after=0.5), timeout=2.0)
    assert outcome.status is Status.TIMEOUT and outcome.finished_at == t0 + 2.0
    assert set(copies.times("finally").values()) == {t0 + 2.0}


async def test_outer_cancellation_reaches_every_copy(autojump_clock: trio.testing.MockClock) -> None:
    copies = Copies((5.0, False), (5.0, False))
    registry = Registry()
    registry.add(copies.search, name="search", side_effect="read", hedge=Hedge(after=0.5))
    turn = Executor(registry).turn([ToolCall(id="s", tool="search", arguments={"q": "x"})])
    t0 = trio.current_time()
    with trio.move_on_after(1.0):
        await turn.run()
    assert turn.result.outcomes[0].error_code is ErrorCode.CANCELLED
    assert set(copies.times("finally").values()) == {t0 + 1.0}


def test_only_idempotent_async_reads_are_hedged() -> None:
    registry = Registry()

    async def tool(q: str) -> str:
        return q

    def sync_tool(q: str) -> str:
        return q

    with pytest.raises(RegistrationError, match="only an idempotent read"):
        registry.add(tool, name="w", side_effect="write", hedge=Hedge(after=1))
    with pytest.raises(RegistrationError, match="only an idempotent read"):
        registry.add(tool, name="unannotated", hedge=Hedge(after=1))  # the safe default is a write
    with pytest.raises(RegistrationError, match="only an idempotent read"):
        registry.add(tool, name="r", side_effect="read", idempotent=False, hedge=Hedge(after=1))
    with pytest.raises(RegistrationError, match="thread returns"):
        registry.add(sync_tool, name="s", side_effect="read", hedge=Hedge(after=1))
    registry.add(sync_tool, name="s2", side_effect="read", hedge=Hedge(after=1), abandon_on_cancel=True)
    for bad in ({"after": 0}, {"after": float("inf")}, {"after": 1, "copies": 0}):
        with pytest.raises(ValueError, match="Hedge"):
            Hedge(**bad)
    with pytest.raises(TypeError, match=r"Hedge\.after must be a positive, finite number of seconds, not True"):
        Hedge(after=True)
