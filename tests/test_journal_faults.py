"""What each journal store does beyond the shared contract: its file's schema, its Redis gone or frozen.

Redis waits are real time, bounded by ``trio.fail_after``: the bound is the
claim ("never a hang"), not a speed.
"""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import pytest
import trio
from redis_server import open_client, running_server

from trio_toolpar._journal._codec import encode_call, encode_entry
from trio_toolpar.journal import Decision, Finished, JournalCall, SqliteJournal, Started, TurnBusy, TurnLog
from trio_toolpar.redis import JournalUnavailable, RedisJournal

CALL = JournalCall(call_id="c1", tool="t", arguments="{}")


# -- SQLite ---------------------------------------------------------------------------------------------------


async def test_the_file_is_in_wal_mode_with_its_schema_version(tmp_path: Path) -> None:
    async with SqliteJournal(tmp_path / "j.db") as journal:
        await journal.begin("t", [CALL])
    with sqlite3.connect(tmp_path / "j.db") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert raw.execute("PRAGMA user_version").fetchone() == (2,)
        # A turn is one row and an append one row, whatever the number of calls and records.
        assert raw.execute("SELECT count(*) FROM turns").fetchone() == (1,)


async def test_a_file_of_a_newer_schema_is_refused_with_what_to_do(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "j.db") as raw:
        raw.execute("PRAGMA user_version=3")
    async with SqliteJournal(tmp_path / "j.db") as journal:
        with pytest.raises(RuntimeError, match=r"schema 3, written by a newer trio_toolpar.*upgrade trio_toolpar"):
            await journal.load("t")


SCHEMA_1 = """
CREATE TABLE turns (turn_id BLOB PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE calls (
    turn_id BLOB NOT NULL, position INTEGER NOT NULL, call_id BLOB NOT NULL, call TEXT NOT NULL,
    PRIMARY KEY (turn_id, position)
) WITHOUT ROWID;
CREATE INDEX calls_by_id ON calls (turn_id, call_id);
CREATE TABLE entries (seq INTEGER PRIMARY KEY, turn_id BLOB NOT NULL, call_id BLOB NOT NULL, entry TEXT NOT NULL);
CREATE INDEX entries_by_turn ON entries (turn_id, seq);
PRAGMA user_version=1;
"""


async def test_a_file_of_schema_1_is_migrated_and_its_turns_resume_as_they_were(tmp_path: Path) -> None:
    calls = [JournalCall(call_id="b", tool="t", arguments='{"x":1}'), JournalCall(call_id="a", tool="u", arguments="")]
    first, retry = (
        Started(call_id="b", attempt=1, idempotency_key="k"),
        Started(call_id="b", attempt=2, idempotency_key="k"),
    )
    finish, decision = Finished(call_id="a", outcome="[1]"), Decision(call_id="b", approved=False, reason="no")
    entries: list[Started | Finished | Decision] = [first, retry, finish, decision]  # the latest start binds
    with sqlite3.connect(tmp_path / "j.db") as raw:  # as the previous version wrote it: a row per call and entry
        raw.executescript(SCHEMA_1)
        for turn in (b"t1", b"t2"):
            raw.execute("INSERT INTO turns VALUES (?)", (turn,))
            for n, call in enumerate(calls):
                raw.execute(
                    "INSERT INTO calls VALUES (?, ?, ?, ?)", (turn, n, call.call_id.encode(), encode_call(call))
                )
        for entry in entries:
            raw.execute(
                "INSERT INTO entries (turn_id, call_id, entry) VALUES (?, ?, ?)",
                (b"t1", entry.call_id.encode(), encode_entry(entry)),
            )
    async with SqliteJournal(tmp_path / "j.db") as journal:
        assert await journal.load("t1") == TurnLog(
            turn_id="t1",
            calls=tuple(calls),
            started={"b": retry},
            finished={"a": finish},
            decisions={"b": decision},
        )
        assert await journal.load("t2") == TurnLog(turn_id="t2", calls=tuple(calls))
        await journal.append("t2", [Started(call_id="a", attempt=1, idempotency_key=None)])  # its calls are known
        with pytest.raises(KeyError, match="no call 'c'"):
            await journal.append("t2", [Started(call_id="c", attempt=1, idempotency_key=None)])
    with sqlite3.connect(tmp_path / "j.db") as raw:
        assert raw.execute("PRAGMA user_version").fetchone() == (2,)
        tables = {name for (name,) in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert tables == {"turns", "appends"}


async def test_what_one_opening_wrote_another_reads_after_it_closed(tmp_path: Path) -> None:
    first = SqliteJournal(tmp_path / "j.db", synchronous="normal")
    await first.begin("t", [CALL])
    await first.append("t", [Started(call_id="c1", attempt=1, idempotency_key=None)])
    await first.aclose()
    assert "closed" in repr(first)
    with pytest.raises(trio.ClosedResourceError):
        await first.load("t")
    async with SqliteJournal(tmp_path / "j.db") as second:
        log = await second.load("t")
    assert log is not None and log.started["c1"].attempt == 1


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="synchronous"):
        SqliteJournal("j.db", synchronous="off")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="path"):
        SqliteJournal(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout"):
        SqliteJournal("j.db", timeout=0)


# -- Redis ----------------------------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # nothing listens there once the probe is closed


async def test_a_redis_that_refuses_connections_is_unavailable_at_once() -> None:
    async with open_client(_closed_port()) as client:
        journal = RedisJournal(client, namespace="j")
        with trio.fail_after(5), pytest.raises(JournalUnavailable, match="it was not made"):
            await journal.append("t", [Started(call_id="c1", attempt=1, idempotency_key=None)])
        with trio.fail_after(5), pytest.raises(JournalUnavailable, match="up and reachable"):
            async with journal.claim("t"):
                pytest.fail("a claim taken from no Redis")


async def test_a_frozen_redis_is_unavailable_within_the_timeout_and_a_write_is_in_doubt() -> None:
    with running_server() as server:
        async with open_client(server.port) as client:
            journal = RedisJournal(client, namespace="j", timeout=0.2)
            await journal.begin("t", [CALL])
            server.freeze()
            try:
                with trio.fail_after(5), pytest.raises(JournalUnavailable, match="may or may not have been made"):
                    await journal.append("t", [Started(call_id="c1", attempt=1, idempotency_key=None)])
            finally:
                server.thaw()


async def test_a_renewed_claim_outlives_its_time_to_live() -> None:
    with running_server() as server:
        async with open_client(server.port) as client:
            journal = RedisJournal(client, namespace="j", claim_ttl=0.6)
            async with journal.claim("t"):
                await trio.sleep(2.0)
                with pytest.raises(TurnBusy):
                    async with RedisJournal(client, namespace="j", claim_ttl=0.6).claim("t"):
                        pytest.fail("a renewed claim was taken")


async def test_a_claim_that_cannot_be_renewed_cancels_its_run_before_it_lapses() -> None:
    with running_server() as server:
        async with open_client(server.port) as client:
            journal = RedisJournal(client, namespace="j", claim_ttl=1.0)
            reached_the_end = False

            async def run() -> None:
                nonlocal reached_the_end
                async with journal.claim("t"):
                    server.freeze()
                    try:
                        await trio.sleep(5)
                        reached_the_end = True
                    finally:
                        server.thaw()

            with trio.fail_after(10), pytest.raises(JournalUnavailable, match="claim of turn 't' was lost") as caught:
                await run()
            assert not reached_the_end
            assert "no renewal was confirmed in time" in str(caught.value)
