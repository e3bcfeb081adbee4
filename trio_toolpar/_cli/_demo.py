"""The demo turn: an on-call agent triaging an incident, against simulated integrations.

The scenario (the calls, latencies and caps) is data in `_demo_scenario`;
the simulated tools are in `_demo_tools`. `build_demo` registers the tools
with their settings and returns a `Demo`. Run one after another the turn
takes 55.75 s (`Demo.serial_seconds`); trio_toolpar runs it in 10 s (9.5 s with the eager
schedule). `build_demo`'s ``time_scale`` turns simulated seconds into
seconds on Trio's clock, so the same turn plays in real time, faster, or
instantly on a `trio.testing.MockClock`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import final

import attrs
import trio
import trio.testing

from .._runtime._executor import Executor
from .._runtime._instrument import Instrument
from .._runtime._policy import Policy
from .._runtime._settings import Schedule
from .._tools._registry import Registry
from .._tools._retry import Retry
from .._values._outcome import ToolCall
from .._values._validate import check_positive_number
from ._demo_scenario import (
    CALLS,
    DEFAULT_SEED,
    LATENCY,
    LIMITS,
    READ_TIMEOUT,
    SENTRY_BACKOFF,
    SERVICE,
    STATUSPAGE_BACKOFF,
    WRITE_TIMEOUT,
)
from ._demo_tools import Integrations, SentWrite

__all__ = [
    "CALLS",
    "DEFAULT_SEED",
    "LATENCY",
    "LIMITS",
    "SERVICE",
    "Demo",
    "SentWrite",
    "build_demo",
]


@final
@attrs.frozen(kw_only=True)
class Demo:
    """The demo's tools, calls and caps, and a log of what its writes sent.

    Build it with `build_demo`; ``sent`` fills up as the turn's writes run.
    """

    registry: Registry
    calls: tuple[ToolCall, ...]
    limits: Mapping[str, int]
    time_scale: float
    seed: int
    sent: list[SentWrite] = attrs.field(factory=list, eq=False)

    def executor(
        self,
        *,
        policy: Policy | None = None,
        schedule: Schedule = "waves",
        budget: float | None = None,
        max_concurrency: int | None = None,
        limits: Mapping[str, int] | None = None,
        instruments: Iterable[Instrument] = (),
    ) -> Executor:
        """An executor for the demo turn.

        Args:
            policy: `BestEffort` (default) or `FailFast`.
            schedule: ``"waves"`` or ``"eager"``.
            budget: the turn's budget in simulated seconds (``None``: none).
            max_concurrency: a cap on all calls at once.
            limits: per-integration caps instead of `LIMITS`.
            instruments: observers of the turn (`Instrument`).
        """
        return Executor(
            self.registry,
            limits=self.limits if limits is None else limits,
            max_concurrency=max_concurrency,
            policy=policy,
            budget=None if budget is None else budget * self.time_scale,
            schedule=schedule,
            seed=self.seed,
            instruments=instruments,
        )

    def serial_seconds(self) -> float:
        """What running the calls one after another costs, in simulated seconds.

        That is the sum of each call's own latency (its attempts and the
        backoffs between them), measured by running the turn once more on a
        fresh set of the simulated tools, with no caps and on a virtual clock,
        so that no wait for a capacity slot is counted. Call it outside
        ``trio.run``.
        """
        demo = build_demo(seed=self.seed)
        result = trio.run(demo.executor(limits={}).run, demo.calls, clock=trio.testing.MockClock(autojump_threshold=0))
        return sum(o.latency_ms for o in result) / 1000.0


def build_demo(*, time_scale: float = 1.0, seed: int = DEFAULT_SEED) -> Demo:
    """The incident-triage demo.

    Args:
        time_scale: seconds on Trio's clock per simulated second; ``0.2``
            plays the demo five times faster than real time.
        seed: seeds the data the tools return.

    Raises:
        TypeError: ``time_scale`` is not a number.
        ValueError: ``time_scale`` is not positive and finite.
    """
    check_positive_number("time_scale", time_scale, finite=True)
    sent: list[SentWrite] = []
    sim = Integrations(seed=seed, time_scale=time_scale, sent=sent)
    registry = Registry()
    read_timeout = READ_TIMEOUT * time_scale
    write_timeout = WRITE_TIMEOUT * time_scale
    for tool, resource, key in (
        (sim.datadog_metrics, "datadog", "service:{service}"),
        (sim.datadog_logs, "datadog", "service:{service}"),
        (sim.datadog_monitors, "datadog", "service:{service}"),
        (sim.pagerduty_incident, "pagerduty", "incident:{incident_id}"),
        (sim.github_recent_deploys, "github", "repo:{repo}"),
        (sim.jira_open_issues, "jira", "jira:{project}"),
        (sim.slack_channel_history, "slack", "slack:{channel}"),
    ):
        registry.add(tool, side_effect="read", resource=resource, key=key, timeout=read_timeout)
    for flaky, resource, backoff in (
        (sim.statuspage_components, "statuspage", STATUSPAGE_BACKOFF),
        (sim.sentry_issues, "sentry", SENTRY_BACKOFF),
    ):
        retry = Retry(attempts=2, backoff=backoff * time_scale, jitter=0.0)
        registry.add(flaky, side_effect="read", resource=resource, timeout=read_timeout, retry=retry)
    registry.add(
        sim.jira_create_issue,
        side_effect="write",
        resource="jira",
        key="jira:{project}",
        timeout=write_timeout,
        idempotency_key=True,
    )
    registry.add(
        sim.slack_post_message, side_effect="write", resource="slack", key="slack:{channel}", timeout=write_timeout
    )
    return Demo(registry=registry, calls=CALLS, limits=dict(LIMITS), time_scale=time_scale, seed=seed, sent=sent)
