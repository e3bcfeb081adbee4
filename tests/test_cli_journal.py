"""``trio-toolpar run --journal PATH --turn-id ID``: a durable turn from the command line, resumed.

The turn that is resumed is left by a run of the same calls that its caller
cancelled (as a crash would leave it): ``c1`` recorded, ``c2`` (a write,
not retry-safe) started and never recorded, ``c3`` (a read) running. The
tools of that run stand in for `cli_registry_fixture`'s, whose names they
take: a journal records calls, not code.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import attrs
import cli_registry_fixture
import pytest
import trio
import trio.testing
from test_cli import TESTS, assert_one_line_error, row, words
from test_cli_docs import BLOCKS, format_examples, tools_module

from trio_toolpar import Executor, Registry, ToolCall
from trio_toolpar._cli._main import main
from trio_toolpar._cli._render import Report, print_report
from trio_toolpar.journal import SqliteJournal

CALLS: list[dict[str, Any]] = [
    {"id": "c1", "tool": "lookup", "arguments": {"key": "a"}},
    {"id": "c2", "tool": "store", "arguments": {"key": "b", "value": "$c1.value"}},
    {"id": "c3", "tool": "lookup", "arguments": {"key": "c", "seconds": 2}},
]


@pytest.fixture(autouse=True)
def _keep_sys_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # `run --app-dir` puts a directory on sys.path; keep that from leaking into other tests.
    monkeypatch.setattr(sys, "path", list(sys.path))


def interrupted_turn(path: Path, turn_id: str) -> None:
    """Run ``CALLS`` in the journal at ``path`` until the write has started, then cancel the run from outside."""
    registry = Registry()
    started = trio.Event()

    @registry.tool(side_effect="read", resource="kv", key="kv:{key}")
    async def lookup(key: str, seconds: float = 1.0) -> dict[str, Any]:
        if key != "a":
            await trio.sleep_forever()
        return {"key": key, "value": "value-of-a"}

    @registry.tool(side_effect="write", resource="kv", key="kv:{key}")
    async def store(key: str, value: str) -> dict[str, Any]:
        started.set()  # its start is recorded by now, and c1's outcome (it needs c1)
        await trio.sleep_forever()
        raise AssertionError("never returns")

    interrupt(path, turn_id, registry, [ToolCall(**c) for c in CALLS], started)


def interrupt(path: Path, turn_id: str, registry: Registry, calls: list[ToolCall], started: trio.Event) -> None:
    """Run ``calls`` in the journal at ``path`` until ``started`` is set, then cancel the run from outside."""

    async def run() -> None:
        async with SqliteJournal(path) as journal, trio.open_nursery() as nursery:

            async def cancel_once_started() -> None:
                await started.wait()
                nursery.cancel_scope.cancel()

            nursery.start_soon(cancel_once_started)
            await Executor(registry, journal=journal, schedule="eager").run(calls, turn_id=turn_id)

    trio.run(run, clock=trio.testing.MockClock())  # the tools never wait for time: recorded latencies are 0


def run_args(calls: Path, *options: str) -> list[str]:
    tools = ["--tools", "cli_registry_fixture:registry", "--app-dir", TESTS]
    return ["run", str(calls), *tools, "--virtual", "--progress", "off", *options]


@pytest.fixture
def calls_file(tmp_path: Path) -> Path:
    path = tmp_path / "calls.json"
    path.write_text(json.dumps(CALLS), encoding="utf-8")
    return path


def test_a_resumed_turn_shows_its_replayed_and_in_doubt_calls(
    tmp_path: Path, calls_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = tmp_path / "turns.db"
    interrupted_turn(journal, "t1")
    options = ("--journal", str(journal), "--turn-id", "t1", "--progress", "plain")
    assert main(run_args(calls_file, *options)) == 1  # c2 is not ok
    out = capsys.readouterr().out
    # The live view: the replayed call is done at once, marked; the call in doubt too.
    assert "\n0.000 s c1 ok, replayed 2/3 done, 1 running\n" in words(out)
    assert "\n0.000 s c2 in_doubt (in_doubt) 2/3 done, 1 running\n" in words(out)
    assert f"journal: {journal}, turn t1 (--turn-id to resume it)" in out
    assert "resumed turn t1 from its journal: c1 replayed as recorded (not run again)" in out
    assert "\ncall tool status error_code wave tries start s latency ms replayed\n" in words(out)
    # The replayed read: no start in this turn (its times are the earlier run's), marked.
    c1 = row(out, "c1")
    assert c1[:5] == ["c1", "lookup", "ok", "0", "1"] and c1[-1] == "yes"
    assert row(out, "c2") == ["c2", "store", "in_doubt", "in_doubt", "1", "0", "0.0"]
    assert row(out, "c3") == ["c3", "lookup", "ok", "0", "1", "0.000", "2000.0"]  # ran again
    assert "\n  c2: in_doubt (in_doubt) - in doubt: this call started in an earlier run of the turn" in out
    text = words(out)
    assert "c1 lookup |↺ | ok, replayed" in text
    assert "c2 store |? | in_doubt (in_doubt)" in text
    assert "· never started ? in doubt ↺ replayed" in text
    assert "no speed-up to report: 1 of 3 calls were replayed from the journal, not run in this turn" in text


def test_json_says_which_turn_and_what_it_replayed(
    tmp_path: Path, calls_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = tmp_path / "turns.db"
    interrupted_turn(journal, "t1")
    assert main(run_args(calls_file, "--journal", str(journal), "--turn-id", "t1", "--json")) == 1
    data = json.loads(capsys.readouterr().out)
    assert (data["turn_id"], data["resumed"], data["replayed"]) == ("t1", True, ["c1"])
    c1, c2, c3 = data["outcomes"]
    assert (c1["status"], c1["started_at"], c1["finished_at"]) == ("ok", None, 0.0)  # replayed at the turn's start
    assert (c2["status"], c2["error_code"]) == ("in_doubt", "in_doubt")
    assert (c3["status"], c3["started_at"], c3["finished_at"]) == ("ok", 0.0, 2.0)
    # The trace: the turn's slice says what it replayed; the replayed call is an instant at its start.
    trace = tmp_path / "trace.json"
    interrupted_turn(journal, "t2")
    assert main(run_args(calls_file, "--journal", str(journal), "--turn-id", "t2", "--trace", str(trace))) == 1
    capsys.readouterr()
    events = json.loads(trace.read_text(encoding="utf-8"))["traceEvents"]
    (turn,) = [e for e in events if e.get("cat") == "turn"]
    assert (turn["args"]["turn_id"], turn["args"]["resumed"], turn["args"]["replayed"]) == ("t2", True, ["c1"])
    (c1_event,) = [e for e in events if e.get("name") == "c1"]
    assert (c1_event["ph"], c1_event["ts"]) == ("i", 0.0)
    # Run again, the turn replays every call, the one in doubt too: it is never run again.
    assert main(run_args(calls_file, "--journal", str(journal), "--turn-id", "t1", "--json")) == 1
    again = json.loads(capsys.readouterr().out)
    assert (again["resumed"], again["replayed"]) == (True, ["c1", "c2", "c3"])
    assert [o["status"] for o in again["outcomes"]] == ["ok", "in_doubt", "ok"]


def test_without_turn_id_a_new_id_is_printed_and_running_it_again_replays_the_turn(
    tmp_path: Path, calls_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = tmp_path / "turns.db"
    assert main(run_args(calls_file, "--journal", str(journal))) == 0
    out = capsys.readouterr().out
    (line,) = [line for line in out.splitlines() if line.startswith("journal: ")]
    turn_id = line.split(", turn ")[1].split()[0]
    assert len(turn_id) == 32 and "resumed turn" not in out
    assert "\ncall tool status error_code wave tries start s latency ms\n" in words(out)  # nothing replayed
    assert main(run_args(calls_file, "--journal", str(journal), "--turn-id", turn_id, "--json")) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["turn_id"], data["resumed"], data["replayed"]) == (turn_id, True, ["c1", "c2", "c3"])


def test_a_turn_id_recorded_with_other_calls_is_a_one_line_error(
    tmp_path: Path, calls_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = tmp_path / "turns.db"
    interrupted_turn(journal, "t1")
    calls_file.write_text(json.dumps(CALLS[:2]), encoding="utf-8")
    assert main(run_args(calls_file, "--journal", str(journal), "--turn-id", "t1", "--json")) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert_one_line_error(captured.err, "journal: turn 't1' was recorded with 3 calls and is run with 2")


def test_turn_id_without_journal_and_a_journal_in_no_directory_are_usage_errors(
    tmp_path: Path, calls_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(run_args(calls_file, "--turn-id", "t1")) == 2
    assert_one_line_error(capsys.readouterr().err, "--turn-id names a turn in a journal: give --journal PATH too")
    missing = tmp_path / "no" / "turns.db"
    assert main(run_args(calls_file, "--journal", str(missing))) == 2
    assert_one_line_error(capsys.readouterr().err, f"--journal {missing}: its directory does not exist")


def test_the_page_s_resumed_turn_is_what_run_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/cli.md: the turn of its examples, stopped while the refund ran, then run again."""
    (sample,) = [b for b in BLOCKS if b.info == "text" and b.code.startswith("resumed turn ")]
    tools_module(tmp_path)
    (plain,) = [block for name, block in format_examples() if name == "plain"]
    (tmp_path / "calls.json").write_text(plain.code, encoding="utf-8")
    registry = Registry()
    started = trio.Event()

    @registry.tool(side_effect="read")
    async def get_order(order_id: int) -> dict[str, object]:
        return {"order_id": order_id, "total": 42.0, "email": "ada@example.com"}

    @registry.tool(side_effect="write")
    async def refund(order_id: int, amount: float) -> str:
        started.set()
        await trio.sleep_forever()
        raise AssertionError("never returns")

    calls = [ToolCall(**c) for c in json.loads(plain.code)]
    interrupt(tmp_path / "turns.db", "order-7", registry, calls, started)
    monkeypatch.chdir(tmp_path)
    argv = "run calls.json --tools shop_tools:registry --journal turns.db --turn-id order-7 --virtual"
    assert main(argv.split()) == 1
    assert sample.code in capsys.readouterr().out


def test_a_resumed_turn_that_replayed_nothing_says_so() -> None:
    calls = [ToolCall(id="c1", tool="explode", arguments={"message": "no"})]
    result = trio.run(
        Executor(cli_registry_fixture.registry).run, calls, clock=trio.testing.MockClock(autojump_threshold=0)
    )
    out = io.StringIO()
    report = Report(name="run", header=(), time_scale=1.0, unit="s", json=False, width=20)
    print_report(attrs.evolve(result, turn_id="t1", resumed=True), report, out)
    assert out.getvalue().splitlines()[0] == "resumed turn t1 from its journal: no call replayed"
