"""Text renderings of a turn: an outcomes table and a timeline."""

from __future__ import annotations

from collections.abc import Sequence

from ._outcome import Outcome
from ._render import clean_text

__all__ = ["first_wait", "render_table", "render_timeline"]

_MARK = {"ok": "█", "error": "▓", "timeout": "▒", "cancelled": "░"}
_QUEUED = "╌"
"""A column of a call's wait for capacity."""


def render_table(outcomes: Sequence[Outcome], *, started_at: float) -> str:
    """One line per call: id, tool, status, code, wave, attempts, start, latency."""
    header = ("call", "tool", "status", "error_code", "wave", "tries", "start s", "latency ms")
    rows = [header]
    for o in outcomes:
        rows.append(
            (
                o.call_id,
                o.tool,
                o.status.value,
                o.error_code.value if o.error_code else "",
                "" if o.wave is None else str(o.wave),
                str(o.attempts),
                "" if o.started_at is None else f"{o.started_at - started_at:.3f}",
                f"{o.latency_ms:.1f}",
            )
        )
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


def render_timeline(outcomes: Sequence[Outcome], *, started_at: float, elapsed: float, width: int = 60) -> str:
    """A Gantt chart on Trio's clock: one row per call, ``width`` columns for the turn.

    A call's wait for capacity (``queued_at`` to ``started_at``) is drawn as ``╌``
    before its run; a call that never started shows ``·``, or its wait if it had one.
    """
    span = max(elapsed, 1e-9)
    label = max((len(f"{o.call_id} {o.tool}") for o in outcomes), default=0)
    right = f"{span:.3f}s"
    lines = [f"{'':<{label}} |0{right:>{max(width - 1, len(right))}}|"]

    def column(at: float) -> int:
        return int((at - started_at) / span * width)

    for o in outcomes:
        bar = [" "] * width
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
            bar[0] = "·"
        status = o.status.value if o.error_code is None else f"{o.status.value} ({o.error_code.value})"
        lines.append(f"{o.call_id + ' ' + o.tool:<{label}} |{''.join(bar)}| {status}")
    lines.append(f"{'':<{label}}  █ ok  ▓ error  ▒ timeout  ░ cancelled  {_QUEUED} queued  · never started")
    return clean_text("\n".join(lines))  # ids and tool names are the model's text
