"""Fifty calls at once, at most five running: a global cap with ``max_concurrency``.

Each call takes one second, so five at a time take ten; the tool counts how
many of its calls run at once to show the cap holds. Runs on Trio's
MockClock: instant and exact.
"""

import trio
import trio.testing

from trio_toolpar import Executor, Registry, ToolCall

tools = Registry()
running = 0
peak = 0


@tools.tool(side_effect="read")
async def fetch_page(page: int) -> str:
    """Fetch one page of search results (one second)."""
    global running, peak
    running += 1
    peak = max(peak, running)
    try:
        await trio.sleep(1.0)
        return f"page {page}"
    finally:
        running -= 1


async def main() -> None:
    calls = [ToolCall(id=f"p{n}", tool="fetch_page", arguments={"page": n}) for n in range(1, 51)]
    result = await Executor(tools, max_concurrency=5).run(calls)
    print(f"calls: {len(result)}, ok: {sum(o.ok for o in result)}")
    print(f"at most running at once: {peak}")
    print(f"makespan: {result.elapsed:.1f} s (serial: {sum(o.latency_ms for o in result) / 1000:.1f} s)")
    starts = sorted({o.started_at - result.started_at for o in result if o.started_at is not None})
    print("starts at: " + " ".join(f"{t:g}" for t in starts))


if __name__ == "__main__":
    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
