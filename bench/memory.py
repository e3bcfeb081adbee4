"""Scenario 4, scale and memory; run in a fresh process by ``run.py`` (or alone).

    python bench/memory.py big --subject toolpar --calls 10000
    python bench/memory.py turns --turns 1000

``big``: one turn of N no-op calls. Peak RSS growth (VmHWM, reset just
before, over the RSS just before; the first big thing the process does) and
the tracemalloc peak, both per call, for trio_toolpar or for a raw Trio
nursery that keeps N results (the floor).

``pending``: N calls each blocked inside its tool (awaiting one shared
``trio.Event``), for trio_toolpar and for a raw nursery whose tasks await the
same tool coroutine: the Python heap (tracemalloc) held per pending call once
every task is blocked, over the heap just before the turn began (the calls
list is input, built before). The target: trio_toolpar within 1.25x of raw.
Beside them, ``floor``: the least any executor that gives every call an
outcome holds, a raw task per call whose coroutine awaits the tool inside a
``try``/``finally`` (so that a cancelled call is recorded too) and one
slotted record per call for its outcome.

``turns``: one executor running T small turns back to back in one
``trio.run``. After a warm-up, every ``--every`` turns: gc, then the current
RSS and the time of the last block; then a second pass under tracemalloc
for the Python heap. Growth across turns should be nil.

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import array
import gc
import json
import os
import resource
import statistics
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

import trio
import trio.testing

from trio_toolpar import Executor, Registry, ToolCall, TurnResult

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    """Resident set size now."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def peak_rss_bytes() -> int:
    """This process's peak RSS (VmHWM).

    Not ``getrusage().ru_maxrss``: Linux carries that over from the parent
    through fork and exec, so a child of a big bench process would see no growth.
    """
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def reset_peak_rss() -> None:
    """Reset VmHWM to the current RSS, where the kernel allows it."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass  # then the peak includes start-up, which happened before the baseline anyway


# -- one big turn ---------------------------------------------------------------------


def _toolpar_turn(n: int) -> Callable[[], Awaitable[object]]:
    registry = Registry()

    @registry.tool(name="echo", side_effect="none")
    async def echo(i: int) -> int:
        """Echo."""
        return i

    calls = [ToolCall(id=f"c{i}", tool="echo", arguments={"i": i}) for i in range(n)]

    async def main() -> object:
        result = await Executor(registry).run(calls)
        if not result.ok or len(result) != n:
            raise AssertionError(f"the turn of {n} calls did not run every call ok")
        return result

    return main


def _nursery_turn(n: int) -> Callable[[], Awaitable[object]]:
    async def main() -> object:
        results: list[int | None] = [None] * n

        async def tool(i: int) -> None:
            results[i] = i

        async with trio.open_nursery() as nursery:
            for i in range(n):
                nursery.start_soon(tool, i)
        return results

    return main


def big_turn(subject: str, n: int) -> dict[str, Any]:
    make = _toolpar_turn if subject == "toolpar" else _nursery_turn
    trio.run(make(100))  # imports, caches and free lists first: they are not per-call costs
    gc.collect()
    main = make(n)  # the calls list is input, built before the baseline
    reset_peak_rss()
    before = rss_bytes()
    keep = trio.run(main)
    rss_growth = peak_rss_bytes() - before
    del keep
    gc.collect()
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    keep = trio.run(main)  # held, so the retained figure counts the result
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del keep
    return {
        "subject": subject,
        "calls": n,
        "peak_rss_growth_bytes": rss_growth,
        "peak_rss_growth_per_call_bytes": rss_growth / n,
        "tracemalloc_peak_per_call_bytes": (peak - base) / n,
        "tracemalloc_retained_per_call_bytes": (current - base) / n,
    }


# -- calls pending inside their tools --------------------------------------------------


class _Record:
    """The floor's one record per call: what it ran, and how it ended."""

    __slots__ = ("call", "ended", "value")

    def __init__(self, call: ToolCall) -> None:
        self.call = call
        self.value: object = None
        self.ended = False


