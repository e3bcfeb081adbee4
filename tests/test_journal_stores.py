"""The contract every journal store keeps, run against each store: SQLite, and Redis on a real server.

A store keeps text and folds it the same way (`_journal/_fold.py`): the latest
`Started` of a call, its first `Finished` and first `Decision`, the calls
waiting without one. Claims are exclusive across tasks and processes, and a
killed holder's claim is released (SQLite: at once; Redis: when its time to
live runs out). To add a store, add an opener to `STORES`, and to
`PROCESS_STORES` if other processes can reach it.

Cross-process tests run `journal_worker.py` (forked by `journal_processes.Zygote`) and wait on real time, bounded by
``trio.fail_after``: the bound is the claim ("not a hang"), not a speed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import trio
from journal_processes import Place, Zygote, zygote_fixture
from redis_server import RedisServer, running_server, wait_until

from trio_toolpar.abc import Journal
from trio_toolpar.journal import (
    Decision,
    Finished,
    JournalCall,
    Started,
    TurnBusy,
    TurnLog,
    Waiting,
)
from trio_toolpar.testing import MemoryJournal

CALLS = [
    JournalCall(call_id="c1", tool="search", arguments='{"q":"a"}'),
    JournalCall(call_id="c2", tool="refund", arguments='{"order_id":7}'),
    JournalCall(call_id="c3", tool="notify", arguments="not json"),
]

STORES = ["sqlite", "redis", "memory"]
CHECKING_STORES = ["sqlite", "redis"]
"""Stores that also refuse what the protocol leaves open: a second `begin`, an append naming what they do not hold."""
PROCESS_STORES = ["sqlite", "redis"]


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with running_server() as server:
        yield server


zygote = pytest.fixture(zygote_fixture, name="zygote", scope="module")


def _place(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Place:
    server = request.getfixturevalue("redis_server") if kind == "redis" else None
    return Place(tmp_path, server)


@pytest.fixture(params=STORES)
async def journal(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Journal]:
    if request.param == "memory":
        yield MemoryJournal()
        return
    async with _place(request.param, request, tmp_path).open() as opened:
        yield opened


@pytest.fixture(params=CHECKING_STORES)
async def checking_journal(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Journal]:
    async with _place(request.param, request, tmp_path).open() as opened:
        yield opened


@pytest.fixture(params=CHECKING_STORES)
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Place:
    return _place(request.param, request, tmp_path)


@pytest.fixture(params=PROCESS_STORES)
def shared_place(request: pytest.FixtureRequest, tmp_path: Path) -> Place:
    return _place(request.param, request, tmp_path)


async def loaded(journal: Journal, turn_id: str) -> TurnLog:
    log = await journal.load(turn_id)
    assert log is not None
    return log


def started(call_id: str, attempt: int = 1, key: str | None = None) -> Started:
    return Started(call_id=call_id, attempt=attempt, idempotency_key=key)


# -- records: begin, append, load ---------------------------------------------------------------------------


async def test_a_turn_never_begun_loads_as_none(journal: Journal) -> None:
    assert await journal.load("nobody") is None


async def test_begin_and_load_round_trip_the_calls_in_order(journal: Journal) -> None:
    await journal.begin("t", CALLS)
    assert await journal.load("t") == TurnLog(turn_id="t", calls=tuple(CALLS))
    assert await journal.load("other") is None


async def test_a_turn_without_calls_still_begins(journal: Journal) -> None:
    await journal.begin("t", [])
    assert await journal.load("t") == TurnLog(turn_id="t", calls=())


async def test_a_turn_begins_once(checking_journal: Journal) -> None:
    journal = checking_journal
    await journal.begin("t", CALLS)
    with pytest.raises(ValueError, match="already holds turn 't'"):
        await journal.begin("t", CALLS[:1])
    assert (await loaded(journal, "t")).calls == tuple(CALLS)


async def test_each_call_keeps_its_latest_start_and_its_first_outcome(journal: Journal) -> None:
    await journal.begin("t", CALLS)
    await journal.append("t", [started("c1"), started("c2", key="k2")])
    await journal.append("t", [started("c1", 2, "k1"), Finished(call_id="c2", outcome='{"status":"ok"}')])
    await journal.append("t", [Finished(call_id="c2", outcome='{"status":"error"}')])  # never written; never read
    log = await loaded(journal, "t")
    assert log.started == {"c1": started("c1", 2, "k1"), "c2": started("c2", key="k2")}
    assert log.finished == {"c2": Finished(call_id="c2", outcome='{"status":"ok"}')}


async def test_an_append_naming_a_foreign_call_leaves_nothing_of_itself(checking_journal: Journal) -> None:
    journal = checking_journal
    await journal.begin("t", CALLS)
    with pytest.raises(KeyError, match="turn 't' has no call 'c9'"):
        await journal.append("t", [started("c1"), Finished(call_id="c1", outcome="x"), started("c9")])
    assert await journal.load("t") == TurnLog(turn_id="t", calls=tuple(CALLS))
    with pytest.raises(KeyError, match="no turn 'other'"):
        await journal.append("other", [started("c1")])


async def test_concurrent_appends_from_two_tasks_all_land_in_each_task_s_order(journal: Journal) -> None:
    await journal.begin("t", CALLS)

    async def appender(call_id: str) -> None:
        for attempt in range(1, 21):
            await journal.append("t", [started(call_id, attempt), Waiting(call_id=call_id)])

    async with trio.open_nursery() as nursery:
        nursery.start_soon(appender, "c1")
        nursery.start_soon(appender, "c2")
    log = await loaded(journal, "t")
    assert {c: s.attempt for c, s in log.started.items()} == {"c1": 20, "c2": 20}
    assert log.waiting == {"c1", "c2"}


# -- decisions -----------------------------------------------------------------------------------------------


async def test_waiting_calls_leave_the_waiting_set_once_decided_or_finished_and_the_first_decision_binds(
    journal: Journal,
) -> None:
    await journal.begin("t", CALLS)
    await journal.append("t", [Waiting(call_id="c2"), Waiting(call_id="c3"), Waiting(call_id="c1")])
    await journal.append("t", [Finished(call_id="c1", outcome="{}")])  # an outcome ends a wait too
    assert (await loaded(journal, "t")).waiting == {"c2", "c3"}
    await journal.decide("t", Decision(call_id="c2", approved=False, reason="not today"))
    await journal.decide("t", Decision(call_id="c2", approved=True))
    log = await loaded(journal, "t")
    assert log.waiting == {"c3"}
    assert log.decisions == {"c2": Decision(call_id="c2", approved=False, reason="not today")}


async def test_a_decision_for_an_unknown_turn_or_call_is_a_key_error(journal: Journal) -> None:
    await journal.begin("t", CALLS)
    with pytest.raises(KeyError, match="no turn 'other'"):
        await journal.decide("other", Decision(call_id="c1", approved=True))
    with pytest.raises(KeyError, match="turn 't' has no call 'c9'"):
        await journal.decide("t", Decision(call_id="c9", approved=True))
    assert (await loaded(journal, "t")).decisions == {}


async def test_another_process_decides_while_the_turn_is_claimed(shared_place: Place, zygote: Zygote) -> None:
    async with shared_place.open() as journal, journal.claim("t"):
        await journal.begin("t", CALLS)
        await journal.append("t", [Waiting(call_id="c3")])
        decider = await zygote.spawn(*shared_place.worker_options(), "decide", "t", "c3", "yes")
        await decider.reaches("decided")
        await decider.ends()
        log = await loaded(journal, "t")
        assert log.waiting == frozenset()
        assert log.decisions == {"c3": Decision(call_id="c3", approved=True)}


# -- values a model or a tool may produce ------------------------------------------------------------------

HOSTILE = '\ud800 lone \udfff surrogates, NUL \x00, \u2028, emoji \U0001f600, quote " backslash \\ colon :'


async def test_hostile_text_round_trips_in_every_field(journal: Journal) -> None:
    turn = f"turn {HOSTILE}"
    calls = [JournalCall(call_id=f"c{HOSTILE}", tool=HOSTILE, arguments=HOSTILE), CALLS[0]]
    await journal.begin(turn, calls)
    huge = HOSTILE * 25_000  # 2 MB of UTF-8, 4 MB as the escaped JSON Redis keeps
    start, finish = started(calls[0].call_id, 3, HOSTILE), Finished(call_id=calls[0].call_id, outcome=huge)
    await journal.append(turn, [start, finish, Waiting(call_id="c1")])
    await journal.decide(turn, Decision(call_id="c1", approved=False, reason=HOSTILE))
    log = await journal.load(turn)
    assert log == TurnLog(
        turn_id=turn,
        calls=tuple(calls),
        started={calls[0].call_id: start},
        finished={calls[0].call_id: finish},
        decisions={"c1": Decision(call_id="c1", approved=False, reason=HOSTILE)},
    )
    assert await journal.load(f"turn {HOSTILE[1:]}") is None  # ids are compared whole, not loosely


# -- claims --------------------------------------------------------------------------------------------------


async def test_a_claim_is_exclusive_within_a_process_and_released_on_exit(journal: Journal) -> None:
    async with journal.claim("t"):
        with pytest.raises(TurnBusy, match="'t'"):
            async with journal.claim("t"):
                pytest.fail("two claims of one turn")
        async with journal.claim("u"):  # another turn is another claim
            pass
    async with journal.claim("t"):
        pass


async def test_a_claim_is_exclusive_across_openings_of_one_store(place: Place) -> None:
    async with place.open() as first, place.open() as second, first.claim("t"):
        with pytest.raises(TurnBusy):
            async with second.claim("t"):
                pytest.fail("two claims of one turn")


async def test_a_claim_is_released_when_the_block_raises(journal: Journal) -> None:
    with pytest.raises(ZeroDivisionError):
        async with journal.claim("t"):
            raise ZeroDivisionError
    async with journal.claim("t"):
        pass


async def test_a_claim_held_by_another_process_is_busy_until_its_holder_is_killed(
    shared_place: Place, zygote: Zygote
) -> None:
    async with shared_place.open() as journal:
        holder = await zygote.spawn(*shared_place.worker_options(), "hold", "t")
        await holder.reaches("held")
        with pytest.raises(TurnBusy):
            async with journal.claim("t"):
                pytest.fail("two claims of one turn")
        await holder.kill()
        if not shared_place.released_after_kill:
            assert await claimable(journal, "t")  # at once: the kernel dropped the lock with the process
        else:
            assert not await claimable(journal, "t")  # its time to live has not run out yet
            await wait_until(lambda: claimable(journal, "t"), seconds=shared_place.released_after_kill + 5)


async def claimable(journal: Journal, turn_id: str) -> bool:
    try:
        async with journal.claim(turn_id):
            return True
    except TurnBusy:
        return False


async def test_a_write_that_returned_survives_a_sigkill_of_its_process(shared_place: Place, zygote: Zygote) -> None:
    appender = await zygote.spawn(*shared_place.worker_options(), "append", "t", "1000")
    await appender.reaches("appended 5")
    await appender.kill()
    last = max(int(line.split()[1]) for line in appender.lines if line.startswith("appended "))
    async with shared_place.open() as journal:
        log = await loaded(journal, "t")
    assert log is not None
    assert log.started["c1"].attempt >= last >= 5
