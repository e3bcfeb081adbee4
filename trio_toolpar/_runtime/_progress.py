"""One attempt's progress reports: to the instruments, and to the progress timeout they move on.

A tool reports through its `CallContext` (`CallContext.progress`), which
checks the report and hands it here. A report from Trio's own thread is
taken at once; one from another thread (a sync tool's) is handed to Trio's
thread with ``TrioToken.run_sync_soon``, which never waits and keeps the
reports in the order they were made, ahead of the thread's result. A report
after the attempt ended (a thread left running, a context kept by the tool)
is ignored: its call has its outcome, or a later attempt reports for it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Awaitable
from typing import TypeVar, final

import trio

from ._attempts import Silence
from ._call_run import CallRun
from ._instrument import Emitter

__all__ = ["AttemptProgress", "reporting"]

T = TypeVar("T")


@final
class AttemptProgress:
    """Where the progress of attempt ``attempt`` of ``run`` goes: a `Report` (see `CallContext`)."""

    __slots__ = ("_attempt", "_emit", "_run", "_silence", "_thread", "_token", "ended")

    def __init__(self, run: CallRun, attempt: int, *, emit: Emitter | None, silence: Silence | None) -> None:
        self._run = run
        self._attempt = attempt
        self._emit = emit
        self._silence = silence
        self._thread = threading.get_ident()
        self._token = trio.lowlevel.current_trio_token()
        self.ended = False

    def __call__(self, done: float, total: float | None, message: str | None) -> None:
        if threading.get_ident() == self._thread:
            self._heard(done, total, message)
            return
        with contextlib.suppress(trio.RunFinishedError):  # the run is over, and so is the attempt
            self._token.run_sync_soon(self._heard, done, total, message)

    def _heard(self, done: float, total: float | None, message: str | None) -> None:
        """In Trio's thread: restart the progress timeout, then tell the instruments."""
        if self.ended:
            return
        if self._silence is not None:
            self._silence.heard()
        if self._emit is not None:
            self._emit.progressed(self._run, self._attempt, done, total, message)


async def reporting(progress: AttemptProgress, attempt: Awaitable[T]) -> T:
    """``attempt``'s value; once it is over (however it ends), ``progress`` takes no more reports."""
    try:
        return await attempt
    finally:
        progress.ended = True
