"""A turn traced with OpenTelemetry, printed by the SDK's console exporter, one line a span.

Two searches share one slot of "web" (the second waits a second for it), a
flaky lookup is retried once, and a slow report runs into the turn's
three-second budget. Each span is printed as it ends: its name, how long it
lasted, its status, and the attributes that say why. Runs on Trio's
MockClock: the spans last their virtual durations, and the run is instant.

Needs ``pip install 'trio_toolpar[otel]' opentelemetry-sdk``.
"""

import trio
import trio.testing
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

from trio_toolpar import CallContext, Executor, Registry, Retry, Retryable, ToolCall
from trio_toolpar.otel import OpenTelemetry

tools = Registry()


@tools.tool(side_effect="read", resource="web")
async def search(query: str) -> list[str]:
    """Search the web (one second)."""
    await trio.sleep(1.0)
    return [f"result for {query}"]


@tools.tool(side_effect="read", retry=Retry(attempts=2, backoff=0.5, jitter=0))
async def lookup(ctx: CallContext, order_id: str) -> dict[str, str]:
    """Look up an order; the first attempt fails after half a second."""
    await trio.sleep(0.5)
    if ctx.attempt == 1:
        raise Retryable("order service busy")
    return {"order_id": order_id, "state": "shipped"}


@tools.tool(side_effect="read")
async def report(days: int) -> str:
    """Build a report (five seconds: longer than the budget)."""
    await trio.sleep(5.0)
    return f"report over {days} days"


SHOWN = ("gen_ai.tool.call.id", "trio_toolpar.attempt", "trio_toolpar.queue_wait_s", "trio_toolpar.cancel_cause")


def one_line(span: ReadableSpan) -> str:
    assert span.start_time is not None and span.end_time is not None
    attributes = span.attributes or {}
    details = " ".join(f"{key.rsplit('.', 1)[-1]}={attributes[key]!s}" for key in SHOWN if key in attributes)
    took = (span.end_time - span.start_time) / 1e9
    return f"{span.name:<20} {took:3.1f} s  {span.status.status_code.name:<5}  {details}".rstrip() + "\n"


async def main() -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(formatter=one_line)))
    executor = Executor(
        tools,
        limits={"web": 1},
        budget=3.0,
        instruments=[OpenTelemetry(tracer_provider=provider)],
        deterministic=True,
    )
    result = await executor.run(
        [
            ToolCall(id="s1", tool="search", arguments={"query": "trio"}),
            ToolCall(id="s2", tool="search", arguments={"query": "otel"}),
            ToolCall(id="o1", tool="lookup", arguments={"order_id": "A-17"}),
            ToolCall(id="r1", tool="report", arguments={"days": 7}),
        ]
    )
    print(" ".join(f"{o.call_id}={o.status}" for o in result))


if __name__ == "__main__":
    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
