"""Instruments: observers of every turn an executor runs (`Instrument`), and how events reach them.

An executor built with ``instruments=[...]`` gives each turn an `Emitter`;
without instruments a turn has none, and each hook point costs one ``is
None`` test: no event is built. Events are delivered synchronously, in the
task where the step happens (a call's attempts in the call's own task), so
an instrument may set context variables for the tool to see, as the
OpenTelemetry edge does.

An instrument that raises an `Exception` is removed from the executor and
the failure is logged once, with its traceback, on the ``trio_toolpar``
logger; the turn carries on. ``Cancelled``, ``KeyboardInterrupt`` and any
other `BaseException` propagate (an instrument should not raise them: it
must not wait).

An instrument cannot wait: an ``async def on_event`` is refused when the
executor is built, and one that returns an awaitable anyway (a coroutine
from a sync function) is removed like one that raised, its coroutine closed
unrun. To do slow work, hand the events to a task of its own, e.g. through a
`trio.MemoryChannel`'s ``send_nowait``.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Protocol, TypedDict, final, runtime_checkable

import trio

from .._values._outcome import Status
from .._values._validate import check_type
from ._call_run import CallRun, CallState
from ._events import (
    AttemptEnded,
    AttemptStarted,
    CallFinished,
    CallGranted,
    CallProgressed,
    CallQueued,
    CallStarted,
    Event,
    ResourcePaused,
    RetryScheduled,
    TurnEnded,
    TurnStarted,
    WaveEnded,
    WaveStarted,
)

if TYPE_CHECKING:
    from ._attempts import Kind
    from ._journaling import Resumption
    from ._result import TurnResult

__all__ = ["Delivery", "Emitter", "Instrument", "delivery", "emitter"]

logger = logging.getLogger("trio_toolpar")


@runtime_checkable
class Instrument(Protocol):
    """An observer of turns: ``on_event`` is called with each `Event` as it happens.

    Match on the event's class (`TurnStarted`, `CallFinished`, ...) and
    ignore the others. ``on_event`` runs inside the turn, synchronously:
    keep it quick, and never wait in it (an ``async def on_event`` is
    refused; hand slow work to a task of your own).
    """

    def on_event(self, event: Event) -> None:
        """Observe one event."""
        ...


@final
class Delivery:
    """Delivers events to an executor's instruments; removes one that raises, and logs why once."""

    __slots__ = ("_instruments",)

    def __init__(self, instruments: Sequence[Instrument]) -> None:
        self._instruments = list(instruments)

    def __call__(self, event: Event) -> None:
        for instrument in tuple(self._instruments):
            try:
                observe: Callable[[Event], object] = instrument.on_event  # typed None; may return anything
                answer = observe(event)
            except Exception:  # an observer's bug must not change what the turn does
                self._instruments.remove(instrument)
                logger.exception(
                    "instrument %r raised on %s and was removed; the turn carries on without it",
                    instrument,
                    type(event).__name__,
                )
            else:
                if answer is not None and inspect.isawaitable(answer):
                    self._refuse(instrument, event, answer)

    def _refuse(self, instrument: Instrument, event: Event, answer: object) -> None:
        """Remove an instrument whose ``on_event`` returned an awaitable; close it if it is a coroutine."""
        self._instruments.remove(instrument)
        if inspect.iscoroutine(answer):
            answer.close()  # never run, and never warned about as "never awaited"
        logger.error(
            "instrument %r returned an awaitable from on_event(%s) and was removed: instruments are called "
            "synchronously inside the turn and must not wait (hand events to a task of your own with a "
            "trio.MemoryChannel's send_nowait)",
            instrument,
            type(event).__name__,
        )


def delivery(instruments: Iterable[Instrument] | None) -> Delivery | None:
    """The delivery to ``instruments``, or ``None`` when there are none (hooks then build nothing).

    Raises:
        TypeError: an instrument has no ``on_event`` method, or its ``on_event`` is async.
    """
    chosen = list(check_type("instruments", instruments, Iterable, allow_none=True) or ())
    for position, instrument in enumerate(chosen):
        check_type(f"instruments[{position}]", instrument, Instrument, expected="an Instrument (with on_event(event))")
        on_event = instrument.on_event
        if inspect.iscoroutinefunction(on_event) or inspect.isasyncgenfunction(on_event):
            raise TypeError(
                f"instrument {instrument!r} has an async on_event: instruments are called synchronously inside "
                "the turn and must not wait; make on_event a plain method, and to do slow work hand the events "
                "to a task of your own (e.g. with a trio.MemoryChannel's send_nowait)"
            )
    return Delivery(chosen) if chosen else None


