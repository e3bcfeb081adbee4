"""The ``trio-toolpar`` command: run the demo turn, or a turn of your own tools.

::

    trio-toolpar demo [--speed N | --virtual] [--policy ...] [--schedule ...] [--budget S] [--json]
    trio-toolpar run CALLS.json --tools package.module:registry [--limit name=N ...] [...]

Bad input (a missing file, bad JSON, a module that cannot be imported) ends
with one line on stderr and exit code 2. Ctrl-C ends the run with exit code
130: ``KeyboardInterrupt`` travels out of the library and ``trio.run`` as
itself and is only handled here, at the top. Otherwise the exit code is 0
when every call ended ``ok`` and 1 when any did not.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, final

import attrs
import cattrs
import trio
import trio.testing
from cattrs.v import format_exception

from ._convert import converter
from ._demo import DEFAULT_SEED, SERVICE, Demo, SentWrite, build_demo
from ._executor import Executor
from ._outcome import Outcome, ToolCall
from ._policy import BestEffort, FailFast, Policy
from ._registry import Registry
from ._result import TurnResult

__all__ = ["main"]

_PROG = "trio-toolpar"
EXIT_OK = 0
EXIT_NOT_OK = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class _UsageError(Exception):
    """Bad input from the command line; becomes one line on stderr and exit code 2."""


class _Parser(argparse.ArgumentParser):
    """An `argparse.ArgumentParser` whose errors are one line, like every other input error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has already printed --help or its one-line error
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    command: Callable[[argparse.Namespace], int] = args.command
    try:
        return command(args)
    except _UsageError as exc:
        print(f"{_PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{_PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of our output left (``... | head``); say nothing more, as other tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_NOT_OK


# -- arguments -------------------------------------------------------------------


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a non-negative number of seconds")
    return value


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


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=_PROG,
        description="Run the tool calls of one LLM turn on Trio: parallel where safe, ordered where not.",
        epilog="Exit status: 0 every call ok, 1 some call not ok, 2 bad input, 130 interrupted.",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    demo = commands.add_parser(
        "demo",
        help="run a simulated incident-triage turn: 8 reads of 5-7 s, a flaky one, two writes",
        description=(
            f"An on-call agent triages an incident on {SERVICE}: eight reads of 5-7 simulated seconds "
            "against Datadog, PagerDuty, GitHub, Jira, Statuspage and Slack (Statuspage fails once and is "
            "retried), then a Jira ticket and a Slack post built from what the reads found."
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
    demo.set_defaults(command=_demo_command)

    run = commands.add_parser(
        "run",
        help="run a JSON file of tool calls against a Registry of yours",
        description=(
            'Run CALLS.json, a list of {"id", "tool", "arguments"} objects, against the Registry found at --tools.'
        ),
    )
    run.add_argument("calls", metavar="CALLS.json", help="the calls of the turn")
    run.add_argument(
        "--tools", required=True, metavar="MODULE:NAME", help="where the Registry is, e.g. myagent.tools:registry"
    )
    run.add_argument(
        "--app-dir",
        default=".",
        metavar="DIR",
        help="directory put first on sys.path to import --tools from (default: the current directory)",
    )
    run.add_argument(
        "--limit",
        type=_limit,
        action="append",
        default=[],
        metavar="NAME=N",
        help="cap for one resource, e.g. --limit jira=2 (repeatable)",
    )
    run.add_argument("--virtual", action="store_true", help="run on trio.testing.MockClock(autojump_threshold=0)")
    _add_turn_options(run)
    run.set_defaults(command=_run_command)
    return parser


def _policy(name: str) -> Policy:
    return FailFast() if name == "fail-fast" else BestEffort()


# -- commands --------------------------------------------------------------------


@final
@attrs.frozen(kw_only=True)
class _Report:
    """How to print a turn.

    ``time_scale`` is how many seconds on Trio's clock make one second as
    shown (in ``unit``): ``0.2`` when the demo plays at ``--speed 5``.
    """

    header: tuple[str, ...]
    time_scale: float
    unit: str
    json: bool
    width: int


def _demo_command(args: argparse.Namespace) -> int:
    time_scale = 1.0 if args.virtual else 1.0 / args.speed
    demo = build_demo(time_scale=time_scale, seed=args.seed)
    executor = demo.executor(
        policy=_policy(args.policy),
        schedule=args.schedule,
        budget=args.budget,
        max_concurrency=args.max_concurrency,
    )
    caps = " ".join(f"{name}={cap}" for name, cap in sorted(demo.limits.items()))
    clock = (
        "virtual time (trio.testing.MockClock): instant and exact"
        if args.virtual
        else f"simulated seconds, played {args.speed:g}x faster than real time (--speed {args.speed:g})"
    )
    report = _Report(
        header=(
            f"{_PROG} demo: an agent triages an incident on {SERVICE}; one model turn, {len(demo.calls)} tool calls",
            f"caps: {caps}; policy {args.policy}, schedule {args.schedule}"
            + (f", budget {args.budget:g} s" if args.budget is not None else ""),
            f"time: {clock}",
        ),
        time_scale=time_scale,
        unit="simulated s",
        json=args.json,
        width=args.width,
    )
    result = _play(executor, demo.calls, report, virtual=args.virtual, after=functools.partial(_print_writes, demo))
    return EXIT_OK if result.ok else EXIT_NOT_OK


def _run_command(args: argparse.Namespace) -> int:
    registry = _load_registry(args.tools, app_dir=args.app_dir)
    calls = _load_calls(args.calls)
    try:
        executor = Executor(
            registry,
            limits=dict(args.limit),
            max_concurrency=args.max_concurrency,
            policy=_policy(args.policy),
            budget=args.budget,
            schedule=args.schedule,
        )
    except ValueError as exc:
        raise _UsageError(str(exc)) from None
    report = _Report(
        header=(f"{_PROG} run: {len(calls)} calls from {args.calls} against {args.tools}",),
        time_scale=1.0,
        unit="s",
        json=args.json,
        width=args.width,
    )
    result = _play(executor, calls, report, virtual=args.virtual, after=None)
    return EXIT_OK if result.ok else EXIT_NOT_OK


def _play(
    executor: Executor,
    calls: Sequence[ToolCall],
    report: _Report,
    *,
    virtual: bool,
    after: Callable[[], None] | None,
) -> TurnResult:
    """Run one turn in a fresh `trio.run` and print it; returns the result in the seconds shown."""
    clock = trio.testing.MockClock(autojump_threshold=0) if virtual else None
    began = time.perf_counter()
    raw = trio.run(functools.partial(_run_turn, executor, calls, report), clock=clock)
    wall = time.perf_counter() - began
    result = _rescaled(raw, 1.0 / report.time_scale)
    if report.json:
        print(json.dumps(converter.unstructure(result), indent=2, ensure_ascii=False, default=_opaque))
        return result
    serial = sum(o.latency_ms for o in result) / 1000.0
    print()
    print(result.table())
    print()
    print(f"timeline ({report.unit}):")
    print(result.timeline(width=report.width))
    if after is not None:
        after()
    print()
    speedup = f"  ({serial / result.elapsed:.1f}x faster)" if serial > 0 and result.elapsed > 0 else ""
    print(f"serial, one call after another (sum of latencies): {serial:8.3f} {report.unit}")
    print(f"this turn:                                          {result.elapsed:8.3f} {report.unit}{speedup}")
    print(f"real wall time:                                     {wall:8.3f} s")
    return result


async def _run_turn(executor: Executor, calls: Sequence[ToolCall], report: _Report) -> TurnResult:
    turn = executor.turn(calls)
    if not report.json:
        # Printed once trio.run has started, so that Ctrl-C from here on reaches the running turn.
        for line in report.header:
            print(line)
        print()
        print(turn.plan.render(), flush=True)
    return await turn.run()


def _opaque(value: object) -> str:
    # A tool's value that JSON cannot hold is shown, as the model would see it, rather than crash the output.
    return f"<{type(value).__name__}: {value!s}>"


def _print_writes(demo: Demo) -> None:
    if not demo.sent:
        return
    print()
    print("writes, with the $references resolved:")
    for write in demo.sent:
        print(f"  {write.call_id} {write.tool}: {_describe_write(write)}")


def _describe_write(write: SentWrite) -> str:
    if "text" in write.result:
        return f"{write.result.get('channel', '')} <- {write.result['text']}"
    args = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in write.arguments.items())
    return f"{write.result.get('key', '')} <- {args}"


def _rescaled(result: TurnResult, factor: float) -> TurnResult:
    """``result`` with its times measured from the turn's start, in units of ``1 / factor`` clock seconds."""
    origin = result.started_at

    def at(t: float) -> float:
        return round((t - origin) * factor, 6)

    def moved(o: Outcome) -> Outcome:
        return attrs.evolve(
            o,
            started_at=None if o.started_at is None else at(o.started_at),
            finished_at=None if o.finished_at is None else at(o.finished_at),
            latency_ms=round(o.latency_ms * factor, 3),
        )

    return attrs.evolve(
        result,
        outcomes=tuple(moved(o) for o in result.outcomes),
        started_at=0.0,
        finished_at=at(result.finished_at),
    )


# -- input -----------------------------------------------------------------------


def _load_registry(spec: str, *, app_dir: str) -> Registry:
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise _UsageError(f"--tools must look like 'package.module:registry', not {spec!r}")
    path = os.path.abspath(app_dir)
    if path not in sys.path:
        sys.path.insert(0, path)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (module_name + ".").startswith(exc.name + "."):
            raise _UsageError(f"cannot find module {module_name!r} (looked in {app_dir!r} and sys.path)") from None
        raise _UsageError(f"importing module {module_name!r} failed: {type(exc).__name__}: {exc}") from None
    except Exception as exc:  # the module's own code failed; report it instead of a traceback
        raise _UsageError(f"importing module {module_name!r} failed: {type(exc).__name__}: {exc}") from None
    found: Any = module
    for part in attribute.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise _UsageError(f"module {module_name!r} has no attribute {attribute!r}") from None
    if not isinstance(found, Registry):
        raise _UsageError(f"{spec!r} is a {type(found).__name__}, not a trio_toolpar.Registry")
    return found


def _load_calls(path: str) -> list[ToolCall]:
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except OSError as exc:
        raise _UsageError(f"cannot read calls file {path!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise _UsageError(f"calls file {path!r} is not UTF-8 text: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _UsageError(f"calls file {path!r} is not valid JSON: {exc}") from None
    if not isinstance(data, list):
        raise _UsageError(
            f'calls file {path!r} must hold a JSON list of {{"id", "tool", "arguments"}} objects, '
            f"not a {type(data).__name__}"
        )
    try:
        return converter.structure(data, list[ToolCall])
    except cattrs.BaseValidationError as exc:
        problems = cattrs.transform_error(exc, format_exception=_format_problem)
        raise _UsageError(f"calls file {path!r} does not hold valid tool calls: {'; '.join(problems)}") from None


def _format_problem(exc: BaseException, type_: type | None) -> str:
    if isinstance(exc, KeyError):
        return f"missing key {exc.args[0]!r}"
    if isinstance(exc, (TypeError, cattrs.ForbiddenExtraKeysError)):
        return str(exc)
    return format_exception(exc, type_)
