"""`SqliteJournal`: durable turns in one SQLite file, for the processes of one machine.

Each store keeps one connection, used by one worker thread at a time (a
`trio.Lock` orders them), so the Trio thread never waits on the disk. Writes
are ``BEGIN IMMEDIATE`` transactions: one writer at a time across processes,
taken before anything is read, so a check and the write it guards see the same
database. Ids are kept as UTF-8 bytes (lone surrogates kept, as with
``surrogatepass``), calls and entries as the ASCII JSON of `_codec`: a turn
is one row, its calls one JSON array, and each append one row, its entries
one JSON array, so a turn of a thousand calls writes two rows, not two
thousand.
"""

from __future__ import annotations

import os
import sqlite3
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Literal, TypeVar, final

import trio

from .._values._validate import check_choice, check_positive_number, check_type
from ._claims import FileClaims
from ._codec import decode_calls, decode_entries, encode_calls, encode_entries
from ._fold import Entry, turn_log
from ._records import Decision, JournalCall, Record, TurnLog

__all__ = ["SCHEMA_VERSION", "SqliteJournal"]

T = TypeVar("T")
R = TypeVar("R")

SCHEMA_VERSION = 2
"""``PRAGMA user_version`` of the files this version writes; a later one migrates from it.

Schema 1 (a row per call and per entry) is migrated when a file is opened.
"""

_SCHEMA = """
CREATE TABLE turns (turn_id BLOB PRIMARY KEY, calls TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE appends (seq INTEGER PRIMARY KEY, turn_id BLOB NOT NULL, entries TEXT NOT NULL);
CREATE INDEX appends_by_turn ON appends (turn_id, seq);
"""

_REMEMBERED_TURNS = 64
"""Turns whose call ids a store keeps in memory to check appends against (a turn's calls never change)."""


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
        self._call_ids = CallIds()
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
        await self._run(_begin, turn_id, (tuple(calls), self._call_ids))

    async def append(self, turn_id: str, records: Sequence[Record]) -> None:
        """Commit ``records``, in order, in one transaction.

        Raises:
            KeyError: the file holds no such turn, or the turn no such call.
        """
        check_type("turn_id", turn_id, str)
        await self._run(_append, turn_id, (tuple(records), self._call_ids))

    async def decide(self, turn_id: str, decision: Decision) -> None:
        """Record a decision for a call of ``turn_id``; any process may, holding no claim.

        Raises:
            KeyError: the file holds no such turn, or the turn no such call.
        """
        check_type("turn_id", turn_id, str)
        check_type("decision", decision, Decision)
        await self._run(_append, turn_id, ((decision,), self._call_ids))

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
    if version == SCHEMA_VERSION:
        return
    if version == 1:
        for table in ("turns", "calls", "entries"):
            connection.execute(f"ALTER TABLE {table} RENAME TO schema1_{table}")
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            connection.execute(statement)
    if version == 1:
        _from_schema_1(connection)
    connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def _from_schema_1(connection: sqlite3.Connection) -> None:
    """Schema 1's rows (one per call, one per entry) into schema 2's; its tables are dropped."""
    for (key,) in connection.execute("SELECT turn_id FROM schema1_turns").fetchall():
        calls = connection.execute("SELECT call FROM schema1_calls WHERE turn_id = ? ORDER BY position", (key,))
        connection.execute(
            "INSERT INTO turns (turn_id, calls) VALUES (?, ?)",
            (key, "[" + ",".join(call for (call,) in calls.fetchall()) + "]"),  # each was one call's JSON object
        )
    connection.execute(
        "INSERT INTO appends (turn_id, entries) SELECT turn_id, '[' || entry || ']' FROM schema1_entries ORDER BY seq"
    )
    for table in ("turns", "calls", "entries"):
        connection.execute(f"DROP TABLE schema1_{table}")


@final
class CallIds:
    """The ids of the calls of the turns a store wrote or read last, to check appends against.

    Used by one worker thread at a time (the store's lock orders them). A
    turn's calls never change once it has begun, so what is remembered stays true.
    """

    __slots__ = ("_known",)

    def __init__(self) -> None:
        self._known: OrderedDict[bytes, frozenset[str]] = OrderedDict()

    def remember(self, key: bytes, calls: Sequence[JournalCall]) -> frozenset[str]:
        ids = self._known[key] = frozenset(call.call_id for call in calls)
        self._known.move_to_end(key)
        if len(self._known) > _REMEMBERED_TURNS:
            self._known.popitem(last=False)
        return ids

    def of(self, connection: sqlite3.Connection, key: bytes) -> frozenset[str] | None:
        """The call ids of turn ``key``; ``None`` if the file holds no such turn."""
        ids = self._known.get(key)
        if ids is not None:
            self._known.move_to_end(key)
            return ids
        row = connection.execute("SELECT calls FROM turns WHERE turn_id = ?", (key,)).fetchone()
        return None if row is None else self.remember(key, decode_calls(row[0]))


def _load(connection: sqlite3.Connection, turn_id: str, _: None) -> TurnLog | None:
    key = _id(turn_id)
    connection.execute("BEGIN")  # one snapshot for the two reads
    try:
        row = connection.execute("SELECT calls FROM turns WHERE turn_id = ?", (key,)).fetchone()
        if row is None:
            return None
        appends = connection.execute("SELECT entries FROM appends WHERE turn_id = ? ORDER BY seq", (key,)).fetchall()
    finally:
        connection.execute("COMMIT")
    entries = (entry for (text,) in appends for entry in decode_entries(text))
    return turn_log(turn_id, decode_calls(row[0]), entries)


def _begin(connection: sqlite3.Connection, turn_id: str, arg: tuple[tuple[JournalCall, ...], CallIds]) -> None:
    calls, call_ids = arg

    def write(connection: sqlite3.Connection, key: bytes) -> None:
        if connection.execute("SELECT 1 FROM turns WHERE turn_id = ?", (key,)).fetchone() is not None:
            raise ValueError(f"the journal already holds turn {turn_id!r}: load it to resume it, or use a new turn id")
        connection.execute("INSERT INTO turns (turn_id, calls) VALUES (?, ?)", (key, encode_calls(calls)))

    key = _id(turn_id)
    _transaction(connection, write, key)
    call_ids.remember(key, calls)


def _append(connection: sqlite3.Connection, turn_id: str, arg: tuple[tuple[Entry, ...], CallIds]) -> None:
    entries, call_ids = arg

    def write(connection: sqlite3.Connection, key: bytes) -> None:
        ids = call_ids.of(connection, key)
        if ids is None:
            raise KeyError(f"the journal holds no turn {turn_id!r}")
        unknown = next((entry.call_id for entry in entries if entry.call_id not in ids), None)
        if unknown is not None:
            raise KeyError(f"turn {turn_id!r} has no call {unknown!r}")
        connection.execute("INSERT INTO appends (turn_id, entries) VALUES (?, ?)", (key, encode_entries(entries)))

    _transaction(connection, write, _id(turn_id))
