"""Load: 10,000 calls in one turn, on the MockClock. (The soak run is ``bench/soak.py``, not a test.)"""

from __future__ import annotations

import trio
import trio.testing
from conftest import toolpar_tasks

from trio_toolpar import Executor, Registry, Status, ToolCall


async def test_ten_thousand_calls_in_one_turn_keep_the_cap_and_all_get_an_outcome(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry = Registry(default_side_effect="read")
    running = peak = started = 0

    @registry.tool(resource="api")
    async def noop(n: int) -> int:
        nonlocal running, peak, started
        running += 1
        started += 1
        peak = max(peak, running)
        try:
            await trio.sleep(1)
        finally:
            running -= 1
        return n

    @registry.tool(side_effect="none")
    async def instant(n: int) -> int:
        return n

    n = 10_000
    calls = [ToolCall(id=f"c{i}", tool="noop" if i % 2 else "instant", arguments={"n": i}) for i in range(n)]
    executor = Executor(registry, limits={"api": 10}, max_concurrency=25)
    start = trio.current_time()
    result = await executor.run(calls)
    assert len(result) == n
    assert [o.call_id for o in result] == [c.id for c in calls]
    assert all(o.status is Status.OK for o in result)
    assert [o.value for o in result] == list(range(n))
    assert (started, peak, running) == (n // 2, 10, 0)
    # 5,000 one-second calls, ten at a time: exactly 500 virtual seconds. The 5,000
    # instant ones take global slots only for an instant.
    assert result.elapsed == 500.0
    assert result.finished_at == start + 500.0
    assert max(o.finished_at or 0.0 for o in result if o.tool == "instant") == start
    assert executor.statistics().resources["api"].held == 0
    assert toolpar_tasks() == []
