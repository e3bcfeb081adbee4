"""Examples and doc snippets run as written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_the_testing_guide_quotes_its_example_verbatim() -> None:
    example = (ROOT / "examples" / "property_test.py").read_text(encoding="utf-8")
    body = example.split('"""\n\n', 1)[1].split('\n\nif __name__ == "__main__":', 1)[0]  # the test, not its runner
    assert body in (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")


def test_the_property_example_says_what_it_checked_when_run_as_a_script() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "property_test.py")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout
    checked, _, held = lines[0].partition(" random turns: ")
    assert checked.startswith("checked ") and int(checked.removeprefix("checked ")) >= 10
    assert held == (
        "no resource ran more calls at once than its cap, and every uncapped eager turn took exactly its critical path"
    )


def test_the_property_example_run_as_a_script_exits_nonzero_when_the_property_fails(tmp_path: Path) -> None:
    # The same script, with the oracle made wrong: hypothesis's failure must reach the exit status.
    # It runs in tmp_path, so that the failing example hypothesis saves stays out of the checkout's database.
    broken = (
        "import runpy, trio_toolpar.testing as t\n"
        "t.Oracle.critical_path = lambda self: -1.0\n"
        f"runpy.run_path({str(ROOT / 'examples' / 'property_test.py')!r}, run_name='__main__')\n"
    )
    done = subprocess.run([sys.executable, "-c", broken], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout == ""  # no "checked N random turns" after a failure
    assert "assert result.elapsed == Oracle(turn).critical_path()" in done.stderr  # the property's own line
    assert "turn=TurnSpec(" in done.stderr  # hypothesis's note: the turn that failed it
    assert "\nAssertionError" in done.stderr


def test_the_property_example_passes() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(ROOT / "examples" / "property_test.py")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def run_example(name: str) -> list[str]:
    """The lines an example prints, run as a user would (``python examples/NAME.py``)."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name)], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout.splitlines()


def test_fast_slow_failing() -> None:
    lines = run_example("fast_slow_failing.py")
    assert lines[:4] == [
        "f fast: ok after 100 ms, value 4",
        "s slow: ok after 2000 ms, value 4",
        "e failing: error after 500 ms, tool_error: ConnectionError: upstream reset the connection while reading 4",
        "makespan: 2.0 s (serial: 2.6 s)",
    ]
    bars = {line.split("|")[0].strip(): line.split("|")[1] for line in lines[5:8]}
    assert bars == {"f fast": "█" * 2 + " " * 38, "s slow": "█" * 40, "e failing": "▓" * 10 + " " * 30}


def test_fan_out_keeps_five_running_at_most() -> None:
    assert run_example("fan_out.py") == [
        "calls: 50, ok: 50",
        "at most running at once: 5",
        "makespan: 10.0 s (serial: 50.0 s)",
        "starts at: 0 1 2 3 4 5 6 7 8 9",
    ]


def test_references_by_id_and_by_position() -> None:
    assert run_example("references.py") == [
        "call_a1 (wave 0) needs nothing",
        "call_b2 (wave 1) needs call_a1",
        "call_c3 (wave 2) needs call_b2",
        "call_a1: ok at 0.0 s -> {'id': 42, 'email': 'ada@example.com'}",
        "call_b2: ok at 0.3 s -> {'orders': [{'id': 'ord_42_7', 'total': 19.5}, {'id': 'ord_42_3', 'total': 5.0}]}",
        "call_c3: ok at 0.5 s -> 'refunded 19.5 on ord_42_7 ($5 goodwill)'",
    ]


def test_policies_side_by_side() -> None:
    assert run_example("policies.py") == [
        "call    best-effort           fail-fast",
        "quick   ok                    ok",
        "broken  error (tool_error)    error (tool_error)",
        "slow    ok                    cancelled (sibling_failed)",
        "report  ok                    skipped (sibling_failed)",
        "time    4.0 s                 1.0 s",
    ]


def test_cancelling_a_turn_from_outside_keeps_every_outcome() -> None:
    assert run_example("cancel_from_outside.py") == [
        "running; the caller stops it at 2.5 s",
        "  small: clean-up ran at 1.0 s",
        "  large: clean-up ran at 2.5 s",
        "cancelled from outside: True",
        "small: ok (no error) value='small: 100 kB'",
        "large: cancelled (cancelled) value=None",
        "sum: skipped (cancelled) value=None",
    ]


def test_tracing_console_prints_one_line_a_span() -> None:
    assert run_example("tracing_console.py") == [
        "attempt lookup       0.5 s  ERROR  id=o1 attempt=1 queue_wait_s=0.0",
        "attempt search       1.0 s  UNSET  id=s1 attempt=1 queue_wait_s=0.0",
        "execute_tool search  1.0 s  UNSET  id=s1 queue_wait_s=0.0",
        "queued search        1.0 s  UNSET  id=s2 attempt=1 queue_wait_s=1.0",
        "attempt lookup       0.5 s  UNSET  id=o1 attempt=2 queue_wait_s=0.0",
        "execute_tool lookup  1.5 s  UNSET  id=o1 queue_wait_s=0.0",
        "attempt search       1.0 s  UNSET  id=s2 attempt=1 queue_wait_s=1.0",
        "execute_tool search  1.0 s  UNSET  id=s2 queue_wait_s=1.0",
        "attempt report       3.0 s  ERROR  id=r1 attempt=1 queue_wait_s=0.0 cancel_cause=budget_exceeded",
        "execute_tool report  3.0 s  ERROR  id=r1 queue_wait_s=0.0 cancel_cause=budget_exceeded",
        "trio_toolpar.turn    3.0 s  UNSET",
        "s1=ok s2=ok o1=ok r1=cancelled",
    ]
