"""The ``trio-toolpar`` command: plan or run a turn of your own tools, or run the demo turn.

::

    trio-toolpar demo [--speed N | --virtual] [--policy ...] [--schedule ...] [--budget S] [--trace FILE] [--json]
    trio-toolpar plan CALLS.json --tools package.module:registry [--format ...] [--json]
    trio-toolpar run CALLS.json --tools package.module:registry [--limit name=N ...] [--trace FILE] [...]

Bad input (a missing file, bad JSON, a module that cannot be imported) ends
with one line on stderr and exit code 2. Ctrl-C ends the run with exit code
130: ``KeyboardInterrupt`` travels out of the library and ``trio.run`` as
itself and is only handled here, at the top. ``run`` exits 0 when every
call ended ``ok`` and 1 when any did not; ``plan`` exits 1 when planning
rejected a call (a cycle, an unknown tool, bad arguments); ``demo`` exits 0
once its turn has run, since its failures are part of the show.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import functools
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import IO

import trio
import trio.testing

from .._runtime._executor import Executor
from .._runtime._policy import BestEffort, FailFast, Policy
from .._runtime._result import TurnResult
from .._tools._registry import Registry
from .._values._convert import dumps
from .._values._outcome import ToolCall
from ._args import EXIT_USAGE, PROG, build_parser
from ._demo import SERVICE, Demo, SentWrite, build_demo
from ._input import UsageError, load_calls, load_registry
from ._progress import ProgressView, TurnProgress
from ._render import Report, count, plan_data, print_json, print_report, render_plan, rescaled
from ._trace import trace_events
from ._views import make_progress

__all__ = ["main", "trace_events"]

EXIT_OK = 0
EXIT_NOT_OK = 1
EXIT_INTERRUPTED = 130


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
    serial = demo.serial_seconds()
    with _trace_file(args.trace) as trace:
        _play(
            executor, demo.calls, report, args, trace=trace, extra=functools.partial(_write_lines, demo), serial=serial
        )
    return EXIT_OK


def _plan_command(args: argparse.Namespace) -> int:
    registry = load_registry(args.tools, app_dir=args.app_dir)
    _, calls = load_calls(args.calls, format=args.format, skip_unknown=args.skip_unknown)
    plan = Executor(registry).plan(calls)
    print(dumps(plan_data(plan)) if args.json else render_plan(plan))
    return EXIT_NOT_OK if plan.rejected else EXIT_OK


def _run_command(args: argparse.Namespace) -> int:
    registry = load_registry(args.tools, app_dir=args.app_dir)
    found, calls = load_calls(args.calls, format=args.format, skip_unknown=args.skip_unknown)
    _warn_unused_limits(registry, dict(args.limit), tools=args.tools)
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
        raise UsageError(str(exc)) from None
    report = _report(
        args,
        f"{PROG} run {args.calls}",
        f"{PROG} run: {count(len(calls), 'call')} ({found} format) from {args.calls} against {args.tools}",
        time_scale=1.0,
        unit="s",
    )
    with _trace_file(args.trace) as trace:
        result = _play(executor, calls, report, args, trace=trace, extra=None)
    return EXIT_OK if result.ok else EXIT_NOT_OK


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


def _play(
    executor: Executor,
    calls: Sequence[ToolCall],
    report: Report,
    args: argparse.Namespace,
    *,
    trace: IO[str] | None,
    extra: Callable[[], list[str]] | None,
    serial: float | None = None,
) -> TurnResult:
    """Run one turn in a fresh `trio.run` and print it; returns the result in the seconds shown."""
    try:
        view = make_progress("off" if report.json else args.progress, out=sys.stdout, unit=report.unit)
    except RuntimeError as exc:  # rich was asked for and is not installed
        raise UsageError(str(exc)) from None
    clock = trio.testing.MockClock(autojump_threshold=0) if args.virtual else None
    began = time.perf_counter()
    raw = trio.run(functools.partial(_run_turn, executor, calls, report, view), clock=clock)
    wall = time.perf_counter() - began
    result = rescaled(raw, 1.0 / report.time_scale)
    if trace is not None:
        trace.write(dumps(trace_events(result, executor.registry, name=report.name)))
    if report.json:
        print_json(result, sys.stdout)
        return result
    print_report(result, report, sys.stdout, extra=extra() if extra is not None else (), serial=serial)
    print(f"real wall time: {wall:.3f} s")
    return result


async def _run_turn(executor: Executor, calls: Sequence[ToolCall], report: Report, view: ProgressView) -> TurnResult:
    async with executor.stream(calls) as outcomes:
        turn = outcomes.turn
        if not report.json:
            # Printed once trio.run has started, so that Ctrl-C from here on reaches the running turn.
            for line in report.header:
                print(line)
            print()
            print(render_plan(turn.plan))
            print(flush=True)
        progress = TurnProgress(turn.plan, schedule=executor.schedule)
        origin = trio.current_time()
        view.start(progress)
        try:
            async for outcome in outcomes:
                progress.record(outcome)
                decided = outcome.finished_at if outcome.finished_at is not None else trio.current_time()
                view.update(progress, outcome, (decided - origin) / report.time_scale)
        finally:
            view.stop()
    return turn.result


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
