"""Redis-shared limits: acquire/release latency against a bare EVALSHA, and throughput across processes.

Starts its own redis-server on a free loopback port (Debian's ``redis-server``
package), like the tests do, and needs the ``redis`` extra. Run from the
repository root::

    .venv/bin/python bench/redis_limits.py [--calls 2000] [--json bench/results/redis_limits.json]

Figures are medians of ``--repeat`` runs in one process, so the ratios (not the
microseconds) are what carries from one machine to another.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import coredis
import trio

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "tests"))

from redis_server import open_client, running_server  # noqa: E402
from test_redis_processes import max_overlap  # noqa: E402

from trio_toolpar.redis import RedisLimits  # noqa: E402

WORKER = REPO_ROOT / "tests" / "redis_worker.py"


async def _per_call(calls: int, once: Any) -> float:
    """Seconds per call of ``once``, sequentially, after a warm-up."""
    for _ in range(50):
        await once()
    began = time.perf_counter()
    for _ in range(calls):
        await once()
    return (time.perf_counter() - began) / calls


async def latency(port: int, calls: int, repeat: int) -> dict[str, float]:
    """Microseconds: PING, bare EVALSHA, and an uncontended acquire, release and pair."""
    async with open_client(port) as client:
        bare = client.register_script("return 1")
        limits = RedisLimits(client, namespace="bench", caps={"db": 3})
        phases: dict[str, list[float]] = {"ping": [], "evalsha": [], "acquire": [], "release": [], "pair": []}

        async def ping() -> None:
            await client.ping()

        async def evalsha() -> None:
            await bare(keys=["bench:k"], args=[1])

        async def pair() -> None:
            async with limits.hold("db", weight=1, call_id="bench"):
                pass

        for _ in range(repeat):
            phases["ping"].append(await _per_call(calls, ping))
            phases["evalsha"].append(await _per_call(calls, evalsha))
            phases["pair"].append(await _per_call(calls, pair))
            enter, leave = await _split(limits, calls)
            phases["acquire"].append(enter)
            phases["release"].append(leave)
    return {name: statistics.median(values) * 1e6 for name, values in phases.items()}


async def _split(limits: RedisLimits, calls: int) -> tuple[float, float]:
    """Mean seconds to enter and to leave a hold, timed separately."""
    entering = leaving = 0.0
    for _ in range(calls):
        hold = limits.hold("db", weight=1, call_id="bench")
        t0 = time.perf_counter()
        await hold.__aenter__()
        t1 = time.perf_counter()
        await hold.__aexit__(None, None, None)
        entering += t1 - t0
        leaving += time.perf_counter() - t1
    return entering / calls, leaving / calls


def throughput(port: int, processes: int, tasks: int, rounds: int, cap: int) -> dict[str, float]:
    """Holds per second of ``processes`` workers sharing one cap, from their own logs."""
    with tempfile.TemporaryDirectory() as folder:
        outs = [Path(folder) / f"w{n}.log" for n in range(processes)]
        namespace = f"bench{processes}"
        options = ["--tasks", str(tasks), "--rounds", str(rounds), "--cap", str(cap), "--namespace", namespace]
        workers = [subprocess.Popen([sys.executable, str(WORKER), str(port), str(out), *options]) for out in outs]
        for worker in workers:
            if worker.wait(timeout=300) != 0:
                raise RuntimeError("a bench worker failed")
        intervals = [tuple(map(float, line.split())) for out in outs for line in out.read_text().splitlines()]
    span = max(end for _, end in intervals) - min(start for start, _ in intervals)
    return {
        "processes": processes,
        "holds": len(intervals),
        "seconds": span,
        "holds_per_second": len(intervals) / span,
        "max_overlap": max_overlap([(start, end) for start, end in intervals]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=250, help="holds per task in the throughput runs")
    parser.add_argument("--json", type=Path, default=None)
    options = parser.parse_args()
    with running_server() as server:
        micros = trio.run(latency, server.port, options.calls, options.repeat)
        shared = [throughput(server.port, n, 4, options.rounds, 3) for n in (1, 2, 4)]
    result = {
        "coredis": coredis.__version__,
        "latency_us": micros,
        "ratios": {
            "acquire_per_evalsha": micros["acquire"] / micros["evalsha"],
            "pair_per_evalsha": micros["pair"] / micros["evalsha"],
        },
        "throughput": shared,
    }
    print(json.dumps(result, indent=2))
    print("\n| figure | µs | per EVALSHA |\n|---|---:|---:|")
    for name in ("ping", "evalsha", "acquire", "release", "pair"):
        print(f"| {name} | {micros[name]:.0f} | {micros[name] / micros['evalsha']:.2f} |")
    print("\n| processes (4 tasks each, cap 3) | holds | holds/s | max overlap |\n|---:|---:|---:|---:|")
    for row in shared:
        print(f"| {row['processes']} | {row['holds']} | {row['holds_per_second']:.0f} | {row['max_overlap']} |")
    if options.json is not None:
        options.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
