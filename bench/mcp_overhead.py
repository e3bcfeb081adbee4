"""Per-call overhead of running MCP tools through trio_toolpar, against calling the session directly.

One MCP server subprocess over stdio serves a 10 ms read-only tool. Each
repeat runs N calls at once twice: as one turn of an `Executor` over the
registered tools, and as N tasks in a plain Trio nursery each awaiting
``session.call_tool``. It prints the medians and their ratio (target <= 1.1)::

    python bench/mcp_overhead.py [--calls 50] [--repeat 7]

Run ``python bench/mcp_overhead.py --serve`` to get the server alone.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import trio
from mcp import ClientSession, StdioServerParameters, stdio_client

from trio_toolpar import Executor, Registry, ToolCall
from trio_toolpar.mcp import register_session

DELAY = 0.010


def serve() -> None:
    import anyio
    from mcp.server.mcpserver import MCPServer
    from mcp.types import ToolAnnotations

    server = MCPServer(name="bench", log_level="WARNING")

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    async def work(i: int) -> int:
        """Wait 10 ms and return ``i``."""
        await anyio.sleep(DELAY)
        return i

    server.run("stdio")


async def direct(session: ClientSession, n: int) -> float:
    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for i in range(n):
            nursery.start_soon(session.call_tool, "work", {"i": i})
    return time.perf_counter() - start


async def through(executor: Executor, n: int) -> float:
    calls = [ToolCall(id=f"c{i}", tool="work", arguments={"i": i}) for i in range(n)]
    start = time.perf_counter()
    result = await executor.run(calls)
    elapsed = time.perf_counter() - start
    assert all(o.ok for o in result), [o.error for o in result if not o.ok]
    return elapsed


async def measure(n: int, repeat: int) -> dict[str, float]:
    params = StdioServerParameters(command=sys.executable, args=[__file__, "--serve"])
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        registry = Registry()
        await register_session(registry, session, resource="bench")
        executor = Executor(registry)
        await direct(session, n)  # warm both paths up
        await through(executor, n)
        plain: list[float] = []
        ours: list[float] = []
        for _ in range(repeat):  # interleaved, so drift in the machine's load hits both alike
            plain.append(await direct(session, n))
            ours.append(await through(executor, n))
    return {
        "calls": n,
        "repeat": repeat,
        "direct_ms": statistics.median(plain) * 1000,
        "toolpar_ms": statistics.median(ours) * 1000,
        "ratio": statistics.median(ours) / statistics.median(plain),
        "overhead_per_call_us": (statistics.median(ours) - statistics.median(plain)) / n * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--serve", action="store_true", help="run the benchmark's MCP server on stdio")
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    figures = trio.run(measure, args.calls, args.repeat)
    print(json.dumps(figures))
    print(
        f"{figures['calls']} calls of a 10 ms MCP tool, median of {figures['repeat']}: "
        f"direct {figures['direct_ms']:.1f} ms, through trio_toolpar {figures['toolpar_ms']:.1f} ms, "
        f"ratio {figures['ratio']:.2f}x ({figures['overhead_per_call_us']:+.0f} us per call)"
    )


if __name__ == "__main__":
    main()
