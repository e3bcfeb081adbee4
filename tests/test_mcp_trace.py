"""An MCP server's spans join the turn's trace: each ``tools/call`` carries its attempt's span in ``_meta``.

The SDK opens a span of its own around each request ("MCP send tools/call
...") through the global tracer provider and injects the current context with
the global propagator (W3C ``traceparent`` by default). With no global SDK
provider that span does not record and carries the current span's context: the
server sees the attempt span our instrument made current. With one, the
server sees the SDK's span, a child of the attempt span. The toolbox's
``trace_context`` tool reports what its request carried and the server's
current span, over a real subprocess; ids are checked against the exported
spans. In process, ``Client(server)`` calls the server without JSON-RPC: no
``_meta`` trace keys, but the server runs in the caller's context.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
import trio
import trio.testing
from mcp import ClientSession
from mcp_servers.sessions import http_session, memory_session, stdio_session
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanContext
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from trio_toolpar import Executor, Outcome, Registry, Status, ToolCall
from trio_toolpar.mcp import register_session
from trio_toolpar.otel import OpenTelemetry

pytestmark = pytest.mark.filterwarnings(  # the SDK's HTTP client, as in test_mcp_http.py
    "ignore:Exception ignored in. <async_generator object:pytest.PytestUnraisableExceptionWarning"
)

TRANSPORTS: dict[str, Callable[[], AbstractAsyncContextManager[ClientSession]]] = {
    "stdio": stdio_session,
    "http": http_session,
}


class Traces:
    """An SDK tracer provider that keeps its spans in memory."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))

    def spans(self, prefix: str) -> list[ReadableSpan]:
        return [s for s in self.exporter.get_finished_spans() if s.name.startswith(prefix)]

    def attempt(self, call_id: str) -> ReadableSpan:
        (found,) = [s for s in self.spans("attempt ") if (s.attributes or {})["gen_ai.tool.call.id"] == call_id]
        return found

    def call(self, call_id: str) -> ReadableSpan:
        (found,) = [s for s in self.spans("execute_tool ") if (s.attributes or {})["gen_ai.tool.call.id"] == call_id]
        return found


@pytest.fixture(params=sorted(TRANSPORTS))
async def session(request: pytest.FixtureRequest) -> AsyncIterator[ClientSession]:
    with trio.fail_after(45):
        async with TRANSPORTS[request.param]() as session:
            yield session


async def _registry(session: ClientSession) -> Registry:
    registry = Registry()
    await register_session(registry, session, resource="box", prefix="box_", exclude={"place"})
    return registry


def _trace_call(call_id: str, seconds: float = 0.0) -> ToolCall:
    return ToolCall(id=call_id, tool="box_trace_context", arguments={"seconds": seconds})


def _carried(outcome: Outcome) -> SpanContext:
    """The span context the server extracted from the request's ``_meta``."""
    assert outcome.status is Status.OK, outcome.error
    meta: dict[str, Any] = outcome.value["meta"]
    assert "traceparent" in meta, meta
    context = TraceContextTextMapPropagator().extract(meta)
    carried = trace.get_current_span(context).get_span_context()
    assert carried.is_valid and carried.is_remote
    return carried


def _parent(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def _ids(span: ReadableSpan) -> dict[str, str]:
    """A span's ids as the server reports its current span's."""
    return {
        "trace_id": trace.format_trace_id(span.context.trace_id),
        "span_id": trace.format_span_id(span.context.span_id),
    }


def _server_current(outcome: Outcome) -> dict[str, str]:
    return {"trace_id": outcome.value["trace_id"], "span_id": outcome.value["span_id"]}


async def test_the_server_sees_the_attempt_span_of_its_call(session: ClientSession) -> None:
    traces = Traces()
    executor = Executor(await _registry(session), instruments=[OpenTelemetry(tracer_provider=traces.provider)])
    (outcome,) = await executor.run([_trace_call("t")])
    carried = _carried(outcome)
    attempt, call = traces.attempt("t"), traces.call("t")
    (turn,) = traces.spans("trio_toolpar.turn")
    assert (carried.trace_id, carried.span_id) == (turn.context.trace_id, attempt.context.span_id)
    assert carried.trace_flags.sampled
    assert _parent(attempt) == call.context.span_id and _parent(call) == turn.context.span_id
    assert _server_current(outcome) == _ids(attempt)  # the server's spans would be children of the attempt


async def test_parallel_calls_each_carry_their_own_attempt_span() -> None:
    traces = Traces()
    async with stdio_session() as session:
        executor = Executor(await _registry(session), instruments=[OpenTelemetry(tracer_provider=traces.provider)])
        result = await executor.run([_trace_call(f"t{i}", seconds=0.5) for i in range(3)])
    starts = [o.started_at for o in result if o.started_at is not None]
    ends = [o.finished_at for o in result if o.finished_at is not None]
    assert len(starts) == len(ends) == 3 and max(starts) < min(ends)  # all three were in flight at once
    carried = {o.call_id: _carried(o) for o in result}
    assert {call_id: c.span_id for call_id, c in carried.items()} == {
        f"t{i}": traces.attempt(f"t{i}").context.span_id for i in range(3)
    }
    assert len({c.span_id for c in carried.values()}) == 3
    (turn,) = traces.spans("trio_toolpar.turn")
    assert {c.trace_id for c in carried.values()} == {turn.context.trace_id}


async def test_with_the_sdk_tracing_its_requests_the_server_joins_under_the_sdks_span(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    traces = Traces()
    # What a global SDK provider does to the SDK's tracer, without making one global for the whole run.
    monkeypatch.setattr("mcp.shared._otel._tracer", traces.provider.get_tracer("mcp-python-sdk"))
    async with stdio_session() as session:
        executor = Executor(await _registry(session), instruments=[OpenTelemetry(tracer_provider=traces.provider)])
        (outcome,) = await executor.run([_trace_call("t")])
    carried = _carried(outcome)
    (send,) = traces.spans("MCP send tools/call trace_context")
    assert send.kind is trace.SpanKind.CLIENT
    assert (carried.trace_id, carried.span_id) == (send.context.trace_id, send.context.span_id)
    assert _parent(send) == traces.attempt("t").context.span_id


async def test_without_an_instrument_a_call_carries_the_callers_span_or_none() -> None:
    traces = Traces()
    async with stdio_session() as session:
        executor = Executor(await _registry(session))
        (bare,) = await executor.run([_trace_call("bare")])
        with traces.provider.get_tracer("agent").start_as_current_span("agent step") as step:
            (joined,) = await executor.run([_trace_call("joined")])
    assert bare.status is Status.OK
    assert bare.value == {"meta": {}, "trace_id": None, "span_id": None}  # nothing to join, and no made-up trace
    carried = _carried(joined)
    assert (carried.trace_id, carried.span_id) == (step.get_span_context().trace_id, step.get_span_context().span_id)


async def test_in_process_the_server_runs_in_the_attempts_context_without_meta(
    autojump_clock: trio.testing.MockClock,
) -> None:
    traces = Traces()
    async with memory_session() as session:
        executor = Executor(await _registry(session), instruments=[OpenTelemetry(tracer_provider=traces.provider)])
        (outcome,) = await executor.run([_trace_call("t", seconds=1.0)])
    assert outcome.status is Status.OK
    assert outcome.value["meta"] == {}
    assert _server_current(outcome) == _ids(traces.attempt("t"))
