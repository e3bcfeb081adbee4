"""The demo turn: an on-call agent triaging an incident, against simulated integrations.

One model turn asks for eight reads (Datadog, PagerDuty, GitHub, Jira,
Statuspage, Slack) that each take 5-7 s, then two writes that use what the
reads found through ``$id.path`` references: a Jira ticket, and a Slack post
that links to it. Run one after another that is about 50 s; trio_toolpar runs
it in 10 s (9.5 s with the eager schedule)::

    wave 0  dd_metrics dd_logs dd_monitors pd_incident gh_deploys jira_issues status slack_history
    wave 1  ticket   needs pd_incident, gh_deploys, dd_metrics; after jira_issues (same Jira project)
    wave 2  post     needs ticket, dd_logs, status; after slack_history (same Slack channel)

Statuspage answers its first request with a 503 (`Retryable`); its retry
settings wait 0.5 s and try again. Latencies are in simulated seconds and
`build_demo`'s ``time_scale`` turns them into seconds on Trio's clock, so the
same turn plays in real time, faster, or instantly on a
`trio.testing.MockClock`. The data each tool returns is drawn from a
generator seeded by the demo's seed, the tool and its arguments, so it does
not depend on the order in which calls happen to run.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any, final

import attrs
import trio

from ._exceptions import Retryable
from ._executor import Executor
from ._outcome import ToolCall
from ._policy import Policy
from ._registry import CallContext, Registry, Retry
from ._settings import Schedule

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

DEFAULT_SEED = 4211
SERVICE = "checkout-api"

LATENCY: Mapping[str, float] = {
    "datadog_metrics": 6.0,
    "datadog_logs": 7.0,
    "datadog_monitors": 5.0,
    "pagerduty_incident": 5.5,
    "github_recent_deploys": 6.5,
    "jira_open_issues": 5.0,
    "statuspage_components": 5.0,
    "slack_channel_history": 6.0,
    "jira_create_issue": 2.0,
    "slack_post_message": 1.0,
}
"""Simulated seconds each tool takes (for Statuspage: a successful attempt)."""

STATUSPAGE_FAILURE = 1.0
"""Simulated seconds until Statuspage's first attempt fails with a 503."""
STATUSPAGE_BACKOFF = 0.5
"""Simulated seconds Statuspage's retry waits after that failure."""
READ_TIMEOUT = 15.0
WRITE_TIMEOUT = 10.0

LIMITS: Mapping[str, int] = {
    "datadog": 3,
    "github": 2,
    "jira": 2,
    "pagerduty": 2,
    "slack": 1,
    "statuspage": 1,
}
"""Calls each integration may serve at once."""

CALLS: tuple[ToolCall, ...] = (
    ToolCall(
        id="dd_metrics",
        tool="datadog_metrics",
        arguments={"service": SERVICE, "metric": "http.request.p99_ms", "window_minutes": 60},
    ),
    ToolCall(id="dd_logs", tool="datadog_logs", arguments={"service": SERVICE, "query": "status:error", "limit": 5}),
    ToolCall(id="dd_monitors", tool="datadog_monitors", arguments={"service": SERVICE}),
    ToolCall(id="pd_incident", tool="pagerduty_incident", arguments={"incident_id": "Q1X9ZK3T"}),
    ToolCall(id="gh_deploys", tool="github_recent_deploys", arguments={"repo": f"acme/{SERVICE}", "limit": 3}),
    ToolCall(id="jira_issues", tool="jira_open_issues", arguments={"project": "CHK", "label": SERVICE}),
    ToolCall(id="status", tool="statuspage_components", arguments={"page": "acme"}),
    ToolCall(id="slack_history", tool="slack_channel_history", arguments={"channel": "#inc-checkout", "limit": 20}),
    ToolCall(
        id="ticket",
        tool="jira_create_issue",
        arguments={
            "project": "CHK",
            "summary": "$pd_incident.title",
            "severity": "$pd_incident.severity",
            "assignee": "$pd_incident.assignee",
            "suspect_deploy": "$gh_deploys.deploys.0.sha",
            "peak_p99_ms": "$dd_metrics.peak",
        },
    ),
    ToolCall(
        id="post",
        tool="slack_post_message",
        arguments={
            "channel": "#inc-checkout",
            "ticket": "$ticket.key",
            "ticket_url": "$ticket.url",
            "severity": "$ticket.severity",
            "top_error": "$dd_logs.entries.0.message",
            "status_indicator": "$status.indicator",
        },
    ),
)
"""The turn, in the order the model emitted its calls."""


@final
@attrs.frozen(kw_only=True)
class SentWrite:
    """What a simulated write tool received, after references were substituted."""

    call_id: str
    tool: str
    arguments: Mapping[str, Any]
    result: Mapping[str, Any]


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
    ) -> Executor:
        """An executor for the demo turn.

        Args:
            policy: `BestEffort` (default) or `FailFast`.
            schedule: ``"waves"`` or ``"eager"``.
            budget: the turn's budget in simulated seconds (``None``: none).
            max_concurrency: a cap on all calls at once.
            limits: per-integration caps instead of `LIMITS`.
        """
        return Executor(
            self.registry,
            limits=self.limits if limits is None else limits,
            max_concurrency=max_concurrency,
            policy=policy,
            budget=None if budget is None else budget * self.time_scale,
            schedule=schedule,
            seed=self.seed,
        )