def pending_turn(subject: str, n: int) -> dict[str, Any]:
    """Heap per call while all ``n`` calls wait inside their tool, for ``subject`` ("toolpar", "nursery" or
    "floor")."""
    release = trio.Event()
    held: list[int] = []

    async def tool(i: int) -> int:
        await release.wait()
        return i

    registry = Registry()
    registry.tool(name="wait", side_effect="none")(tool)
    calls = [ToolCall(id=f"c{i}", tool="wait", arguments={"i": i}) for i in range(n)]

    async def recorded(record: _Record) -> None:
        try:
            record.value = await tool(**record.call.arguments)
        finally:
            record.ended = True

    async def measure_when_blocked() -> None:
        await trio.testing.wait_all_tasks_blocked()
        current, _ = tracemalloc.get_traced_memory()
        held.append(current)
        release.set()

    async def main() -> None:
        nonlocal release
        release = trio.Event()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(measure_when_blocked)
            if subject == "toolpar":
                result = await Executor(registry).run(calls)
                if not result.ok or len(result) != n:
                    raise AssertionError(f"the turn of {n} pending calls did not end ok")
            elif subject == "floor":
                async with trio.open_nursery() as calls_nursery:
                    for call in calls:
                        calls_nursery.start_soon(recorded, _Record(call))
            else:
                async with trio.open_nursery() as calls_nursery:
                    for i in range(n):
                        calls_nursery.start_soon(tool, i)

    trio.run(main)  # a first run: imports, caches and free lists are not per-call costs
    held.clear()
    gc.collect()
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    trio.run(main)
    tracemalloc.stop()
    return {"subject": subject, "calls": n, "pending_heap_per_call_bytes": (held[0] - base) / n}


# -- many turns -----------------------------------------------------------------------


def _small_turn_registry() -> Registry:
    registry = Registry()

    @registry.tool(name="fetch", side_effect="read", resource="api")
    async def fetch(item: int) -> dict[str, int]:
        """Read an item."""
        await trio.lowlevel.checkpoint()
        return {"item": item, "size": item * 10}

    @registry.tool(name="total", side_effect="none")
    async def total(sizes: list[int]) -> int:
        """Add sizes."""
        await trio.lowlevel.checkpoint()
        return sum(sizes)

    @registry.tool(name="save", side_effect="write", key="doc:{doc}")
    async def save(doc: str, value: int) -> bool:
        """Write a value."""
        await trio.lowlevel.checkpoint()
        return True

    return registry


def _small_turn(t: int) -> list[ToolCall]:
    """Ten calls: four capped reads, two references, conflicting writes on one key, a failure-free mix."""
    return [
        *(ToolCall(id=f"f{k}", tool="fetch", arguments={"item": t + k}) for k in range(4)),
        ToolCall(id="t1", tool="total", arguments={"sizes": ["$f0.size", "$f1.size"]}),
        ToolCall(id="t2", tool="total", arguments={"sizes": ["$f2.size", "$f3.size", "$t1"]}),
        ToolCall(id="s1", tool="save", arguments={"doc": "a", "value": "$t1"}),
        ToolCall(id="s2", tool="save", arguments={"doc": "a", "value": "$t2"}),
        ToolCall(id="s3", tool="save", arguments={"doc": "b", "value": 1}),
        ToolCall(id="x", tool="fetch", arguments={"item": 0}, priority=1),
    ]


