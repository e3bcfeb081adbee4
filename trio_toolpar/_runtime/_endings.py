"""What a turn's coordinator has yet to decide: its undecided calls, and the endings reported for them.

A call's task (or its approval's) does not decide how its call ended: it
reports the ending here (`Endings.report`) and wakes the coordinator, which
takes every ending reported since it last ran best rank first
(`Endings.take`) and decides each. So nothing is decided in whichever task
Trio happens to resume first at an instant: ties go by plan order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import final

from .._values._outcome import Verdict
from ._call_run import CallRun, CallState

__all__ = ["Ending", "Endings"]

Ending = tuple[int, int, int, float, CallRun, Verdict | None, object, Exception | None]
"""The call's rank (`CallRun.rank`, flat: tuples of ints compare in C); then when it ended, and how (reason,
value, exception)."""


@final
class Endings:
    """A turn's calls that have no outcome yet (``open``) and the endings their tasks reported.

    Args:
        wake: wakes the coordinator (called by the first report since it last took them).
        now: the turn's clock.
        turn: the turn's number, for its calls' ranks.
    """

    __slots__ = ("_inbox", "_now", "_wake", "open", "turn")

    def __init__(self, *, wake: Callable[[], None], now: Callable[[], float], turn: int) -> None:
        self._wake = wake
        self._now = now
        self.turn = turn
        """The turn's number (its calls' ranks begin with it)."""
        self._inbox: list[Ending] = []
        self.open = 0
        """Calls of the running phase not decided yet (reported or not)."""

    def report(
        self, run: CallRun, reason: Verdict | None, value: object = None, exception: Exception | None = None
    ) -> None:
        """A task says how ``run`` ended, now (``reason`` None: it returned ``value``).

        A task reports once, and only a call not decided yet (`CallRun.move` checks both).
        """
        run.move(CallState.REPORTED)
        inbox = self._inbox
        if not inbox:  # else the first report since the coordinator last took them has woken it already
            self._wake()
        inbox.append((*run.rank(self.turn), self._now(), run, reason, value, exception))

    def take(self) -> Iterator[Ending]:
        """The endings reported so far, best rank first, each removed as it is taken.

        One left untaken (the decision before it raised) stays for the next `take`.
        """
        inbox = self._inbox
        if len(inbox) > 1:
            inbox.sort(reverse=True)  # popped from the end: best rank first (ranks differ: no compare goes further)
        while inbox:
            yield inbox.pop()
