"""One turn, three calls: a fast one, a slow one, one that fails.

The three run at once, the failure becomes an outcome instead of an
exception, and the turn takes as long as its slowest call. Run it with
``python examples/fast_slow_failing.py``; it plays on Trio's MockClock, so it
finishes at once and its times are exact.
"""

import trio
import trio.testing

from trio_toolpar import Executor, Registry, ToolCall

tools = Registry()


@tools.tool(side_effect="read")
async def fast(x: int) -> int:
    """Double a number, quickly."""
    await trio.sleep(0.1)
    return x * 2


@tools.tool(side_effect="read")
async def slow(x: int) -> int:
    """Add one, slowly."""
    await trio.sleep(2.0)
    return x + 1


@tools.tool(side_effect="read")
async def failing(x: int) -> int:
    """Lose the connection halfway."""
    await trio.sleep(0.5)
    raise ConnectionError(f"upstream reset the connection while reading {x}")


async def main() -> None:
    calls = [
        ToolCall(id="f", tool="fast", arguments={"x": 2}),
        ToolCall(id="s", tool="slow", arguments={"x": 3}),
        ToolCall(id="e", tool="failing", arguments={"x": 4}),
    ]
    result = await Executor(tools).run(calls)
    for o in result:
        told = f"value {o.value!r}" if o.ok else f"{o.error_code}: {o.error}"
        print(f"{o.call_id} {o.tool}: {o.status} after {o.latency_ms:.0f} ms, {told}")
    print(f"makespan: {result.elapsed:.1f} s (serial: {sum(o.latency_ms for o in result) / 1000:.1f} s)")
    print(result.timeline(width=40))


if __name__ == "__main__":
    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
