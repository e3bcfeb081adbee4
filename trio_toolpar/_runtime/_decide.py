"""Deciding outcomes: what each ending of a call means, in one place.

Every `Outcome` of a running turn is built by `build_outcome`; every reason a
call did not end ``ok`` is worded here, with its status and stable code.
The turn's own causes (`TURN_CAUSES`) pass from a call to the calls that
depend on it: a call skipped because the budget ran out does not doom its
dependents with ``dependency_failed``; they end for the same cause.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

from .._values._construct import fast_constructor
from .._values._exceptions import LimitUnavailable, RateLimited
from .._values._outcome import ErrorCode, Outcome, Status, Verdict
from .._values._render import exception_text, format_traceback, safe_str
from ._attempts import Kind, Tried
from ._tool_errors import Failure

if TYPE_CHECKING:
    from ._call_run import CallRun
    from ._capacity import Waiter

__all__ = [
    "FAILURES",
    "TURN_CAUSES",
    "Decide",
    "build_outcome",
    "decide_the_rest",
    "dependency_reason",
    "failure_reason",
    "stop_reason",
]


class Decide(Protocol):
    """A turn's one way to give a call its outcome (``reason`` ``None``: it returned ``value``)."""

    def __call__(
        self, run: CallRun, reason: Verdict | None, value: object = None, exception: Exception | None = None
    ) -> None: ...


FAILURES = frozenset({Status.ERROR, Status.TIMEOUT, Status.REJECTED})
"""The statuses a policy weighs as failures (`Policy.cancels_turn` is asked about them)."""
TURN_CAUSES = frozenset({ErrorCode.SIBLING_FAILED, ErrorCode.BUDGET_EXCEEDED, ErrorCode.CANCELLED})
_WAITS = frozenset({ErrorCode.AWAITING_APPROVAL, ErrorCode.DEPENDENCY_AWAITING})

_CAUSE_TEXT: dict[ErrorCode, str] = {
    ErrorCode.SIBLING_FAILED: "{verb}: another call of this turn failed and the policy is fail-fast",
    ErrorCode.BUDGET_EXCEEDED: "{verb}: the turn's time budget ran out",
    ErrorCode.CANCELLED: "{verb}: the turn was cancelled by its caller",
}

Redact = Callable[[str], str]

_make_outcome = fast_constructor(Outcome)


def stop_reason(cause: ErrorCode, *, started: bool) -> Verdict:
    """A call the turn stopped: ``cancelled`` if it had started, else ``skipped``."""
    status = Status.CANCELLED if started else Status.SKIPPED
    return Verdict(status, cause, _CAUSE_TEXT[cause].format(verb="stopped" if started else "not started"))


def decide_the_rest(
    runs: Iterable[CallRun],
    cause: ErrorCode,
    *,
    release: Callable[[Waiter], None],
    decide: Callable[[CallRun, Verdict], None],
) -> None:
    """At a turn's end: give back what calls still wait for, and decide every call without an outcome.

    A call decided while it waited (``later``) and never started gets that
    decision; the rest end for the turn's ``cause``.
    """
    for run in runs:
        if run.waiter is not None:
            run.waiter.withdrawn = True
            release(run.waiter)
        if run.outcome is not None:
            continue
        if run.later is not None and run.started_at is None:
            decide(run, run.later)
        else:
            decide(run, stop_reason(cause, started=run.started_at is not None))


def dependency_reason(dependency: Outcome) -> Verdict:
    """A call whose referenced call ``dependency`` did not end ``ok``."""
    code = dependency.error_code
    if code in TURN_CAUSES:
        return stop_reason(code, started=False)
    if code in _WAITS:
        return Verdict(
            Status.SKIPPED,
            ErrorCode.DEPENDENCY_AWAITING,
            f"not started: it comes after call {dependency.call_id!r}, which awaits a person's decision;"
            " it runs when the turn resumes",
        )
    if code is ErrorCode.IN_DOUBT:
        return Verdict(
            Status.SKIPPED,
            ErrorCode.DEPENDENCY_IN_DOUBT,
            f"not run: it depends on call {dependency.call_id!r}, which is in doubt (it may or may not have"
            " taken effect)",
        )
    return Verdict(
        Status.SKIPPED,
        ErrorCode.DEPENDENCY_FAILED,
        f"not run: it depends on call {dependency.call_id!r}, which ended {dependency.status.value}"
        f" ({code.value if code is not None else 'no code'})",
    )


