"""What goes in (`ToolCall`) and what comes out of each call (`Outcome`)."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple, final

import attrs

__all__ = ["ErrorCode", "Outcome", "Status", "ToolCall", "Verdict"]


class Status(enum.StrEnum):
    """How a call ended. Compares equal to its string value (``Status.OK == "ok"``)."""

    OK = "ok"
    """The tool returned a value."""
    ERROR = "error"
    """The tool raised (after retries, if any)."""
    TIMEOUT = "timeout"
    """The tool exceeded its own per-call timeout (on its last attempt)."""
    CANCELLED = "cancelled"
    """The tool was running when the turn was cancelled."""
    SKIPPED = "skipped"
    """The tool never started."""
    REJECTED = "rejected"
    """The call was invalid; the tool never started."""
    IN_DOUBT = "in_doubt"
    """A call that is not retry-safe started before a crash and no outcome was recorded: it may or may not
    have taken effect. A resume never runs it again (durable turns)."""
    DEFERRED = "deferred"
    """Not admitted: past the turn's admission limit; the model may issue it again next turn."""


class ErrorCode(enum.StrEnum):
    """Stable machine-readable reason for every outcome that is not ``ok``."""

    UNKNOWN_TOOL = "unknown_tool"
    INVALID_ARGUMENTS = "invalid_arguments"
    DUPLICATE_CALL_ID = "duplicate_call_id"
    BAD_REFERENCE = "bad_reference"
    DEPENDENCY_CYCLE = "dependency_cycle"
    BATCH_REJECTED = "batch_rejected"
    DEPENDENCY_FAILED = "dependency_failed"
    SIBLING_FAILED = "sibling_failed"
    BUDGET_EXCEEDED = "budget_exceeded"
    CANCELLED = "cancelled"
    TIMEOUT = "timeout"
    TOOL_ERROR = "tool_error"
    RATE_LIMITED = "rate_limited"
    LIMIT_UNAVAILABLE = "limit_unavailable"
    NOT_APPROVED = "not_approved"
    APPROVAL_FAILED = "approval_failed"
    LOST_RACE = "lost_race"
    NOT_ACCEPTED = "not_accepted"
    IN_DOUBT = "in_doubt"
    DEPENDENCY_IN_DOUBT = "dependency_in_doubt"
    AWAITING_APPROVAL = "awaiting_approval"
    DEPENDENCY_AWAITING = "dependency_awaiting"
    JOURNAL_UNAVAILABLE = "journal_unavailable"
    NOT_ADMITTED = "not_admitted"


class Verdict(NamedTuple):
    """Why a call did not end ``ok``: the one shape every such decision takes.

    Planning gives one to each call it refuses (`PlannedCall.verdict`); the
    runtime words one for every other call that does not end ``ok``, and the
    call's `Outcome` carries its three parts as ``status``, ``error_code`` and
    ``error``. A tuple, so ``status, code, message = verdict`` reads it.
    """

    status: Status
    """How the call ended (never ``ok``)."""
    code: ErrorCode
    """The stable machine-readable reason."""
    message: str
    """The reason in words, for the model and for people."""


def _ids(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


@final
@attrs.frozen(kw_only=True)
class ToolCall:
    """One tool call of a model turn.

    Args:
        id: the call id the model gave (``call_...``, ``toolu_...``); unique in a turn.
        tool: the registered tool's name.
        arguments: a JSON object, either parsed (a mapping) or as the raw JSON
            text the model produced; parse errors become ``rejected`` outcomes.
        priority: larger runs first when calls wait for the same capacity.
        race: the name of the race group this call is an alternative in: the
            first member to succeed wins, the others stop (see `RaceRules`).
        after: calls this one runs after, without using their results: call
            ids, ``#N`` positions or ``@group`` races. Like a reference, a
            call that did not end ``ok`` (a race without a winner) skips it.
    """

    id: str
    tool: str
    arguments: Mapping[str, Any] | str = attrs.field(factory=dict)
    priority: int = 0
    race: str | None = None
    after: tuple[str, ...] = attrs.field(default=(), converter=_ids)


@final
@attrs.frozen(kw_only=True)
class Outcome:
    """The one result every call of a turn gets, whatever happened to it.

    Times are on Trio's clock (``trio.current_time()``); ``started_at`` is
    ``None`` for a call that never started, and ``finished_at`` is when the
    outcome was decided. ``queued_at`` is when the call began waiting for
    capacity (a resource's cap or rate, ``max_concurrency``, ``thread_limit``)
    before its first attempt: its queue wait is ``started_at - queued_at``
    (0 if it was granted at once), or up to ``finished_at`` if it was decided
    while it waited. It is ``None`` for a call that needed no limit, or that
    never reached the queue. ``latency_ms`` is ``finished_at - started_at`` in
    milliseconds, rounded to the microsecond (0 for a call that never
    started). ``wave`` is the call's plan generation (``None`` for a call that
    was never scheduled).
    """

    call_id: str
    tool: str
    status: Status
    value: Any = None
    error_code: ErrorCode | None = None
    error: str | None = None
    latency_ms: float = 0.0
    attempts: int = 0
    queued_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    wave: int | None = None
    idempotency_key: str | None = None
    exception: Exception | None = attrs.field(default=None, eq=False, repr=False)
    """What the tool raised (for the caller; never serialized)."""
    traceback: str | None = attrs.field(default=None, eq=False, repr=False)
    """The formatted traceback of ``exception``, passed through the executor's ``redact``."""

    @property
    def ok(self) -> bool:
        """``True`` exactly when ``status`` is ``ok``."""
        return self.status is Status.OK
