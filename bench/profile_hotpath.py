"""Where one turn of N no-op calls spends its time (the overhead scenario's N=10,000 case).

    python bench/profile_hotpath.py            # N=10,000, waves
    python bench/profile_hotpath.py --schedule eager --calls 1000

Prints, and writes to bench/results/:
  * a phase split measured without a profiler (planning, building the turn, running it);
  * cProfile's functions by own time (tottime) and by cumulative time, with their share of the total,
    then trio_toolpar's own functions by own time, with how often each runs per call of the turn;
  * pyinstrument's call tree, when pyinstrument is installed.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time
from pathlib import Path

import trio

from trio_toolpar import Executor, Registry, Schedule, ToolCall

RESULTS = Path(__file__).resolve().parent / "results"
REPO_ROOT = RESULTS.parent.parent
PACKAGE = "trio_toolpar"


def _setup(n: int) -> tuple[Registry, list[ToolCall]]:
    registry = Registry()

    @registry.tool(name="echo", side_effect="none")
    async def echo(i: int) -> int:
        """Echo."""
        return i

    return registry, [ToolCall(id=f"c{i}", tool="echo", arguments={"i": i}) for i in range(n)]


def phases(n: int, schedule: Schedule, reps: int = 3) -> dict[str, float]:
    """Best-of seconds for: Plan.build alone, Executor.turn (plan + Turn), and a whole trio.run of the turn."""
    registry, calls = _setup(n)
    best = {"plan": float("inf"), "turn": float("inf"), "run": float("inf")}
    for _ in range(reps):
        executor = Executor(registry, schedule=schedule)
        start = time.perf_counter()
        executor.plan(calls)
        best["plan"] = min(best["plan"], time.perf_counter() - start)
        start = time.perf_counter()
        executor.turn(calls)
        best["turn"] = min(best["turn"], time.perf_counter() - start)

        async def main() -> None:
            await Executor(registry, schedule=schedule).run(calls)

        start = time.perf_counter()
        trio.run(main)
        best["run"] = min(best["run"], time.perf_counter() - start)
    return best


def run_profiled(n: int, schedule: Schedule, profiler: cProfile.Profile) -> None:
    registry, calls = _setup(n)

    async def main() -> None:
        result = await Executor(registry, schedule=schedule).run(calls)
        if not result.ok:
            raise AssertionError("a no-op call failed")

    profiler.enable()
    trio.run(main)
    profiler.disable()


def cprofile_report(n: int, schedule: Schedule, top: int) -> str:
    profiler = cProfile.Profile()
    run_profiled(100, schedule, cProfile.Profile())  # warm imports and caches outside the profile
    run_profiled(n, schedule, profiler)
    stats = pstats.Stats(profiler)
    raw = stats.stats  # type: ignore[attr-defined]  # {(file, line, fn): (cc, nc, tottime, cumtime, callers)}
    total = sum(v[2] for v in raw.values())
    out = io.StringIO()
    ours = {k: v for k, v in raw.items() if f"/{PACKAGE}/" in k[0]}
    sections = (
        (raw, 2, "own time (tottime)", ""),
        (raw, 3, "cumulative time (cumtime)", ""),
        (ours, 2, "own time (tottime)", f" inside {PACKAGE}/"),
    )
    for table, key, title, scope in sections:
        rows = sorted(table.items(), key=lambda kv: kv[1][key], reverse=True)[:top]
        out.write(f"\n== cProfile, N={n} {schedule}: top {top}{scope} by {title}; total {total:.3f} s ==\n")
        out.write(f"{'share':>6} {'tottime':>8} {'cumtime':>8} {'calls':>9} {'per call':>8}  function\n")
        for (file, line, fn), (_, nc, tt, ct, _) in rows:
            share = (tt if key == 2 else ct) / total * 100
            where = file.split("site-packages/")[-1].removeprefix(f"{REPO_ROOT}/")
            out.write(f"{share:5.1f}% {tt:8.3f} {ct:8.3f} {nc:9d} {nc / n:8.2f}  {where}:{line} {fn}\n")
    return out.getvalue()


def pyinstrument_report(n: int, schedule: Schedule) -> str | None:
    try:
        from pyinstrument import Profiler
    except ImportError:
        return None
    registry, calls = _setup(n)

    async def main() -> None:
        await Executor(registry, schedule=schedule).run(calls)

    trio.run(main)  # warm
    profiler = Profiler(interval=0.0002, async_mode="disabled")
    profiler.start()
    trio.run(main)
    profiler.stop()
    text: str = profiler.output_text(unicode=False, color=False, show_all=False)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--schedule", choices=("waves", "eager"), default="waves")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    n, schedule = args.calls, args.schedule

    best = phases(n, schedule)
    lines = [f"== phases, N={n} {schedule}, best of 3, no profiler =="]
    for name, seconds in best.items():
        lines.append(f"{name:>5}: {seconds * 1e3:8.1f} ms  {seconds / n * 1e6:6.2f} us/call")
    lines.append(f"run - turn (executing, trio.run included): {(best['run'] - best['turn']) / n * 1e6:.2f} us/call")
    report = "\n".join(lines) + "\n" + cprofile_report(n, schedule, args.top)
    print(report)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"profile_cprofile_{schedule}_{n}.txt").write_text(report)
    tree = pyinstrument_report(n, schedule)
    if tree is not None:
        print(tree)
        (RESULTS / f"profile_pyinstrument_{schedule}_{n}.txt").write_text(tree)


if __name__ == "__main__":
    main()
