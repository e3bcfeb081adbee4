"""The demo turn on a MockClock: exact times derived by hand from its latencies and caps.

Latencies (simulated seconds): dd_metrics 6, dd_logs 7, dd_monitors 5,
pd_incident 5.5, gh_deploys 6.5, jira_issues 5, slack_history 6; status fails
after 1, waits 0.5, then succeeds after 5 (6.5 in all); sentry fails after
2.5, waits 0.25, fails again after 2.5 (error at 5.25); ticket 2; post 1.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
import trio
import trio.testing

from trio_toolpar import CallContext, ErrorCode, FailFast, Retryable, Status, TurnResult
from trio_toolpar._cli._demo import CALLS, LATENCY, LIMITS, build_demo

ROOT = Path(__file__).parent.parent

READS = [
    "dd_metrics",
    "dd_logs",
    "dd_monitors",
    "pd_incident",
    "gh_deploys",
    "jira_issues",
    "status",
    "sentry",
    "slack_history",
]
READ_SPANS = {
    "dd_metrics": (0.0, 6.0),
    "dd_logs": (0.0, 7.0),
    "dd_monitors": (0.0, 5.0),
    "pd_incident": (0.0, 5.5),
    "gh_deploys": (0.0, 6.5),
    "jira_issues": (0.0, 5.0),
    "status": (0.0, 6.5),
    "sentry": (0.0, 5.25),
    "slack_history": (0.0, 6.0),
}


def spans(result: TurnResult) -> dict[str, tuple[float, float] | None]:
    """Each call's (start, finish) in seconds from the turn's start; ``None`` if it never started."""
    t0 = result.started_at
    out: dict[str, tuple[float, float] | None] = {}
    for o in result:
        if o.started_at is None or o.finished_at is None:
            out[o.call_id] = None
        else:
            out[o.call_id] = (o.started_at - t0, o.finished_at - t0)
    return out


def test_the_turn_is_nine_reads_then_two_writes() -> None:
    assert [c.id for c in CALLS] == [*READS, "ticket", "post"]
    assert set(LATENCY) == {c.tool for c in CALLS}
    assert all(2.5 <= LATENCY[c.tool] <= 7.0 for c in CALLS[:9])
    assert dict(LIMITS)["datadog"] == 3
    assert dict(LIMITS)["jira"] == 2


def test_plan_has_three_waves_with_reference_and_conflict_edges() -> None:
    demo = build_demo()
    plan = demo.executor().plan(demo.calls)
    assert plan.waves == ((0, 1, 2, 3, 4, 5, 6, 7, 8), (9,), (10,))
    ticket, post = plan.calls[9], plan.calls[10]
    assert ticket.needs == (0, 3, 4)  # dd_metrics, pd_incident, gh_deploys
    assert ticket.after == (5,)  # jira_issues reads the project the ticket writes to
    assert post.needs == (1, 6, 9)  # dd_logs, status, ticket
    assert 8 in post.after  # slack_history reads the channel the post writes to
    assert not any(7 in pc.predecessors for pc in plan.calls)  # nothing waits for sentry
    rendered = plan.render()
    assert rendered.startswith("plan: 11 calls, 3 waves")
    assert "needs dd_metrics,pd_incident,gh_deploys after jira_issues" in rendered


async def test_waves_take_the_slowest_read_then_each_write(autojump_clock: trio.testing.MockClock) -> None:
    demo = build_demo()
    result = await demo.executor().run(demo.calls)
    assert [o.call_id for o in result if not o.ok] == ["sentry"]
    # Wave 0 ends with dd_logs at 7; the ticket takes 2, the post 1.
    assert spans(result) == {**READ_SPANS, "ticket": (7.0, 9.0), "post": (9.0, 10.0)}
    assert result.elapsed == 10.0
    assert [o.wave for o in result] == [0] * 9 + [1, 2]
    # One call after another it would be 6+7+5+5.5+6.5+5+6.5+5.25+6 + 2+1.
    assert sum(o.latency_ms for o in result) == 55_750.0


async def test_eager_starts_the_ticket_when_its_own_reads_are_done(autojump_clock: trio.testing.MockClock) -> None:
    demo = build_demo()
    result = await demo.executor(schedule="eager").run(demo.calls)
    # The ticket waits for gh_deploys (6.5), the slowest of what it needs and of jira_issues (5).
    assert spans(result) == {**READ_SPANS, "ticket": (6.5, 8.5), "post": (8.5, 9.5)}
    assert result.elapsed == 9.5


async def test_a_datadog_cap_of_one_runs_its_three_calls_in_emission_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    demo = build_demo()
    result = await demo.executor(limits={**LIMITS, "datadog": 1}).run(demo.calls)
    assert spans(result) == {
        **READ_SPANS,
        "dd_metrics": (0.0, 6.0),
        "dd_logs": (6.0, 13.0),
        "dd_monitors": (13.0, 18.0),
        "ticket": (18.0, 20.0),
        "post": (20.0, 21.0),
    }


async def test_a_global_cap_of_four_and_a_retry_that_gives_back_its_slot(
    autojump_clock: trio.testing.MockClock,
) -> None:
    demo = build_demo()
    result = await demo.executor(max_concurrency=4).run(demo.calls)
    # 0: dd_metrics, dd_logs, dd_monitors, pd_incident start. 5: gh_deploys. 5.5: jira_issues.
    # 6: status; it fails at 7 and backs off holding no slot; dd_logs ends at 7 too, so sentry and
    # slack_history start at 7. Status wants a slot again at 7.5 and gets sentry's at 9.5 (its first
    # 502); sentry's retry gets jira_issues' slot at 10.5 and fails at 13. Wave 0 ends with status at 14.5.
    assert spans(result) == {
        "dd_metrics": (0.0, 6.0),
        "dd_logs": (0.0, 7.0),
        "dd_monitors": (0.0, 5.0),
        "pd_incident": (0.0, 5.5),
        "gh_deploys": (5.0, 11.5),
        "jira_issues": (5.5, 10.5),
        "status": (6.0, 14.5),
        "sentry": (7.0, 13.0),
        "slack_history": (7.0, 13.0),
        "ticket": (14.5, 16.5),
        "post": (16.5, 17.5),
    }
    # The outcomes' latencies count the waits for a slot between attempts (status: 2 s, sentry: 0.75 s).
    assert result["status"].latency_ms == 8500.0
    assert result["sentry"].latency_ms == 6000.0


def test_serial_cost_is_the_calls_own_latencies_without_waits_for_capacity() -> None:
    # 6+7+5+5.5+6.5+5+6.5+5.25+6 + 2+1, whatever caps the shown turn ran under.
    assert build_demo(time_scale=0.2).serial_seconds() == 55.75


async def test_the_flaky_statuspage_is_ok_after_two_attempts(autojump_clock: trio.testing.MockClock) -> None:
    demo = build_demo()
    result = await demo.executor().run(demo.calls)
    status = result["status"]
    assert status.status is Status.OK
    assert status.attempts == 2
    assert status.latency_ms == 6500.0  # 1 s failed attempt + 0.5 s backoff + 5 s
    assert status.value["indicator"] == "minor"
    assert all(o.attempts == 1 for o in result if o.call_id not in ("status", "sentry"))


async def test_the_flaky_statuspage_fails_its_first_attempt_with_retryable(
    autojump_clock: trio.testing.MockClock,
) -> None:
    tool = build_demo().registry["statuspage_components"]
    assert tool.retry is not None and tool.retry.attempts >= 2 and tool.retry.jitter == 0.0
    context = CallContext(call_id="s", tool=tool.name, attempt=1, idempotency_key="k", deadline=math.inf)
    start = trio.current_time()
    with pytest.raises(Retryable, match="503"):
        await tool.fn(page="acme", context=context)
    assert trio.current_time() - start == 1.0


async def test_the_writes_got_the_values_their_references_name(autojump_clock: trio.testing.MockClock) -> None:
    demo = build_demo()
    result = await demo.executor().run(demo.calls)
    incident = result["pd_incident"].value
    assert [w.call_id for w in demo.sent] == ["ticket", "post"]
    ticket, post = demo.sent
    assert ticket.arguments == {
        "project": "CHK",
        "summary": incident["title"],
        "severity": incident["severity"],
        "assignee": incident["assignee"],
        "suspect_deploy": result["gh_deploys"].value["deploys"][0]["sha"],
        "peak_p99_ms": result["dd_metrics"].value["peak"],
    }
    assert isinstance(ticket.arguments["peak_p99_ms"], float)  # the value itself, not its text
    assert post.arguments == {
        "channel": "#inc-checkout",
        "ticket": result["ticket"].value["key"],
        "ticket_url": result["ticket"].value["url"],
        "severity": "SEV-2",
        "top_error": result["dd_logs"].value["entries"][0]["message"],
        "status_indicator": "minor",
    }
    assert result["ticket"].value["key"] in result["post"].value["text"]


async def test_data_is_seeded_and_does_not_depend_on_the_schedule(autojump_clock: trio.testing.MockClock) -> None:
    first = await build_demo().executor(schedule="waves").run(CALLS)
    again = await build_demo().executor(schedule="eager", limits={"datadog": 1}).run(CALLS)
    other = await build_demo(seed=1).executor().run(CALLS)
    assert [o.value for o in first] == [o.value for o in again]
    assert first["dd_metrics"].value != other["dd_metrics"].value
    assert first["gh_deploys"].value != other["gh_deploys"].value


async def test_sentry_is_down_and_fails_after_two_attempts(autojump_clock: trio.testing.MockClock) -> None:
    demo = build_demo()
    result = await demo.executor().run(demo.calls)
    sentry = result["sentry"]
    assert (sentry.status, sentry.error_code, sentry.attempts) == (Status.ERROR, ErrorCode.TOOL_ERROR, 2)
    assert sentry.error == "Retryable: sentry.io answered 502 Bad Gateway (after 2 attempts)"
    assert sentry.latency_ms == 5250.0


async def test_fail_fast_cancels_the_siblings_of_the_sentry_failure(autojump_clock: trio.testing.MockClock) -> None:
    demo = build_demo()
    result = await demo.executor(policy=FailFast()).run(demo.calls)
    # Sentry fails at 5.25: the two reads done at 5 stay ok, the six still running are cancelled,
    # the writes never start. The statuspage flake before it was repaired and did not fire the policy.
    assert {o.call_id: (o.status.value, o.error_code) for o in result} == {
        "dd_metrics": ("cancelled", ErrorCode.SIBLING_FAILED),
        "dd_logs": ("cancelled", ErrorCode.SIBLING_FAILED),
        "dd_monitors": ("ok", None),
        "pd_incident": ("cancelled", ErrorCode.SIBLING_FAILED),
        "gh_deploys": ("cancelled", ErrorCode.SIBLING_FAILED),
        "jira_issues": ("ok", None),
        "status": ("cancelled", ErrorCode.SIBLING_FAILED),
        "sentry": ("error", ErrorCode.TOOL_ERROR),
        "slack_history": ("cancelled", ErrorCode.SIBLING_FAILED),
        "ticket": ("skipped", ErrorCode.SIBLING_FAILED),
        "post": ("skipped", ErrorCode.SIBLING_FAILED),
    }
    assert result["status"].attempts == 2
    assert result.elapsed == 5.25
    assert demo.sent == []


async def test_a_budget_of_eight_seconds_stops_the_ticket_halfway(autojump_clock: trio.testing.MockClock) -> None:
    demo = build_demo()
    result = await demo.executor(budget=8.0).run(demo.calls)
    assert [o.status for o in result][:9] == [Status.OK] * 7 + [Status.ERROR, Status.OK]
    ticket, post = result["ticket"], result["post"]
    assert (ticket.status, ticket.error_code) == (Status.CANCELLED, ErrorCode.BUDGET_EXCEEDED)
    assert ticket.latency_ms == 1000.0  # started at 7, stopped at the deadline, 8
    assert post.status is Status.SKIPPED
    assert post.started_at is None
    assert result.elapsed == 8.0
    assert demo.sent == []  # the stopped write sent nothing


async def test_time_scale_plays_the_same_turn_faster(autojump_clock: trio.testing.MockClock) -> None:
    demo = build_demo(time_scale=0.2)
    executor = demo.executor(budget=100.0)
    assert executor.budget == pytest.approx(20.0)
    result = await executor.run(demo.calls)
    assert result.elapsed == pytest.approx(2.0)
    assert result["status"].latency_ms == pytest.approx(1300.0)


def test_time_scale_must_be_positive() -> None:
    with pytest.raises(ValueError, match="time_scale"):
        build_demo(time_scale=0.0)


def test_the_opening_paragraphs_state_the_times_the_demo_prints() -> None:
    # README.md and docs/index.md open with the demo's two times; they must be what the demo prints.
    done = subprocess.run(
        [sys.executable, "-m", "trio_toolpar", "demo", "--virtual", "--progress", "off"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 1, done.stderr  # its Sentry is down by design
    printed = {}
    for line in done.stdout.splitlines():
        found = re.match(r"(serial|this turn)\b.*?:\s+([\d.]+) simulated s", line)
        if found:
            printed[found[1]] = float(found[2])
    assert printed.keys() == {"serial", "this turn"}, done.stdout
    for page in ("README.md", "docs/index.md"):
        opening = (ROOT / page).read_text(encoding="utf-8").split("\n\n", 2)[1]  # the paragraph after the title
        stated = re.findall(r"takes ([\d.]+) s run one call after another and ([\d.]+) s with\s+trio_toolpar", opening)
        assert [(float(a), float(b)) for a, b in stated] == [(printed["serial"], printed["this turn"])], page
