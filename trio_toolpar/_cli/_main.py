"""The ``trio-toolpar`` command: plan or run a turn of your own tools, or run the demo turn.

::

    trio-toolpar demo [--speed N | --virtual] [--policy ...] [--schedule ...] [--budget S] [--trace FILE] [--json]
    trio-toolpar plan CALLS.json --tools package.module:registry [--format ...] [--json]
    trio-toolpar run CALLS.json --tools package.module:registry [--limit name=N ...] [--trace FILE] [...]
                 [--journal PATH [--turn-id ID]]

Each exit code means one thing, whatever the command:

- 0: every call ended ``ok`` (``plan``: planning refused none);
- 1: some call did not (``plan``: planning refused one). ``demo`` too: its
  Sentry is down by design, so it exits 1, as a turn of yours would;
- 2: a usage or input error (a missing file, bad JSON, a module that cannot
  be imported; a journal that cannot be used, holds the turn id with other
  calls, or is running it elsewhere), told in one line on stderr;
- 130: interrupted. Ctrl-C while a turn runs cancels it, and its result is
  printed or written as any other (see `_play`); a Ctrl-C before or after
  the turn, or a ``KeyboardInterrupt`` raised by a tool, travels out of
  ``trio.run`` as itself and is handled here, at the top.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import functools
import os
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import IO

from .._journal._sqlite import SqliteJournal
from .._runtime._executor import Executor
from .._runtime._policy import BestEffort, FailFast, Policy
from .._tools._registry import Registry
from .._values._convert import dumps
from ._args import EXIT_INTERRUPTED, EXIT_NOT_OK, EXIT_OK, EXIT_USAGE, PROG, build_parser
from ._demo import SERVICE, Demo, SentWrite, build_demo
from ._input import UsageError, load_calls, load_registry
from ._play import Played, play, progress_for
from ._progress import TurnProgress
from ._render import Report, count, plan_data, render_plan
from ._trace import trace_events
from ._views import ProgressView

__all__ = ["main", "trace_events"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse has already printed --help, --version or its one-line error
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return _COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of our output left (``... | head``); say nothing more, as other tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_NOT_OK


def _policy(name: str) -> Policy:
    return FailFast() if name == "fail-fast" else BestEffort()


# -- commands --------------------------------------------------------------------


def _demo_command(args: argparse.Namespace) -> int:
    time_scale = 1.0 if args.virtual else 1.0 / args.speed
    demo = build_demo(time_scale=time_scale, seed=args.seed)
    caps = " ".join(f"{name}={cap}" for name, cap in sorted(demo.limits.items()))
    clock = (
        "virtual time (trio.testing.MockClock): instant and exact"
        if args.virtual
        else f"simulated seconds, played {args.speed:g}x faster than real time (--speed {args.speed:g})"
    )
    report = _report(
        args,
        f"{PROG} demo",
        f"{PROG} demo: an agent triages an incident on {SERVICE}; one model turn, {len(demo.calls)} tool calls",
        f"caps: {caps}; policy {args.policy}, schedule {args.schedule}"
        + (f", budget {args.budget:g} s" if args.budget is not None else ""),
        f"time: {clock}",
        time_scale=time_scale,
        unit="simulated s",
    )
    progress, view = _progress(args, report, limits=demo.limits)
    executor = demo.executor(
        policy=_policy(args.policy),
        schedule=args.schedule,
        budget=args.budget,
        max_concurrency=args.max_concurrency,
        instruments=() if progress is None else (progress,),
    )
    serial = demo.serial_seconds()
    with _trace_file(args.trace) as trace:
        played = play(
            executor,
            demo.calls,
            report,
            progress=progress,
            view=view,
            virtual=args.virtual,
            trace=trace,
            extra=functools.partial(_write_lines, demo),
            serial=serial,
        )
    return _exit_code(played)


def _plan_command(args: argparse.Namespace) -> int:
    registry = load_registry(args.tools, app_dir=args.app_dir)
    _, calls = load_calls(args.calls, format=args.format, skip_unknown=args.skip_unknown)
    plan = Executor(registry).plan(calls)
    print(dumps(plan_data(plan)) if args.json else render_plan(plan))
    return EXIT_NOT_OK if plan.rejected else EXIT_OK


def _run_command(args: argparse.Namespace) -> int:
    if args.turn_id is not None and args.journal is None:
        raise UsageError("--turn-id names a turn in a journal: give --journal PATH too")
    if args.journal is not None and not os.path.isdir(os.path.dirname(os.path.abspath(args.journal))):
        raise UsageError(f"--journal {args.journal}: its directory does not exist")
    registry = load_registry(args.tools, app_dir=args.app_dir)
    found, calls = load_calls(args.calls, format=args.format, skip_unknown=args.skip_unknown)
    limits = dict(args.limit)
    _warn_unused_limits(registry, limits, tools=args.tools)
    turn_id = args.turn_id if args.turn_id is not None or args.journal is None else uuid.uuid4().hex
    journal = [] if args.journal is None else [f"journal: {args.journal}, turn {turn_id} (--turn-id to resume it)"]
    report = _report(
        args,
        f"{PROG} run {args.calls}",
        f"{PROG} run: {count(len(calls), 'call')} ({found} format) from {args.calls} against {args.tools}",
        *journal,
        time_scale=1.0,
        unit="s",
    )
    progress, view = _progress(args, report, limits=limits)
    try:
        executor = Executor(
            registry,
            limits=limits,
            max_concurrency=args.max_concurrency,
            policy=_policy(args.policy),
            budget=args.budget,
            schedule=args.schedule,
            instruments=() if progress is None else (progress,),
            journal=None if args.journal is None else SqliteJournal(args.journal),
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    with _trace_file(args.trace) as trace:
        played = play(
            executor, calls, report, progress=progress, view=view, virtual=args.virtual, trace=trace, turn_id=turn_id
        )
    return _exit_code(played)


def _exit_code(played: Played) -> int:
    if played.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if played.result.ok else EXIT_NOT_OK


def _warn_unused_limits(registry: Registry, limits: dict[str, int], *, tools: str) -> None:
    used = sorted({tool.resource for tool in registry if tool.resource is not None})
    for name, cap in limits.items():
        if name in used:
            continue
        close = difflib.get_close_matches(name, used, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        known = f" (its resources: {', '.join(used)})" if used else " (its tools name no resource)"
        print(
            f"{PROG}: warning: --limit {name}={cap} caps nothing: no tool of {tools} uses the resource "
            f"{name!r}{known}{hint}",
            file=sys.stderr,
        )


# -- running a turn --------------------------------------------------------------


def _report(args: argparse.Namespace, name: str, *header: str, time_scale: float, unit: str) -> Report:
    return Report(name=name, header=header, time_scale=time_scale, unit=unit, json=args.json, width=args.width)


def _progress(
    args: argparse.Namespace, report: Report, *, limits: Mapping[str, int]
) -> tuple[TurnProgress | None, ProgressView]:
    try:
        return progress_for(
            args.progress, report=report, limits=limits, max_concurrency=args.max_concurrency, schedule=args.schedule
        )
    except RuntimeError as exc:  # rich was asked for and is not installed
        raise UsageError(str(exc)) from None


@contextlib.contextmanager
def _trace_file(path: str | None) -> Iterator[IO[str] | None]:
    # Opened before the turn runs, so that a path that cannot be written fails before any tool does.
    if path is None:
        yield None
        return
    try:
        file = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise UsageError(f"cannot write trace file {path!r}: {exc.strerror or exc}") from None
    with file:
        yield file


def _write_lines(demo: Demo) -> list[str]:
    if not demo.sent:
        return []
    return ["writes, with the $references resolved:", *(f"  {w.call_id} {w.tool}: {_describe(w)}" for w in demo.sent)]


def _describe(write: SentWrite) -> str:
    if "text" in write.result:
        return f"{write.result.get('channel', '')} <- {write.result['text']}"
    args = ", ".join(f"{k}={dumps(v)}" for k, v in write.arguments.items())
    return f"{write.result.get('key', '')} <- {args}"


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "demo": _demo_command,
    "plan": _plan_command,
    "run": _run_command,
}

if __name__ == "__main__":
    sys.exit(main())
