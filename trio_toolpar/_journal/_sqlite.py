"""`SqliteJournal`: durable turns in one SQLite file, for the processes of one machine.

Each store keeps one connection, used by one worker thread at a time (a
`trio.Lock` orders them), so the Trio thread never waits on the disk. Writes
are ``BEGIN IMMEDIATE`` transactions: one writer at a time across processes,
taken before anything is read, so a check and the write it guards see the same
database. Ids are kept as UTF-8 bytes (lone surrogates kept, as with
``surrogatepass``), calls and entries as the ASCII JSON of `_codec`.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Literal, TypeVar, final

import trio

from .._values._validate import check_choice, check_positive_number, check_type
from ._claims import FileClaims
from ._codec import decode_call, decode_entry, encode_call, encode_entry
from ._fold import Entry, turn_log
from ._records import Decision, JournalCall, Record, TurnLog

__all__ = ["SCHEMA_VERSION", "SqliteJournal"]

T = TypeVar("T")
R = TypeVar("R")

SCHEMA_VERSION = 1
"""``PRAGMA user_version`` of the files this version writes; a later one migrates from it."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS turns (turn_id BLOB PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS calls (
    turn_id BLOB NOT NULL, position INTEGER NOT NULL, call_id BLOB NOT NULL, call TEXT NOT NULL,
    PRIMARY KEY (turn_id, position)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS calls_by_id ON calls (turn_id, call_id);
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY, turn_id BLOB NOT NULL, call_id BLOB NOT NULL, entry TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_by_turn ON entries (turn_id, seq);
"""


def _id(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


@final
class SqliteJournal:
    """A `trio_toolpar.abc.Journal` in one SQLite file, shared by the processes of one machine.

    The file is in WAL mode. Every write is one transaction that has reached
    the file when its method returns, so a process killed at any instant (even
    SIGKILL) loses nothing that was returned. With ``synchronous="full"`` (the
    default) each commit is also flushed to the disk (``fsync``; ``F_FULLFSYNC``
    on macOS), so a power loss loses nothing either; ``"normal"`` skips that
    flush, is several times faster on most disks, and after a power loss (not
    a crash) may lose the last commits: a call that was started may then run
    again on resume. The file stays consistent either way.

    A claim is an ``flock`` on a lock file per turn in ``{path}-claims/``:
    the kernel releases it the instant its holder dies. Claims hold only
    between processes of one machine on a local file system.

    Examples:
        ```python
        async with SqliteJournal(tmp / "turns.db") as journal:
            async with journal.claim("turn-1"):
                await journal.begin("turn-1", [JournalCall(call_id="c1", tool="search", arguments="{}")])
                await journal.append("turn-1", [Started(call_id="c1", attempt=1, idempotency_key=None)])
            log = await journal.load("turn-1")
        assert log is not None and log.started["c1"].attempt == 1
        ```

    Args:
        path: the database file, made if missing.
        synchronous: ``"full"`` (survives power loss) or ``"normal"`` (survives a crash).
        timeout: seconds a write waits for another process's write to end
            before it raises `sqlite3.OperationalError` ("database is locked").
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: Literal["full", "normal"] = "full",
        timeout: float = 5.0,
    ) -> None:
        check_type("path", path, (str, os.PathLike), expected="a file path")
        self._path = Path(path)
        self._synchronous = check_choice("synchronous", synchronous, ("full", "normal"))
        self._timeout = check_positive_number("timeout", timeout, finite=True, unit="seconds")
        self._claims = FileClaims(self._path.with_name(self._path.name + "-claims"))
        self._lock = trio.Lock()
        self._connection: sqlite3.Connection | None = None
        self._closed = False

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("open" if self._connection is not None else "not opened yet")
        return f"<SqliteJournal {str(self._path)!r} synchronous={self._synchronous!r} {state}>"

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    async def __aenter__(self) -> SqliteJournal:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection (waiting for a write in progress); later uses raise `trio.ClosedResourceError`."""
        async with self._lock:
            self._closed = True
            connection, self._connection = self._connection, None
            if connection is not None:
                await trio.to_thread.run_sync(connection.close)

    @asynccontextmanager
    async def claim(self, turn_id: str) -> AsyncIterator[None]:
        """Hold ``turn_id`` while the block runs (see `trio_toolpar.abc.Journal.claim`)."""
        check_type("turn_id", turn_id, str)
        fd = await trio.to_thread.run_sync(self._claims.take, turn_id)
        try:
            yield
        finally:
            self._claims.give_back(fd, turn_id)  # two system calls: done even while cancelled

    async def load(self, turn_id: str) -> TurnLog | None:
        """All the file holds of ``turn_id``; ``None`` if it has never begun."""
        check_type("turn_id", turn_id, str)
        return await self._run(_load, turn_id, None)

    async def begin(self, turn_id: str, calls: Sequence[JournalCall]) -> None:
        """Record a new turn and its calls.

        Raises:
            ValueError: the file already holds ``turn_id``.
        """
        check_type("turn_id", turn_id, str)
        await self._run(_begin, turn_id, tuple(calls))

    async def append(self, turn_id: str, records: Sequence[Record]) -> None:
        """Commit ``records``, in order, in one transaction.

        Raises:
            KeyError: the file holds no such turn, or the turn no such call.
        """
        check_type("turn_id", turn_id, str)
        await self._run(_append, turn_id, tuple(records))

    async def decide(self, turn_id: str, decision: Decision) -> None:
        """Record a decision for a call of ``turn_id``; any process may, holding no claim.

        Raises:
            KeyError: the file holds no such turn, or the turn no such call.
        """
        check_type("turn_id", turn_id, str)
        check_type("decision", decision, Decision)
        await self._run(_append, turn_id, (decision,))

    async def _run(self, job: Callable[[sqlite3.Connection, str, T], R], turn_id: str, arg: T) -> R:
        """``job(connection, turn_id, arg)`` on a worker thread, one at a time; opens the connection on first use."""
        async with self._lock:
            if self._closed:
                raise trio.ClosedResourceError(f"{self!r} is closed")
            if self._connection is None:
                self._connection = await trio.to_thread.run_sync(self._open)
            return await trio.to_thread.run_sync(job, self._connection, turn_id, arg)

    def _open(self) -> sqlite3.Connection:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit (isolation_level=None): the transactions below are our own BEGIN/COMMIT.
        connection = sqlite3.connect(self._path, timeout=self._timeout, isolation_level=None, check_same_thread=False)
        try:
            mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal":
                raise OSError(f"SQLite cannot keep {str(self._path)!r} in WAL mode (it stays {mode!r})")
            connection.execute(f"PRAGMA synchronous={self._synchronous.upper()}")
            connection.execute("PRAGMA fullfsync=ON")  # macOS: flush the disk's cache, not only the kernel's
            _transaction(connection, _migrate, self._path)
        except Exception:
            connection.close()
            raise
        return connection


def _transaction(connection: sqlite3.Connection, job: Callable[[sqlite3.Connection, T], None], arg: T) -> None:
    """Run ``job`` in one write transaction: all of it commits, or none."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        job(connection, arg)
        connection.execute("COMMIT")
    except Exception:
        connection.execute("ROLLBACK")
        raise


