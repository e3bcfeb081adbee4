"""Fail-fast and best-effort side by side, on the same turn.

One call fails after a second. Best-effort lets the others finish (and the
report that needs the slow call still runs); fail-fast cancels what is
running and skips what has not started, each with the code
``sibling_failed``. Runs on Trio's MockClock.
"""

import trio
import trio.testing

from trio_toolpar import BestEffort, Executor, FailFast, Registry, ToolCall, TurnResult
from trio_toolpar.abc import Policy

tools = Registry()


@tools.tool(side_effect="read")
async def work(name: str, seconds: float) -> str:
    """Work for a while."""
    await trio.sleep(seconds)
    return f"{name} done"


@tools.tool(side_effect="read")
async def broken(seconds: float) -> str:
    """Fail after a while."""
    await trio.sleep(seconds)
    raise RuntimeError("the index is corrupt")


@tools.tool(side_effect="write")
async def report(summary: str) -> str:
    """Write a report."""
    await trio.sleep(1.0)
    return f"filed: {summary}"


CALLS = [
    ToolCall(id="quick", tool="work", arguments={"name": "quick", "seconds": 0.5}),
    ToolCall(id="broken", tool="broken", arguments={"seconds": 1.0}),
    ToolCall(id="slow", tool="work", arguments={"name": "slow", "seconds": 3.0}),
    ToolCall(id="report", tool="report", arguments={"summary": "$slow"}),
]


async def run_with(policy: Policy) -> TurnResult:
    return await Executor(tools, policy=policy).run(CALLS)


def describe(result: TurnResult, call_id: str) -> str:
    o = result[call_id]
    return str(o.status) if o.error_code is None else f"{o.status} ({o.error_code})"


async def main() -> None:
    best, fast = await run_with(BestEffort()), await run_with(FailFast())
    print(f"{'call':<8}{'best-effort':<22}fail-fast")
    for call in CALLS:
        print(f"{call.id:<8}{describe(best, call.id):<22}{describe(fast, call.id)}")
    print(f"{'time':<8}{f'{best.elapsed:.1f} s':<22}{fast.elapsed:.1f} s")


if __name__ == "__main__":
    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
