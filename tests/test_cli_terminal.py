"""The live view in a real terminal: tmux runs ``trio-toolpar run``, and ``tmux capture-pane`` reads its screen.

The calls are `cli_registry_fixture.gate` and ``flaky``, which wait for files
the test makes: a call stays queued, running or retrying for as long as the
test looks at it, and moves on when the test says so. The test polls the
screen until the state it expects appears (at most `WAIT` seconds, for a
loaded machine), and never sleeps a fixed time or asserts a speed.

tmux runs on a server of its own, its socket in the test's directory, with
no user configuration, and keeps the pane once the command has exited. bash
runs the command and then prints its exit status: tmux's own
``pane_dead_status`` is sometimes never filled in (tmux 3.3a leaves the
exited command a zombie now and then).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from test_cli import TESTS, row, write_calls

ROOT = Path(__file__).parent.parent
WAIT = 20.0


class Terminal:
    """A 160x40 tmux pane running one command."""

    def __init__(self, tmp_path: Path, *argv: str) -> None:
        tmux = shutil.which("tmux")
        assert tmux is not None, "these tests need tmux (apt-get install tmux)"
        conf = tmp_path / "tmux.conf"
        conf.write_text("set -g remain-on-exit on\n", encoding="utf-8")
        self._tmux = [tmux, "-S", str(tmp_path / "tmux.socket"), "-f", str(conf)]
        # bash waits out a Ctrl-C its command handles (and exits 130 from), then says how it exited.
        status = '"$@"; echo "[exit status $?]"'
        self._run("new-session", "-d", "-x", "160", "-y", "40", "-c", str(ROOT), "bash", "-c", status, "bash", *argv)

    def _run(self, *args: str) -> str:
        return subprocess.run([*self._tmux, *args], capture_output=True, text=True, check=True, timeout=30).stdout

    def screen(self) -> str:
        return self._run("capture-pane", "-p")

    def keys(self, *keys: str) -> None:
        self._run("send-keys", *keys)

    def exit_status(self) -> int | None:
        """The command's exit status once it has exited, else ``None``."""
        found = re.search(r"^\[exit status (\d+)\]$", self.screen(), flags=re.MULTILINE)
        return None if found is None else int(found[1])

    def wait_for(self, what: str, condition: Callable[[str], bool]) -> str:
        """The screen, once ``condition`` holds for it; fails after `WAIT` seconds with the last screen."""
        deadline = time.monotonic() + WAIT
        while True:
            screen = self.screen()
            if condition(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} after {WAIT} s; the screen:\n{screen}")
            time.sleep(0.1)

    def close(self) -> None:
        subprocess.run([*self._tmux, "kill-server"], capture_output=True, timeout=30)


def rows(screen: str) -> dict[str, str]:
    """Each call's state in the live table (``{"g1": "running", ...}``); a row reads ``g1 gate running 0.000``."""
    found = {}
    for line in screen.splitlines():
        match = re.match(r"^(g1|g2|g3|f|w) +(gate|flaky|lookup) +(.+?)(?: +\d+\.\d{3})?$", line.rstrip())
        if match:
            found[match[1]] = match[3]
    return found


def clock(screen: str) -> float:
    """The time in the view's header line (``1.234 s  0/5 done, ...``)."""
    match = re.search(r"^(\d+\.\d{3}) s  \d+/5 done", screen, flags=re.MULTILINE)
    assert match is not None, screen
    return float(match[1])


def countdown(screen: str) -> float:
    """The seconds left before f's second attempt (``retrying: attempt 2 in 599.875 s``)."""
    match = re.fullmatch(r"retrying: attempt 2 in (\d+\.\d{3}) s", rows(screen)["f"])
    assert match is not None, screen
    return float(match[1])


@pytest.fixture
def gates(tmp_path: Path) -> Path:
    path = tmp_path / "gates"
    path.mkdir()
    return path


@pytest.fixture
def terminal(tmp_path: Path, gates: Path) -> Iterator[Terminal]:
    where = str(gates)
    calls = [
        {"id": "g1", "tool": "gate", "arguments": {"name": "g1", "gates": where}},
        {"id": "g2", "tool": "gate", "arguments": {"name": "g2", "gates": where}},
        {"id": "g3", "tool": "gate", "arguments": {"name": "g3", "gates": where}},
        {"id": "f", "tool": "flaky", "arguments": {"name": "f", "gates": where}},
        {"id": "w", "tool": "lookup", "arguments": {"key": "$g1"}},
    ]
    argv = ["run", write_calls(tmp_path, calls), "--tools", "cli_registry_fixture:registry", "--app-dir", TESTS]
    term = Terminal(tmp_path, sys.executable, "-m", "trio_toolpar", *argv, "--limit", "api=1")
    try:
        yield term
    finally:
        term.close()


def test_the_live_view_tells_queued_running_retrying_and_done_apart(terminal: Terminal, gates: Path) -> None:
    start = {
        "g1": "running",
        "g2": "queued for api",
        "g3": "queued for api",
        "f": "retrying: attempt 2 in",
        "w": "waiting for g1",
    }
    screen = terminal.wait_for(
        "g1 running with g2, g3 queued and f retrying",
        lambda s: {k: v[: len(start[k])] for k, v in rows(s).items()} == start,
    )
    assert "  api: 1/1 running, 2 queued" in screen.splitlines()
    assert "0/5 done, 1 running, 2 queued (api 2), 1 retrying, 1 waiting" in screen

    # The clock moves while nothing else does, and so does the retry's countdown.
    first, wait = clock(screen), countdown(screen)
    screen = terminal.wait_for("the clock to move", lambda s: clock(s) > first and countdown(s) != wait)
    assert countdown(screen) < wait

    (gates / "g1").write_text("k", encoding="utf-8")  # g1 ends: g2 gets the api's slot, and w must wait for its wave
    screen = terminal.wait_for("g1 done", lambda s: rows(s).get("g1") == "ok")
    assert rows(screen) | {"f": "retrying"} == {
        "g1": "ok",
        "g2": "running",
        "g3": "queued for api",
        "f": "retrying",
        "w": "waiting for wave 1",
    }
    assert "  api: 1/1 running, 1 queued" in screen.splitlines()

    terminal.keys("C-c")  # Ctrl-C, as typed: SIGINT to the pane's foreground process
    screen = terminal.wait_for("the command to exit", lambda s: terminal.exit_status() is not None)
    assert terminal.exit_status() == 130
    assert "trio-toolpar: interrupted: cancelling the turn (Ctrl-C again to quit at once)" in screen
    # The live view is gone; the report shows what finished and the rest cancelled, as a turn its caller cancelled.
    assert {call: row(screen, call)[2:4] for call in ("g1", "g2", "g3", "f", "w")} == {
        "g1": ["ok", "0"],
        "g2": ["cancelled", "cancelled"],
        "g3": ["skipped", "cancelled"],
        "f": ["cancelled", "cancelled"],
        "w": ["skipped", "cancelled"],
    }
