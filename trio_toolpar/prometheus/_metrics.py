"""`PrometheusMetrics`: an instrument that counts calls and retries and times them, and capacity gauges."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, final

import trio
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from .._runtime._events import (
    AttemptEnded,
    CallFinished,
    CallGranted,
    CallStarted,
    Event,
    ResourcePaused,
    RetryScheduled,
)

if TYPE_CHECKING:
    from .._runtime._executor import Executor

__all__ = ["PrometheusMetrics"]

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, math.inf)


@final
class PrometheusMetrics:
    """Metrics of every turn of the executors it instruments, on ``registry``.

    Install it as an instrument (``Executor(..., instruments=[metrics])``);
    for capacity gauges, also `sample` an executor, or run `watch` in a
    nursery. Names start with ``namespace`` (default ``trio_toolpar``):

    * ``_calls_total{tool, status, error_code}`` — every call's outcome
      (``error_code`` empty for ``ok``), but for those a resumed durable turn
      replays: they are counted by the run that decided them;
    * ``_call_duration_seconds{tool, status}`` — the latency of each call
      that ran, from its first grant to its outcome, on Trio's clock;
    * ``_calls_running{tool}`` — calls started and not yet decided;
    * ``_queue_wait_seconds{resource}`` — each wait for capacity (one per
      attempt; ``resource`` empty for a tool without one);
    * ``_attempts_total{tool, status}`` — attempts that ended ``ok``,
      ``error`` or ``timeout``; ``_retries_total{tool}`` — retries planned;
      ``_rate_limited_total{resource}`` — pauses a rate-limited call asked for;
    * ``_capacity_held{resource}``, ``_capacity_limit{resource}``,
      ``_capacity_waiting{resource}`` — units held, the cap (``+Inf`` for a
      resource with a rate and no cap), calls queued, as of the last sample.

    Args:
        registry: where the metrics are registered (give each a registry of its own).
        namespace: the prefix of every name.
    """

    def __init__(self, *, registry: CollectorRegistry, namespace: str = "trio_toolpar") -> None:
        def counter(name: str, doc: str, labels: tuple[str, ...]) -> Counter:
            return Counter(name, doc, labels, namespace=namespace, registry=registry)

        def gauge(name: str, doc: str, labels: tuple[str, ...]) -> Gauge:
            return Gauge(name, doc, labels, namespace=namespace, registry=registry)

        self.calls = counter("calls", "Calls by outcome.", ("tool", "status", "error_code"))
        self.duration = Histogram(
            "call_duration_seconds",
            "Latency of calls that ran, from the first grant to the outcome.",
            ("tool", "status"),
            namespace=namespace,
            registry=registry,
            buckets=_BUCKETS,
        )
        self.running = gauge("calls_running", "Calls started and not yet decided.", ("tool",))
        self.queue_wait = Histogram(
            "queue_wait_seconds",
            "Seconds a call waited for capacity before an attempt.",
            ("resource",),
            namespace=namespace,
            registry=registry,
            buckets=_BUCKETS,
        )
        self.attempts = counter("attempts", "Attempts by how they ended.", ("tool", "status"))
        self.retries = counter("retries", "Retries planned.", ("tool",))
        self.rate_limited = counter("rate_limited", "Pauses asked for by rate-limited calls.", ("resource",))
        self.held = gauge("capacity_held", "Units of a resource's cap held, as of the last sample.", ("resource",))
        self.limit = gauge("capacity_limit", "A resource's cap (+Inf: a rate, no cap).", ("resource",))
        self.waiting = gauge("capacity_waiting", "Calls queued for a resource, as of the last sample.", ("resource",))

    def on_event(self, event: Event) -> None:
        """Count or time what the event says."""
        if isinstance(event, CallFinished):
            if event.replayed:  # counted by the run that decided it: it did not run here
                return
            outcome = event.outcome
            self.calls.labels(event.tool, str(outcome.status), str(outcome.error_code or "")).inc()
            if outcome.started_at is not None:
                self.duration.labels(event.tool, str(outcome.status)).observe(outcome.latency_ms / 1000)
                self.running.labels(event.tool).dec()
        elif isinstance(event, CallStarted):
            self.running.labels(event.tool).inc()
        elif isinstance(event, CallGranted):
            self.queue_wait.labels(event.resource or "").observe(event.queue_wait)
        elif isinstance(event, AttemptEnded):
            self.attempts.labels(event.tool, str(event.status)).inc()
        elif isinstance(event, RetryScheduled):
            self.retries.labels(event.tool).inc()
        elif isinstance(event, ResourcePaused):
            self.rate_limited.labels(event.resource or "").inc()

    def sample(self, executor: Executor) -> None:
        """Set the capacity gauges from ``executor.statistics()`` (call it inside Trio)."""
        for name, resource in executor.statistics().resources.items():
            self.held.labels(name).set(resource.held)
            self.limit.labels(name).set(resource.cap)
            self.waiting.labels(name).set(resource.waiting)

    async def watch(self, executor: Executor, *, interval: float = 1.0) -> None:
        """`sample` ``executor`` every ``interval`` seconds until cancelled (start it in your nursery)."""
        while True:
            self.sample(executor)
            await trio.sleep(interval)
