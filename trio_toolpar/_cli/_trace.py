"""A turn as Chrome trace events, for Perfetto (ui.perfetto.dev) and ``chrome://tracing``.

`trace_events` writes the "JSON Object Format" of the Trace Event Format:
``{"traceEvents": [...], "displayTimeUnit": "ms"}``. The turn is one process
(``pid`` 1); each call that ran is a complete event (``"ph": "X"``) whose
``ts`` and ``dur`` are microseconds from the turn's start, on a track of the
call's resource (a call whose tool has no resource, or is not registered, is
on a track named by its tool). Perfetto requires the slices of one track to
nest, and calls on one resource overlap without nesting, so a resource gets
as many tracks as it had calls running at once: ``datadog``,
``datadog (2)``, ... — one per capacity slot in use. A call that never
started (``skipped``, ``rejected``) is an instant event (``"ph": "i"``) at the
moment its outcome was decided, so the trace holds every call of the turn.
A call that waited for capacity also has a ``queued`` slice (``"cat":
"queued"``) from ``queued_at`` to its start (or to its outcome, if it never
started), on a track of its resource's queue: ``datadog queued``,
``datadog queued (2)``, ... — one per call waiting at once. Track names are
metadata events (``"ph": "M"``, ``thread_name``), and each event's ``args``
hold the call's id, tool, status, error code, attempts, wave and
``queue_wait_ms`` (``null``: it needed no limit). A resumed durable turn's
slice also holds its ``turn_id``, ``resumed`` and the ids it ``replayed``
(those calls are instants at the turn's start: they did not run in it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .._runtime._result import TurnResult
from .._tools._registry import Registry
from .._values._outcome import Outcome
from .._values._timeline import first_wait

__all__ = ["PID", "TURN_TID", "trace_events"]

PID = 1
"""The process id of the turn in the trace."""
TURN_TID = 0
"""The track of the turn's own span."""


def trace_events(result: TurnResult, registry: Registry, *, name: str = "turn") -> dict[str, Any]:
    """``result`` as a trace-event JSON object (plain data; ``json.dumps`` it).

    Args:
        result: the turn.
        registry: the tools the turn ran, for each call's resource.
        name: the process name shown for the turn.
    """
    origin = result.started_at
    tracks = _Tracks()
    events: list[dict[str, Any]] = [
        _complete(name, "turn", TURN_TID, 0.0, _micros(result.finished_at - origin), _turn_args(result)),
    ]
    for outcome in _by_start(result.outcomes):
        track = _track_of(outcome, registry)
        args = _call_args(outcome)
        if outcome.started_at is None:
            decided = origin if outcome.finished_at is None else outcome.finished_at
            tid = tracks.lane(track)
            events.append(_instant(outcome.call_id, tid, _micros(decided - origin), args))
            continue
        finished = outcome.started_at if outcome.finished_at is None else outcome.finished_at
        start, end = _micros(outcome.started_at - origin), _micros(finished - origin)
        tid = tracks.lane(track, start, end)
        events.append(_complete(outcome.call_id, "call", tid, start, end - start, args))
    for outcome, queued, until in _waits(result.outcomes):
        start, end = _micros(queued - origin), _micros(until - origin)
        tid = tracks.lane(f"{_track_of(outcome, registry)} queued", start, end)
        events.append(_complete(outcome.call_id, "queued", tid, start, end - start, _call_args(outcome)))
    return {"traceEvents": [*_metadata(name, tracks), *events], "displayTimeUnit": "ms"}


class _Tracks:
    """Track (thread) ids: one per resource, and one more each time a call would overlap the others on it."""

    def __init__(self) -> None:
        self.names: dict[int, str] = {TURN_TID: "turn"}
        self._lanes: dict[str, list[tuple[int, float]]] = {}  # per track name: (tid, end of its last slice)

    def lane(self, track: str, start: float | None = None, end: float = 0.0) -> int:
        """The tid for a slice from ``start`` to ``end`` on ``track``; with no ``start``, for an instant."""
        lanes = self._lanes.setdefault(track, [])
        if start is None:
            return lanes[0][0] if lanes else self._add(track, lanes, 0.0)
        for n, (tid, busy_until) in enumerate(lanes):
            if busy_until <= start:
                lanes[n] = (tid, end)
                return tid
        return self._add(track, lanes, end)

    def _add(self, track: str, lanes: list[tuple[int, float]], busy_until: float) -> int:
        tid = len(self.names)
        self.names[tid] = track if not lanes else f"{track} ({len(lanes) + 1})"
        lanes.append((tid, busy_until))
        return tid


def _by_start(outcomes: Iterable[Outcome]) -> list[Outcome]:
    # Lanes are filled in order of start, so that a slice only ever waits for earlier ones; of slices that
    # start together a zero-length one goes first, as it frees its lane at once (then plan order).
    return sorted(outcomes, key=lambda o: (o.started_at is None, o.started_at or 0.0, o.finished_at != o.started_at))


def _waits(outcomes: Iterable[Outcome]) -> list[tuple[Outcome, float, float]]:
    """Each wait for capacity that lasted: (outcome, queued at, waited until), in the order the waits began."""
    waits = [
        (outcome, *wait) for outcome in outcomes if (wait := first_wait(outcome)) is not None and wait[1] > wait[0]
    ]
    return sorted(waits, key=lambda wait: wait[1])


def _track_of(outcome: Outcome, registry: Registry) -> str:
    tool = registry.get(outcome.tool)
    if tool is not None and tool.resource is not None:
        return tool.resource
    return outcome.tool or "(no tool)"


def _micros(seconds: float) -> float:
    return round(max(seconds, 0.0) * 1_000_000, 3)


def _metadata(name: str, tracks: _Tracks) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [{"name": "process_name", "ph": "M", "pid": PID, "tid": 0, "args": {"name": name}}]
    for tid, track in tracks.names.items():
        events.append({"name": "thread_name", "ph": "M", "pid": PID, "tid": tid, "args": {"name": track}})
        events.append({"name": "thread_sort_index", "ph": "M", "pid": PID, "tid": tid, "args": {"sort_index": tid}})
    return events


def _complete(name: str, category: str, tid: int, ts: float, dur: float, args: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "cat": category, "ph": "X", "ts": ts, "dur": dur, "pid": PID, "tid": tid, "args": args}


def _instant(name: str, tid: int, ts: float, args: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "cat": "not started", "ph": "i", "s": "t", "ts": ts, "pid": PID, "tid": tid, "args": args}


def _call_args(outcome: Outcome) -> dict[str, Any]:
    return {
        "call_id": outcome.call_id,
        "tool": outcome.tool,
        "status": outcome.status.value,
        "error_code": None if outcome.error_code is None else outcome.error_code.value,
        "attempts": outcome.attempts,
        "wave": outcome.wave,
        "latency_ms": outcome.latency_ms,
        "queue_wait_ms": _queue_wait_ms(outcome),
        "error": outcome.error,
    }


def _queue_wait_ms(outcome: Outcome) -> float | None:
    wait = first_wait(outcome)
    return None if wait is None else round(max(wait[1] - wait[0], 0.0) * 1000, 3)


def _turn_args(result: TurnResult) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for outcome in result.outcomes:
        counts[outcome.status.value] = counts.get(outcome.status.value, 0) + 1
    args: dict[str, Any] = {"calls": len(result.outcomes), "ok": result.ok, "statuses": counts}
    if result.resumed:  # a durable turn gone on from its journal: its replayed calls did not run in it
        args.update(turn_id=result.turn_id, resumed=True, replayed=list(result.replayed))
    return args
