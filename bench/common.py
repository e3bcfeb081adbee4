"""Shared pieces of the bench suite: statistics, the machine, set-up checks.

The peers live beside this file, in ``peers.py``; everything the bench needs
is in this repository and the ``bench`` extra (``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent

PACKAGES = (
    "trio_toolpar",
    "trio",
    "attrs",
    "cattrs",
    "anyio",
    "aiometer",
    "langgraph",
    "langgraph-prebuilt",
    "langchain-core",
    "pydantic-ai-slim",
    "openai-agents",
    "networkx",
    "pyinstrument",
)


class SetupError(RuntimeError):
    """The bench cannot run here: something it needs is missing."""


def check_toolpar() -> None:
    """Raise `SetupError` unless trio_toolpar imports in this interpreter."""
    try:
        import trio_toolpar  # noqa: F401
    except ImportError as exc:
        raise SetupError(
            f"trio_toolpar is not importable from {sys.executable} ({exc}).\n"
            f"Install it with the bench extra: {sys.executable} -m pip install -e '{REPO_ROOT}[bench]'"
        ) from None


def median(values: Iterable[float]) -> float:
    """The median of ``values`` (which must not be empty)."""
    return float(statistics.median(list(values)))


def rounded(value: float, digits: int = 3) -> float:
    """``value`` rounded for the report, keeping a few significant digits for small numbers."""
    if value == 0 or abs(value) >= 1:
        return round(value, digits)
    return float(f"{value:.{digits + 1}g}")


def medians(samples: Mapping[str, list[float]]) -> dict[str, float]:
    """The median of each non-empty sample list."""
    return {name: median(values) for name, values in samples.items() if values}


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    for line in text.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _git(*args: str) -> str | None:
    # Read-only queries; the bench never changes the repository.
    try:
        done = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages: above 0 means something else wanted the CPUs too."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def machine() -> dict[str, Any]:
    """What ran the bench: CPUs, Python, package versions, the code's git revision."""
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    status = _git("status", "--porcelain", "--untracked-files=no", "--", "trio_toolpar")
    return {
        "nproc": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "executable": sys.executable,
        "packages": versions,
        "load_average": load_average(),
        "git_commit": _git("rev-parse", "--short", "HEAD"),
        "trio_toolpar_dirty": bool(status) if status is not None else None,
    }


def rotated(names: Sequence[str], by: int) -> list[str]:
    """``names`` rotated by ``by`` so no contender always runs first (or right after a heavy one)."""
    k = by % len(names) if names else 0
    return [*names[k:], *names[:k]]


def interleaved(
    contenders: Mapping[str, Callable[[], float]], *, repeat: int, best_of: int, progress: str = ""
) -> dict[str, list[float]]:
    """Seconds of each contender per repeat: the best of ``best_of`` runs, contenders in a rotated order.

    Sample ``r`` of every contender comes from the same repeat, so ratios taken
    sample by sample compare runs made a few seconds apart on the same machine.
    """
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for r in range(repeat):
        for name in rotated(list(contenders), r):
            gc.collect()  # every contender starts from the same collector state; gc stays on while it runs
            samples[name].append(min(contenders[name]() for _ in range(best_of)))
        if progress:
            print(f"  {progress}: repeat {r + 1}/{repeat} done", file=sys.stderr, flush=True)
    return samples


def spread(values: Sequence[float]) -> dict[str, Any]:
    """The median, minimum and maximum of ``values`` (and the values): how noisy a figure was."""
    return {"median": median(values), "min": min(values), "max": max(values), "samples": list(values)}


def ratio_samples(samples: Mapping[str, Sequence[float]], subject: str, baseline: str) -> list[float]:
    """``subject``'s sample divided by ``baseline``'s, repeat by repeat."""
    return [s / b for s, b in zip(samples[subject], samples[baseline], strict=True)]


def spread_cell(stats: Mapping[str, float], scale: float = 1.0, digits: int = 2) -> str:
    """``median [min, max]`` of a `spread`, each value times ``scale``."""
    return (
        f"{stats['median'] * scale:.{digits}f} [{stats['min'] * scale:.{digits}f}, {stats['max'] * scale:.{digits}f}]"
    )


Table = tuple[str, list[str], list[list[str]]]
"""A table to print or render: title, header, rows."""


def text_table(title: str, header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def md_table(header: list[str], rows: list[list[str]]) -> str:
    def esc(cell: str) -> str:
        return cell.replace("|", "\\|")

    lines = ["| " + " | ".join(esc(h) for h in header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def text_tables(tables: Sequence[Table]) -> str:
    """Every table as fixed-width text."""
    return "\n\n".join(text_table(*t) for t in tables) + "\n"


def script_parser(doc: str | None, default_json: Path) -> argparse.ArgumentParser:
    """The command line every separate bench script shares: ``--json PATH`` and ``--no-write``."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, default=default_json, help="where to write the results")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="time on the wall clock (default) or this process's CPU time (steadier on a shared machine)",
    )
    return parser


def publish(results: Mapping[str, Any], tables: Sequence[Table], args: argparse.Namespace) -> None:
    """Print a script's tables and, unless ``--no-write``, write its results to ``--json``."""
    print(text_tables(tables))
    if not args.no_write:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1) + "\n")
        print(f"wrote {args.json}", file=sys.stderr)


def stamped(measure: Callable[[], Mapping[str, Any]], *, clock: str) -> dict[str, Any]:
    """``measure()``'s figures, with the machine and load before, the seconds taken and the load after."""
    import peers

    peers.use_clock(clock)
    started = time.perf_counter()
    results: dict[str, Any] = {"machine": machine(), "clock": clock}
    results.update(measure())
    results["wall_seconds"] = round(time.perf_counter() - started, 1)
    results["load_average_end"] = load_average()
    return results


def sized_main(
    argv: Sequence[str] | None,
    doc: str | None,
    default_json: Path,
    measure: Callable[[list[int], int], Mapping[str, Any]],
    tables: Callable[[dict[str, Any]], list[Table]],
) -> int:
    """The command line of a script measured at several sizes: ``--sizes``, ``--repeat`` and `script_parser`'s."""
    parser = script_parser(doc, default_json)
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated sizes (default 10000,100000)")
    parser.add_argument("--repeat", type=int, default=3, help="repeats to take medians over (default 3)")
    args = parser.parse_args(argv)
    sizes = sorted({int(s) for s in args.sizes.split(",")})
    if sizes[0] < 2 or args.repeat < 1:
        parser.error("sizes must be at least 2 and --repeat at least 1")
    results = stamped(lambda: {"repeat": args.repeat, "sizes": sizes, **measure(sizes, args.repeat)}, clock=args.clock)
    publish(results, tables(results), args)
    return 0


def targets_table(targets: Sequence[Mapping[str, Any]]) -> Table:
    """A script's targets (``metric``, ``value``, ``target``, ``met``) as a table."""
    rows = [[t["metric"], f"{t['value']:.2f}", t["target"], "yes" if t["met"] else "NO"] for t in targets]
    return ("Targets", ["metric", "value", "target", "met"], rows)
