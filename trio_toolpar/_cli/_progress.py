"""Live progress of a running turn for the ``trio-toolpar`` command: where each call stands, from the turn's events.

`TurnProgress` is an instrument of the command's executor (see
`trio_toolpar.Instrument`). From the turn's events it keeps, for each call,
one of these phases:

- ``waiting``: for other calls of the turn (those it needs or is ordered
  after) or, under the waves schedule, for its wave to begin;
- ``queued``: ready, and waiting for a slot of the limits it takes
  (`CallQueued`): its resource's ``--limit``, ``--max-concurrency``;
- ``running``: it holds its capacity and an attempt runs (`CallGranted`),
  with the attempt's latest progress report, if it made one (`CallProgressed`);
- ``retrying``: an attempt failed, and the next one waits out its backoff
  holding no capacity (`RetryScheduled`), then queues again;
- ``done``: it has its outcome (`CallFinished`; ``, replayed`` after it when the
  outcome was replayed from the turn's journal).

It only records: the views (`_views`, `_rich`) draw it from the command's own
task, never inside the turn, and `changed` is set whenever a call moves.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, final

import attrs
import trio

from .._runtime._events import (
    CallFinished,
    CallGranted,
    CallProgressed,
    CallQueued,
    Event,
    ResourcePaused,
    RetryScheduled,
    TurnStarted,
    WaveStarted,
)
from .._values._outcome import Outcome

if TYPE_CHECKING:
    from .._planning._plan import Plan
    from .._runtime._settings import Schedule

__all__ = ["CallRow", "Phase", "TurnProgress"]

MAX_MESSAGE = 40
"""Characters of a progress message shown; the rest is cut."""
MAX_CONCURRENCY = "max-concurrency"
"""How a queued call names the cap on all calls at once (the option that sets it)."""


class Phase(enum.Enum):
    """Where a call stands, as the progress shows it (see the module's docstring)."""

    WAITING = "waiting"
    QUEUED = "queued"
    RUNNING = "running"
    RETRYING = "retrying"
    DONE = "done"


@final
@attrs.define(kw_only=True)
class CallRow:
    """One call's line of the progress, moved by its events (mutable: it lives as long as the turn)."""

    call_id: str
    tool: str
    resource: str | None
    before: tuple[int, ...]
    """The calls that must end before it may start: those it needs, or is ordered after."""
    wave: int | None
    weight: int = 1
    """The units of each limit it takes."""
    phase: Phase = Phase.WAITING
    since: float | None = None
    """When it entered its phase, on Trio's clock (``None``: it has waited since the turn began)."""
    attempt: int = 1
    retry_at: float | None = None
    outcome: Outcome | None = None
    replayed: bool = False
    """Its outcome was replayed from the turn's journal: it did not run in this turn."""
    progress: CallProgressed | None = None
    """The running attempt's latest progress report."""


@final
class TurnProgress:
    """Where each call of one turn stands, and how long each capped resource's queue is.

    Args:
        limits: the caps by resource, as the executor has them.
        max_concurrency: the cap on all calls at once, if any.
        schedule: the executor's schedule (under ``"waves"`` a call also waits for its wave).
        time_scale: seconds on Trio's clock per second shown.
        unit: the unit of the seconds shown.
    """

    def __init__(
        self,
        *,
        limits: Mapping[str, int],
        max_concurrency: int | None,
        schedule: Schedule,
        time_scale: float = 1.0,
        unit: str = "s",
    ) -> None:
        self.limits = dict(limits)
        self.max_concurrency = max_concurrency
        self.schedule = schedule
        self.time_scale = time_scale
        self.unit = unit
        self.rows: list[CallRow] = []
        self.origin: float | None = None
        """When the turn began, on Trio's clock."""
        self.wave = -1
        """The wave running now (waves schedule)."""
        self.paused_until: dict[str, float] = {}
        self.changed = trio.Event()
        self._moved: dict[int, None] = {}  # the rows that moved since `take_moved`, in the order they moved
        # Kept as calls move, so that a view of a turn of thousands of calls costs one pass, not one per call.
        self._counts = dict.fromkeys(Phase, 0)
        self._held: dict[str, int] = {}  # units of each limit held by the calls running

    def watch(self, plan: Plan) -> None:
        """Show the calls of ``plan``, each waiting, until its events say otherwise."""
        self.rows = [
            CallRow(
                call_id=pc.call.id,
                tool=pc.call.tool,
                resource=pc.tool.resource if pc.tool is not None else None,
                before=pc.predecessors,
                wave=pc.generation,
                weight=pc.tool.weight if pc.tool is not None else 1,
            )
            for pc in plan.calls
        ]
        self._counts = dict.fromkeys(Phase, 0) | {Phase.WAITING: len(self.rows)}
        self._held = {}
        self._moved = dict.fromkeys(range(len(self.rows)))  # the first view lists every call
        self.changed.set()

    # -- the instrument ----------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        """Move the call an event is about; note when the turn, a wave or a pause began."""
        if isinstance(event, TurnStarted):
            self.origin = event.time
        elif isinstance(event, WaveStarted):
            self.wave = event.wave
        elif isinstance(event, CallQueued):
            self._move(event.index, Phase.QUEUED, event.time, attempt=event.attempt)
        elif isinstance(event, CallGranted):
            self._move(event.index, Phase.RUNNING, event.time, attempt=event.attempt)
        elif isinstance(event, RetryScheduled):
            row = self._move(event.index, Phase.RETRYING, event.time, attempt=event.attempt + 1)
            if row is not None:
                row.retry_at = event.time + event.delay
        elif isinstance(event, CallFinished):
            row = self._move(event.index, Phase.DONE, event.time)
            if row is not None:
                row.outcome, row.replayed = event.outcome, event.replayed
        elif isinstance(event, CallProgressed):
            self._progressed(event)
        elif isinstance(event, ResourcePaused) and event.resource is not None:
            self.paused_until[event.resource] = event.time + event.seconds
            self.changed.set()

    def _move(self, index: int, phase: Phase, at: float, *, attempt: int | None = None) -> CallRow | None:
        if index >= len(self.rows):  # not a call of the plan watched: nothing to show
            return None
        row = self.rows[index]
        if row.phase is Phase.RUNNING:
            self._hold(row, -row.weight)
        if phase is Phase.RUNNING:
            self._hold(row, row.weight)
        self._counts[row.phase] -= 1
        self._counts[phase] += 1
        row.phase, row.since, row.progress = phase, at, None
        if attempt is not None:
            row.attempt = attempt
        self._moved[index] = None
        self.changed.set()
        return row

    def _progressed(self, event: CallProgressed) -> None:
        if event.index >= len(self.rows) or self.rows[event.index].phase is not Phase.RUNNING:
            return  # not a call of the plan watched, or a report that came after its attempt
        self.rows[event.index].progress = event
        self._moved[event.index] = None
        self.changed.set()

    def _hold(self, row: CallRow, units: int) -> None:
        for name in self._limits(row):
            self._held[name] = self._held.get(name, 0) + units

    def take_moved(self) -> list[int]:
        """The rows that moved since the last call, in the order they first moved; `changed` is cleared."""
        moved, self._moved = list(self._moved), {}
        self.changed = trio.Event()
        return moved

    # -- what the views show -----------------------------------------------------------

    def shown(self, at: float) -> float:
        """Trio's clock time ``at`` in the seconds shown, from the turn's start."""
        return 0.0 if self.origin is None else max(at - self.origin, 0.0) / self.time_scale

    def state(self, index: int, now: float) -> str:
        """What call ``index`` is doing at ``now``: ``queued for api``, ``retrying: attempt 2 in 1.5 s``, ``ok``..."""
        row = self.rows[index]
        again = f" (attempt {row.attempt})" if row.attempt > 1 else ""
        if row.phase is Phase.DONE:
            assert row.outcome is not None
            code = row.outcome.error_code
            ended = row.outcome.status.value + (f" ({code.value})" if code is not None else "")
            return f"{ended}, replayed" if row.replayed else ended
        if row.phase is Phase.RUNNING:
            return "running" + again + (_progress_text(row.progress) if row.progress is not None else "")
        if row.phase is Phase.QUEUED:
            limits = self.limits_of(row)
            return ("queued for " + ", ".join(limits) if limits else "queued") + again
        if row.phase is Phase.RETRYING:
            left = (row.retry_at if row.retry_at is not None else now) - now
            return f"retrying: attempt {row.attempt} in {max(left, 0.0) / self.time_scale:.3f} {self.unit}"
        return self._waiting(row)

    def _waiting(self, row: CallRow) -> str:
        pending = [self.rows[i].call_id for i in row.before if self.rows[i].phase is not Phase.DONE]
        if pending:
            return "waiting for " + ", ".join(pending[:2]) + (f" +{len(pending) - 2}" if len(pending) > 2 else "")
        if self.schedule == "waves" and row.wave is not None and row.wave > self.wave:
            return f"waiting for wave {row.wave}"
        return "waiting"

    def limits_of(self, row: CallRow) -> list[str]:
        """The limits a queued call waits for: those of its limits that are full, else all of them.

        Its limits are its resource's cap and the cap on all calls; a limit is
        full when the calls running on it leave less than the call's weight.
        """
        names = self._limits(row)
        full = [name for name in names if self._held.get(name, 0) + row.weight > self._cap(name)]
        return full or names

    def _limits(self, row: CallRow) -> list[str]:
        names = [row.resource] if row.resource is not None and row.resource in self.limits else []
        return [*names, MAX_CONCURRENCY] if self.max_concurrency is not None else names

    def _cap(self, name: str) -> int:
        if name == MAX_CONCURRENCY:
            assert self.max_concurrency is not None
            return self.max_concurrency
        return self.limits[name]

    def count(self, phase: Phase) -> int:
        """How many calls are in ``phase``."""
        return self._counts[phase]

    def summary(self) -> str:
        """``2/5 done, 1 running, 2 queued (api 2)``: the phases with any call in them, and who the queued wait for."""
        parts = [f"{self.count(Phase.DONE)}/{len(self.rows)} done"]
        for phase in (Phase.RUNNING, Phase.QUEUED, Phase.RETRYING, Phase.WAITING):
            n = self.count(phase)
            if not n:
                continue
            depths = self._queue_depths() if phase is Phase.QUEUED else {}
            waits = ", ".join(f"{name} {depth}" for name, depth in sorted(depths.items()))
            parts.append(f"{n} {phase.value}" + (f" ({waits})" if waits else ""))
        return ", ".join(parts)

    def _queue_depths(self) -> dict[str, int]:
        """How many queued calls wait for each limit (a call may wait for two)."""
        depths: dict[str, int] = {}
        if self.count(Phase.QUEUED):
            for row in self.rows:
                if row.phase is Phase.QUEUED:
                    for name in self.limits_of(row):
                        depths[name] = depths.get(name, 0) + 1
        return depths

    def queues(self, now: float) -> list[str]:
        """Per capped resource: ``api: 1/1 running, 2 queued``; and a pause, while one lasts."""
        lines = []
        depths = self._queue_depths()
        for name in [*sorted(self.limits), *([MAX_CONCURRENCY] if self.max_concurrency is not None else [])]:
            line = f"{name}: {self._held.get(name, 0)}/{self._cap(name)} running, {depths.get(name, 0)} queued"
            until = self.paused_until.get(name, -math.inf)
            if until > now:
                line += f", paused for {(until - now) / self.time_scale:.3f} {self.unit}"
            lines.append(line)
        return lines


def _progress_text(event: CallProgressed) -> str:
    """``: 3/10 page 3``: how far the attempt has come, and its message on one short line."""
    count = f"{event.done:g}" if event.total is None else f"{event.done:g}/{event.total:g}"
    if event.message is None:
        return f": {count}"
    message = " ".join(event.message.split())
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 3] + "..."
    return f": {count} {message}"
