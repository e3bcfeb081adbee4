"""Text renderings of a turn: an outcomes table and a timeline.

A resumed durable turn's replayed calls (given by id) are marked in both:
their outcomes' times are those of the run that recorded them, on that
run's clock, so neither shows them against this turn's.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from ._outcome import Outcome, Status
from ._render import clean_text

__all__ = ["first_wait", "render_table", "render_timeline", "replayed_flags"]

_MARK = {"ok": "█", "error": "▓", "timeout": "▒", "cancelled": "░"}
_QUEUED = "╌"
"""A column of a call's wait for capacity."""
_REPLAYED = "↺"
"""The first column of a call replayed from a journal."""
_IN_DOUBT = "?"
"""The first column of a call in doubt: it started in an earlier run of the turn, which did not record its end."""


def replayed_flags(outcomes: Sequence[Outcome], replayed: Collection[str]) -> list[bool]:
    """Whether each outcome was replayed: the first with each id of ``replayed`` (a repeated id is not)."""
    left = set(replayed)
    flags = []
    for o in outcomes:
        flags.append(o.call_id in left)
        left.discard(o.call_id)
    return flags


def render_table(outcomes: Sequence[Outcome], *, started_at: float, replayed: Collection[str] = ()) -> str:
    """One line per call: id, tool, status, code, wave, attempts, start, latency; and, if any call was
    ``replayed`` (ids), which."""
    header: tuple[str, ...] = ("call", "tool", "status", "error_code", "wave", "tries", "start s", "latency ms")
    if replayed:
        header += ("replayed",)
    rows = [header]
    for o, again in zip(outcomes, replayed_flags(outcomes, replayed), strict=True):
        row = (
            o.call_id,
            o.tool,
            o.status.value,
            o.error_code.value if o.error_code else "",
            "" if o.wave is None else str(o.wave),
            str(o.attempts),
            "" if o.started_at is None or again else f"{o.started_at - started_at:.3f}",
            f"{o.latency_ms:.1f}",
        )
        rows.append((*row, "yes" if again else "") if replayed else row)
    widths = [max(len(row[c]) for row in rows) for c in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return clean_text("\n".join(lines))  # ids and tool names are the model's text


def first_wait(outcome: Outcome) -> tuple[float, float] | None:
    """When the call's wait for capacity before its first attempt began and ended (at its start, or at its
    outcome if it never started); ``None`` if it needed no limit."""
    until = outcome.started_at if outcome.started_at is not None else outcome.finished_at
    if outcome.queued_at is None or until is None:
        return None
    return outcome.queued_at, until


def render_timeline(
    outcomes: Sequence[Outcome],
    *,
    started_at: float,
    elapsed: float,
    width: int = 60,
    replayed: Collection[str] = (),
) -> str:
    """A Gantt chart on Trio's clock: one row per call, ``width`` columns for the turn.

    A call's wait for capacity (``queued_at`` to ``started_at``) is drawn as ``╌``
    before its run; a call that never started shows ``·``, or its wait if it had one;
    a ``replayed`` call (ids) shows ``↺``: it did not run in this turn; a call ``in_doubt``, ``?``.
    """
    span = max(elapsed, 1e-9)
    label = max((len(f"{o.call_id} {o.tool}") for o in outcomes), default=0)
    right = f"{span:.3f}s"
    lines = [f"{'':<{label}} |0{right:>{max(width - 1, len(right))}}|"]

    def column(at: float) -> int:
        return int((at - started_at) / span * width)

    for o, again in zip(outcomes, replayed_flags(outcomes, replayed), strict=True):
        bar = [" "] * width
        status = o.status.value if o.error_code is None else f"{o.status.value} ({o.error_code.value})"
        if again:
            bar[0] = _REPLAYED
            lines.append(f"{o.call_id + ' ' + o.tool:<{label}} |{''.join(bar)}| {status}, replayed")
            continue
        wait = first_wait(o)
        if wait is not None:
            for c in range(min(column(wait[0]), width - 1), min(column(wait[1]), width)):
                bar[c] = _QUEUED
        if o.started_at is not None and o.finished_at is not None:
            first = column(o.started_at)
            last = max(first + 1, round((o.finished_at - started_at) / span * width))
            for c in range(min(first, width - 1), min(last, width)):
                bar[c] = _MARK.get(o.status.value, "#")
        elif _QUEUED not in bar:
            bar[0] = _IN_DOUBT if o.status is Status.IN_DOUBT else "·"
        lines.append(f"{o.call_id + ' ' + o.tool:<{label}} |{''.join(bar)}| {status}")
    legend = f"{'':<{label}}  █ ok  ▓ error  ▒ timeout  ░ cancelled  {_QUEUED} queued  · never started"
    legend += f"  {_IN_DOUBT} in doubt" if any(o.status is Status.IN_DOUBT for o in outcomes) else ""
    lines.append(legend + (f"  {_REPLAYED} replayed" if replayed else ""))
    return clean_text("\n".join(lines))  # ids and tool names are the model's text
