"""The ``trio-toolpar`` command's arguments: the parser, its value types, and its one-line errors.

Each subcommand's namespace carries ``command``, its name, which `_cli.main`
dispatches on.
"""

from __future__ import annotations

import argparse
import functools
from typing import NoReturn

from .. import __version__
from ._demo import DEFAULT_SEED, SERVICE
from ._input import FORMATS

__all__ = ["EXIT_INTERRUPTED", "EXIT_NOT_OK", "EXIT_OK", "EXIT_USAGE", "PROG", "build_parser"]

PROG = "trio-toolpar"
EXIT_OK = 0
"""Every call ended ``ok`` (``plan``: planning refused none)."""
EXIT_NOT_OK = 1
"""Some call did not end ``ok`` (``plan``: planning refused one)."""
EXIT_USAGE = 2
"""A usage or input error."""
EXIT_INTERRUPTED = 130
"""Ctrl-C (128 + SIGINT, as a shell reports a program the signal ended)."""


class _Parser(argparse.ArgumentParser):
    """An `argparse.ArgumentParser` whose errors are one line, like every other input error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _number(text: str, *, what: str, minimum: float, strict: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a {what}") from None
    if not (value > minimum if strict else value >= minimum) or value == float("inf"):
        kind = "positive" if strict else "non-negative"
        raise argparse.ArgumentTypeError(f"{text!r} must be a {kind} {what}")
    return value


_positive_float = functools.partial(_number, what="number", minimum=0.0, strict=True)
_seconds = functools.partial(_number, what="number of seconds", minimum=0.0, strict=False)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _limit(text: str) -> tuple[str, int]:
    name, sep, cap = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r} must look like NAME=N, e.g. jira=2")
    try:
        return name, _positive_int(cap)
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: the cap {exc}") from None


def _add_input_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("calls", metavar="CALLS.json", help="the calls of the turn")
    parser.add_argument(
        "--tools", required=True, metavar="MODULE:NAME", help="where the Registry is, e.g. myagent.tools:registry"
    )
    parser.add_argument(
        "--app-dir",
        default=".",
        metavar="DIR",
        help="directory put first on sys.path to import --tools from (default: the current directory)",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        help="how to read CALLS.json (default: told apart by its shape)",
    )
    parser.add_argument(
        "--skip-unknown",
        action="store_true",
        help="skip the entries of an OpenAI or Anthropic file that are neither calls nor known (default: refuse them)",
    )


def _add_turn_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--policy",
        choices=("best-effort", "fail-fast"),
        default="best-effort",
        help="what a failed call means for the others (default: %(default)s)",
    )
    parser.add_argument(
        "--schedule",
        choices=("waves", "eager"),
        default="waves",
        help="run topological waves, or start each call as soon as its dependencies are done (default: %(default)s)",
    )
    parser.add_argument("--budget", type=_seconds, metavar="SECONDS", help="time budget of the whole turn")
    parser.add_argument("--max-concurrency", type=_positive_int, metavar="N", help="cap on all calls at once")
    parser.add_argument("--json", action="store_true", help="print the turn's result as JSON, nothing else")
    parser.add_argument("--width", type=_positive_int, default=60, metavar="COLUMNS", help="timeline width")
    parser.add_argument(
        "--progress",
        choices=("auto", "rich", "plain", "off"),
        default="auto",
        help="live progress while the turn runs: auto is rich on a terminal if installed, else plain lines",
    )
    parser.add_argument(
        "--trace", metavar="FILE", help="write the turn as Chrome trace events (JSON), for ui.perfetto.dev"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Run the tool calls of one LLM turn on Trio: parallel where safe, ordered where not.",
        epilog=(
            "Exit status, for every command: 0 every call ok; 1 some call not ok (plan: refused; the demo's Sentry "
            "fails by design); 2 a usage or input error; 130 interrupted (Ctrl-C)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    demo = commands.add_parser(
        "demo",
        help="run a simulated incident-triage turn: nine reads, two of them flaky, then two writes",
        description=(
            f"An on-call agent triages an incident on {SERVICE}: nine reads of 2.5-7 simulated seconds "
            "against Datadog, PagerDuty, GitHub, Jira, Statuspage, Sentry and Slack (Statuspage fails once and "
            "is retried; Sentry is down and fails), then a Jira ticket and a Slack post built from what the "
            "reads found. Try --policy fail-fast to see Sentry's failure cancel its siblings. Like any turn "
            "with a call that is not ok, it exits 1."
        ),
    )
    clock = demo.add_mutually_exclusive_group()
    clock.add_argument(
        "--speed",
        type=_positive_float,
        default=5.0,
        metavar="N",
        help="play simulated time N times faster than real time (default: %(default)g)",
    )
    clock.add_argument(
        "--virtual",
        action="store_true",
        help="run on trio.testing.MockClock(autojump_threshold=0): instant, and exact",
    )
    demo.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, metavar="N", help="seed of the simulated data (default: %(default)s)"
    )
    _add_turn_options(demo)
    demo.set_defaults(command="demo")

    plan = commands.add_parser(
        "plan",
        help="print the waves and edges of a JSON file of tool calls, without running anything",
        description="Plan CALLS.json against the Registry found at --tools: waves, dependencies, rejections.",
    )
    _add_input_options(plan)
    plan.add_argument("--json", action="store_true", help="print the plan as JSON")
    plan.set_defaults(command="plan")

    run = commands.add_parser(
        "run",
        help="run a JSON file of tool calls (plain, OpenAI or Anthropic) against a Registry of yours",
        description="Run CALLS.json against the Registry found at --tools.",
    )
    _add_input_options(run)
    run.add_argument(
        "--limit",
        type=_limit,
        action="append",
        default=[],
        metavar="NAME=N",
        help="cap for one resource, e.g. --limit jira=2 (repeatable)",
    )
    run.add_argument("--virtual", action="store_true", help="run on trio.testing.MockClock(autojump_threshold=0)")
    run.add_argument(
        "--journal",
        metavar="PATH",
        help="record the turn in the SQLite journal PATH (made if missing); a turn id it holds is resumed",
    )
    run.add_argument(
        "--turn-id",
        metavar="ID",
        help="the turn's id in --journal: run it again to resume it (default: a new id, printed)",
    )
    _add_turn_options(run)
    run.set_defaults(command="run")
    return parser