def build_demo(*, time_scale: float = 1.0, seed: int = DEFAULT_SEED) -> Demo:
    """The incident-triage demo.

    Args:
        time_scale: seconds on Trio's clock per simulated second; ``0.2``
            plays the demo five times faster than real time.
        seed: seeds the data the tools return.

    Raises:
        ValueError: ``time_scale`` is not a positive number.
    """
    if not time_scale > 0:
        raise ValueError(f"time_scale must be a positive number, not {time_scale!r}")
    sent: list[SentWrite] = []
    sim = _Integrations(seed=seed, time_scale=time_scale, sent=sent)
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
    registry.add(
        sim.statuspage_components,
        side_effect="read",
        resource="statuspage",
        timeout=read_timeout,
        retry=Retry(attempts=3, backoff=STATUSPAGE_BACKOFF * time_scale, jitter=0.0),
    )
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


_LOG_MESSAGES = (
    "upstream connect error: payments-db connection pool exhausted (20/20 in use)",
    "TimeoutError: POST /v1/charges exceeded 2000 ms",
    "circuit breaker 'payments' is open; failing fast",
    "pq: sorry, too many clients already",
)
_ENGINEERS = ("amara.okafor", "jonas.weber", "li.na", "priya.raman", "sam.ortega")
_DEPLOY_TITLES = (
    "Bump payments-client to 4.2.0 (pool size 50 -> 20)",
    "Add retry to cart hydration",
    "Cache shipping quotes for 60 s",
    "Log request ids in checkout spans",
)


