"""What goes in (`ToolCall`) and what comes out (`Outcome`, `TurnResult`)."""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, final

import attrs

if TYPE_CHECKING:
    from ._plan import Plan

__all__ = ["ErrorCode", "Outcome", "Status", "ToolCall", "TurnResult"]


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
    """

    id: str
    tool: str
    arguments: Mapping[str, Any] | str = attrs.field(factory=dict)
    priority: int = 0


class _OutcomeSlots:
    """The storage of `Outcome`, shared with the builder `make_outcome` fills.

    attrs reuses slots a base class already has, so `Outcome` adds none and the
    two subclasses below have one memory layout (see `make_outcome`).
    """

    __slots__ = (
        "__weakref__",
        "attempts",
        "call_id",
        "error",
        "error_code",
        "exception",
        "finished_at",
        "idempotency_key",
        "latency_ms",
        "started_at",
        "status",
        "tool",
        "traceback",
        "value",
        "wave",
    )


@final
@attrs.frozen(kw_only=True)
class Outcome(_OutcomeSlots):
    """The one result every call of a turn gets, whatever happened to it.

    Times are on Trio's clock (``trio.current_time()``); ``started_at`` is
    ``None`` for a call that never started, and ``finished_at`` is when the
    outcome was decided. ``wave`` is the call's plan generation (``None`` for
    a call that was never scheduled).
    """

    call_id: str
    tool: str
    status: Status
    value: Any = None
    error_code: ErrorCode | None = None
    error: str | None = None
    latency_ms: float = 0.0
    attempts: int = 0
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


class _OutcomeBuilder(_OutcomeSlots):
    """An `Outcome` under construction: the same slots, without the frozen ``__setattr__``."""

    __slots__ = ()


def make_outcome(
    call_id: str,
    tool: str,
    status: Status,
    value: Any,
    error_code: ErrorCode | None,
    error: str | None,
    latency_ms: float,
    attempts: int,
    started_at: float | None,
    finished_at: float | None,
    wave: int | None,
    idempotency_key: str | None,
    exception: Exception | None,
    traceback: str | None,
) -> Outcome:
    """``Outcome(...)`` with every field given in order, for the executor's hot path.

    attrs' frozen ``__init__`` assigns each field through ``object.__setattr__``
    (a frozen class refuses plain assignment), which makes building one outcome
    per call cost as much as running a no-op tool. Here the fields are assigned
    on a mutable twin that shares `Outcome`'s slots, and the finished instance
    then becomes an `Outcome`: Python allows changing ``__class__`` between
    classes with one layout, and from then on the instance is as frozen as any
    other. `tests/test_fast_paths.py` checks that the result equals what
    ``Outcome(...)`` builds and that ``__init__`` does nothing but assign.
    """
    built: Any = _new(_OutcomeBuilder)
    built.call_id = call_id
    built.tool = tool
    built.status = status
    built.value = value
    built.error_code = error_code
    built.error = error
    built.latency_ms = latency_ms
    built.attempts = attempts
    built.started_at = started_at
    built.finished_at = finished_at
    built.wave = wave
    built.idempotency_key = idempotency_key
    built.exception = exception
    built.traceback = traceback
    built.__class__ = Outcome
    outcome: Outcome = built
    return outcome


_new = object.__new__


@final
@attrs.frozen(kw_only=True)
class TurnResult:
    """All outcomes of one turn, in the calls' input order.

    Indexing by position gives an `Outcome`; `get` looks one up by call id.
    """

    outcomes: tuple[Outcome, ...]
    started_at: float
    finished_at: float
    plan: Plan = attrs.field(eq=False, repr=False)
    _by_id: Mapping[str, Outcome] | None = attrs.field(init=False, eq=False, repr=False, default=None)
    """Outcomes by call id, built at the first `get`."""

    @property
    def ok(self) -> bool:
        """``True`` when every call ended ``ok``."""
        return all(o.ok for o in self.outcomes)

    @property
    def elapsed(self) -> float:
        """Seconds on Trio's clock from the turn's start to its end."""
        return self.finished_at - self.started_at

    def get(self, call_id: str) -> Outcome:
        """The outcome of the (first) call with this id.

        Raises:
            KeyError: no call of the turn has this id.
        """
        if self._by_id is None:
            object.__setattr__(self, "_by_id", {o.call_id: o for o in reversed(self.outcomes)})
            assert self._by_id is not None
        return self._by_id[call_id]

    def __len__(self) -> int:
        return len(self.outcomes)

    def __iter__(self) -> Iterator[Outcome]:
        return iter(self.outcomes)

    def __getitem__(self, index: int) -> Outcome:
        return self.outcomes[index]

    def table(self) -> str:
        """A fixed-width text table of the outcomes, for terminals and logs."""
        from ._timeline import render_table

        return render_table(self)

    def timeline(self, *, width: int = 60) -> str:
        """A text Gantt chart of when each call ran, on Trio's clock."""
        from ._timeline import render_timeline

        return render_timeline(self, width=width)
