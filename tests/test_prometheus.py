"""The Prometheus edge: counts, latencies, queue waits, retries and capacity, read back from the registry."""

from __future__ import annotations

import math
import subprocess
import sys

import resumed_turn
import trio
import trio.testing
from prometheus_client import CollectorRegistry

from trio_toolpar import CallContext, Executor, Rate, RateLimited, Registry, Retry, Retryable, ToolCall
from trio_toolpar.prometheus import PrometheusMetrics


def value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(f"trio_toolpar_{name}", labels)


def tools() -> Registry:
    registry = Registry()

    async def fetch(seconds: float, fail: bool = False) -> str:
        await trio.sleep(seconds)
        if fail:
            raise ConnectionError("down")
        return "body"

    async def flaky(ctx: CallContext) -> str:
        if ctx.attempt == 1:
            raise RateLimited("slow down", retry_after=2)
        if ctx.attempt == 2:
            raise Retryable("again")
        return "done"

    registry.add(fetch, side_effect="read", resource="web")
    registry.add(flaky, side_effect="read", resource="api", retry=Retry(attempts=3, backoff=1, jitter=0))
    return registry


async def test_calls_latency_and_queue_wait(autojump_clock: trio.testing.MockClock) -> None:
    prom = CollectorRegistry()
    metrics = PrometheusMetrics(registry=prom)
    executor = Executor(tools(), limits={"web": 1}, instruments=[metrics], deterministic=True)
    await executor.run(
        [
            ToolCall(id="a", tool="fetch", arguments={"seconds": 2}),
            ToolCall(id="b", tool="fetch", arguments={"seconds": 1, "fail": True}),
            ToolCall(id="x", tool="missing"),
        ]
    )
    assert value(prom, "calls_total", tool="fetch", status="ok", error_code="") == 1
    assert value(prom, "calls_total", tool="fetch", status="error", error_code="tool_error") == 1
    assert value(prom, "calls_total", tool="missing", status="rejected", error_code="unknown_tool") == 1
    assert value(prom, "call_duration_seconds_sum", tool="fetch", status="ok") == 2.0
    assert value(prom, "call_duration_seconds_sum", tool="fetch", status="error") == 1.0
    assert value(prom, "call_duration_seconds_bucket", tool="fetch", status="ok", le="2.5") == 1
    assert value(prom, "call_duration_seconds_bucket", tool="fetch", status="ok", le="1.0") == 0
    # b waited 2 s for a's slot of "web" (cap 1).
    assert value(prom, "queue_wait_seconds_count", resource="web") == 2
    assert value(prom, "queue_wait_seconds_sum", resource="web") == 2.0
    assert value(prom, "calls_running", tool="fetch") == 0
    assert value(prom, "attempts_total", tool="fetch", status="error") == 1


async def test_retries_and_rate_limits(autojump_clock: trio.testing.MockClock) -> None:
    prom = CollectorRegistry()
    metrics = PrometheusMetrics(registry=prom)
    (outcome,) = await Executor(tools(), instruments=[metrics]).run([ToolCall(id="f", tool="flaky")])
    assert outcome.ok and outcome.attempts == 3
    assert value(prom, "retries_total", tool="flaky") == 2
    assert value(prom, "rate_limited_total", resource="api") == 1
    assert value(prom, "attempts_total", tool="flaky", status="error") == 2
    assert value(prom, "attempts_total", tool="flaky", status="ok") == 1
    assert value(prom, "queue_wait_seconds_count", resource="api") == 3


async def test_capacity_gauges_show_saturation(autojump_clock: trio.testing.MockClock) -> None:
    prom = CollectorRegistry()
    metrics = PrometheusMetrics(registry=prom)
    executor = Executor(tools(), limits={"web": 2}, instruments=[metrics])
    seen: list[tuple[float | None, ...]] = []

    async def scrape() -> None:
        await trio.sleep(0.5)  # the five calls hold or wait for "web" now
        metrics.sample(executor)
        seen.append(tuple(value(prom, f"capacity_{g}", resource="web") for g in ("held", "limit", "waiting")))
        seen.append((value(prom, "calls_running", tool="fetch"),))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(scrape)
        await executor.run([ToolCall(id=f"c{i}", tool="fetch", arguments={"seconds": 1}) for i in range(5)])
    assert seen == [(2.0, 2.0, 3.0), (2.0,)]
    metrics.sample(executor)
    assert value(prom, "capacity_held", resource="web") == 0


async def test_watch_samples_until_cancelled(autojump_clock: trio.testing.MockClock) -> None:
    prom = CollectorRegistry()
    metrics = PrometheusMetrics(registry=prom)
    executor = Executor(tools(), limits={"web": 1}, instruments=[metrics])
    async with trio.open_nursery() as nursery:
        nursery.start_soon(lambda: metrics.watch(executor, interval=0.25))
        await executor.run([ToolCall(id=f"c{i}", tool="fetch", arguments={"seconds": 1}) for i in range(3)])
        await trio.sleep(0.25)
        assert value(prom, "capacity_waiting", resource="web") == 0
        nursery.cancel_scope.cancel()
    assert value(prom, "capacity_limit", resource="web") == 1


async def test_a_rate_without_a_cap_is_an_infinite_limit(autojump_clock: trio.testing.MockClock) -> None:
    prom = CollectorRegistry()
    metrics = PrometheusMetrics(registry=prom)
    executor = Executor(tools(), rates={"web": Rate(per_second=1, burst=1)}, instruments=[metrics])
    metrics.sample(executor)
    assert value(prom, "capacity_limit", resource="web") == math.inf


def test_a_namespace_prefixes_every_name() -> None:
    prom = CollectorRegistry()
    PrometheusMetrics(registry=prom, namespace="agent")
    names = {metric.name for metric in prom.collect()}
    assert names and all(name.startswith("agent_") for name in names)


def test_importing_without_the_extra_names_it() -> None:
    code = "import sys; sys.modules['prometheus_client'] = None; import trio_toolpar.prometheus"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 1
    assert "pip install 'trio_toolpar[prometheus]'" in done.stderr


async def test_a_resumed_turn_counts_only_what_it_decided(autojump_clock: trio.testing.MockClock) -> None:
    """A replayed call was counted by the run that decided it; it never runs here, so it is never running."""
    journal = await resumed_turn.crashed_turn()  # a finished; w (not retry-safe) and k (retry-safe) in flight
    registry = CollectorRegistry()
    metrics = PrometheusMetrics(registry=registry)
    executor = Executor(resumed_turn.registry, journal=journal, deterministic=True, instruments=[metrics])
    await executor.run(resumed_turn.CALLS, turn_id="t")
    assert value(registry, "calls_total", tool="read", status="ok", error_code="") is None  # a: replayed
    assert value(registry, "calls_total", tool="write", status="in_doubt", error_code="in_doubt") == 1
    assert value(registry, "calls_total", tool="keyed_write", status="ok", error_code="") == 1
    assert value(registry, "call_duration_seconds_count", tool="read", status="ok") is None
    assert value(registry, "calls_running", tool="read") is None
