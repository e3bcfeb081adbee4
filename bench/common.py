"""Shared pieces of the bench suite: statistics, the machine, set-up checks.

The peers live beside this file, in ``peers.py``; everything the bench needs
is in this repository and the ``bench`` extra (``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Iterable, Mapping
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