def many_turns(turns: int, every: int, warmup: int) -> dict[str, Any]:
    registry = _small_turn_registry()
    inputs = [_small_turn(t) for t in range(turns + warmup)]

    def loop(sample: Callable[[int], None]) -> Callable[[], Awaitable[None]]:
        async def main() -> None:
            executor = Executor(registry, limits={"api": 3})
            for t, calls in enumerate(inputs):
                result: TurnResult = await executor.run(calls)
                if not result.ok:
                    raise AssertionError(f"turn {t} failed:\n{result.table()}")
                del result
                done = t + 1 - warmup
                if done >= 0 and done % every == 0:
                    sample(done)

        return main

    # Samples go into preallocated arrays: appending Python ints to a list would itself show up as growth.
    samples = turns // every + 1
    rss = array.array("q", [0] * samples)
    heap = array.array("q", [0] * samples)
    block_ns = array.array("q", [0] * samples)
    last = array.array("q", [time.perf_counter_ns()])

    def sample_rss(done: int) -> None:
        block_ns[done // every] = time.perf_counter_ns() - last[0]
        gc.collect()
        rss[done // every] = rss_bytes()
        last[0] = time.perf_counter_ns()

    def sample_heap(done: int) -> None:
        gc.collect()
        heap[done // every] = tracemalloc.get_traced_memory()[0]

    trio.run(loop(sample_rss))
    tracemalloc.start()
    trio.run(loop(sample_heap))
    tracemalloc.stop()

    half = samples // 2
    block_ms = [ns / 1e6 for ns in block_ns[1:]]
    return {
        "turns": turns,
        "calls_per_turn": len(inputs[0]),
        "warmup_turns": warmup,
        "sample_every": every,
        "rss_bytes": list(rss),
        "rss_growth_bytes": rss[-1] - rss[0],
        "rss_growth_second_half_bytes": _new_high(rss, half),
        "heap_bytes": list(heap),
        "heap_growth_bytes": heap[-1] - heap[0],
        "heap_growth_second_half_bytes": _new_high(heap, half),
        "heap_slope_bytes_per_turn": _slope([i * every for i in range(samples)], list(heap)),
        "block_ms": block_ms,
        "time_drift_second_vs_first_half": _half_ratio(block_ms),
    }


def _new_high(samples: array.array[int], half: int) -> int:
    """How far the second half's highest sample rises above the first half's.

    A plateau that dips and recovers (a free list emptied, a dict resized back)
    is not growth; a leak keeps setting new highs. Comparing the last sample
    with the middle one read a dip at the middle as growth.
    """
    return max(samples[half:]) - max(samples[: half + 1])


def _half_ratio(blocks: list[float]) -> float | None:
    """Median time of a block in the second half over the first half: above 1, turns got slower."""
    half = len(blocks) // 2
    if half == 0:
        return None
    return statistics.median(blocks[-half:]) / statistics.median(blocks[:half])


def _slope(xs: list[int], ys: list[int]) -> float:
    """Least-squares slope of ``ys`` over ``xs``."""
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    big = sub.add_parser("big", help="one turn of N calls")
    big.add_argument("--subject", choices=("toolpar", "nursery"), default="toolpar")
    big.add_argument("--calls", type=int, default=10_000)
    pending = sub.add_parser("pending", help="N calls blocked inside their tools, toolpar and raw")
    pending.add_argument("--calls", type=int, default=10_000)
    many = sub.add_parser("turns", help="T turns back to back")
    many.add_argument("--turns", type=int, default=1000)
    many.add_argument("--every", type=int, default=100)
    many.add_argument("--warmup", type=int, default=50)
    args = parser.parse_args()
    if args.what == "big":
        out = big_turn(args.subject, args.calls)
    elif args.what == "pending":
        toolpar, raw, floor = (pending_turn(subject, args.calls) for subject in ("toolpar", "nursery", "floor"))
        ratio = toolpar["pending_heap_per_call_bytes"] / raw["pending_heap_per_call_bytes"]
        floor_ratio = floor["pending_heap_per_call_bytes"] / raw["pending_heap_per_call_bytes"]
        out = {"toolpar": toolpar, "nursery": raw, "floor": floor, "ratio": round(ratio, 3)}
        out["floor_ratio"] = round(floor_ratio, 3)
    else:
        out = many_turns(args.turns, args.every, args.warmup)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
