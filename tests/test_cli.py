"""The ``trio-toolpar`` command line: output, JSON, exit codes, and errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import cli_registry_fixture
import pytest
from test_trace import assert_valid_trace

import trio_toolpar
from trio_toolpar._cli import _views as _cli_views
from trio_toolpar._cli._demo import CALLS as CALLS_OF_THE_DEMO
from trio_toolpar._cli._main import main

TESTS = str(Path(__file__).parent)
READS = [c.id for c in CALLS_OF_THE_DEMO[:9]]


@pytest.fixture(autouse=True)
def _restore_sys_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # `run --app-dir` puts a directory on sys.path; keep that from leaking into other tests.
    monkeypatch.setattr(sys, "path", list(sys.path))


def words(out: str) -> str:
    """``out`` with every run of spaces made one (the report pads its columns)."""
    return "\n".join(" ".join(line.split()) for line in out.splitlines())


def row(out: str, call_id: str) -> list[str]:
    """The cells of a call's row in the outcomes table (empty cells dropped)."""
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:3] == ["call", "tool", "status"])
    for line in lines[header + 2 :]:
        if not line.strip():
            break
        cells = line.split()
        if cells[0] == call_id:
            return cells
    raise AssertionError(f"no table row for {call_id!r} in:\n{out}")


