"""Per-call overhead in CPU instructions: a noise-free companion to the wall-clock overhead scenario.

    python bench/instructions.py                 # N = 1,000; needs valgrind
    python bench/instructions.py --calls 100 --json bench/results/instructions.json

Wall-clock time on a shared 2-core VM moves by tens of percent from one minute
to the next; the number of instructions a run executes does not. Each
contender runs in a fresh interpreter under ``valgrind --tool=callgrind``
(with ``PYTHONHASHSEED=0``), once with N+1 calls and once with 1 call; the
difference divided by N is what one more call costs, with interpreter start-up,
imports and ``trio.run`` cancelled out. The contenders are the overhead
scenario's (``peers.py``'s functions, and ``cases.toolpar_bench``'s turn), so
the two scenarios measure the same code. As there, building the registry and
the calls is not counted: trio_toolpar's figures are net of a run that only
builds them (``trio_toolpar.setup``).

The capped pair, each ratio against the first: ``trio.nursery+limiter``, whose
tasks each hold a ``trio.CapacityLimiter(N)``, and ``trio_toolpar(waves+cap)``,
whose tool's resource is capped at N: the overhead scenario's "nursery +
limiter" comparison, counted.

Besides the contenders, three probes split the executor's cost:

* ``probe.plan``: ``Executor.plan`` alone (net of building the calls, too);
* ``probe.floor``: a raw nursery whose task awaits the tool with keyword
  arguments, checks for cancellation and builds one `Outcome` per call: the
  least an executor that gives every call a frozen outcome can do;
* ``probe.nested``: a raw nursery whose task awaits the tool through one more
  coroutine with keyword arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CONTENDERS = ("trio.nursery", "trio_toolpar(waves)", "trio_toolpar(eager)", "aiometer(trio)")
CAPPED = ("trio.nursery+limiter", "trio_toolpar(waves+cap)")
"""The capped pair: a nursery whose tasks hold a ``CapacityLimiter(N)``; a turn whose tool's resource is capped at N."""
PROBES = ("probe.plan", "probe.floor", "probe.nested")

_CHILD = r"""
import sys
sys.path[:0] = [{bench!r}]
name, n = sys.argv[1], int(sys.argv[2])
import trio
from trio_toolpar import Executor, Registry, ToolCall
from trio_toolpar import Outcome, Status
import peers

def toolpar(schedule, run, capped=False):
    # cases.toolpar_bench's work, split: what it does before its clock starts, then the timed run.
    registry = Registry()

    @registry.tool(name="echo", side_effect="none", resource="svc" if capped else None)
    async def echo(i: int) -> int:
        return i

    calls = [ToolCall(id=f"c{{i}}", tool="echo", arguments={{"i": i}}) for i in range(n)]

    async def main():
        limits = {{"svc": n}} if capped else None
        result = await Executor(registry, schedule=schedule, limits=limits).run(calls)
        assert result.ok and len(result) == n

    if run:
        trio.run(main)

def probe_plan(n):
    registry = Registry()

    @registry.tool(name="echo", side_effect="none")
    async def echo(i: int) -> int:
        return i

    calls = [ToolCall(id=f"c{{i}}", tool="echo", arguments={{"i": i}}) for i in range(n)]
    executor = Executor(registry)
    executor.plan(calls[:1])
    executor.plan(calls)

def raw_with(body):
    async def main():
        clock = trio.lowlevel.current_clock()
        async with trio.open_nursery() as nursery:
            for i in range(n):
                nursery.start_soon(body, {{"i": i}}, clock, name=f"toolpar:c{{i}}")
    trio.run(main)

async def tool(i):
    return i

async def floor(arguments, clock):
    await trio.lowlevel.checkpoint_if_cancelled()
    value = await tool(**arguments)
    now = clock.current_time()
    Outcome(
        call_id="c", tool="echo", status=Status.OK, value=value, latency_ms=round((now - now) * 1e6) / 1e3,
        attempts=1, started_at=now, finished_at=now, wave=0,
    )

async def nested(arguments, clock):
    await tool(**arguments)

runs = {{
    "trio.nursery": lambda: peers.trio_nursery(n),
    "aiometer(trio)": lambda: peers.aiometer_trio(n),
    "trio_toolpar(waves)": lambda: toolpar("waves", True),
    "trio_toolpar(eager)": lambda: toolpar("eager", True),
    "trio.nursery+limiter": lambda: peers.trio_nursery(n, cap=n),
    "trio_toolpar(waves+cap)": lambda: toolpar("waves", True, capped=True),
    "trio_toolpar.setup": lambda: toolpar("waves", False),
    "probe.plan": lambda: probe_plan(n),
    "probe.floor": lambda: raw_with(floor),
    "probe.nested": lambda: raw_with(nested),
}}
runs[name]()
"""


def count(name: str, n: int) -> int:
    """Instructions one fresh interpreter executes to run contender ``name`` with ``n`` calls."""
    code = _CHILD.format(bench=str(HERE))
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c", code, name, str(n)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
        check=True,
    )
    match = re.search(r"Collected\s*:\s*([0-9]+)", out.stderr) or re.search(r"refs:\s*([0-9,]+)", out.stderr)
    if match is None:
        raise RuntimeError(f"no instruction count in valgrind's output:\n{out.stderr[-2000:]}")
    return int(match.group(1).replace(",", ""))


def per_call(name: str, n: int) -> float:
    return (count(name, n + 1) - count(name, 1)) / n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=1000, help="N, the calls per turn (default 1,000)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--only", help="count only these contenders (comma-separated; writes no file)")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    figures: dict[str, Any] = {"calls": args.calls, "python": sys.version.split()[0], "instructions_per_call": {}}
    names = CONTENDERS + PROBES + CAPPED if args.only is None else tuple(args.only.split(","))
    baselines = {name: "trio.nursery" for name in CONTENDERS + PROBES} | dict.fromkeys(CAPPED, CAPPED[0])
    counts = figures["instructions_per_call"]
    setup = per_call("trio_toolpar.setup", args.calls)
    for name in names:
        value = per_call(name, args.calls)
        if name.startswith("trio_toolpar") or name == "probe.plan":
            value -= setup
        counts[name] = round(value)
        base = counts.get(baselines.get(name, ""))
        ratio = f"{value / base:5.2f}x / {baselines[name]}" if base else ""
        print(f"{name:26} {value:10,.0f} instructions/call  {ratio}", flush=True)
    figures["baselines"] = {name: baselines[name] for name in names if name in baselines}
    if args.json and args.only is None:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
