"""Soak: a 10,000-call turn, then 1,000 consecutive turns, under caps, with random failures.

    python bench/soak.py                 # about a minute on 2 cores
    python bench/soak.py --turns 200     # shorter

Not part of the test suite. Every call's fate is scripted from a seeded
random draw (ok, raises once then succeeds on retry, always raises, hangs
past its timeout, references a call that fails), so each outcome is checked
against what its script says, not only counted. Memory is measured twice:
the Python heap with ``tracemalloc`` and the process with
``resource.getrusage`` (peak RSS) and ``/proc/self/statm`` (current RSS).
Tools sleep on a ``MockClock`` (autojump), so the run measures the
executor's own work, not waiting.

Exit status 1 if a call is unaccounted for, a limiter is left borrowed, a
task outlives its turn, or the heap grows across turns past ``--max-drift``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Sequence
from typing import Any

import attrs
import trio
import trio.testing

from trio_toolpar import (
    BestEffort,
    CallContext,
    ErrorCode,
    Executor,
    Registry,
    Retry,
    Retryable,
    Status,
    ToolCall,
    TurnResult,
)

PAGE = os.sysconf("SC_PAGE_SIZE")
RESOURCES = ("search", "db", "jira")
LIMITS = {"search": 8, "db": 3, "jira": 2}


def rss_now() -> int:
    """The current resident set size in bytes (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def rss_peak() -> int:
    """The peak resident set size in bytes (``ru_maxrss`` is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@attrs.frozen
class Script:
    """What one call is scripted to do, and so which outcome it must end with."""

    fate: str  # "ok" | "flaky" | "fails" | "hangs"
    resource: str
    latency: float
    depends_on: int | None

    def expected(self, scripts: Sequence[Script]) -> tuple[Status, ErrorCode | None]:
        if self.depends_on is not None and scripts[self.depends_on].expected(scripts)[0] is not Status.OK:
            return Status.SKIPPED, ErrorCode.DEPENDENCY_FAILED
        return {
            "ok": (Status.OK, None),
            "flaky": (Status.OK, None),
            "fails": (Status.ERROR, ErrorCode.TOOL_ERROR),
            "hangs": (Status.TIMEOUT, ErrorCode.TIMEOUT),
        }[self.fate]


def make_scripts(rng: random.Random, n: int, *, failure_rate: float) -> list[Script]:
    scripts: list[Script] = []
    for i in range(n):
        draw = rng.random()
        if draw < failure_rate / 3:
            fate = "fails"
        elif draw < 2 * failure_rate / 3:
            fate = "hangs"
        elif draw < failure_rate:
            fate = "flaky"
        else:
            fate = "ok"
        depends_on = rng.randrange(max(0, i - 20), i) if i and rng.random() < 0.2 else None
        scripts.append(
            Script(
                fate=fate,
                resource=rng.choice(RESOURCES),
                latency=rng.choice((0.0, 0.25, 0.5, 1.0)),
                depends_on=depends_on,
            )
        )
    return scripts


def make_registry() -> Registry:
    registry = Registry()

    for name in RESOURCES:

        async def tool(
            context: CallContext, fate: str, latency: float, key: str, previous: object = None, _name: str = name
        ) -> dict[str, object]:
            if fate == "hangs":
                await trio.sleep_forever()
            await trio.sleep(latency)
            if fate == "fails" or (fate == "flaky" and context.attempt == 1):
                raise Retryable(f"{_name} refused {key} (attempt {context.attempt})")
            return {"key": key, "resource": _name, "payload": "x" * 64}

        registry.add(
            tool,
            name=name,
            side_effect="read",
            resource=name,
            timeout=2.0,
            retry=Retry(attempts=2, backoff=0.25, jitter=0.5, retry_timeouts=False),
            parameters={
                "type": "object",
                "properties": {
                    "fate": {"enum": ["ok", "flaky", "fails", "hangs"]},
                    "latency": {"type": "number"},
                    "key": {"type": "string"},
                    "previous": {},
                },
                "required": ["fate", "latency", "key"],
                "additionalProperties": False,
            },
        )
    return registry


def calls_for(turn: int, scripts: Sequence[Script]) -> list[ToolCall]:
    calls = []
    for i, s in enumerate(scripts):
        arguments: dict[str, Any] = {"fate": s.fate, "latency": s.latency, "key": f"t{turn}c{i}"}
        if s.depends_on is not None:
            arguments["previous"] = f"$c{s.depends_on}.key"
        calls.append(ToolCall(id=f"c{i}", tool=s.resource, arguments=arguments))
    return calls


def account(result: TurnResult, calls: Sequence[ToolCall], scripts: Sequence[Script]) -> Counter[str]:
    """Check every outcome against its script; return the statuses counted."""
    if [o.call_id for o in result] != [c.id for c in calls]:
        raise SystemExit("FAIL: outcomes do not match the calls one for one, in order")
    counts: Counter[str] = Counter()
    for o, s in zip(result, scripts, strict=True):
        if (o.status, o.error_code) != s.expected(scripts):
            raise SystemExit(
                f"FAIL: {o.call_id} ended {o.status}/{o.error_code}, its script says {s.expected(scripts)}"
            )
        counts[o.status.value] += 1
    return counts


def executor_for(registry: Registry) -> Executor:
    return Executor(registry, limits=LIMITS, max_concurrency=12, policy=BestEffort(), seed=1)


def live_tasks() -> int:
    root = trio.lowlevel.current_root_task()
    assert root is not None
    count, stack = 0, [root]
    while stack:
        task = stack.pop()
        count += 1
        for nursery in task.child_nurseries:
            stack.extend(nursery.child_tasks)
    return count


def check_idle(executor: Executor, tasks_at_start: int) -> None:
    borrowed = {name: r.held for name, r in executor.statistics().resources.items() if r.held}
    if borrowed:
        raise SystemExit(f"FAIL: limiters still borrowed after the turn: {borrowed}")
    if live_tasks() != tasks_at_start:
        raise SystemExit(f"FAIL: {live_tasks() - tasks_at_start} task(s) outlived the turn")


async def big_turn(n: int, failure_rate: float) -> dict[str, Any]:
    rng = random.Random(5)
    registry = make_registry()
    executor = executor_for(registry)
    scripts = make_scripts(rng, n, failure_rate=failure_rate)
    calls = calls_for(0, scripts)
    tasks_at_start = live_tasks()
    gc.collect()
    rss_before = rss_now()
    tracemalloc.start()
    tracemalloc.reset_peak()
    wall = time.perf_counter()
    result = await executor.run(calls)
    wall = time.perf_counter() - wall
    heap_now, heap_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    counts = account(result, calls, scripts)
    check_idle(executor, tasks_at_start)
    return {
        "calls": n,
        "outcomes": len(result),
        "statuses": dict(sorted(counts.items())),
        "virtual_seconds": result.elapsed,
        "wall_seconds": round(wall, 2),
        "us_per_call_traced": round(wall / n * 1e6, 1),
        "heap_peak_bytes_per_call": round(heap_peak / n),
        "heap_held_by_result_bytes_per_call": round(heap_now / n),
        "rss_growth_bytes_per_call": round((rss_now() - rss_before) / n),
    }


async def many_turns(turns: int, per_turn: int, failure_rate: float, every: int, warmup: int) -> dict[str, Any]:
    rng = random.Random(11)
    registry = make_registry()
    executor = executor_for(registry)
    tasks_at_start = live_tasks()
    totals: Counter[str] = Counter()
    calls_total = 0
    samples: list[dict[str, float]] = []
    tracemalloc.start()
    wall = time.perf_counter()
    for t in range(1, turns + 1):
        scripts = make_scripts(rng, rng.randint(per_turn // 2, per_turn), failure_rate=failure_rate)
        calls = calls_for(t, scripts)
        result = await executor.run(calls)
        totals += account(result, calls, scripts)
        calls_total += len(calls)
        check_idle(executor, tasks_at_start)
        del result, calls, scripts
        if t >= warmup and (t - warmup) % every == 0:
            gc.collect()
            samples.append(
                {
                    "turn": t,
                    "heap_bytes": tracemalloc.get_traced_memory()[0],
                    "rss_bytes": rss_now(),
                    "calls": calls_total,
                }
            )
    wall = time.perf_counter() - wall
    tracemalloc.stop()
    first, last = samples[0], samples[-1]
    span_turns = last["turn"] - first["turn"]
    span_calls = last["calls"] - first["calls"]
    return {
        "turns": turns,
        "calls": calls_total,
        "outcomes": sum(totals.values()),
        "statuses": dict(sorted(totals.items())),
        "wall_seconds": round(wall, 2),
        "us_per_call_traced": round(wall / calls_total * 1e6, 1),
        "heap_drift_bytes": last["heap_bytes"] - first["heap_bytes"],
        "heap_drift_bytes_per_turn": round((last["heap_bytes"] - first["heap_bytes"]) / span_turns, 2),
        "heap_drift_bytes_per_call": round((last["heap_bytes"] - first["heap_bytes"]) / span_calls, 3),
        "rss_drift_bytes": last["rss_bytes"] - first["rss_bytes"],
        "heap_samples": [int(s["heap_bytes"]) for s in samples],
        "rss_samples_kib": [int(s["rss_bytes"]) // 1024 for s in samples],
        "drift_measured_over_turns": f"{int(first['turn'])}..{int(last['turn'])}",
    }


async def main(args: argparse.Namespace) -> int:
    report: dict[str, Any] = {"python": sys.version.split()[0], "trio": trio.__version__}
    report["big_turn"] = await big_turn(args.calls, args.failure_rate)
    report["many_turns"] = await many_turns(args.turns, args.per_turn, args.failure_rate, args.every, args.warmup)
    report["peak_rss_bytes"] = rss_peak()
    big, many = report["big_turn"], report["many_turns"]
    print(f"one turn of {big['calls']:,} calls: {big['outcomes']:,} outcomes {big['statuses']}")
    print(
        f"  {big['wall_seconds']} s wall (traced), {big['virtual_seconds']} virtual s; "
        f"heap peak {big['heap_peak_bytes_per_call']:,} B/call, held by the result "
        f"{big['heap_held_by_result_bytes_per_call']:,} B/call, RSS growth {big['rss_growth_bytes_per_call']:,} B/call"
    )
    print(f"{many['turns']:,} turns, {many['calls']:,} calls: {many['outcomes']:,} outcomes {many['statuses']}")
    print(
        f"  {many['wall_seconds']} s wall (traced); over turns {many['drift_measured_over_turns']}: heap drift "
        f"{many['heap_drift_bytes']:,} B ({many['heap_drift_bytes_per_turn']} B/turn, "
        f"{many['heap_drift_bytes_per_call']} B/call), RSS drift {many['rss_drift_bytes']:,} B"
    )
    print(f"  heap samples (B): {many['heap_samples']}")
    print(f"  RSS samples (KiB): {many['rss_samples_kib']}")
    print(f"peak RSS of the process: {report['peak_rss_bytes'] / 2**20:.1f} MiB")
    print(json.dumps(report))
    if many["heap_drift_bytes"] > args.max_drift:
        print(f"FAIL: the heap grew by {many['heap_drift_bytes']:,} B across turns (limit {args.max_drift:,})")
        return 1
    print("OK: every call accounted for, limiters released, no task left, heap flat")
    return 0


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=10_000, help="calls in the big turn")
    parser.add_argument("--turns", type=int, default=1_000, help="consecutive turns")
    parser.add_argument("--per-turn", type=int, default=40, help="the most calls per turn (at least half as many)")
    parser.add_argument("--failure-rate", type=float, default=0.15, help="share of calls scripted to fail somehow")
    parser.add_argument("--warmup", type=int, default=100, help="turns before the first memory sample")
    parser.add_argument("--every", type=int, default=100, help="turns between memory samples")
    parser.add_argument("--max-drift", type=int, default=256 * 1024, help="allowed heap growth across turns (bytes)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    options = parse()
    sys.exit(trio.run(main, options, clock=trio.testing.MockClock(autojump_threshold=0)))
