"""The demo's simulated integrations: Datadog, PagerDuty, GitHub, Jira, Statuspage, Sentry and Slack.

Each tool sleeps its latency (`LATENCY`, in simulated seconds, times the
demo's ``time_scale``) on Trio's clock and returns data drawn from a
generator seeded by the demo's seed, the tool and its arguments, so that the
data does not depend on the order in which calls happen to run.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any, final

import attrs
import trio

from .._tools._context import CallContext
from .._values._exceptions import Retryable
from ._demo_scenario import DEPLOY_TITLES, ENGINEERS, LATENCY, LOG_MESSAGES, SERVICE, STATUSPAGE_FAILURE

__all__ = ["Integrations", "SentWrite"]


@final
@attrs.frozen(kw_only=True)
class SentWrite:
    """What a simulated write tool received, after references were substituted."""

    call_id: str
    tool: str
    arguments: Mapping[str, Any]
    result: Mapping[str, Any]


class Integrations:
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
                "message": rng.choice(LOG_MESSAGES),
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
            "assignee": rng.choice(ENGINEERS),
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
                "title": DEPLOY_TITLES[i % len(DEPLOY_TITLES)],
                "author": rng.choice(ENGINEERS),
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

    async def sentry_issues(self, project: str, since_minutes: int = 60) -> dict[str, Any]:
        """The newest unresolved Sentry issues of a project; Sentry is down and answers 502.

        Args:
            project: the Sentry project slug.
            since_minutes: how far back to look.
        """
        await self._take(LATENCY["sentry_issues"])
        raise Retryable("sentry.io answered 502 Bad Gateway")

    async def slack_channel_history(self, channel: str, limit: int = 20) -> dict[str, Any]:
        """Recent messages of a Slack channel, newest first.

        Args:
            channel: the channel name.
            limit: how many messages to return.
        """
        await self._take(LATENCY["slack_channel_history"])
        rng = self._rng("slack_channel_history", channel, limit)
        messages = [
            {"user": rng.choice(ENGINEERS), "text": text}
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
