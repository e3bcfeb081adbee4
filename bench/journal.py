"""What a durable write of the SQLite journal costs, beside a bare SQLite commit, and what group commit saves.

    python bench/journal.py                                  # N = 1,000, both synchronous modes
    python bench/journal.py --count 1000 --json bench/results/journal.json

Each measure is one function of `MEASURES`, run on a fresh database in
``--dir`` (default: a temporary folder beside this script, on the repository's
disk, since a tmpfs would make every flush free), for each ``synchronous``
mode the journal offers:

* ``write latency``: one ``SqliteJournal.append`` of one `Started` record,
  awaited from Trio (the commit runs on a worker thread), and one bare
  ``INSERT`` of the same row (the same id bytes and JSON text) in its own
  ``BEGIN IMMEDIATE``/``COMMIT`` from plain ``sqlite3`` with the same pragmas
  on the same disk: the floor the journal sits on. The two alternate, N times
  each, so that both meet the same moments of the disk;
* ``group commit``: N `Started` records as one ``append`` against N appends
  of one record each: the whole time, and per record;
* ``journaled turn``: ``executor.run`` of a turn of N no-op reads without a
  journal and with one, per call: the median of `TURNS` turns of each,
  alternating, so that both meet the same moments of a busy machine; their
  ratio, and the appends (and records) one turn's group commit made.

Latencies are the median and the 90th percentile of the N writes, in
microseconds on the wall clock (a flush is waiting, not computing). The disk
decides most of a ``synchronous="full"`` figure: compare the two rows of one
run, not runs of two machines.
"""

from __future__ import annotations

import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import common
import trio
from common import BENCH_DIR
from contenders import read_calls, read_registry

from trio_toolpar import Executor
from trio_toolpar.journal import Decision, JournalCall, Record, SqliteJournal, Started, TurnLog

DEFAULT_JSON = BENCH_DIR / "results" / "journal.json"
MODES = ("full", "normal")
TURN = "bench-turn"
CALL = JournalCall(call_id="call_0001", tool="read", arguments='{"key":"value"}')
RECORD = Started(call_id=CALL.call_id, attempt=1, idempotency_key="bench-turn:call_0001")
TURNS = 15
"""Turns of each kind a ``journaled turn`` times: its figures are their medians."""


def latencies(samples: Sequence[float]) -> dict[str, float]:
    """The median and 90th percentile of ``samples`` (seconds), in microseconds."""
    deciles = statistics.quantiles(samples, n=10, method="inclusive")
    return {"median_us": statistics.median(samples) * 1e6, "p90_us": deciles[8] * 1e6, "writes": len(samples)}


async def _begun(path: Path, synchronous: str, calls: Sequence[JournalCall]) -> SqliteJournal:
    journal = SqliteJournal(path, synchronous=synchronous)  # type: ignore[arg-type]
    await journal.begin(TURN, calls)
    return journal


