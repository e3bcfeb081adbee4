"""Ctrl-C in ``trio-toolpar run``: SIGINT sent by pid to the command's own subprocess.

The turn: ``quick`` waits for a file the test makes, and returns the name of
another; ``stuck`` needs that value and waits for that other file, which
never comes; ``later`` needs ``stuck``. `cli_registry_fixture.gate` makes
``NAME.waiting`` as it starts, so the test sends the signal once ``stuck``
runs (and so ``quick`` is done) — no fixed sleep. Every wait is bounded.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from test_cli import PLAIN_HEADER, TESTS, row, write_calls
from test_trace import assert_valid_trace

ROOT = Path(__file__).parent.parent
WAIT = 20.0
"""The most seconds a test waits for the command to reach a state (a loaded machine is slow, not stuck)."""


def calls(gates: Path) -> list[dict[str, object]]:
    where = str(gates)
    return [
        {"id": "quick", "tool": "gate", "arguments": {"name": "go", "gates": where}},
        {"id": "stuck", "tool": "gate", "arguments": {"name": "$quick", "gates": where}},
        {"id": "later", "tool": "lookup", "arguments": {"key": "$stuck"}},
    ]


def start(tmp_path: Path, *options: str, tool: str = "gate") -> tuple[subprocess.Popen[str], Path]:
    gates = tmp_path / "gates"
    gates.mkdir()
    turn = calls(gates)
    turn[1]["tool"] = tool
    argv = ["run", write_calls(tmp_path, turn), "--tools", "cli_registry_fixture:registry", "--app-dir", TESTS]
    proc = subprocess.Popen(
        [sys.executable, "-m", "trio_toolpar", *argv, *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,  # `-m` imports the checkout's trio_toolpar
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    (gates / "go").write_text("never", encoding="utf-8")  # quick returns "never": stuck waits for it
    return proc, gates


def wait_for(condition: Callable[[], bool], what: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"the command ended (exit {proc.returncode}) before {what}:\n{out}\n{err}")
        if time.monotonic() > deadline:
            proc.kill()
            out, err = proc.communicate()
            raise AssertionError(f"no {what} after {WAIT} s:\n{out}\n{err}")
        time.sleep(0.05)


def next_line(stream: IO[str] | None, proc: subprocess.Popen[str], what: str) -> str:
    assert stream is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    try:
        return lines.get(timeout=WAIT)
    except queue.Empty:
        proc.kill()
        raise AssertionError(f"no {what} after {WAIT} s") from None


def interrupt(proc: subprocess.Popen[str], gates: Path) -> tuple[str, str]:
    wait_for((gates / "never.waiting").exists, "stuck running", proc)
    os.kill(proc.pid, signal.SIGINT)
    try:
        return proc.communicate(timeout=60)
    finally:
        proc.kill()


def test_ctrl_c_prints_what_finished_and_the_rest_cancelled(tmp_path: Path) -> None:
    proc, gates = start(tmp_path)
    out, err = interrupt(proc, gates)
    assert proc.returncode == 130, (out, err)
    assert err == "trio-toolpar: interrupted: cancelling the turn (Ctrl-C again to quit at once)\n"
    # As the library reports a turn its caller cancelled: the running call cancelled, the one not started skipped.
    assert row(out, "quick")[2] == "ok"
    assert row(out, "stuck")[2:4] == ["cancelled", "cancelled"]
    assert row(out, "later")[2:4] == ["skipped", "cancelled"]
    assert "  stuck: cancelled (cancelled) - " in out
    assert "no speed-up to report: 2 of 3 calls were cancelled or skipped (cancelled)" in out
    # The progress: quick ended ok and stuck ran (before the signal), then the cancellation.
    progress = out.split(PLAIN_HEADER + "\n", 1)[1].split("\n\n", 1)[0]
    assert [line.split()[2:4] for line in progress.splitlines()][-4:] == [
        ["quick", "ok"],
        ["stuck", "running"],
        ["stuck", "cancelled"],
        ["later", "skipped"],
    ]


def test_ctrl_c_with_json_prints_the_turns_result(tmp_path: Path) -> None:
    proc, gates = start(tmp_path, "--json")
    out, err = interrupt(proc, gates)
    assert proc.returncode == 130, (out, err)
    data = json.loads(out)
    assert data["ok"] is False
    assert [(o["call_id"], o["status"], o["error_code"]) for o in data["outcomes"]] == [
        ("quick", "ok", None),
        ("stuck", "cancelled", "cancelled"),
        ("later", "skipped", "cancelled"),
    ]
    assert data["outcomes"][0]["value"] == "never"


def test_ctrl_c_writes_the_trace(tmp_path: Path) -> None:
    trace = tmp_path / "turn.trace.json"
    proc, gates = start(tmp_path, "--progress", "off", "--trace", str(trace))
    out, err = interrupt(proc, gates)
    assert proc.returncode == 130, (out, err)
    doc = json.loads(trace.read_text(encoding="utf-8"))
    assert_valid_trace(doc)
    statuses = {e["args"]["call_id"]: e["args"]["status"] for e in doc["traceEvents"] if "call_id" in e.get("args", {})}
    assert statuses == {"quick": "ok", "stuck": "cancelled", "later": "skipped"}


def test_a_second_ctrl_c_quits_without_waiting_for_a_tool_that_will_not_stop(tmp_path: Path) -> None:
    proc, gates = start(tmp_path, tool="stubborn")  # stuck is shielded from the cancellation
    wait_for((gates / "never.waiting").exists, "stuck running", proc)
    os.kill(proc.pid, signal.SIGINT)
    first = next_line(proc.stderr, proc, "word of the first Ctrl-C")
    assert first == "trio-toolpar: interrupted: cancelling the turn (Ctrl-C again to quit at once)\n"
    assert proc.poll() is None  # still waiting for stuck
    os.kill(proc.pid, signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert err == "trio-toolpar: interrupted again: quitting without waiting for the tools\n"
    assert "status  error_code" not in out  # no outcomes table: the turn never ended
