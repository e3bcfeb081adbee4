"""The views of a turn's live progress: plain lines, nothing, or (when it is installed and wanted) rich.

A view is told to `~ProgressView.show` the calls that moved, each time the
turn's events have settled, and on a terminal a few times a second besides,
so that its clock moves (see `_play`).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import IO, Literal, Protocol, final

from ._progress import TurnProgress

__all__ = ["NoProgress", "PlainProgress", "ProgressMode", "ProgressView", "make_progress", "rich_available"]

ProgressMode = Literal["auto", "rich", "plain", "off"]


class ProgressView(Protocol):
    """Draws a `TurnProgress`; ``now`` is the time on Trio's clock."""

    ticks: bool
    """Whether it wants to be shown again as time passes, not only when a call moves."""

    def start(self, progress: TurnProgress) -> None: ...
    def show(self, progress: TurnProgress, moved: Sequence[int], now: float) -> None: ...
    def stop(self) -> None: ...


@final
class NoProgress:
    """``--progress off`` (and ``--json``): nothing."""

    ticks = False

    def start(self, progress: TurnProgress) -> None:
        pass

    def show(self, progress: TurnProgress, moved: Sequence[int], now: float) -> None:
        pass

    def stop(self) -> None:
        pass


@final
class PlainProgress:
    """One line per call each time it moves, with the turn's tally; for logs, pipes and terminals without rich.

    The first lines list every call; a call that moved more than once at one
    instant (queued, then granted at once) gets one line, for where it ended up.
    """

    ticks = False

    def __init__(self, out: IO[str]) -> None:
        self._out = out

    def start(self, progress: TurnProgress) -> None:
        print("progress, one line per call that moves (queued: for a slot of the limits named):", file=self._out)

    def show(self, progress: TurnProgress, moved: Sequence[int], now: float) -> None:
        if not moved:
            return
        width = max((len(row.call_id) for row in progress.rows), default=0)
        summary = progress.summary()
        lines = []
        for i in moved:
            row = progress.rows[i]
            at = row.since if row.since is not None else (progress.origin if progress.origin is not None else now)
            if row.progress is not None:
                at = row.progress.time  # it moved by reporting progress
            state = progress.state(i, at)  # as of its move: a retry's whole wait
            shown = f"{progress.shown(at):9.3f}"
            lines.append((float(shown), i, f"{shown} {progress.unit}  {row.call_id:<{width}}  {state:<30} {summary}"))
        for _, _, line in sorted(lines):  # in the order of the times shown, then of the calls
            print(line.rstrip(), file=self._out)
        self._out.flush()

    def stop(self) -> None:
        print(file=self._out, flush=True)


def rich_available() -> bool:
    """Whether the optional ``rich`` package (the ``cli`` extra) is installed."""
    return importlib.util.find_spec("rich") is not None


def make_progress(mode: ProgressMode, *, out: IO[str]) -> ProgressView:
    """The view for ``mode``: ``auto`` is ``rich`` on a terminal when it is installed, else ``plain``.

    Raises:
        RuntimeError: ``rich`` was asked for and is not installed.
    """
    if mode == "off":
        return NoProgress()
    wants_rich = mode == "rich" or (mode == "auto" and out.isatty() and rich_available())
    if not wants_rich:
        return PlainProgress(out)
    if not rich_available():
        raise RuntimeError("--progress rich needs the rich package: pip install 'trio_toolpar[cli]'")
    from ._rich import RichProgress

    return RichProgress(out)
