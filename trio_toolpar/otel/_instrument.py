"""`OpenTelemetry`: an instrument that turns a turn's events into spans and a duration histogram."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any, final

import attrs
from opentelemetry import context, metrics, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from .._runtime._events import (
    AttemptEnded,
    AttemptStarted,
    CallEvent,
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
)
from .._values._outcome import Outcome
from .._values._outcome import Status as CallStatus
from ._attributes import (
    CANCEL_CAUSE,
    DURATION_BUCKETS,
    ERROR_TYPE,
    QUEUE_WAIT,
    REPLAYED,
    arguments_attribute,
    call_attributes,
    error_type,
    failure_attributes,
    progress_attributes,
    result_attribute,
)

__all__ = ["OpenTelemetry"]

_SCOPE = "trio_toolpar"


@attrs.define
class _Turn:
    span: Span
    origin_ns: int
    """Wall-clock nanoseconds at ``origin`` on Trio's clock: each event's time is placed from here."""
    origin: float
    resumed: bool
    """A durable turn gone on from its journal: each of its calls says whether it was replayed."""


@attrs.define
class _Call:
    span: Span | None = None
    waited: float = 0.0
    """Seconds waiting for capacity so far, over every attempt."""
    last_wait: float = 0.0
    queued_at: float | None = None
    """When its current wait for capacity began (``None``: it is not waiting)."""
    attempt: Span | None = None
    token: object = None


@final
class OpenTelemetry:
    """Traces every turn: one span per turn, a child per call that ran, a grandchild per attempt.

    A call's span is named ``execute_tool {tool}`` (kind ``INTERNAL``) with
    the GenAI attributes ``gen_ai.operation.name`` (``execute_tool``),
    ``gen_ai.tool.name``, ``gen_ai.tool.call.id`` and ``gen_ai.tool.type``
    (``function``), and ``trio_toolpar.queue_wait_s``, the seconds it
    waited for capacity. Each wait that lasted is a span of its own,
    ``queued {tool}``, from the instant the call joined the queue to its
    grant (or its outcome, if it was decided while it waited), with
    ``trio_toolpar.queue_wait_s`` and ``trio_toolpar.attempt``: a child of
    the turn's span before the call started, of the call's span before a
    retry. A call that did not end ``ok`` has status
    ``ERROR`` whose description is its error code, ``error.type``, and for
    a cancelled call ``trio_toolpar.cancel_cause`` (``sibling_failed``,
    ``budget_exceeded``, ``cancelled``). Each progress report of a call
    (`CallContext.progress`, an MCP server's notification) is an event
    ``trio_toolpar.progress`` on its span, with ``trio_toolpar.attempt``,
    ``trio_toolpar.progress.done`` and, when given,
    ``trio_toolpar.progress.total`` and ``trio_toolpar.progress.message``
    (cut to ``max_chars``). Each call that ran is also recorded
    on the ``gen_ai.execute_tool.duration`` histogram (seconds). Calls that
    never ran are events on the turn's span.

    A durable turn that resumes has ``trio_toolpar.resumed`` true, and each
    of its calls ``trio_toolpar.replayed``: true for one whose outcome the
    journal returned as an earlier run recorded it. A call that ran in that
    earlier run, replayed or settled ``in_doubt`` (it may or may not have
    taken effect), has a call span of no duration at the instant the resume
    decided it, with its status (``in_doubt`` is an ``ERROR``, never ``ok``)
    and no attempts, and is not recorded on the histogram: it did not run in
    this process.

    Times come from the events, on Trio's clock, placed on the wall clock
    from the instant the turn began: on a `trio.testing.MockClock` spans
    last their virtual durations. While an attempt runs its span is the
    current span of the call's task (and of a sync tool's thread), so spans
    the tool makes are its children.

    Args:
        tracer_provider: where spans go (default: the global provider).
        meter_provider: where the histogram goes (default: the global provider).
        record_arguments: also record each call's arguments
            (``gen_ai.tool.call.arguments``), its result
            (``gen_ai.tool.call.result``) and its error message, as JSON text.
            Off by default: they may hold secrets.
        max_chars: the longest argument, result or progress message recorded; longer is
            cut, with a marker saying how much was left out.
    """

    def __init__(
        self,
        *,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
        record_arguments: bool = False,
        max_chars: int = 4096,
    ) -> None:
        self._tracer = trace.get_tracer(_SCOPE, tracer_provider=tracer_provider)
        meter = metrics.get_meter(_SCOPE, meter_provider=meter_provider)
        self._duration = meter.create_histogram(
            "gen_ai.execute_tool.duration",
            unit="s",
            description="Duration of tool executions.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.record_arguments = record_arguments
        self.max_chars = max_chars
        self._turns: dict[int, _Turn] = {}
        self._calls: dict[tuple[int, int], _Call] = {}

    def on_event(self, event: Event) -> None:
        """Open, annotate or end the span the event concerns."""
        if isinstance(event, TurnStarted):
            self._turn_started(event)
        elif isinstance(event, TurnEnded):
            self._turn_ended(event)
        elif isinstance(event, CallEvent) and event.turn in self._turns:
            self._call_event(event)

    # -- turns --------------------------------------------------------------------------

    def _turn_started(self, event: TurnStarted) -> None:
        attributes: dict[str, Any] = {"trio_toolpar.turn": event.turn, "trio_toolpar.calls": len(event.call_ids)}
        if event.budget is not None:
            attributes["trio_toolpar.budget_s"] = event.budget
        origin_ns = time.time_ns()
        if event.resumed:
            attributes["trio_toolpar.resumed"] = True
        span = self._tracer.start_span("trio_toolpar.turn", attributes=attributes, start_time=origin_ns)
        self._turns[event.turn] = _Turn(span=span, origin_ns=origin_ns, origin=event.time, resumed=event.resumed)

    def _turn_ended(self, event: TurnEnded) -> None:
        turn = self._turns.pop(event.turn, None)
        if turn is None:
            return
        for key in [k for k in self._calls if k[0] == event.turn]:
            del self._calls[key]  # calls decided after their task ended cannot be traced further
        counts = Counter(f"trio_toolpar.calls.{outcome.status}" for outcome in event.result.outcomes)
        result = event.result
        turn.span.set_attributes(
            {"trio_toolpar.calls": len(result.outcomes), "trio_toolpar.turn_id": result.turn_id, **counts}
        )
        if result.resumed:  # a durable turn gone on from its journal: the calls it returned as recorded
            turn.span.set_attribute("trio_toolpar.replayed", list(result.replayed))
        if event.interrupted:
            turn.span.set_attribute(CANCEL_CAUSE, "cancelled")
            turn.span.set_status(Status(StatusCode.ERROR, "cancelled"))
        turn.span.end(end_time=self._ns(turn, event.time))

    # -- calls --------------------------------------------------------------------------

    def _call_event(self, event: CallEvent) -> None:
        key = (event.turn, event.index)
        call = self._calls.setdefault(key, _Call())
        if isinstance(event, CallQueued):
            call.queued_at = event.time
        elif isinstance(event, CallGranted):
            call.waited += event.queue_wait
            call.last_wait = event.queue_wait
            self._waited(call, event, event.attempt)
        elif isinstance(event, CallStarted):
            self._call_started(call, event)
        elif isinstance(event, AttemptStarted):
            self._attempt_started(call, event)
        elif isinstance(event, AttemptEnded):
            self._attempt_ended(call, event)
        elif isinstance(event, CallProgressed) and call.span is not None:
            progress = progress_attributes(event.attempt, event.done, event.total, event.message, self.max_chars)
            call.span.add_event("trio_toolpar.progress", progress, timestamp=self._at(event))
        elif isinstance(event, RetryScheduled) and call.span is not None:
            attributes = {"trio_toolpar.attempt": event.attempt, "trio_toolpar.delay_s": event.delay}
            call.span.add_event("trio_toolpar.retry", attributes, timestamp=self._at(event))
        elif isinstance(event, ResourcePaused) and call.span is not None:
            paused: dict[str, Any] = {
                "trio_toolpar.resource": event.resource or "",
                "trio_toolpar.pause_s": event.seconds,
            }
            call.span.add_event("trio_toolpar.rate_limited", paused, timestamp=self._at(event))
        elif isinstance(event, CallFinished):
            del self._calls[key]
            self._waited(call, event, event.outcome.attempts + 1)  # decided while it waited, if it was
            self._call_finished(call, event)

    def _waited(self, call: _Call, event: CallEvent, attempt: int) -> None:
        """The span of a wait for capacity that ends at ``event``, if the call was waiting and time passed."""
        since, call.queued_at = call.queued_at, None
        if since is None or event.time <= since:
            return
        turn = self._turns[event.turn]
        attributes: dict[str, Any] = {
            "gen_ai.tool.name": event.tool,
            "gen_ai.tool.call.id": event.call_id,
            "trio_toolpar.attempt": attempt,
            QUEUE_WAIT: event.time - since,
        }
        if event.resource is not None:
            attributes["trio_toolpar.resource"] = event.resource
        span = self._tracer.start_span(
            f"queued {event.tool}",
            context=trace.set_span_in_context(call.span if call.span is not None else turn.span),
            attributes=attributes,
            start_time=self._ns(turn, since),
        )
        span.end(end_time=self._at(event))

    def _call_started(self, call: _Call, event: CallStarted) -> None:
        turn = self._turns[event.turn]
        attributes = call_attributes(event.tool, event.call_id)
        if event.resource is not None:
            attributes["trio_toolpar.resource"] = event.resource
        if event.wave is not None:
            attributes["trio_toolpar.wave"] = event.wave
        if turn.resumed:
            attributes[REPLAYED] = False
        if self.record_arguments:
            attributes.update(arguments_attribute(event.arguments, self.max_chars))
        call.span = self._call_span(turn, event, attributes)

    def _call_span(self, turn: _Turn, event: CallEvent, attributes: dict[str, Any]) -> Span:
        return self._tracer.start_span(
            f"execute_tool {event.tool}",
            context=trace.set_span_in_context(turn.span),
            kind=SpanKind.INTERNAL,
            attributes=attributes,
            start_time=self._at(event),
        )

    def _attempt_started(self, call: _Call, event: AttemptStarted) -> None:
        if call.span is None:
            return
        attributes: dict[str, Any] = {
            "gen_ai.tool.name": event.tool,
            "gen_ai.tool.call.id": event.call_id,
            "trio_toolpar.attempt": event.attempt,
            QUEUE_WAIT: call.last_wait,
        }
        call.attempt = self._tracer.start_span(
            f"attempt {event.tool}",
            context=trace.set_span_in_context(call.span),
            attributes=attributes,
            start_time=self._at(event),
        )
        # Delivered in the call's own task: what the tool runs sees the attempt as its current span.
        call.token = context.attach(trace.set_span_in_context(call.attempt))

    def _attempt_ended(self, call: _Call, event: AttemptEnded) -> None:
        if call.attempt is None:
            return
        if event.status is not CallStatus.OK:
            kind = "timeout" if event.exception is None else type(event.exception).__qualname__
            call.attempt.set_attribute(ERROR_TYPE, kind)
            call.attempt.set_status(Status(StatusCode.ERROR, str(event.status)))
        call.attempt.end(end_time=self._at(event))
        call.attempt = None
        if call.token is not None:
            context.detach(call.token)  # type: ignore[arg-type]
            call.token = None

    def _call_finished(self, call: _Call, event: CallFinished) -> None:
        outcome = event.outcome
        turn = self._turns[event.turn]
        if call.span is None:
            if (event.replayed and outcome.started_at is not None) or outcome.status is CallStatus.IN_DOUBT:
                self._ran_before(turn, event)
            else:
                self._not_run(turn, event)
            return
        end = self._at(event)
        if call.attempt is not None:  # cut short by a cancellation: no AttemptEnded came
            self._fail(call.attempt, outcome)
            call.attempt.end(end_time=end)
        call.span.set_attributes({QUEUE_WAIT: call.waited, "trio_toolpar.attempts": outcome.attempts})
        self._end(call.span, outcome, end)
        metric = call_attributes(outcome.tool)
        if not outcome.ok:
            metric[ERROR_TYPE] = error_type(outcome)
        self._duration.record(outcome.latency_ms / 1000, metric)

    def _ran_before(self, turn: _Turn, event: CallFinished) -> None:
        """A call span of no duration for a call that ran in an earlier run of a resumed turn, or may have."""
        outcome = event.outcome
        attributes = call_attributes(outcome.tool, outcome.call_id)
        attributes.update({REPLAYED: event.replayed, "trio_toolpar.attempts": outcome.attempts})
        if event.resource is not None:
            attributes["trio_toolpar.resource"] = event.resource
        self._end(self._call_span(turn, event, attributes), outcome, self._at(event))

    def _end(self, span: Span, outcome: Outcome, end: int) -> None:
        """End a call's span with its outcome: a failure's status, and the result or error if they are recorded."""
        if not outcome.ok:
            self._fail(span, outcome)
        if self.record_arguments:
            if outcome.ok:
                span.set_attributes(result_attribute(outcome.value, self.max_chars))
            elif outcome.error is not None:
                span.set_attribute("trio_toolpar.error", outcome.error)
        span.end(end_time=end)

    def _not_run(self, turn: _Turn, event: CallFinished) -> None:
        outcome = event.outcome
        attributes: dict[str, Any] = {
            "gen_ai.tool.name": outcome.tool,
            "gen_ai.tool.call.id": outcome.call_id,
            "trio_toolpar.status": str(outcome.status),
            "trio_toolpar.error_code": str(outcome.error_code),
        }
        if turn.resumed:
            attributes[REPLAYED] = event.replayed
        turn.span.add_event("trio_toolpar.call_not_run", attributes, timestamp=self._at(event))

    @staticmethod
    def _fail(span: Span, outcome: Outcome) -> None:
        span.set_attributes(failure_attributes(outcome))
        span.set_status(Status(StatusCode.ERROR, str(outcome.error_code or outcome.status)))

    # -- time ---------------------------------------------------------------------------

    def _at(self, event: Event) -> int:
        return self._ns(self._turns[event.turn], event.time)

    @staticmethod
    def _ns(turn: _Turn, at: float) -> int:
        return turn.origin_ns + round((at - turn.origin) * 1e9)