def _migrate(connection: sqlite3.Connection, path: Path) -> None:
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise RuntimeError(
            f"the journal {str(path)!r} has schema {version}, written by a newer trio_toolpar; "
            f"this one reads schema {SCHEMA_VERSION}: upgrade trio_toolpar"
        )
    if version < SCHEMA_VERSION:
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                connection.execute(statement)
        connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def _load(connection: sqlite3.Connection, turn_id: str, _: None) -> TurnLog | None:
    key = _id(turn_id)
    connection.execute("BEGIN")  # one snapshot for the two reads
    try:
        if connection.execute("SELECT 1 FROM turns WHERE turn_id = ?", (key,)).fetchone() is None:
            return None
        calls = connection.execute("SELECT call FROM calls WHERE turn_id = ? ORDER BY position", (key,)).fetchall()
        entries = connection.execute("SELECT entry FROM entries WHERE turn_id = ? ORDER BY seq", (key,)).fetchall()
    finally:
        connection.execute("COMMIT")
    return turn_log(turn_id, [decode_call(c) for (c,) in calls], [decode_entry(e) for (e,) in entries])


def _begin(connection: sqlite3.Connection, turn_id: str, calls: tuple[JournalCall, ...]) -> None:
    def write(connection: sqlite3.Connection, key: bytes) -> None:
        if connection.execute("SELECT 1 FROM turns WHERE turn_id = ?", (key,)).fetchone() is not None:
            raise ValueError(f"the journal already holds turn {turn_id!r}: load it to resume it, or use a new turn id")
        connection.execute("INSERT INTO turns (turn_id) VALUES (?)", (key,))
        connection.executemany(
            "INSERT INTO calls (turn_id, position, call_id, call) VALUES (?, ?, ?, ?)",
            [(key, n, _id(call.call_id), encode_call(call)) for n, call in enumerate(calls)],
        )

    _transaction(connection, write, _id(turn_id))


def _append(connection: sqlite3.Connection, turn_id: str, entries: tuple[Entry, ...]) -> None:
    def write(connection: sqlite3.Connection, key: bytes) -> None:
        if connection.execute("SELECT 1 FROM turns WHERE turn_id = ?", (key,)).fetchone() is None:
            raise KeyError(f"the journal holds no turn {turn_id!r}")
        rows = [(key, _id(entry.call_id), encode_entry(entry)) for entry in entries]
        # One statement checks and inserts each row: it goes in only if the turn has its call.
        inserted = connection.executemany(
            "INSERT INTO entries (turn_id, call_id, entry) SELECT ?1, ?2, ?3 "
            "WHERE EXISTS (SELECT 1 FROM calls WHERE turn_id = ?1 AND call_id = ?2)",
            rows,
        ).rowcount
        if inserted < len(rows):  # the transaction rolls back: none of them is kept
            raise KeyError(f"turn {turn_id!r} has no call {_unknown_call(connection, key, entries)!r}")

    _transaction(connection, write, _id(turn_id))


def _unknown_call(connection: sqlite3.Connection, key: bytes, entries: tuple[Entry, ...]) -> str:
    """The first call of ``entries`` that turn ``key`` does not have."""
    query = "SELECT 1 FROM calls WHERE turn_id = ? AND call_id = ?"
    return next(e.call_id for e in entries if connection.execute(query, (key, _id(e.call_id))).fetchone() is None)
