"""The ``rich`` view of a running turn: a table of every call, redrawn in place on each outcome.

Imported only when the optional ``rich`` package (the ``cli`` extra) is
installed and asked for; see `_cli_views.make_progress`.
"""

from __future__ import annotations

from typing import IO, final

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from .._values._outcome import Outcome
from ._progress import READY, WAITING, TurnProgress

__all__ = ["RichProgress"]

_STYLE = {
    WAITING: "dim",
    READY: "bold cyan",
    "ok": "green",
    "error": "bold red",
    "timeout": "red",
    "cancelled": "yellow",
    "skipped": "yellow",
    "rejected": "magenta",
}


@final
class RichProgress:
    """A live table: each call's state, when its outcome came and why it is not ``ok``."""

    def __init__(self, out: IO[str], *, unit: str, console: Console | None = None) -> None:
        self._console = console if console is not None else Console(file=out)
        self._unit = unit
        self._at: dict[int, float] = {}
        self._live: Live | None = None
        self._clock = 0.0

    def start(self, progress: TurnProgress) -> None:
        self._live = Live(self.render(progress), console=self._console, auto_refresh=False, transient=True)
        self._live.start(refresh=True)

    def update(self, progress: TurnProgress, outcome: Outcome, at: float) -> None:
        self._clock = at
        for i, decided in enumerate(progress.outcomes):
            if decided is outcome:
                self._at[i] = at
        if self._live is not None:
            self._live.update(self.render(progress), refresh=True)

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def render(self, progress: TurnProgress) -> Group:
        """The table for ``progress`` as it stands."""
        table = Table(box=None, pad_edge=False, header_style="bold")
        for column in ("call", "tool", "state", f"at {self._unit}", "error_code"):
            table.add_column(column)
        for i, call_id in enumerate(progress.ids):
            state = progress.state(i)
            outcome = progress.outcomes[i]
            at = f"{self._at[i]:.3f}" if i in self._at else ""
            code = outcome.error_code.value if outcome is not None and outcome.error_code is not None else ""
            table.add_row(call_id, progress.tools[i], Text(state, style=_STYLE.get(state, "")), at, code)
        title = Text(f"{self._clock:.3f} {self._unit}: {progress.summary()}", style="bold")
        return Group(title, table)