def failure_reason(tried: Tried, *, timeout: float | None, abandoned: bool = False) -> Verdict:
    """A call whose last attempt raised or timed out (``abandoned``: leaving its thread running)."""
    tries = f" (after {tried.attempts} attempts)" if tried.attempts > 1 else ""
    failure = tried.failure
    if tried.kind is Kind.TIMEOUT:
        if failure is not None and failure.late is not None:
            return Verdict(
                Status.TIMEOUT,
                ErrorCode.TIMEOUT,
                # No measured time in the words: the model sees the same bytes whenever it returned.
                f"the call returned after its {timeout:g} s timeout had passed:"
                f" it could not be interrupted, and its result was discarded{tries}",
            )
        thread = "; its thread was abandoned and may still finish" if abandoned else ""
        return Verdict(
            Status.TIMEOUT, ErrorCode.TIMEOUT, f"no result within the tool's {timeout:g} s timeout{thread}{tries}"
        )
    assert failure is not None and failure.errors
    return Verdict(Status.ERROR, _error_code(failure.errors), _error_text(failure) + tries)


def _error_code(errors: tuple[Exception, ...]) -> ErrorCode:
    """``rate_limited`` or ``limit_unavailable`` when every error is one; else ``tool_error``."""
    if all(isinstance(e, RateLimited) for e in errors):
        return ErrorCode.RATE_LIMITED
    if all(isinstance(e, LimitUnavailable) for e in errors):
        return ErrorCode.LIMIT_UNAVAILABLE
    return ErrorCode.TOOL_ERROR


_NURSERY_MESSAGE = "Exceptions from Trio nursery"
_MAX_ERROR_TEXT = 500
"""Characters of each error named from a group (its text is cut there)."""
_MAX_ERRORS_NAMED = 5


def _error_text(failure: Failure) -> str:
    """The tool's error, or the errors inside its group with where they were raised; bounded for groups."""
    errors, group = failure.errors, failure.group
    if failure.leaked:
        return safe_str(errors[0])
    if group is None:
        return exception_text(errors[0])
    name = _group_message(group)
    nursery = name == _NURSERY_MESSAGE  # Trio's nursery wrote the group: the errors are its tasks'
    if len(errors) == 1:
        where = "raised in a task of the tool's nursery" if nursery else f"in the tool's exception group {name!r}"
        return f"{_cut(exception_text(errors[0]))} ({where})"
    where = "the tool's tasks" if nursery else f"the tool's exception group {name!r}"
    named = "; ".join(_cut(exception_text(e)) for e in errors[:_MAX_ERRORS_NAMED])
    more = f"; and {len(errors) - _MAX_ERRORS_NAMED} more" if len(errors) > _MAX_ERRORS_NAMED else ""
    return f"{len(errors)} errors in {where}: {named}{more}"


def _group_message(group: BaseExceptionGroup[BaseException]) -> str:
    try:
        message = group.message
    except Exception:  # a subclass's own property failed
        return "<unprintable>"
    return _cut(safe_str(message), 100)


def _cut(text: str, limit: int = _MAX_ERROR_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _redacted(text: str, redact: Redact | None) -> str:
    if redact is None:
        return text
    try:
        return safe_str(redact(text))
    except Exception:  # the user's redact failed: show nothing it was meant to hide
        return "<withheld: the executor's redact function failed on this text>"


def build_outcome(
    run: CallRun,
    reason: Verdict | None,
    *,
    now: float,
    value: Any = None,
    exception: Exception | None = None,
    redact: Redact | None,
) -> Outcome:
    """``run``'s one `Outcome`, decided at ``now``: ``ok`` with ``value`` when ``reason`` is ``None``.

    Messages of errors and timeouts, and tracebacks, pass through ``redact``.
    """
    status, code, error = reason if reason is not None else (Status.OK, None, None)
    if error is not None and status in (Status.ERROR, Status.TIMEOUT):
        error = _redacted(error, redact)
    trace = _redacted(format_traceback(exception), redact) if exception is not None else None
    finished_at, started_at = now, run.started_at
    return _make_outcome(
        call_id=run.call.id,
        tool=run.call.tool,
        status=status,
        value=value,
        error_code=code,
        error=error,
        # In ms to the microsecond; `round(x, 3)` costs more and says the same.
        latency_ms=round((finished_at - started_at) * 1e6) / 1e3 if started_at is not None else 0.0,
        attempts=run.attempts,
        queued_at=run.queued_at,
        started_at=started_at,
        finished_at=finished_at,
        wave=run.planned.generation if run.planned is not None else None,
        idempotency_key=run.idempotency_key,
        exception=exception,
        traceback=trace,
    )
