"""Real crashes: a worker process running a journaled turn is SIGKILLed at every point of its life, then resumed.

The turn (`journal_worker.TURN_CALLS`) mixes reads, idempotent writes and
writes that are not retry-safe, with references between them; each tool
appends a line to a side-effect log when it takes effect. A first run counts
its events (a tool entered, its effect written, a journal write returned).
Then, for every event k, a fresh worker runs the turn on a fresh journal, is
frozen at event k and killed by pid, and another fresh process resumes the
turn; for some k, that resume is killed too, at its third event, before a
third process resumes the turn. After each final resume (invariant 10):

* every call has exactly one outcome, in input order;
* no call that is not retry-safe took effect twice (the log's lines);
* every outcome the killed process recorded comes back as it was recorded;
* a write that is not retry-safe, took effect, and has no recorded outcome
  is ``in_doubt``, and was not run again.

The same on SQLite and on a real Redis (claims of half a second, so a
resume waits out at most that for the killed run's claim).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio
from journal_processes import Place, Zygote, zygote_fixture
from journal_worker import TURN_CALLS, Events, registry
from redis_server import RedisServer, running_server

from trio_toolpar import Executor, ToolCall
from trio_toolpar._journal._outcomes import decode_outcome
from trio_toolpar.journal import TurnLog
from trio_toolpar.testing import MemoryJournal

NOT_RETRY_SAFE = {c["id"] for c in TURN_CALLS if c["tool"] == "charge"}
IDS = [c["id"] for c in TURN_CALLS]

zygote = pytest.fixture(zygote_fixture, name="zygote", scope="module")


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with running_server() as server:
        yield server


def place_of(kind: str, folder: Path, request: pytest.FixtureRequest) -> Place:
    if kind == "sqlite":
        return Place(folder, None)
    return Place(folder, request.getfixturevalue("redis_server"), ttl=0.5, timeout=0.2)


async def test_the_crash_test_s_turn_completes_in_one_process(tmp_path: Path) -> None:
    """The turn the workers run, uninterrupted, in this process: every call ok, each effect once.

    It once hung: an ending reported while the coordinator awaited the journal was never decided.
    """
    effects = tmp_path / "effects.log"
    executor = Executor(registry(effects, Events(None)), journal=MemoryJournal())
    calls = [ToolCall(id=c["id"], tool=c["tool"], arguments=c["arguments"]) for c in TURN_CALLS]
    with trio.fail_after(10):
        result = await executor.run(calls, turn_id="t")
    assert [(o.call_id, o.status) for o in result] == [(i, "ok") for i in IDS]
    assert sorted(line.split()[1] for line in effects.read_text().splitlines()) == sorted(IDS)


def outcomes(lines: list[str]) -> list[dict[str, Any]]:
    assert lines[-1] == "done", lines[-5:]
    return [json.loads(line.removeprefix("outcome ")) for line in lines if line.startswith("outcome ")]


def effects_of(log: Path) -> Counter[str]:
    """How many times each call took effect."""
    return Counter(line.split()[1] for line in log.read_text().splitlines()) if log.exists() else Counter()


async def crash_and_resume(zygote: Zygote, place: Place, folder: Path, *freeze_at: int) -> int:
    """Kill a run at each event of ``freeze_at`` in turn (each resuming the last), resume it, check invariant 10.

    A resume that ends before its kill point was simply not killed; the number of kills is returned.
    """
    effects = folder / "effects.log"
    run = [*place.worker_options(), "run", "turn", "--effects", str(effects)]
    killed = []
    for k in freeze_at:
        child = await zygote.spawn(*run, "--freeze-at", str(k))
        if await child.freezes():
            await child.kill()
            killed.append(f"event {k} ({child.lines[-2]})")
    before = effects_of(effects)
    async with place.open() as journal:
        recorded: TurnLog | None = await journal.load("turn")
    resumed = outcomes(await (await zygote.spawn(*run)).ends())
    after = effects_of(effects)
    where = "killed at " + ", then ".join(killed)

    assert [o["call_id"] for o in resumed] == IDS, where
    for call_id in NOT_RETRY_SAFE:
        assert after[call_id] <= 1, f"{where}: {call_id} took effect {after[call_id]} times"
    by_id = {o["call_id"]: o for o in resumed}
    finished = recorded.finished if recorded is not None else {}
    for call_id, record in finished.items():
        was = decode_outcome(record.outcome)
        now = by_id[call_id]
        assert (now["status"], now["value"], now["error_code"]) == (was.status, was.value, was.error_code), where
    for call_id in NOT_RETRY_SAFE:
        if before[call_id] and call_id not in finished:
            assert by_id[call_id]["status"] == "in_doubt", f"{where}: {call_id} ran, unrecorded: {by_id[call_id]}"
            assert after[call_id] == 1, where
    for outcome in resumed:
        if outcome["status"] != "in_doubt":
            assert outcome["status"] == "ok" or outcome["error_code"] == "dependency_in_doubt", f"{where}: {outcome}"
    return len(killed)


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
async def test_a_turn_killed_at_any_event_resumes_with_one_outcome_per_call_and_no_write_twice(
    kind: str, zygote: Zygote, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    reference = place_of(kind, tmp_path, request)
    lines = await (
        await zygote.spawn(*reference.worker_options(), "run", "turn", "--effects", str(tmp_path / "e"))
    ).ends()
    assert [o["status"] for o in outcomes(lines)] == ["ok"] * len(IDS)
    events = sum(1 for line in lines if line.startswith("event "))
    assert events >= 30  # each is a kill point
    for k in range(1, events + 1):
        folder = tmp_path / f"kill-{k}"
        folder.mkdir()
        assert await crash_and_resume(zygote, place_of(kind, folder, request), folder, k) == 1
    twice = []
    for k in range(2, events + 1, 5):  # crashes of a resume too: any number of crashes and resumes
        folder = tmp_path / f"kill-{k}-twice"
        folder.mkdir()
        twice.append(await crash_and_resume(zygote, place_of(kind, folder, request), folder, k, 3))
    assert twice.count(2) >= len(twice) // 2, twice  # most resumes had a third event to be killed at
