"""Per-call cost in CPU instructions and CPU time: every contender of `contenders.py`, each beside its baseline.

    python bench/instructions.py                 # N = 1,000; needs valgrind
    python bench/instructions.py --calls 10000 --only 'trio.nursery,trio_toolpar(waves)'
    python bench/instructions.py --json bench/results/instructions.json

Wall-clock time on a shared 2-core VM moves by tens of percent from one minute
to the next; the number of instructions a run executes does not. Each
contender runs in a fresh interpreter under ``valgrind --tool=callgrind``
(with ``PYTHONHASHSEED=0``): a warm-up turn of ``contenders.WARMUP`` calls,
then the measured turn, once with N+1 calls and once with 1 call; the
difference divided by N is what one more call of a warm process costs, with
interpreter start-up, imports and ``trio.run`` cancelled out. Building the
registry and the calls is not counted: each count is net of the same process
that only prepares the turn (``--prepare-only``).

Beside each count, the CPU time of the measured turn alone (``time.process_time``
in the same kind of fresh process, without valgrind, best of ``--repeat``),
divided by N: the same comparison on the clock, noisier.

The ratios, each against the contender's baseline (`contenders.BASELINES`):
no-op calls against a raw nursery task (``trio.nursery``); capped at N against
a nursery task holding a ``trio.CapacityLimiter(N)``; a reference chain and a
random DAG (eager) against raw Trio by hand with one ``trio.Event`` per edge; an
open turn fed in one burst against the same calls as a batch.
``probe.plan`` is ``Executor.plan`` alone; ``probe.floor`` a raw nursery
whose task checks the arguments and structures them (with the tool's own
compiled check and structuring), checks for cancellation, awaits the tool,
times it and builds one frozen ``Outcome`` (with the library's generated
constructor): the least an executor that validates every call and gives it an
outcome can do; ``probe.floor+limiter`` the same holding a
``CapacityLimiter(N)``, against ``trio.nursery+limiter``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from contenders import BASELINES, CONTENDERS  # noqa: E402

CHILD = [sys.executable, str(HERE / "contenders.py")]


def count(name: str, n: int, *, prepare_only: bool = False) -> int:
    """Instructions one fresh interpreter executes to warm up, then prepare (and run) contender ``name`` with ``n``."""
    argv = [*CHILD, name, str(n)] + (["--prepare-only"] if prepare_only else [])
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv],
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
    """Instructions one more call costs in a warm process, net of preparing it."""
    run = count(name, n + 1) - count(name, 1)
    prepare = count(name, n + 1, prepare_only=True) - count(name, 1, prepare_only=True)
    return (run - prepare) / n


def cpu_per_call(name: str, n: int, repeat: int) -> float:
    """The best of ``repeat`` fresh processes' CPU seconds for the measured turn, divided by ``n``."""
    times = []
    for _ in range(repeat):
        out = subprocess.run([*CHILD, name, str(n)], capture_output=True, text=True, check=True)
        times.append(float(out.stdout.split()[-1]))
    return min(times) / n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=1000, help="N, the calls per turn (default 1,000)")
    parser.add_argument("--repeat", type=int, default=5, help="fresh processes for the CPU time (best of; default 5)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--only", help="count only these contenders (comma-separated; writes no file)")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    names = tuple(CONTENDERS) if args.only is None else tuple(args.only.split(","))
    if args.only is None and importlib.util.find_spec("aiometer") is None:
        print("aiometer(trio) skipped: aiometer is not installed (the bench extra)", file=sys.stderr)
        names = tuple(name for name in names if name != "aiometer(trio)")
    unknown = [name for name in names if name not in CONTENDERS]
    if unknown:
        parser.error(f"unknown contenders {unknown}; choose from {', '.join(CONTENDERS)}")
    figures: dict[str, Any] = {
        "calls": args.calls,
        "python": sys.version.split()[0],
        "instructions_per_call": {},
        "cpu_us_per_call": {},
        "baselines": {name: BASELINES[name] for name in names if name in BASELINES},
    }
    counts, cpu = figures["instructions_per_call"], figures["cpu_us_per_call"]
    for name in names:
        counts[name] = round(per_call(name, args.calls))
        cpu[name] = round(cpu_per_call(name, args.calls, args.repeat) * 1e6, 2)
        base = BASELINES.get(name)
        ratio = ""
        if base in counts:
            ratio = f"{counts[name] / counts[base]:5.2f}x instr, {cpu[name] / cpu[base]:5.2f}x cpu / {base}"
        print(f"{name:26} {counts[name]:10,} instr/call {cpu[name]:8.2f} us/call  {ratio}", flush=True)
    if args.json and args.only is None:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
