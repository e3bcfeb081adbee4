"""Each exit code of ``trio-toolpar`` means one thing, whatever the command.

- 0: every call ended ok (``plan``: planning refused none);
- 1: some call did not (``plan``: planning refused one), the demo included;
- 2: a usage or input error;
- 130: interrupted (the signal's own tests are in test_cli_interrupt.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from test_cli import TESTS, run_argv, write_calls

from trio_toolpar._cli._main import main

OK = [{"id": "a", "tool": "lookup", "arguments": {"key": "alpha", "seconds": 1}}]
NOT_OK = [*OK, {"id": "x", "tool": "explode", "arguments": {"message": "kaboom"}}]
REFUSED = [*OK, {"id": "y", "tool": "lokup", "arguments": {"key": "beta"}}]


@pytest.fixture(autouse=True)
def _restore_sys_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))


@pytest.mark.parametrize(
    ("calls", "options", "code"),
    [
        (OK, [], 0),
        (OK, ["--json"], 0),
        (NOT_OK, [], 1),
        (NOT_OK, ["--policy", "fail-fast"], 1),
        (REFUSED, [], 1),
        (OK, ["--budget", "0.5"], 1),  # the budget cancelled the only call
    ],
)
def test_run_exits_0_only_when_every_call_is_ok(
    calls: list[dict[str, object]], options: list[str], code: int, tmp_path: Path
) -> None:
    assert main(run_argv(write_calls(tmp_path, calls), "--virtual", "--progress", "off", *options)) == code


@pytest.mark.parametrize(("calls", "code"), [(OK, 0), (NOT_OK, 0), (REFUSED, 1)])
def test_plan_exits_1_when_planning_refuses_a_call(
    calls: list[dict[str, object]], code: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # NOT_OK plans fine: its call fails only when it runs.
    assert main(["plan", *run_argv(write_calls(tmp_path, calls))[1:]]) == code


@pytest.mark.parametrize(
    "options",
    [
        [],
        ["--policy", "fail-fast"],  # was 0, with 8 of 11 calls cancelled or skipped
        ["--budget", "8"],
        ["--schedule", "eager", "--json"],
    ],
)
def test_the_demo_exits_as_any_turn_would(options: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    # Sentry is down by design: its call ends error, so the demo exits 1 however it is run.
    assert main(["demo", "--virtual", *options]) == 1
    out = capsys.readouterr().out
    if "--json" in options:
        assert json.loads(out)["ok"] is False


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["demo", "--speed", "0"],
        ["run", "calls.json"],  # no --tools
        ["run", "missing.json", "--tools", "cli_registry_fixture:registry", "--app-dir", TESTS],
        ["plan", "missing.json", "--tools", "cli_registry_fixture:registry", "--app-dir", TESTS],
        ["run", "calls.json", "--tools", "no_such_module_xyz:registry"],
        ["demo", "--virtual", "--trace", "/nonexistent-dir/trace.json"],
    ],
)
def test_usage_and_input_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("trio-toolpar") and ": error: " in captured.err
    assert len(captured.err.splitlines()) == 1


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["run", "--help"]])
def test_asking_for_help_or_the_version_exits_0(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 0
    assert capsys.readouterr().out
