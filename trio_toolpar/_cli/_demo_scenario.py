"""The demo's scenario as data: the turn's calls, each tool's latency, the caps, the canned texts.

An on-call agent triages an incident on ``checkout-api``. Its model turn asks
for nine reads (Datadog, PagerDuty, GitHub, Jira, Statuspage, Sentry, Slack)
and two writes that use what the reads found through ``$id.path`` references::

    wave 0  dd_metrics dd_logs dd_monitors pd_incident gh_deploys jira_issues status sentry slack_history
    wave 1  ticket   needs pd_incident, gh_deploys, dd_metrics; after jira_issues (same Jira project)
    wave 2  post     needs ticket, dd_logs, status; after slack_history (same Slack channel)

Two reads misbehave. Statuspage answers its first request with a 503 and
succeeds when retried: a failure the retry repairs. Sentry is down: both of
its attempts get a 502, so the call ends ``error`` — under best-effort the
others finish and the writes go out; under fail-fast its siblings are
cancelled or skipped with ``sibling_failed``. Nothing references Sentry, so
best-effort loses only its answer. Latencies are simulated seconds.
"""

from __future__ import annotations

from collections.abc import Mapping

from .._values._outcome import ToolCall

__all__ = [
    "CALLS",
    "DEFAULT_SEED",
    "DEPLOY_TITLES",
    "ENGINEERS",
    "LATENCY",
    "LIMITS",
    "LOG_MESSAGES",
    "READ_TIMEOUT",
    "SENTRY_BACKOFF",
    "SERVICE",
    "STATUSPAGE_BACKOFF",
    "STATUSPAGE_FAILURE",
    "WRITE_TIMEOUT",
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
    "sentry_issues": 2.5,
    "slack_channel_history": 6.0,
    "jira_create_issue": 2.0,
    "slack_post_message": 1.0,
}
"""Simulated seconds each tool takes (Statuspage: its successful attempt; Sentry: each failing attempt)."""

STATUSPAGE_FAILURE = 1.0
"""Simulated seconds until Statuspage's first attempt fails with a 503."""
STATUSPAGE_BACKOFF = 0.5
"""Simulated seconds Statuspage's retry waits after that failure."""
SENTRY_BACKOFF = 0.25
"""Simulated seconds Sentry's retry waits; its second 502 comes at 2.5 + 0.25 + 2.5 = 5.25 s."""
READ_TIMEOUT = 15.0
WRITE_TIMEOUT = 10.0

LIMITS: Mapping[str, int] = {
    "datadog": 3,
    "github": 2,
    "jira": 2,
    "pagerduty": 2,
    "sentry": 1,
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
    ToolCall(id="sentry", tool="sentry_issues", arguments={"project": SERVICE, "since_minutes": 60}),
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

LOG_MESSAGES = (
    "upstream connect error: payments-db connection pool exhausted (20/20 in use)",
    "TimeoutError: POST /v1/charges exceeded 2000 ms",
    "circuit breaker 'payments' is open; failing fast",
    "pq: sorry, too many clients already",
)
ENGINEERS = ("amara.okafor", "jonas.weber", "li.na", "priya.raman", "sam.ortega")
DEPLOY_TITLES = (
    "Bump payments-client to 4.2.0 (pool size 50 -> 20)",
    "Add retry to cart hydration",
    "Cache shipping quotes for 60 s",
    "Log request ids in checkout spans",
)