def _bare_connection(path: Path, synchronous: str) -> sqlite3.Connection:
    """A plain ``sqlite3`` connection with the journal's pragmas, and a table for the journal's rows."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(f"PRAGMA synchronous={synchronous.upper()}")
    connection.execute("PRAGMA fullfsync=ON")
    connection.execute("CREATE TABLE appends (seq INTEGER PRIMARY KEY, turn_id BLOB, entries TEXT)")
    return connection


def write_latency(folder: Path, count: int, synchronous: str) -> dict[str, Any]:
    """One durable append of one `Started` record beside one bare commit of the same row, alternating, ``count`` times.

    The append is awaited from Trio (its commit runs on a worker thread); the
    bare commit is an ``INSERT`` in its own ``BEGIN IMMEDIATE``/``COMMIT`` on
    the Trio thread. Alternating them gives both the same moments of the disk.
    """
    from trio_toolpar._journal._codec import encode_entries  # the very text the journal stores

    bare = _bare_connection(folder / "bare.db", synchronous)
    row = (TURN.encode(), encode_entries([RECORD]))

    async def run() -> tuple[list[float], list[float]]:
        journal = await _begun(folder / "journal.db", synchronous, [CALL])
        appends, commits = [], []
        for _ in range(count):
            began = time.perf_counter()
            await journal.append(TURN, [RECORD])
            appends.append(time.perf_counter() - began)
            began = time.perf_counter()
            bare.execute("BEGIN IMMEDIATE")
            bare.execute("INSERT INTO appends (turn_id, entries) VALUES (?, ?)", row)
            bare.execute("COMMIT")
            commits.append(time.perf_counter() - began)
        await journal.aclose()
        return appends, commits

    try:
        appends, commits = trio.run(run)
    finally:
        bare.close()
    figures = {"append": latencies(appends), "bare commit": latencies(commits)}
    return figures | {"append_over_bare": figures["append"]["median_us"] / figures["bare commit"]["median_us"]}


def group_commit(folder: Path, count: int, synchronous: str) -> dict[str, Any]:
    """``count`` `Started` records (one per call) as one append, against ``count`` appends of one record."""
    calls = [JournalCall(call_id=f"call_{n:04d}", tool="read", arguments="{}") for n in range(count)]
    records = [Started(call_id=c.call_id, attempt=1, idempotency_key=f"{TURN}:{c.call_id}") for c in calls]

    async def run() -> dict[str, Any]:
        grouped = await _begun(folder / "grouped.db", synchronous, calls)
        began = time.perf_counter()
        await grouped.append(TURN, records)
        one = time.perf_counter() - began
        await grouped.aclose()
        single = await _begun(folder / "single.db", synchronous, calls)
        began = time.perf_counter()
        for record in records:
            await single.append(TURN, [record])
        many = time.perf_counter() - began
        await single.aclose()
        return {
            "records": count,
            "one_append_ms": one * 1e3,
            "appends_ms": many * 1e3,
            "one_append_us_per_record": one / count * 1e6,
            "appends_us_per_record": many / count * 1e6,
            "speedup": many / one,
        }

    return trio.run(run)


class CountingJournal:
    """A journal that counts the appends it passes on: how many commits a turn's group commit made."""

    def __init__(self, inner: SqliteJournal) -> None:
        self.inner = inner
        self.appends = 0
        self.records = 0

    def claim(self, turn_id: str) -> AbstractAsyncContextManager[None]:
        return self.inner.claim(turn_id)

    async def load(self, turn_id: str) -> TurnLog | None:
        return await self.inner.load(turn_id)

    async def begin(self, turn_id: str, calls: Sequence[JournalCall]) -> None:
        await self.inner.begin(turn_id, calls)

    async def append(self, turn_id: str, records: Sequence[Record]) -> None:
        self.appends += 1
        self.records += len(records)
        await self.inner.append(turn_id, records)

    async def decide(self, turn_id: str, decision: Decision) -> None:
        await self.inner.decide(turn_id, decision)


def journaled_turn(folder: Path, count: int, synchronous: str) -> dict[str, Any]:
    """Turns of ``count`` no-op reads, without a journal and with one: the whole ``run``, per call.

    Each executor runs a warm-up turn first; then `TURNS` turns of each
    alternate, and each figure is the median of its turns. Every journaled
    turn has a turn id of its own, so each begins, runs and records every call.
    """
    tools, calls = read_registry(), read_calls(count)  # the reads `instructions.py` counts

    async def timed(executor: Executor, turn_id: str | None) -> float:
        began = time.perf_counter()
        result = await executor.run(calls, turn_id=turn_id)
        seconds = time.perf_counter() - began
        assert all(outcome.ok for outcome in result)
        return seconds

    async def run() -> dict[str, Any]:
        plain = Executor(tools)
        async with SqliteJournal(folder / "turns.db", synchronous=synchronous) as store:  # type: ignore[arg-type]
            journal = CountingJournal(store)
            journaled = Executor(tools, journal=journal)
            await timed(plain, None)
            await timed(journaled, "warm-up")
            without, with_journal = [], []
            for turn in range(TURNS):
                without.append(await timed(plain, None))
                journal.appends = journal.records = 0
                with_journal.append(await timed(journaled, f"measured-{turn}"))
        plain_s, journaled_s = statistics.median(without), statistics.median(with_journal)
        return {
            "calls": count,
            "turns": TURNS,
            "without_us_per_call": plain_s / count * 1e6,
            "with_us_per_call": journaled_s / count * 1e6,
            "journal_us_per_call": (journaled_s - plain_s) / count * 1e6,
            "with_over_without": journaled_s / plain_s,
            "appends": journal.appends,
            "records": journal.records,
        }

    return trio.run(run)


