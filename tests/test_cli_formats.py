"""``trio-toolpar plan`` and ``run``: each input format, cycles, limits, traces, and the real entry points."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import cli_registry_fixture
import pytest
from test_cli import PLAIN_HEADER, TESTS, assert_one_line_error, row, run_argv, write_calls
from test_trace import assert_valid_trace

import trio_toolpar
from trio_toolpar._cli._input import detect_format
from trio_toolpar._cli._main import main

ROOT = Path(__file__).parent.parent


@pytest.fixture(autouse=True)
def _restore_sys_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))


# The same turn in each format: two reads, and a write that uses the first read's value.
PLAIN = [
    {"id": "a", "tool": "lookup", "arguments": {"key": "alpha", "seconds": 2}},
    {"id": "b", "tool": "lookup", "arguments": {"key": "beta", "seconds": 3}},
    {"id": "c", "tool": "store", "arguments": {"key": "gamma", "value": "$a.value"}},
]
ARGS = [json.dumps(call["arguments"]) for call in PLAIN]
CHAT_CALLS = [
    {"id": c["id"], "type": "function", "function": {"name": c["tool"], "arguments": args}}
    for c, args in zip(PLAIN, ARGS, strict=True)
]
CHAT_MESSAGE = {"role": "assistant", "content": None, "tool_calls": CHAT_CALLS}
RESPONSE_ITEMS: list[dict[str, Any]] = [
    {"type": "reasoning", "id": "rs_1", "summary": []},
    *(
        {"type": "function_call", "id": f"fc_{c['id']}", "call_id": c["id"], "name": c["tool"], "arguments": args}
        for c, args in zip(PLAIN, ARGS, strict=True)
    ),
]
ANTHROPIC_BLOCKS: list[dict[str, Any]] = [
    {"type": "text", "text": "Looking both up, then storing."},
    *({"type": "tool_use", "id": c["id"], "name": c["tool"], "input": c["arguments"]} for c in PLAIN),
]

FORMATS = [
    ("plain", PLAIN),
    ("openai", CHAT_MESSAGE),
    ("openai", {"id": "chatcmpl-1", "object": "chat.completion", "choices": [{"index": 0, "message": CHAT_MESSAGE}]}),
    ("openai", CHAT_CALLS),
    ("openai-responses", {"id": "resp_1", "object": "response", "output": RESPONSE_ITEMS}),
    ("openai-responses", RESPONSE_ITEMS),
    ("anthropic", {"id": "msg_1", "type": "message", "role": "assistant", "content": ANTHROPIC_BLOCKS}),
    ("anthropic", ANTHROPIC_BLOCKS),
]


@pytest.mark.parametrize(("expected", "payload"), FORMATS)
def test_each_format_runs_the_same_turn(
    expected: str, payload: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert detect_format(payload) == expected
    assert main(run_argv(write_calls(tmp_path, payload), "--virtual", "--json")) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(o["call_id"], o["status"]) for o in data["outcomes"]] == [("a", "ok"), ("b", "ok"), ("c", "ok")]
    assert data["outcomes"][2]["value"] == {"stored": "gamma", "value": "value-of-alpha"}
    assert data["finished_at"] == 4.0


@pytest.mark.parametrize(("expected", "payload"), FORMATS[1:3])
def test_the_report_names_the_format_it_read(
    expected: str, payload: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(run_argv(write_calls(tmp_path, payload), "--virtual")) == 0
    assert f"trio-toolpar run: 3 calls ({expected} format) from " in capsys.readouterr().out


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ([], "plain"),
        ({"role": "assistant", "content": "No tools needed."}, "anthropic"),
        ([{"type": "message", "role": "assistant", "content": []}], "openai-responses"),
        ([{"type": "thinking", "thinking": "..."}], "anthropic"),
        ([{"role": "user", "content": "hi"}], "openai-responses"),
        ({"id": "a", "tool": "lookup"}, None),
        ("calls", None),
    ],
)
def test_formats_without_calls_are_told_apart_too(payload: object, expected: str | None) -> None:
    assert detect_format(payload) == expected


def test_a_message_without_calls_is_an_empty_turn(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_calls(tmp_path, {"role": "assistant", "content": "No tools needed."})
    assert main(run_argv(path, "--virtual", "--json")) == 0
    assert json.loads(capsys.readouterr().out)["outcomes"] == []


def test_format_can_be_forced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_calls(tmp_path, PLAIN)
    assert main(run_argv(path, "--virtual", "--format", "anthropic")) == 2
    assert_one_line_error(capsys.readouterr().err, "is not a valid anthropic payload", "content[0] has type None")
    assert main(run_argv(path, "--virtual", "--format", "plain", "--json")) == 0
    assert len(json.loads(capsys.readouterr().out)["outcomes"]) == 3


def test_run_shows_errors_raised_while_running(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    calls = [{"id": "x", "tool": "explode", "arguments": {"message": "disk on fire"}}]
    assert main(run_argv(write_calls(tmp_path, calls), "--virtual")) == 1
    out = capsys.readouterr().out
    assert "\nerrors:\n  x: error (tool_error) - ValueError: disk on fire\n" in out


# -- plan ------------------------------------------------------------------------


def plan_argv(path: str, *options: str) -> list[str]:
    return ["plan", *run_argv(path, *options)[1:]]


def test_plan_prints_waves_and_runs_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cli_registry_fixture.events.clear()
    assert main(plan_argv(write_calls(tmp_path, CHAT_MESSAGE))) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "plan: 3 calls, 2 waves",
        '  wave 0:  a lookup(key="alpha", seconds=2) [read kv:alpha @kv]',
        '           b lookup(key="beta", seconds=3) [read kv:beta @kv]',
        '  wave 1:  c store(key="gamma", value="$a.value") [write kv:gamma @kv] needs a',
    ]
    assert cli_registry_fixture.events == []


def test_plan_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    calls = [*PLAIN, {"id": "d", "tool": "lokup", "arguments": {"key": "delta"}}]
    assert main(plan_argv(write_calls(tmp_path, calls), "--json")) == 1  # d is rejected
    data = json.loads(capsys.readouterr().out)
    assert data["waves"] == [["a", "b"], ["c"]]
    assert data["cycle"] is None
    by_id = {c["id"]: c for c in data["calls"]}
    assert (by_id["c"]["needs"], by_id["c"]["wave"]) == (["a"], 1)
    assert (by_id["d"]["status"], by_id["d"]["error_code"]) == ("rejected", "unknown_tool")


CYCLE = [
    {"id": "c1", "tool": "lookup", "arguments": {"key": "$c2.value"}},
    {"id": "c2", "tool": "lookup", "arguments": {"key": "$c1.value"}},
    {"id": "c3", "tool": "lookup", "arguments": {"key": "free"}},
]


def test_plan_of_a_cyclic_batch_names_the_cycle_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(plan_argv(write_calls(tmp_path, CYCLE))) == 1
    captured = capsys.readouterr()
    assert captured.err == ""  # the plan says it, once
    assert "c1 lookup, c2 lookup: rejected (dependency_cycle) calls form a dependency cycle (c1 -> c2 -> c1;" in (
        captured.out
    )
    assert "c3 lookup: rejected (batch_rejected)" in captured.out


def test_run_of_a_cyclic_batch_runs_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cli_registry_fixture.events.clear()
    assert main(run_argv(write_calls(tmp_path, CYCLE), "--virtual")) == 1
    out = capsys.readouterr().out
    assert [row(out, c)[2:4] for c in ("c1", "c2", "c3")] == [
        ["rejected", "dependency_cycle"],
        ["rejected", "dependency_cycle"],
        ["rejected", "batch_rejected"],
    ]
    assert cli_registry_fixture.events == []


# -- limits and traces -----------------------------------------------------------


def test_a_limit_no_tool_uses_is_warned_about(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_calls(tmp_path, PLAIN)
    assert main(run_argv(path, "--virtual", "--limit", "kvv=1", "--limit", "kv=1", "--limit", "jira=2")) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        "trio-toolpar: warning: --limit kvv=1 caps nothing: no tool of cli_registry_fixture:registry uses the "
        "resource 'kvv' (its resources: api, kv); did you mean 'kv'?",
        "trio-toolpar: warning: --limit jira=2 caps nothing: no tool of cli_registry_fixture:registry uses the "
        "resource 'jira' (its resources: api, kv)",
    ]
    assert row(captured.out, "b")[-2:] == ["2.000", "3000.0"]  # kv=1 did apply


def test_known_limits_are_not_warned_about(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(run_argv(write_calls(tmp_path, PLAIN), "--virtual", "--limit", "kv=2")) == 0
    assert capsys.readouterr().err == ""


def test_run_trace_has_a_track_per_resource_and_per_tool(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    calls = [*PLAIN, {"id": "x", "tool": "explode", "arguments": {"message": "no"}}]
    trace = tmp_path / "turn.json"
    assert main(run_argv(write_calls(tmp_path, calls), "--virtual", "--trace", str(trace))) == 1
    doc = json.loads(trace.read_text(encoding="utf-8"))
    assert_valid_trace(doc)
    names = {e["tid"]: e["args"]["name"] for e in doc["traceEvents"] if e["name"] == "thread_name"}
    slices = {e["name"]: e for e in doc["traceEvents"] if e.get("cat") == "call"}
    assert {c: names[slices[c]["tid"]] for c in "abcx"} == {"a": "kv", "b": "kv (2)", "c": "kv", "x": "explode"}
    assert [(slices[c]["ts"], slices[c]["dur"]) for c in "abcx"] == [
        (0.0, 2_000_000.0),
        (0.0, 3_000_000.0),
        (3_000_000.0, 1_000_000.0),
        (0.0, 500_000.0),
    ]
    assert slices["x"]["args"]["error"] == "ValueError: no"


def test_a_trace_that_cannot_be_written_fails_before_any_tool_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_registry_fixture.events.clear()
    bad = str(tmp_path / "no-such-dir" / "t.json")
    assert main(run_argv(write_calls(tmp_path, PLAIN), "--virtual", "--trace", bad)) == 2
    assert_one_line_error(capsys.readouterr().err, "cannot write trace file", "No such file or directory")
    assert cli_registry_fixture.events == []


# -- the real entry points -------------------------------------------------------


def cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trio_toolpar._cli._main", *argv], capture_output=True, text=True, timeout=120, cwd=ROOT
    )


def test_module_entry_point_plans_and_reports_a_cycle(tmp_path: Path) -> None:
    done = cli("plan", write_calls(tmp_path, CYCLE), "--tools", "cli_registry_fixture:registry", "--app-dir", TESTS)
    assert done.returncode == 1
    assert done.stderr == ""
    assert done.stdout.startswith("plan: 3 calls, 0 waves\n")
    assert done.stdout.count("calls form a dependency cycle (c1 -> c2 -> c1;") == 1


def test_module_entry_point_runs_an_anthropic_message_with_a_trace(tmp_path: Path) -> None:
    trace = tmp_path / "t.json"
    path = write_calls(tmp_path, {"role": "assistant", "content": ANTHROPIC_BLOCKS})
    tools = ["--tools", "cli_registry_fixture:registry", "--app-dir", TESTS]
    done = cli("run", path, *tools, "--virtual", "--trace", str(trace))
    assert done.returncode == 0, done.stderr
    assert "(anthropic format)" in done.stdout
    assert row(done.stdout, "c")[2] == "ok"
    assert_valid_trace(json.loads(trace.read_text(encoding="utf-8")))


@pytest.mark.parametrize(
    ("content", "fragment"), [("nope", "is not valid JSON"), ('{"x": 1}', "must hold a JSON list")]
)
def test_module_entry_point_bad_file_is_one_line_and_exit_2(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "calls.json"
    path.write_text(content, encoding="utf-8")
    done = cli("run", str(path), "--tools", "cli_registry_fixture:registry", "--app-dir", TESTS)
    assert done.returncode == 2
    assert done.stdout == ""
    assert_one_line_error(done.stderr, fragment)
    assert "Traceback" not in done.stderr


def test_console_script_version() -> None:
    script = Path(sys.executable).parent / "trio-toolpar"  # installed by `pip install -e .`
    done = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (0, f"trio-toolpar {trio_toolpar.__version__}\n")


def test_the_demo_needs_no_optional_package() -> None:
    # A fresh `pip install -e .` has no rich: block its import and run the demo as the README does.
    code = (
        "import sys; sys.modules['rich'] = None\n"
        "from trio_toolpar._cli._main import main\n"
        "raise SystemExit(main(['demo', '--speed', '1000']))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 1, done.stderr  # Sentry is down by design
    assert done.stderr == ""
    assert PLAIN_HEADER in done.stdout
    assert row(done.stdout, "sentry")[2:4] == ["error", "tool_error"]
    assert "x faster)\n" in done.stdout
