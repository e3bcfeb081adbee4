"""`CallContext`: what a tool may know about the call it serves, and how it reports its progress."""

from __future__ import annotations

from collections.abc import Callable
from typing import final

import attrs

from .._values._validate import check_number, check_type

__all__ = ["CallContext", "Report", "check_progress"]

Report = Callable[[float, "float | None", "str | None"], None]
"""Where an attempt's progress goes: ``(done, total, message)``, already checked; it never raises."""


def check_progress(done: object, total: object, message: object) -> tuple[float, float | None, str | None]:
    """The progress report ``(done, total, message)``, if it is one.

    Raises:
        TypeError: ``done`` or ``total`` is not a number, or ``message`` not a ``str``.
        ValueError: ``done`` or ``total`` is NaN, infinite or negative, or ``done`` is more than ``total``.
    """
    checked = check_number("progress: done", done, minimum=0, finite=True)
    whole = check_number("progress: total", total, minimum=0, finite=True, allow_none=True)
    if whole is not None and checked > whole:
        raise ValueError(f"progress: done must be at most total ({whole!r}), not {checked!r}")
    return checked, whole, check_type("progress: message", message, str, allow_none=True)


@final
@attrs.frozen(kw_only=True)
class CallContext:
    """What a tool may know about the call it serves.

    A tool receives it by declaring a parameter annotated ``CallContext``
    (any name); that parameter is not part of the tool's JSON schema.
    """

    call_id: str
    tool: str
    attempt: int
    """1 for the first attempt, 2 for the first retry, ..."""
    idempotency_key: str
    """The same for every attempt of this call; pass it to the downstream API."""
    deadline: float
    """When this attempt will be cancelled, on Trio's clock (``inf``: never).

    As of its start: a ``progress_timeout`` in it moves on with each report."""
    _report: Report | None = attrs.field(default=None, alias="report", repr=False, eq=False)
    """Where `progress` goes: the executor's, for this attempt (``None``: nowhere)."""

    def progress(self, done: float, total: float | None = None, message: str | None = None) -> None:
        """Report how far this attempt has come: ``done`` of ``total`` (if known), and what it is doing.

        Instruments are told (`trio_toolpar.events.CallProgressed`), and the
        tool's ``progress_timeout`` starts again. Call it from the tool's own
        task, or from a thread (a sync tool's): it never waits. A report
        after the attempt ended is ignored.

        Args:
            done: how much is done: a finite number, 0 or more.
            total: how much there is to do (``None``: not known), at least ``done``.
            message: what it is doing, for people watching (``"page 3"``).

        Raises:
            TypeError: ``done`` or ``total`` is not a number, or ``message`` not a ``str``.
            ValueError: ``done`` or ``total`` is NaN, infinite or negative, or
                ``done`` is more than ``total``.
        """
        checked = check_progress(done, total, message)
        if self._report is not None:
            self._report(*checked)