class _Integrations:
    """Simulated Datadog, PagerDuty, GitHub, Jira, Statuspage and Slack.

    Each method is a tool. It sleeps its latency on Trio's clock and returns
    data drawn from a generator seeded by the demo's seed, the tool and its
    arguments.
    """

    def __init__(self, *, seed: int, time_scale: float, sent: list[SentWrite]) -> None:
        self._seed = seed
        self._scale = time_scale
        self._sent = sent

    def _rng(self, tool: str, *parts: object) -> random.Random:
        return random.Random(f"{self._seed}:{tool}:{':'.join(map(str, parts))}")

    async def _take(self, seconds: float) -> None:
        await trio.sleep(seconds * self._scale)

    async def datadog_metrics(self, service: str, metric: str, window_minutes: int = 60) -> dict[str, Any]:
        """A metric's time series for a service, one point per 5 minutes.

        Args:
            service: the Datadog service tag.
            metric: the metric name.
            window_minutes: how far back to look.
        """
        await self._take(LATENCY["datadog_metrics"])
        rng = self._rng("datadog_metrics", service, metric, window_minutes)
        baseline = round(rng.uniform(150.0, 220.0), 1)
        points = [round(baseline * rng.uniform(0.9, 1.1), 1) for _ in range(max(window_minutes // 5, 1))]
        spike = len(points) * 2 // 3
        for i in range(spike, len(points)):
            points[i] = round(baseline * rng.uniform(8.0, 14.0), 1)
        return {
            "service": service,
            "metric": metric,
            "baseline": baseline,
            "peak": max(points),
            "points": points,
        }

    async def datadog_logs(self, service: str, query: str, limit: int = 5) -> dict[str, Any]:
        """The most recent log entries of a service that match a query.

        Args:
            service: the Datadog service tag.
            query: a Datadog log query, e.g. ``status:error``.
            limit: how many entries to return.
        """
        await self._take(LATENCY["datadog_logs"])
        rng = self._rng("datadog_logs", service, query, limit)
        entries = [
            {
                "at": f"14:{7 - i // 3:02d}:{rng.randrange(60):02d}Z",
                "level": "error",
                "message": rng.choice(_LOG_MESSAGES),
            }
            for i in range(limit)
        ]
        return {"service": service, "query": query, "total": rng.randrange(1500, 5000), "entries": entries}

    async def datadog_monitors(self, service: str) -> dict[str, Any]:
        """The monitors of a service and which of them alert.

        Args:
            service: the Datadog service tag.
        """
        await self._take(LATENCY["datadog_monitors"])
        rng = self._rng("datadog_monitors", service)
        alerting = [
            {"id": rng.randrange(400_000, 500_000), "name": f"{service} p99 latency > 1 s", "state": "Alert"},
            {"id": rng.randrange(400_000, 500_000), "name": f"{service} error rate > 2%", "state": "Alert"},
        ]
        return {"service": service, "alerting": alerting, "ok": rng.randrange(8, 20)}

    async def pagerduty_incident(self, incident_id: str) -> dict[str, Any]:
        """A PagerDuty incident.

        Args:
            incident_id: the incident's id.
        """
        await self._take(LATENCY["pagerduty_incident"])
        rng = self._rng("pagerduty_incident", incident_id)
        return {
            "id": incident_id,
            "title": f"{SERVICE}: p99 latency above 2 s, checkout error rate {rng.uniform(3.0, 9.0):.1f}%",
            "severity": "SEV-2",
            "urgency": "high",
            "status": "acknowledged",
            "assignee": rng.choice(_ENGINEERS),
        }

    async def github_recent_deploys(self, repo: str, limit: int = 3) -> dict[str, Any]:
        """The latest deployments of a repository, newest first.

        Args:
            repo: ``owner/name``.
            limit: how many deployments to return.
        """
        await self._take(LATENCY["github_recent_deploys"])
        rng = self._rng("github_recent_deploys", repo, limit)
        deploys = [
            {
                "sha": f"{rng.getrandbits(28):07x}",
                "title": _DEPLOY_TITLES[i % len(_DEPLOY_TITLES)],
                "author": rng.choice(_ENGINEERS),
                "minutes_ago": 12 + 95 * i + rng.randrange(30),
            }
            for i in range(limit)
        ]
        return {"repo": repo, "deploys": deploys}

    async def jira_open_issues(self, project: str, label: str) -> dict[str, Any]:
        """Open Jira issues of a project with a label.

        Args:
            project: the Jira project key.
            label: the label to filter on.
        """
        await self._take(LATENCY["jira_open_issues"])
        rng = self._rng("jira_open_issues", project, label)
        issues = [
            {"key": f"{project}-{rng.randrange(1000, 4000)}", "summary": summary}
            for summary in ("Flaky payments sandbox in CI", "Checkout p95 regression after cache change")
        ]
        return {"project": project, "label": label, "issues": issues}

    async def statuspage_components(self, page: str, context: CallContext) -> dict[str, Any]:
        """The public status of each component; its first request gets a 503.

        Args:
            page: the Statuspage page id.
        """
        if context.attempt == 1:
            await self._take(STATUSPAGE_FAILURE)
            raise Retryable("statuspage.io answered 503 Service Unavailable")
        await self._take(LATENCY["statuspage_components"])
        return {
            "page": page,
            "indicator": "minor",
            "components": [
                {"name": "Checkout", "status": "degraded_performance"},
                {"name": "Storefront", "status": "operational"},
                {"name": "Payments", "status": "operational"},
            ],
        }

    async def slack_channel_history(self, channel: str, limit: int = 20) -> dict[str, Any]:
        """Recent messages of a Slack channel, newest first.

        Args:
            channel: the channel name.
            limit: how many messages to return.
        """
        await self._take(LATENCY["slack_channel_history"])
        rng = self._rng("slack_channel_history", channel, limit)
        messages = [
            {"user": rng.choice(_ENGINEERS), "text": text}
            for text in ("seeing 5xx on checkout in eu-west", "payments dashboards look fine?", "ack, looking")
        ]
        return {"channel": channel, "messages": messages[:limit]}

    async def jira_create_issue(
        self,
        project: str,
        summary: str,
        severity: str,
        assignee: str,
        suspect_deploy: str,
        peak_p99_ms: float,
        context: CallContext,
    ) -> dict[str, Any]:
        """Open a Jira incident ticket.

        Args:
            project: the Jira project key.
            summary: the ticket's title.
            severity: e.g. ``SEV-2``.
            assignee: who owns the ticket.
            suspect_deploy: the commit sha of the deployment suspected to have caused it.
            peak_p99_ms: the worst p99 latency seen, in milliseconds.
        """
        await self._take(LATENCY["jira_create_issue"])
        rng = self._rng("jira_create_issue", context.idempotency_key)
        key = f"{project}-{rng.randrange(4000, 5000)}"
        arguments = {
            "project": project,
            "summary": summary,
            "severity": severity,
            "assignee": assignee,
            "suspect_deploy": suspect_deploy,
            "peak_p99_ms": peak_p99_ms,
        }
        result = {"key": key, "url": f"https://acme.atlassian.net/browse/{key}", **arguments}
        self._sent.append(
            SentWrite(call_id=context.call_id, tool="jira_create_issue", arguments=arguments, result=result)
        )
        return result

    async def slack_post_message(
        self,
        channel: str,
        ticket: str,
        ticket_url: str,
        severity: str,
        top_error: str,
        status_indicator: str,
        context: CallContext,
    ) -> dict[str, Any]:
        """Post the incident summary to a Slack channel.

        Args:
            channel: the channel name.
            ticket: the incident ticket's key.
            ticket_url: the incident ticket's link.
            severity: e.g. ``SEV-2``.
            top_error: the most frequent error message.
            status_indicator: the public status page's indicator.
        """
        await self._take(LATENCY["slack_post_message"])
        text = (
            f"{severity} on {SERVICE}: tracking in {ticket} ({ticket_url}). "
            f"Top error: {top_error}. Public status: {status_indicator}."
        )
        arguments = {
            "channel": channel,
            "ticket": ticket,
            "ticket_url": ticket_url,
            "severity": severity,
            "top_error": top_error,
            "status_indicator": status_indicator,
        }
        result = {"channel": channel, "ts": "1718031000.000100", "text": text}
        self._sent.append(
            SentWrite(call_id=context.call_id, tool="slack_post_message", arguments=arguments, result=result)
        )
        return result
