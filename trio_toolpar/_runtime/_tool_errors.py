"""What a failed attempt raised, read once: the errors inside a tool's exception groups, a ``Cancelled`` it leaked.

Trio writes a tool's failures in its own ways. A tool that opens a nursery
raises its tasks' errors in an exception group; a tool may let out a
``Cancelled`` that no scope around it asked for (one it kept from a cancel
scope of its own). `read_failure` turns whatever an attempt raised into a
`Failure`: the errors that decide the call's outcome (whether it is retried,
the least wait before that, the resource's pause, the error code), and the
exception the outcome keeps. It runs only when an attempt failed: a call
that returns pays nothing for it.
"""

from __future__ import annotations

from typing import final

import attrs
import trio

from .._values._exceptions import RateLimited, cancelled_around
from .._values._render import exception_text
from ._exception_groups import leaves

__all__ = ["Failure", "read_failure"]

_LEAK_TEXT = (
    "the tool raised trio.Cancelled, but neither its timeout, the turn nor its caller was cancelled:"
    " a cancel scope of the tool's own let it out"
)
_MAX_CANCELLED_TEXT = 300


@final
@attrs.frozen(kw_only=True)
class Failure:
    """How one attempt failed: the errors that decide, and what the outcome keeps.

    Retries go by every error (`retryable`), the wait and the pause by the
    longest `retry_after`; `_decide` words the message from the same errors.
    """

    exception: Exception | None
    """What the outcome keeps (`Outcome.exception`): what the tool raised, without
    the ``Cancelled`` it leaked; for a leak alone, a `RuntimeError` caused by it;
    ``None`` for an attempt that returned past its timeout."""
    errors: tuple[Exception, ...] = ()
    """The errors that decide: the exception itself, or the leaves of the tool's group."""
    group: BaseExceptionGroup[BaseException] | None = None
    """The group the tool raised, when `errors` are its leaves."""
    leaked: bool = False
    """The tool raised nothing but ``Cancelled`` that no scope around it asked for."""
    late: float | None = None
    """Seconds the attempt took, when it returned only after its timeout (its value is discarded)."""
    silence: float | None = None
    """The progress timeout that ended the attempt (seconds without a report), if that is what did."""

    def retryable(self, retry_on: tuple[type[Exception], ...]) -> bool:
        """Whether another attempt may pass: every error is one of ``retry_on``."""
        return bool(self.errors) and all(isinstance(error, retry_on) for error in self.errors)

    @property
    def rate_limited(self) -> bool:
        """Whether an integration refused for now (a `RateLimited` among the errors)."""
        return any(isinstance(error, RateLimited) for error in self.errors)

    @property
    def retry_after(self) -> float | None:
        """The longest ``retry_after`` the errors ask for (``None``: none asks)."""
        waits = [e.retry_after for e in self.errors if isinstance(e, RateLimited) and e.retry_after is not None]
        return max(waits) if waits else None


def read_failure(raised: BaseException) -> Failure | None:
    """What ``raised``, the exception an attempt ended with, means for its call; ``None``: let it propagate.

    An exception is itself the error. In a group, its leaves are the errors.
    A ``Cancelled`` (alone or in a group) propagates when a scope around the
    call is cancelled — the timeout's, the turn's, its race's or the
    caller's; else nothing asked for it, and the tool leaked it: leaked
    ``Cancelled`` beside errors are left out, and one alone is the tool's
    error. A group holding a ``KeyboardInterrupt`` or any other
    ``BaseException`` that is not an `Exception` propagates.
    """
    if not isinstance(raised, BaseExceptionGroup):
        if isinstance(raised, Exception):
            return Failure(exception=raised, errors=(raised,))
        if isinstance(raised, trio.Cancelled) and not cancelled_around():
            return _leak(raised, raised)
        return None
    errors: list[Exception] = []
    cancelled: list[trio.Cancelled] = []
    for leaf in leaves(raised):
        if isinstance(leaf, Exception):
            errors.append(leaf)
        elif isinstance(leaf, trio.Cancelled):
            cancelled.append(leaf)
        else:
            return None  # a KeyboardInterrupt, SystemExit, ...: not a tool's failure
    if cancelled and cancelled_around():
        return None
    if not errors:
        return _leak(cancelled[0], raised)
    exception = raised if isinstance(raised, Exception) else raised.split(trio.Cancelled)[1]
    assert isinstance(exception, Exception)  # the rest of the split holds only Exceptions: an ExceptionGroup
    return Failure(exception=exception, errors=tuple(errors), group=raised)


def _leak(cancelled: trio.Cancelled, raised: BaseException) -> Failure:
    """The tool's error for a ``Cancelled`` it let out that nothing around it asked for."""
    detail = exception_text(cancelled)
    if len(detail) > _MAX_CANCELLED_TEXT:
        detail = detail[: _MAX_CANCELLED_TEXT - 1] + "…"
    error = RuntimeError(f"{_LEAK_TEXT} ({detail})")
    error.__cause__ = raised
    return Failure(exception=error, errors=(error,), leaked=True)