class _CallFields(TypedDict):
    turn: int
    time: float
    index: int
    call_id: str
    tool: str
    resource: str | None


def emitter(delivery: Delivery | None, *, turn: int) -> Emitter | None:
    """The hook points of turn number ``turn``, or ``None`` without instruments."""
    return None if delivery is None else Emitter(delivery, turn=turn)


@final
class Emitter:
    """One turn's hook points: each method builds its event and delivers it.

    It observes each call's moves (see `CallRun.move`): queued, granted
    (the first grant also starts the call), decided. It remembers when each
    call was queued, to tell `CallGranted` how long the call waited, and
    which calls a resume replays, to mark their `CallFinished`.
    """

    __slots__ = ("_deliver", "_queued_at", "_replayed", "_turn")

    def __init__(self, delivery: Delivery, *, turn: int) -> None:
        self._deliver = delivery
        self._turn = turn
        self._queued_at: dict[int, float] = {}
        self._replayed: frozenset[int] = frozenset()
        """The indices of the calls whose outcomes a resume returns as recorded."""

    def turn_started(
        self, runs: Sequence[CallRun], *, budget: float | None, deadline: float, resumption: Resumption | None
    ) -> None:
        """The turn begins; ``resumption``: what an earlier run recorded, if the turn resumes."""
        if resumption is not None:
            self._replayed = frozenset(resumption.replayed)
        ids = tuple(run.call.id for run in runs)
        event = TurnStarted(
            turn=self._turn,
            time=trio.current_time(),
            budget=budget,
            deadline=deadline,
            call_ids=ids,
            resumed=resumption is not None,
        )
        self._deliver(event)

    def turn_ended(self, result: TurnResult, *, interrupted: bool) -> None:
        self._deliver(TurnEnded(turn=self._turn, time=trio.current_time(), result=result, interrupted=interrupted))

    def wave(self, number: int, indices: Sequence[int], runs: Sequence[CallRun], *, started: bool) -> None:
        """Wave ``number`` of a waves schedule began (``started``) or ended."""
        kind = WaveStarted if started else WaveEnded
        ids = tuple(runs[i].call.id for i in indices)
        self._deliver(kind(turn=self._turn, time=trio.current_time(), wave=number, call_ids=ids))

    def moved(self, run: CallRun, state: CallState) -> None:
        """Where a call's events come from: its moves through `CallState`."""
        now = trio.current_time()
        if state is CallState.QUEUED:
            self._queued_at[run.index] = now
            self._deliver(CallQueued(**self._call(run, now), attempt=run.attempts + 1))
        elif state is CallState.RUNNING:
            wait = now - self._queued_at.pop(run.index, now)
            self._deliver(CallGranted(**self._call(run, now), attempt=run.attempts + 1, queue_wait=wait))
            if run.attempts == 0:  # the first grant: the call's task starts now
                self._started(run, now)
        elif state is CallState.DONE:
            assert run.outcome is not None
            self._queued_at.pop(run.index, None)
            replayed = run.index in self._replayed
            self._deliver(CallFinished(**self._call(run, now), outcome=run.outcome, replayed=replayed))

    def _started(self, run: CallRun, now: float) -> None:
        assert run.resolved is not None
        self._deliver(
            CallStarted(
                **self._call(run, now), wave=run.wave, arguments=run.resolved, idempotency_key=run.idempotency_key
            )
        )

    def attempt_started(self, run: CallRun, attempt: int) -> None:
        self._deliver(AttemptStarted(**self._call(run, trio.current_time()), attempt=attempt))

    def attempt_ended(self, run: CallRun, attempt: int, kind: Kind, exception: Exception | None) -> None:
        status = Status(kind.value)
        self._deliver(
            AttemptEnded(**self._call(run, trio.current_time()), attempt=attempt, status=status, exception=exception)
        )

    def progressed(self, run: CallRun, attempt: int, done: float, total: float | None, message: str | None) -> None:
        event = CallProgressed(
            **self._call(run, trio.current_time()), attempt=attempt, done=done, total=total, message=message
        )
        self._deliver(event)

    def paused(self, run: CallRun, seconds: float) -> None:
        self._deliver(ResourcePaused(**self._call(run, trio.current_time()), seconds=seconds))

    def retry(self, run: CallRun, attempt: int, delay: float) -> None:
        self._deliver(RetryScheduled(**self._call(run, trio.current_time()), attempt=attempt, delay=delay))

    def _call(self, run: CallRun, now: float) -> _CallFields:
        tool = run.planned.tool if run.planned is not None else None
        return {
            "turn": self._turn,
            "time": now,
            "index": run.index,
            "call_id": run.call.id,
            "tool": run.call.tool,
            "resource": tool.resource if tool is not None else None,
        }
