"""The ``rich`` view of a running turn: the clock, each capped resource's queue, and a table of every call.

Imported only when the optional ``rich`` package (the ``cli`` extra) is
installed and asked for; see `_views.make_progress`. It is redrawn in place
when a call moves, and several times a second besides, so that its clock and
the countdown of a retry's wait move.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO, final

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from ._progress import Phase, TurnProgress

__all__ = ["RichProgress"]

_STYLE = {
    Phase.WAITING: "dim",
    Phase.QUEUED: "yellow",
    Phase.RUNNING: "bold cyan",
    Phase.RETRYING: "bold magenta",
}
_DONE_STYLE = {"ok": "green", "error": "bold red", "timeout": "red", "rejected": "magenta", "deferred": "blue"}


@final
class RichProgress:
    """A live table: each call's state and since when, under the clock and the queues of the capped resources."""

    ticks = True

    def __init__(self, out: IO[str], *, console: Console | None = None) -> None:
        self._console = console if console is not None else Console(file=out)
        self._live: Live | None = None

    def start(self, progress: TurnProgress) -> None:
        self._live = Live(console=self._console, auto_refresh=False, transient=True)
        self._live.start()

    def show(self, progress: TurnProgress, moved: Sequence[int], now: float) -> None:
        if self._live is not None:
            self._live.update(self.render(progress, now), refresh=True)

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def render(self, progress: TurnProgress, now: float) -> Group:
        """The view of ``progress`` at ``now`` (Trio's clock)."""
        unit = progress.unit
        title = Text(f"{progress.shown(now):.3f} {unit}  {progress.summary()}", style="bold")
        queues = [Text(f"  {line}") for line in progress.queues(now)]
        table = Table(box=None, pad_edge=False, header_style="bold")
        for column in ("call", "tool", "state", f"since {unit}"):
            table.add_column(column)
        for i, row in enumerate(progress.rows):
            style = _STYLE.get(row.phase, "")
            if row.outcome is not None:
                style = _DONE_STYLE.get(row.outcome.status.value, "yellow")
            since = "" if row.since is None else f"{progress.shown(row.since):.3f}"
            table.add_row(row.call_id, row.tool, Text(progress.state(i, now), style=style), since)
        return Group(title, *queues, table)
