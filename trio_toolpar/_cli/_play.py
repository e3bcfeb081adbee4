"""Running one turn for the ``trio-toolpar`` command: its live progress, Ctrl-C, and the report.

``trio.run`` runs the turn beside two helpers: the view of its progress,
shown each time the turn's events settle (and, on a terminal, eight times a
second, so that the clock moves), and a watcher of Ctrl-C.

Ctrl-C (SIGINT) while the turn runs is its caller cancelling it: the turn's
result still holds every outcome — those that finished, the calls still
running ``cancelled`` and the calls not started ``skipped``, both with code
``cancelled``, as the library reports any turn its caller cancels — and the
command prints or writes that result as it would any other (``--json``,
``--trace``) and exits 130. A tool may take its time to wind down (a
shielded cleanup, a sync tool in its thread); a second Ctrl-C quits at once,
without its result, with the same code.

With a journal (``run --journal``) the turn is durable: its executor's
journal is closed as the run ends, and a journal that refuses the turn
(`TurnBusy`, `TurnMismatch`) or cannot be used is a usage error, told in
one line: nothing ran.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import IO, final

import attrs
import trio
import trio.testing

from .._journal._records import TurnBusy, TurnMismatch
from .._runtime._exception_groups import collapse
from .._runtime._executor import Executor
from .._runtime._result import TurnResult
from .._runtime._settings import Schedule
from .._values._convert import dumps
from .._values._outcome import ToolCall
from ._args import EXIT_INTERRUPTED, PROG
from ._input import UsageError
from ._progress import TurnProgress
from ._render import Report, print_json, print_report, render_plan, rescaled
from ._trace import trace_events
from ._views import NoProgress, ProgressMode, ProgressView, make_progress

__all__ = ["TICK", "Played", "play", "progress_for", "show_progress"]

TICK = 0.125
"""Seconds between redraws of a view that ticks (rich), when no call moves: its clock moves 8 times a second."""


@final
@attrs.frozen(kw_only=True)
class Played:
    """How a turn went: its result (times from its start, in the seconds shown), and whether Ctrl-C stopped it."""

    result: TurnResult
    interrupted: bool


def progress_for(
    mode: ProgressMode,
    *,
    report: Report,
    limits: Mapping[str, int],
    max_concurrency: int | None,
    schedule: Schedule,
) -> tuple[TurnProgress | None, ProgressView]:
    """The progress to give the executor as an instrument (``None``: none is shown), and its view.

    Raises:
        RuntimeError: ``rich`` was asked for and is not installed.
    """
    view = make_progress("off" if report.json else mode, out=sys.stdout)
    if isinstance(view, NoProgress):
        return None, view
    progress = TurnProgress(
        limits=limits,
        max_concurrency=max_concurrency,
        schedule=schedule,
        time_scale=report.time_scale,
        unit=report.unit,
    )
    return progress, view


def play(
    executor: Executor,
    calls: Sequence[ToolCall],
    report: Report,
    *,
    progress: TurnProgress | None,
    view: ProgressView,
    virtual: bool,
    trace: IO[str] | None,
    extra: Callable[[], list[str]] | None = None,
    serial: float | None = None,
    turn_id: str | None = None,
) -> Played:
    """Run one turn in a fresh `trio.run`, then print it (and write its trace); see the module's docstring.

    ``progress`` must be one of ``executor``'s instruments. The executor's
    journal, if any, is closed before `trio.run` returns (``turn_id``: the
    turn's id in it).
    """
    clock = trio.testing.MockClock(autojump_threshold=0) if virtual else None
    ticking = view.ticks and not virtual  # on a virtual clock the whole turn takes a few milliseconds
    began = time.perf_counter()
    raw, interrupted = trio.run(
        functools.partial(_run, executor, calls, report, progress, view, ticking=ticking, turn_id=turn_id), clock=clock
    )
    wall = time.perf_counter() - began
    result = rescaled(raw, 1.0 / report.time_scale)
    if trace is not None:
        trace.write(dumps(trace_events(result, executor.registry, name=report.name)))
    if report.json:
        print_json(result, sys.stdout)
    else:
        print_report(result, report, sys.stdout, extra=extra() if extra is not None else (), serial=serial)
        print(f"real wall time: {wall:.3f} s", flush=True)
    return Played(result=result, interrupted=interrupted)


async def _run(
    executor: Executor,
    calls: Sequence[ToolCall],
    report: Report,
    progress: TurnProgress | None,
    view: ProgressView,
    *,
    ticking: bool,
    turn_id: str | None,
) -> tuple[TurnResult, bool]:
    turn = executor.turn(calls, turn_id=turn_id)
    stop = trio.CancelScope()  # the caller's scope around the turn: Ctrl-C cancels it
    journal = executor.journal
    try:
        async with _closing(journal), trio.open_nursery() as nursery:
            await nursery.start(_watch_ctrl_c, stop)
            if not report.json:
                # Printed once Ctrl-C is watched for, so that from here on it stops the turn.
                print("\n".join((*report.header, "", render_plan(turn.plan), "")), flush=True)
            if progress is not None:
                progress.watch(turn.plan)
                nursery.start_soon(show_progress, progress, view, ticking)
            try:
                with stop:
                    await turn.run()
            except (TurnBusy, TurnMismatch) as exc:  # refused before anything ran
                raise UsageError(f"journal: {exc}") from None
            except (OSError, sqlite3.Error) as exc:  # the journal's: a tool's errors are its outcome
                raise UsageError(f"the turn's journal could not be used: {exc}") from None
            nursery.cancel_scope.cancel()  # the helpers: the view shows the last moves as it stops
    except BaseExceptionGroup as group:  # a tool's KeyboardInterrupt, as itself: see collapse
        raise collapse(group) from None
    return turn.result, stop.cancelled_caught


def _closing(journal: object) -> contextlib.AbstractAsyncContextManager[object]:
    """``journal`` itself, if it is an async context manager (`SqliteJournal`): closed as the turn ends."""
    if isinstance(journal, contextlib.AbstractAsyncContextManager):
        return journal
    return contextlib.nullcontext()


async def _watch_ctrl_c(
    stop: trio.CancelScope, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    if threading.current_thread() is not threading.main_thread():
        task_status.started()  # signals reach the main thread only: Ctrl-C stays a KeyboardInterrupt
        return
    with trio.open_signal_receiver(signal.SIGINT) as signals:
        task_status.started()
        async for _ in signals:
            if not stop.cancel_called:
                print(f"{PROG}: interrupted: cancelling the turn (Ctrl-C again to quit at once)", file=sys.stderr)
                stop.cancel()
                continue
            # Trio cannot leave a task behind, and a tool still winding down holds the run open.
            print(f"{PROG}: interrupted again: quitting without waiting for the tools", file=sys.stderr)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(EXIT_INTERRUPTED)


async def show_progress(progress: TurnProgress, view: ProgressView, ticking: bool) -> None:
    """Show `progress` each time its calls move and their instant has settled, and every `TICK` if ``ticking``."""
    view.start(progress)
    try:
        while True:
            with trio.move_on_after(TICK if ticking else math.inf):
                await progress.changed.wait()
            if progress.changed.is_set():
                # Let every task woken at this instant act first: a call queued and granted at once
                # is shown once, running, and the lines do not depend on the order Trio ran them in.
                await trio.testing.wait_all_tasks_blocked()
            view.show(progress, progress.take_moved(), trio.current_time())
    finally:
        view.show(progress, progress.take_moved(), trio.current_time())
        view.stop()