def assert_one_line_error(err: str, *fragments: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("trio-toolpar"), err
    assert "error" in lines[0]
    for fragment in fragments:
        assert fragment in lines[0]


# -- demo ------------------------------------------------------------------------


def test_demo_virtual_prints_plan_table_timeline_and_times(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--virtual"]) == 1
    out = capsys.readouterr().out
    assert "plan: 11 calls, 3 waves" in out
    assert row(out, "dd_logs") == ["dd_logs", "datadog_logs", "ok", "0", "1", "0.000", "7000.0"]
    assert row(out, "status") == ["status", "statuspage_components", "ok", "0", "2", "0.000", "6500.0"]
    assert row(out, "sentry") == ["sentry", "sentry_issues", "error", "tool_error", "0", "2", "0.000", "5250.0"]
    assert row(out, "ticket") == ["ticket", "jira_create_issue", "ok", "1", "1", "7.000", "2000.0"]
    assert row(out, "post") == ["post", "slack_post_message", "ok", "2", "1", "9.000", "1000.0"]
    assert (
        "\nerrors:\n  sentry: error (tool_error) - Retryable: sentry.io answered 502 Bad Gateway (after 2 attempts)\n"
        in out
    )
    assert "timeline (simulated s):" in out
    assert "10.000s|" in out  # the timeline's span
    assert (
        "serial, one call after another (the calls' own latencies): 55.750 simulated s\n"
        "this turn: 10.000 simulated s (5.6x faster)\n"
    ) in words(out)
    assert "real wall time:" in out
    assert "post slack_post_message: #inc-checkout <- SEV-2 on checkout-api: tracking in CHK-" in out


PLAIN_HEADER = "progress, one line per call that moves (queued: for a slot of the limits named):"


def test_demo_prints_a_progress_line_per_move(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--virtual"]) == 1
    lines = capsys.readouterr().out.splitlines()
    start = lines.index(PLAIN_HEADER)
    end = lines.index("", start)
    s = "simulated s"
    # Each call once at the start; then each move, in time and then emission order (no longer Trio's).
    assert words("\n".join(lines[start + 1 : end])).splitlines() == [
        *(
            f"0.000 {s} {call} running 0/11 done, 9 running, 2 waiting"
            for call in ("dd_metrics", "dd_logs", "dd_monitors", "pd_incident", "gh_deploys", "jira_issues")
        ),
        *(
            f"0.000 {s} {call} running 0/11 done, 9 running, 2 waiting"
            for call in ("status", "sentry", "slack_history")
        ),
        f"0.000 {s} ticket waiting for dd_metrics, pd_incident +2 0/11 done, 9 running, 2 waiting",
        f"0.000 {s} post waiting for dd_logs, status +2 0/11 done, 9 running, 2 waiting",
        f"1.000 {s} status retrying: attempt 2 in 0.500 {s} 0/11 done, 8 running, 1 retrying, 2 waiting",
        f"1.500 {s} status running (attempt 2) 0/11 done, 9 running, 2 waiting",
        f"2.500 {s} sentry retrying: attempt 2 in 0.250 {s} 0/11 done, 8 running, 1 retrying, 2 waiting",
        f"2.750 {s} sentry running (attempt 2) 0/11 done, 9 running, 2 waiting",
        f"5.000 {s} dd_monitors ok 2/11 done, 7 running, 2 waiting",
        f"5.000 {s} jira_issues ok 2/11 done, 7 running, 2 waiting",
        f"5.250 {s} sentry error (tool_error) 3/11 done, 6 running, 2 waiting",
        f"5.500 {s} pd_incident ok 4/11 done, 5 running, 2 waiting",
        f"6.000 {s} dd_metrics ok 6/11 done, 3 running, 2 waiting",
        f"6.000 {s} slack_history ok 6/11 done, 3 running, 2 waiting",
        f"6.500 {s} gh_deploys ok 8/11 done, 1 running, 2 waiting",
        f"6.500 {s} status ok 8/11 done, 1 running, 2 waiting",
        # Under waves the ticket starts once wave 0 is drained, at 7, and the post once the ticket is done.
        f"7.000 {s} dd_logs ok 9/11 done, 1 running, 1 waiting",
        f"7.000 {s} ticket running 9/11 done, 1 running, 1 waiting",
        f"9.000 {s} ticket ok 10/11 done, 1 running",
        f"9.000 {s} post running 10/11 done, 1 running",
        f"10.000 {s} post ok 11/11 done",
    ]


def test_demo_progress_off(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--virtual", "--progress", "off"]) == 1
    out = capsys.readouterr().out
    assert "progress (" not in out and " running" not in out
    assert row(out, "post")[2] == "ok"


def test_demo_eager_schedule(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--virtual", "--schedule", "eager"]) == 1
    out = capsys.readouterr().out
    assert row(out, "ticket")[-2:] == ["6.500", "2000.0"]
    assert "this turn: 9.500 simulated s (5.9x faster)" in words(out)


def test_demo_speedup_does_not_count_waits_for_a_slot(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--virtual", "--max-concurrency", "4"]) == 1
    out = capsys.readouterr().out
    # Status waited 2 s for a slot between its attempts: its latency says 8.5 s, its own work is 6.5 s.
    assert row(out, "status")[-1] == "8500.0"
    assert "(the calls' own latencies): 55.750 simulated s\nthis turn: 17.500 simulated s (3.2x faster)" in words(out)


def test_demo_json_is_the_turn_result(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--virtual", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    outcomes: list[dict[str, Any]] = data["outcomes"]
    assert [o["call_id"] for o in outcomes] == [c.id for c in CALLS_OF_THE_DEMO]
    assert data["ok"] is False
    assert [o["call_id"] for o in outcomes if o["status"] != "ok"] == ["sentry"]
    assert (data["started_at"], data["finished_at"]) == (0.0, 10.0)
    by_id = {o["call_id"]: o for o in outcomes}
    assert by_id["status"]["attempts"] == 2
    assert by_id["ticket"]["value"]["key"] in by_id["post"]["value"]["text"]


def test_demo_budget_stops_the_writes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--virtual", "--budget", "8", "--json"]) == 1
    by_id = {o["call_id"]: o for o in json.loads(capsys.readouterr().out)["outcomes"]}
    assert (by_id["ticket"]["status"], by_id["ticket"]["error_code"]) == ("cancelled", "budget_exceeded")
    assert by_id["post"]["status"] == "skipped"


def test_demo_budget_shows_why_no_writes_and_no_speedup(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--virtual", "--budget", "8"]) == 1
    out = capsys.readouterr().out
    assert row(out, "ticket")[2:4] == ["cancelled", "budget_exceeded"]
    assert row(out, "post")[2:4] == ["skipped", "budget_exceeded"]
    assert "budget 8 s" in out
    assert "writes, with the $references resolved" not in out
    assert "\nthis turn: 8.000 simulated s\n" in out
    assert (
        "no speed-up to report: 2 of 11 calls were cancelled or skipped (budget_exceeded), "
        "so this turn did less work than a serial run would\n"
    ) in out
    assert "faster" not in out and "serial, one call after another" not in out


def test_demo_fail_fast_cancels_the_siblings_of_the_failure(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--virtual", "--policy", "fail-fast"]) == 1
    out = capsys.readouterr().out
    assert "policy fail-fast" in out
    assert row(out, "sentry")[2:4] == ["error", "tool_error"]
    assert row(out, "dd_monitors")[2] == "ok"  # done at 5, before the failure at 5.25
    for call_id in ("dd_metrics", "dd_logs", "pd_incident", "gh_deploys", "status", "slack_history"):
        assert row(out, call_id)[2:4] == ["cancelled", "sibling_failed"]
        assert row(out, call_id)[-1] == "5250.0"
    assert row(out, "ticket")[2:4] == ["skipped", "sibling_failed"]
    assert (
        "  dd_metrics, dd_logs, pd_incident, gh_deploys, status, slack_history: cancelled (sibling_failed) - "
        "stopped before it finished: call 'sentry' failed (tool_error), and the policy stops the whole turn;"
        " this is not a user interrupt\n"
    ) in out
    assert "  ticket, post: skipped (sibling_failed) - not executed: call 'sentry' failed" in out
    assert "no speed-up to report: 8 of 11 calls were cancelled or skipped (sibling_failed)" in out
    assert "\nthis turn: 5.250 simulated s\n" in out
    assert "faster" not in out and "writes, with the $references resolved" not in out


def test_demo_best_effort_and_fail_fast_differ_only_after_the_failure(capsys: pytest.CaptureFixture[str]) -> None:
    main(["demo", "--virtual", "--json"])
    best = {o["call_id"]: o["status"] for o in json.loads(capsys.readouterr().out)["outcomes"]}
    main(["demo", "--virtual", "--json", "--policy", "fail-fast"])
    fast = {o["call_id"]: o["status"] for o in json.loads(capsys.readouterr().out)["outcomes"]}
    assert [c for c in best if best[c] != fast[c]] == [
        *("dd_metrics", "dd_logs", "pd_incident", "gh_deploys", "status", "slack_history", "ticket", "post")
    ]


def test_demo_on_the_real_clock_reports_simulated_seconds(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--speed", "1000", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert [o["call_id"] for o in data["outcomes"] if o["status"] != "ok"] == ["sentry"]
    # Rescaled to simulated seconds: a real clock can only be late, never early.
    assert data["finished_at"] >= 9.999


def test_demo_trace_is_written_in_simulated_seconds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "demo.trace.json"
    assert main(["demo", "--speed", "1000", "--trace", str(path), "--progress", "off"]) == 1
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert_valid_trace(doc)
    ticket = next(e for e in doc["traceEvents"] if e.get("args", {}).get("call_id") == "ticket")
    assert ticket["dur"] >= 2_000_000  # the simulated 2 s, not the 2 ms they took
    assert "trio-toolpar demo" in capsys.readouterr().out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"trio-toolpar {trio_toolpar.__version__}\n"


def test_rich_progress_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--virtual", "--progress", "rich"]) == 1
    out = capsys.readouterr().out
    assert PLAIN_HEADER not in out  # not the plain lines
    assert row(out, "sentry")[2] == "error"


def test_rich_progress_without_rich_is_a_one_line_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(_cli_views, "rich_available", lambda: False)
    assert main(["demo", "--virtual", "--progress", "rich"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert_one_line_error(captured.err, "needs the rich package: pip install 'trio_toolpar[cli]'")


def test_auto_progress_is_plain_without_rich(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(_cli_views, "rich_available", lambda: False)
    assert main(["demo", "--virtual"]) == 1
    assert PLAIN_HEADER in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["demo", "--speed", "0"], "--speed"),
        (["demo", "--speed", "fast"], "--speed"),
        (["demo", "--speed", "2", "--virtual"], "not allowed with"),
        (["demo", "--budget", "-1"], "--budget"),
        (["demo", "--budget", "soon"], "is not a number of seconds"),
        (["demo", "--max-concurrency", "many"], "is not a whole number"),
        (["demo", "--policy", "yolo"], "--policy"),
        (["demo", "--bogus"], "--bogus"),
        ([], "required"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert_one_line_error(captured.err, fragment)


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--help"]) == 0
    assert "--virtual" in capsys.readouterr().out


# -- run -------------------------------------------------------------------------


def write_calls(tmp_path: Path, calls: object) -> str:
    path = tmp_path / "calls.json"
    path.write_text(json.dumps(calls), encoding="utf-8")
    return str(path)


CALLS = [
    {"id": "a", "tool": "lookup", "arguments": {"key": "alpha", "seconds": 2}},
    {"id": "b", "tool": "lookup", "arguments": {"key": "beta", "seconds": 3}},
    {"id": "c", "tool": "store", "arguments": {"key": "gamma", "value": "$a.value"}},
]


def run_argv(calls_path: str, *options: str) -> list[str]:
    return ["run", calls_path, "--tools", "cli_registry_fixture:registry", "--app-dir", TESTS, *options]


def test_run_prints_plan_table_and_timeline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(run_argv(write_calls(tmp_path, CALLS), "--virtual")) == 0
    out = capsys.readouterr().out
    assert "plan: 3 calls, 2 waves" in out
    assert row(out, "a") == ["a", "lookup", "ok", "0", "1", "0.000", "2000.0"]
    assert row(out, "b") == ["b", "lookup", "ok", "0", "1", "0.000", "3000.0"]
    assert row(out, "c") == ["c", "store", "ok", "1", "1", "3.000", "1000.0"]
    assert "timeline (s):" in out
    assert (
        "serial, one call after another (sum of the calls' latencies): 6.000 s\nthis turn: 4.000 s (1.5x faster)\n"
    ) in words(out)
    assert "(plain format)" in out
    assert "errors:" not in out


def test_run_limit_and_schedule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_calls(tmp_path, CALLS)
    assert main(run_argv(path, "--virtual", "--limit", "kv=1")) == 0
    out = capsys.readouterr().out
    assert row(out, "b")[-2:] == ["2.000", "3000.0"]
    assert row(out, "c")[-2:] == ["5.000", "1000.0"]
    assert main(run_argv(path, "--virtual", "--schedule", "eager", "--limit", "kv=2", "--max-concurrency", "5")) == 0
    assert row(capsys.readouterr().out, "c")[-2:] == ["2.000", "1000.0"]


def test_run_json_has_the_substituted_value(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(run_argv(write_calls(tmp_path, CALLS), "--virtual", "--json")) == 0
    data = json.loads(capsys.readouterr().out)
    assert [o["call_id"] for o in data["outcomes"]] == ["a", "b", "c"]
    assert data["outcomes"][2]["value"] == {"stored": "gamma", "value": "value-of-alpha"}
    assert data["finished_at"] == 4.0


def test_run_exits_1_when_a_call_is_not_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    calls = [
        {"id": "a", "tool": "lookup", "arguments": {"key": "alpha"}},
        {"id": "x", "tool": "explode", "arguments": {"message": "kaboom"}},
        {"id": "y", "tool": "lokup", "arguments": {"key": "beta"}},
    ]
    assert main(run_argv(write_calls(tmp_path, calls), "--virtual", "--policy", "best-effort")) == 1
    out = capsys.readouterr().out
    assert row(out, "a")[2] == "ok"
    assert row(out, "x")[2:4] == ["error", "tool_error"]
    assert row(out, "y")[2:4] == ["rejected", "unknown_tool"]
    # The reasons are in the text output too, not only in --json.
    errors = out.split("\nerrors:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert errors == [
        "  x: error (tool_error) - ValueError: kaboom",
        "  y: rejected (unknown_tool) - tool 'lokup' is not registered; did you mean 'lookup'?",
    ]


def test_run_fail_fast_cancels_the_sibling(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    calls = [
        {"id": "a", "tool": "lookup", "arguments": {"key": "alpha", "seconds": 5}},
        {"id": "x", "tool": "explode", "arguments": {"message": "kaboom"}},
    ]
    assert main(run_argv(write_calls(tmp_path, calls), "--virtual", "--policy", "fail-fast")) == 1
    assert row(capsys.readouterr().out, "a")[2:4] == ["cancelled", "sibling_failed"]


def test_a_keyboard_interrupt_in_a_tool_reaches_the_top_and_exits_130(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_registry_fixture.events.clear()
    calls = [
        {"id": "slow", "tool": "lookup", "arguments": {"key": "slow", "seconds": 60}},
        {"id": "ctrl_c", "tool": "interrupt", "arguments": {}},
    ]
    assert main(run_argv(write_calls(tmp_path, calls), "--virtual")) == 130
    captured = capsys.readouterr()
    assert captured.err.strip() == "trio-toolpar: interrupted"
    assert "Traceback" not in captured.out + captured.err
    assert cli_registry_fixture.events == [("start", "slow"), ("finally", "slow")]  # the sibling was cancelled


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        ("{not json", ("is not valid JSON",)),
        ('{"id": "a", "tool": "lookup"}', ("must hold a JSON list", "not an object with keys ['id', 'tool']")),
        ("3", ("must hold a JSON list", "not a JSON int")),
        ('[{"tool": "lookup"}]', ("is not a valid plain payload", "missing key 'id' @ $[0]")),
        ('[{"id": 1, "tool": "lookup"}]', ("expected str, got int 1 @ $[0]",)),
        ('[{"id": "a", "tool": "lookup", "args": {}}]', ("unknown keys ['args']",)),
        ('[{"id": "a", "tool": "lookup", "arguments": 3}]', ("arguments must be an object",)),
        ('{"tool_calls": 3}', ("is not a valid openai payload", "tool_calls must be a list, got int")),
        ('{"choices": []}', ("is not a valid openai payload", "'choices' must be a non-empty list")),
        ('{"output": {}}', ("is not a valid openai-responses payload", "must have an 'output' list")),
        ('{"content": [{"type": "image"}]}', ("is not a valid anthropic payload", "content[0] has type 'image'")),
        ("[" * 50_000 + "]" * 50_000, ("is not valid JSON",)),
    ],
)
@pytest.mark.parametrize("command", ["run", "plan"])
def test_bad_calls_file_exits_2(
    command: str, content: str, fragments: tuple[str, ...], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "calls.json"
    path.write_text(content, encoding="utf-8")
    assert main([command, *run_argv(str(path))[1:]]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert_one_line_error(captured.err, *fragments)


def test_calls_file_that_is_not_text_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "calls.json"
    path.write_bytes(b"\xff\xfe[]")
    assert main(run_argv(str(path))) == 2
    assert_one_line_error(capsys.readouterr().err, "is not UTF-8 text")


def test_run_json_shows_values_json_cannot_hold(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(run_argv(write_calls(tmp_path, [{"id": "o", "tool": "opaque"}]), "--virtual", "--json")) == 0
    assert json.loads(capsys.readouterr().out)["outcomes"][0]["value"] == "<complex: (1+2j)>"


@pytest.mark.parametrize("command", ["run", "plan"])
def test_missing_calls_file_exits_2(command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, *run_argv(str(tmp_path / "nope.json"))[1:]]) == 2
    assert_one_line_error(capsys.readouterr().err, "cannot read calls file", "No such file or directory")


@pytest.mark.parametrize(
    ("tools", "fragments"),
    [
        ("no_such_module_xyz:registry", ("cannot find module 'no_such_module_xyz'",)),
        ("cli_registry_fixture", ("--tools must look like",)),
        ("cli_registry_fixture:", ("--tools must look like",)),
        ("cli_registry_fixture:nothing", ("has no attribute 'nothing'",)),
        ("cli_registry_fixture:not_a_registry", ("is a dict, not a trio_toolpar.Registry",)),
        ("broken_tools_for_cli:registry", ("importing module 'broken_tools_for_cli' failed: RuntimeError: boom",)),
        ("needs_missing_dep:registry", ("importing module 'needs_missing_dep' failed: ModuleNotFoundError",)),
    ],
)
def test_bad_tools_exit_2(
    tools: str, fragments: tuple[str, ...], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "broken_tools_for_cli.py").write_text("raise RuntimeError('boom')\n", encoding="utf-8")
    (tmp_path / "needs_missing_dep.py").write_text("import no_such_dependency_xyz\n", encoding="utf-8")
    (tmp_path / "cli_registry_fixture.py").write_text("", encoding="utf-8")  # shadowed: TESTS comes first
    argv = ["run", write_calls(tmp_path, CALLS), "--tools", tools, "--app-dir", str(tmp_path)]
    sys.path.insert(0, TESTS)
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert_one_line_error(captured.err, *fragments)


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        (["--limit", "kv"], "must look like NAME=N"),
        (["--limit", "kv=0"], "must be at least 1"),
        (["--limit", "=2"], "must look like NAME=N"),
        (["--max-concurrency", "0"], "--max-concurrency"),
        (["--schedule", "sometimes"], "--schedule"),
    ],
)
def test_bad_run_options_exit_2(
    options: list[str], fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(run_argv(write_calls(tmp_path, CALLS), *options)) == 2
    assert_one_line_error(capsys.readouterr().err, fragment)


def test_run_requires_tools(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", write_calls(tmp_path, CALLS)]) == 2
    assert_one_line_error(capsys.readouterr().err, "--tools")


# -- as a program ----------------------------------------------------------------


def test_a_reader_that_leaves_early_gets_no_traceback() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "trio_toolpar", "demo", "--virtual", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # like `trio-toolpar demo --json | head -0`
        err = proc.stderr.read()
    assert proc.returncode == 1
    assert err == ""
