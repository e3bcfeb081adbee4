"""The words of ``trio-toolpar``: counts, articles, the speed-up line, a cycle said once, advice it can follow."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from test_cli import TESTS, assert_one_line_error, row, run_argv, words, write_calls

from trio_toolpar._cli._main import main


@pytest.fixture(autouse=True)
def _restore_sys_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))


ONE_CALL = [{"id": "a", "tool": "lookup", "arguments": {"key": "alpha", "seconds": 0.1}}]
CYCLE = [
    {"id": "a", "tool": "lookup", "arguments": {"key": "$b.value"}},
    {"id": "b", "tool": "lookup", "arguments": {"key": "$a.value"}},
    {"id": "c", "tool": "lookup", "arguments": {"key": "gamma"}},
]


def test_one_call_is_one_call_and_one_wave(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(run_argv(write_calls(tmp_path, ONE_CALL), "--virtual")) == 0
    out = capsys.readouterr().out
    assert "trio-toolpar run: 1 call (plain format) from " in out
    assert "\nplan: 1 call, 1 wave\n" in out
    assert " 1 calls" not in out and " 1 waves" not in out


def test_plan_counts_in_the_plural(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    calls = [*ONE_CALL, {"id": "b", "tool": "store", "arguments": {"key": "alpha", "value": "$a.value"}}]
    assert main(["plan", *run_argv(write_calls(tmp_path, calls))[1:]]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "plan: 2 calls, 2 waves"


def test_no_speedup_is_claimed_for_a_turn_no_faster_than_serial(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(run_argv(write_calls(tmp_path, ONE_CALL), "--virtual")) == 0
    out = capsys.readouterr().out
    assert "faster" not in out
    assert "serial, one call after another" not in out
    assert "\nthis turn: 0.100 s\n" in out


def test_a_speedup_is_shown_when_there_is_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    two = [ONE_CALL[0], {"id": "b", "tool": "lookup", "arguments": {"key": "beta", "seconds": 0.1}}]
    assert main(run_argv(write_calls(tmp_path, two), "--virtual")) == 0
    assert "this turn: 0.100 s (2.0x faster)" in words(capsys.readouterr().out)


def test_a_value_that_is_not_a_registry_is_named_with_its_article(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", write_calls(tmp_path, ONE_CALL), "--tools", "cli_registry_fixture:answer", "--app-dir", TESTS]
    assert main(argv) == 2
    error = "'cli_registry_fixture:answer' is an int, not a trio_toolpar.Registry"
    assert_one_line_error(capsys.readouterr().err, error)


@pytest.mark.parametrize("as_json", [False, True])
def test_plan_says_a_cycle_once(as_json: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", *run_argv(write_calls(tmp_path, CYCLE))[1:], *(["--json"] if as_json else [])]) == 1
    captured = capsys.readouterr()
    assert captured.err == ""
    if as_json:
        assert json.loads(captured.out)["cycle"] == ["a", "b", "a"]
        return
    assert captured.out.count("calls form a dependency cycle") == 1, captured.out
    lines = captured.out.splitlines()
    assert lines[:2] == ["plan: 3 calls, 0 waves", "  not run:"]
    assert lines[2].startswith("    a lookup, b lookup: rejected (dependency_cycle) calls form a dependency cycle (")
    assert lines[3].startswith("    c lookup: rejected (batch_rejected) not run: the turn was rejected because of ")
    assert len(lines) == 4


def test_run_shows_the_plan_the_same_way(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(run_argv(write_calls(tmp_path, CYCLE), "--virtual")) == 1
    out = capsys.readouterr().out
    plan = out.split("\nplan: ", 1)[1].split("\n\n", 1)[0]
    assert plan.count("calls form a dependency cycle") == 1
    assert row(out, "a")[2:4] == ["rejected", "dependency_cycle"]


ANTHROPIC_WITH_AN_IMAGE = {
    "role": "assistant",
    "content": [
        {"type": "image", "source": {"type": "url", "url": "https://example.com/chart.png"}},
        {"type": "tool_use", "id": "t1", "name": "lookup", "input": {"key": "alpha", "seconds": 0.1}},
    ],
}


@pytest.mark.parametrize("command", ["run", "plan"])
def test_an_unknown_block_is_refused_with_advice_the_cli_can_follow(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [command, *run_argv(write_calls(tmp_path, ANTHROPIC_WITH_AN_IMAGE))[1:], "--format", "anthropic"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert_one_line_error(err, "content[0] has type 'image'", "pass --skip-unknown to skip such entries")
    assert "unknown='ignore'" not in err


def test_skip_unknown_reads_the_calls_around_an_unknown_block(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = run_argv(write_calls(tmp_path, ANTHROPIC_WITH_AN_IMAGE), "--virtual", "--skip-unknown")
    assert main(argv) == 0
    assert row(capsys.readouterr().out, "t1")[2] == "ok"
