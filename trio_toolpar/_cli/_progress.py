"""Live progress of a running turn for the ``trio-toolpar`` command: what is waiting, ready, done.

The command reads a turn's outcomes from `Executor.stream` as each one is
decided, and `TurnProgress` derives from them and the plan where every call
stands:

- ``waiting``: for other calls of the turn (its dependencies, calls it is
  ordered after, or, with the waves schedule, the earlier waves);
- ``ready``: nothing of the turn holds it back, so it is running, or queued
  for a capacity slot of its resource (the stream does not say which);
- done: its outcome's status.

A view redraws on each outcome: `PlainProgress` prints one line per outcome,
`RichProgress` (when the optional ``rich`` package is installed) redraws a
table in place.
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, Literal, Protocol, final

from .._values._outcome import Outcome

if TYPE_CHECKING:
    from .._planning._plan import Plan
    from .._runtime._settings import Schedule

__all__ = ["NoProgress", "PlainProgress", "ProgressMode", "ProgressView", "TurnProgress"]

ProgressMode = Literal["auto", "rich", "plain", "off"]
WAITING = "waiting"
READY = "ready"


@final
class TurnProgress:
    """Where each call of a planned turn stands, updated with each outcome as it is decided."""

    def __init__(self, plan: Plan, *, schedule: Schedule) -> None:
        self.ids = tuple(pc.call.id for pc in plan.calls)
        self.tools = tuple(pc.call.tool for pc in plan.calls)
        self._before = [set(pc.predecessors) for pc in plan.calls]
        if schedule == "waves":
            # A wave starts once every earlier wave is drained.
            earlier: set[int] = set()
            for wave in plan.waves:
                for index in wave:
                    self._before[index] |= earlier
                earlier |= set(wave)
        self.outcomes: list[Outcome | None] = [None] * len(self.ids)

    def record(self, outcome: Outcome) -> None:
        """Note ``outcome`` (of the first not yet decided call with its id)."""
        for i, call_id in enumerate(self.ids):
            if call_id == outcome.call_id and self.outcomes[i] is None:
                self.outcomes[i] = outcome
                return

    def state(self, index: int) -> str:
        """``waiting``, ``ready``, or the status the call ended with."""
        outcome = self.outcomes[index]
        if outcome is not None:
            return outcome.status.value
        return READY if all(self.outcomes[p] is not None for p in self._before[index]) else WAITING

    def ids_in(self, state: str) -> list[str]:
        """The ids of the calls in ``state``, in emission order."""
        return [call_id for i, call_id in enumerate(self.ids) if self.state(i) == state]

    @property
    def done(self) -> int:
        """How many calls have their outcome."""
        return sum(o is not None for o in self.outcomes)

    def summary(self) -> str:
        """``3/11 done, 6 ready, 2 waiting``."""
        ready, waiting = len(self.ids_in(READY)), len(self.ids_in(WAITING))
        return f"{self.done}/{len(self.ids)} done, {ready} ready, {waiting} waiting"


class ProgressView(Protocol):
    """Shows a `TurnProgress`; ``at`` is the time shown, in the report's unit, from the turn's start."""

    def start(self, progress: TurnProgress) -> None: ...
    def update(self, progress: TurnProgress, outcome: Outcome, at: float) -> None: ...
    def stop(self) -> None: ...


@final
class NoProgress:
    def start(self, progress: TurnProgress) -> None:
        pass

    def update(self, progress: TurnProgress, outcome: Outcome, at: float) -> None:
        pass

    def stop(self) -> None:
        pass


@final
class PlainProgress:
    """One line per decided call, with the turn's tally; for logs, pipes and terminals without ``rich``."""

    def __init__(self, out: IO[str], *, unit: str) -> None:
        self._out = out
        self._unit = unit
        self._width = 0

    def start(self, progress: TurnProgress) -> None:
        self._width = max((len(i) for i in progress.ids), default=0)
        ready, waiting = progress.ids_in(READY), progress.ids_in(WAITING)
        print("progress (ready: running or queued for a capacity slot; waiting: for other calls):", file=self._out)
        line = f"{0.0:9.3f} {self._unit}  start: {len(ready)} ready ({', '.join(ready)})"
        if waiting:
            line += f", {len(waiting)} waiting ({', '.join(waiting)})"
        print(line, file=self._out, flush=True)

    def update(self, progress: TurnProgress, outcome: Outcome, at: float) -> None:
        status = outcome.status.value + (f" ({outcome.error_code.value})" if outcome.error_code else "")
        line = f"{at:9.3f} {self._unit}  {outcome.call_id:<{self._width}}  {status:<26} {progress.summary()}"
        print(line.rstrip(), file=self._out, flush=True)

    def stop(self) -> None:
        print(file=self._out, flush=True)