MEASURES: dict[str, Callable[[Path, int, str], dict[str, Any]]] = {
    "write latency": write_latency,
    "group commit": group_commit,
    "journaled turn": journaled_turn,
}
"""Each measure runs on a fresh folder in each mode; another is one more entry."""


def measure(count: int, folder: Path | None) -> dict[str, Any]:
    """Every measure of `MEASURES` in each mode of `MODES`."""
    results: dict[str, Any] = {"count": count, "modes": {}}
    for mode in MODES:
        figures = {}
        for name, fn in MEASURES.items():
            where = Path(tempfile.mkdtemp(prefix="journal-bench-", dir=folder or BENCH_DIR))
            try:
                figures[name] = fn(where, count, mode)
            finally:
                shutil.rmtree(where)
            print(f"  journal synchronous={mode}: {name} done", file=sys.stderr, flush=True)
        results["modes"][mode] = figures
    return results


def tables(results: dict[str, Any]) -> list[common.Table]:
    """The script's tables: (title, header, rows)."""
    n = results["count"]
    rows = []
    for mode, figures in results["modes"].items():
        written = figures["write latency"]
        for name in ("append", "bare commit"):
            f = written[name]
            rows.append([mode, name, f"{f['median_us']:.1f}", f"{f['p90_us']:.1f}"])
        rows.append([mode, "append / bare commit (median)", f"{written['append_over_bare']:.2f}", ""])
    latency = (
        f"SQLite journal: one durable write, us over N={n:,} writes",
        ["synchronous", "write", "median", "p90"],
        rows,
    )
    grouped = []
    for mode, figures in results["modes"].items():
        g = figures["group commit"]
        grouped.append([mode, f"{g['one_append_ms']:.1f}", f"{g['appends_ms']:.1f}", f"{g['speedup']:.0f}x"])
    group = (
        f"SQLite journal: {n:,} Started records as one append vs {n:,} appends, ms",
        ["synchronous", "one append", f"{n:,} appends", "saved"],
        grouped,
    )
    turns = []
    for mode, figures in results["modes"].items():
        t = figures["journaled turn"]
        turns.append(
            [
                mode,
                f"{t['without_us_per_call']:.1f}",
                f"{t['with_us_per_call']:.1f}",
                f"{t['journal_us_per_call']:.1f}",
                f"{t['with_over_without']:.2f}",
                f"{t['appends']:,} ({t['records']:,} records)",
            ]
        )
    turn = (
        f"A turn of {n:,} no-op reads, without and with a SQLite journal, us per call (median of {TURNS} turns)",
        ["synchronous", "without", "with", "journal's cost", "with / without", "appends per turn"],
        turns,
    )
    return [latency, group, turn]


def main(argv: Sequence[str] | None = None) -> int:
    parser = common.script_parser(__doc__, DEFAULT_JSON)
    parser.add_argument(
        "--count", type=int, default=1000, help="writes per measure, and records in a group (default 1000)"
    )
    parser.add_argument("--dir", type=Path, default=None, help="where the databases go (default: beside this script)")
    args = parser.parse_args(argv)
    if args.count < 2:
        parser.error("--count must be at least 2")
    if args.clock != "wall":
        parser.error("--clock cpu does not apply: a durable commit's time is spent waiting for the disk")
    results = common.stamped(lambda: measure(args.count, args.dir), clock="wall")
    common.publish(results, tables(results), args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
