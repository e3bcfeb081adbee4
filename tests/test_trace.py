"""Chrome trace-event export: the structure the format requires, and what it says about a turn.

The rules checked by `assert_valid_trace` are those of the Trace Event
Format's JSON Object Format: a ``traceEvents`` list and a
``displayTimeUnit`` of ``ms`` or ``ns``; every event has a string ``name``
and ``ph`` and integer ``pid``/``tid``; timed events have a numeric ``ts``
in microseconds; complete events (``X``) a numeric ``dur``; instant events
(``i``) a scope ``s`` of ``g``, ``p`` or ``t``; metadata events (``M``) one of
the metadata names with its ``args``. Beyond the format: every track has a
``thread_name``, no time is negative, and the slices of one track never
partly overlap (Perfetto drops slices that do not nest).
"""

from __future__ import annotations

import itertools
import json
import math
from collections import defaultdict
from typing import Any

import trio
import trio.testing
from hypothesis import HealthCheck, given, settings

from trio_toolpar import ErrorCode, Executor, Registry, ToolCall
from trio_toolpar._cli._demo import build_demo
from trio_toolpar._cli._main import trace_events
from trio_toolpar.testing import Recorder, TurnSpec, turns

METADATA_NAMES = {"process_name", "process_labels", "process_sort_index", "thread_name", "thread_sort_index"}


def assert_valid_trace(doc: Any) -> None:
    """Fail unless ``doc`` is a well-formed trace in the JSON Object Format (see the module's docstring)."""
    assert isinstance(doc, dict)
    assert set(doc) == {"traceEvents", "displayTimeUnit"}
    assert doc["displayTimeUnit"] in ("ms", "ns")
    events = doc["traceEvents"]
    assert isinstance(events, list) and events
    named: set[tuple[int, int]] = set()
    used: set[tuple[int, int]] = set()
    slices: dict[tuple[int, int], list[tuple[float, float]]] = defaultdict(list)
    for event in events:
        assert isinstance(event, dict), event
        assert isinstance(event["name"], str) and event["name"], event
        assert isinstance(event["pid"], int) and isinstance(event["tid"], int), event
        assert not isinstance(event["pid"], bool) and not isinstance(event["tid"], bool), event
        assert event["ph"] in ("X", "i", "M"), event
        assert isinstance(event.get("args", {}), dict), event
        track = (event["pid"], event["tid"])
        if event["ph"] == "M":
            assert event["name"] in METADATA_NAMES, event
            if event["name"].endswith("_name"):
                assert isinstance(event["args"]["name"], str), event
            if event["name"].endswith("_sort_index"):
                assert isinstance(event["args"]["sort_index"], int), event
            if event["name"] == "thread_name":
                assert track not in named, f"two names for track {track}"
                named.add(track)
            continue
        assert isinstance(event["ts"], (int, float)) and math.isfinite(event["ts"]) and event["ts"] >= 0, event
        used.add(track)
        if event["ph"] == "X":
            assert isinstance(event["dur"], (int, float)) and math.isfinite(event["dur"]) and event["dur"] >= 0, event
            slices[track].append((event["ts"], event["ts"] + event["dur"]))
        else:
            assert event["s"] in ("g", "p", "t"), event
    assert used <= named, f"tracks without a thread_name: {used - named}"
    for track, spans in slices.items():
        spans.sort()
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert start >= end, f"slices overlap on track {track}: {spans}"
    json.dumps(doc, allow_nan=False)  # plain JSON, no NaN


def track_names(doc: dict[str, Any]) -> dict[int, str]:
    return {e["tid"]: e["args"]["name"] for e in doc["traceEvents"] if e["name"] == "thread_name"}


def calls_by_id(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["args"]["call_id"]: e for e in doc["traceEvents"] if e.get("cat") in ("call", "not started")}


async def test_the_demo_trace_has_a_track_per_resource_slot_and_exact_times(
    autojump_clock: trio.testing.MockClock,
) -> None:
    demo = build_demo()
    result = await demo.executor().run(demo.calls)
    doc = trace_events(result, demo.registry, name="demo")
    assert_valid_trace(doc)
    names = track_names(doc)
    events = calls_by_id(doc)
    assert len(events) == len(demo.calls)
    where = {call_id: names[e["tid"]] for call_id, e in events.items()}
    # Datadog ran three calls at once: three tracks. The ticket follows jira_issues on the Jira track.
    assert sorted(where[c] for c in ("dd_metrics", "dd_logs", "dd_monitors")) == [
        "datadog",
        "datadog (2)",
        "datadog (3)",
    ]
    assert where["jira_issues"] == where["ticket"] == "jira"
    assert where["slack_history"] == where["post"] == "slack"
    assert where["sentry"] == "sentry"
    dd_logs, ticket, sentry = events["dd_logs"], events["ticket"], events["sentry"]
    assert (dd_logs["ph"], dd_logs["ts"], dd_logs["dur"]) == ("X", 0.0, 7_000_000.0)
    assert (ticket["ts"], ticket["dur"]) == (7_000_000.0, 2_000_000.0)
    assert sentry["args"] == {
        "call_id": "sentry",
        "tool": "sentry_issues",
        "status": "error",
        "error_code": "tool_error",
        "attempts": 2,
        "wave": 0,
        "latency_ms": 5250.0,
        "queue_wait_ms": 0.0,
        "error": "Retryable: sentry.io answered 502 Bad Gateway (after 2 attempts)",
    }
    assert events["post"]["args"]["wave"] == 2
    turn = next(e for e in doc["traceEvents"] if e.get("cat") == "turn")
    assert (turn["ts"], turn["dur"], names[turn["tid"]]) == (0.0, 10_000_000.0, "turn")
    assert turn["args"]["statuses"] == {"ok": 10, "error": 1}
    process = next(e for e in doc["traceEvents"] if e["name"] == "process_name")
    assert process["args"] == {"name": "demo"}


async def test_calls_that_never_started_are_instants_at_their_decision(
    autojump_clock: trio.testing.MockClock,
) -> None:
    demo = build_demo()
    result = await demo.executor(budget=8.0).run([*demo.calls, ToolCall(id="typo", tool="jira_creat_issue")])
    doc = trace_events(result, demo.registry)
    assert_valid_trace(doc)
    events = calls_by_id(doc)
    post, typo, ticket = events["post"], events["typo"], events["ticket"]
    assert (post["ph"], post["s"], post["ts"]) == ("i", "t", 8_000_000.0)  # skipped at the deadline
    assert post["args"]["error_code"] == ErrorCode.BUDGET_EXCEEDED
    assert (typo["ph"], typo["ts"], typo["args"]["status"]) == ("i", 0.0, "rejected")
    assert track_names(doc)[typo["tid"]] == "jira_creat_issue"  # not registered: a track named by its tool
    assert (ticket["ph"], ticket["ts"], ticket["dur"]) == ("X", 7_000_000.0, 1_000_000.0)  # cancelled at 8


async def test_a_tool_without_a_resource_is_on_a_track_named_by_the_tool(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry = Registry()

    @registry.tool(side_effect="none")
    async def think(seconds: float) -> None:
        """Sleep.

        Args:
            seconds: how long.
        """
        await trio.sleep(seconds)

    start = trio.current_time()
    await trio.sleep(3.0)  # the trace counts from the turn's start, not from the clock's zero
    assert trio.current_time() - start == 3.0
    calls = [ToolCall(id=f"t{i}", tool="think", arguments={"seconds": s}) for i, s in enumerate((1.0, 2.0, 0.5))]
    doc = trace_events(await Executor(registry).run(calls), registry)
    assert_valid_trace(doc)
    names = track_names(doc)
    events = calls_by_id(doc)
    assert [names[events[c]["tid"]] for c in ("t0", "t1", "t2")] == ["think", "think (2)", "think (3)"]
    assert [(events[c]["ts"], events[c]["dur"]) for c in ("t0", "t1", "t2")] == [
        (0.0, 1_000_000.0),
        (0.0, 2_000_000.0),
        (0.0, 500_000.0),
    ]


async def test_a_zero_length_call_frees_its_lane_for_one_granted_at_the_same_instant(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Cap 1: "quick" (higher priority) runs [0, 0), then "slow" [0, 1): one track is enough."""
    registry = Registry()

    @registry.tool(side_effect="none", resource="api")
    async def work(seconds: float) -> None:
        await trio.sleep(seconds)

    calls = [
        ToolCall(id="slow", tool="work", arguments={"seconds": 1.0}),
        ToolCall(id="quick", tool="work", arguments={"seconds": 0.0}, priority=1),
    ]
    result = await Executor(registry, limits={"api": 1}).run(calls)
    assert [(o.call_id, o.started_at, o.finished_at) for o in result] == [("slow", 0.0, 1.0), ("quick", 0.0, 0.0)]
    doc = trace_events(result, registry)
    assert_valid_trace(doc)
    names = track_names(doc)
    events = calls_by_id(doc)
    assert [names[events[c]["tid"]] for c in ("quick", "slow")] == ["api", "api"]


@settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], deadline=None, max_examples=60
)
@given(turn=turns(max_calls=10))
async def test_every_turn_gives_a_valid_trace_with_every_call_once(
    turn: TurnSpec, autojump_clock: trio.testing.MockClock
) -> None:
    recorder = Recorder()
    executor = turn.executor(recorder)
    result = await executor.run(turn.tool_calls())
    doc = trace_events(result, executor.registry)
    assert_valid_trace(doc)
    events = [e for e in doc["traceEvents"] if e.get("cat") in ("call", "not started")]
    assert sorted(e["args"]["call_id"] for e in events) == sorted(o.call_id for o in result)
    for event in events:
        outcome = result[event["args"]["call_id"]]
        assert event["ph"] == ("i" if outcome.started_at is None else "X")
        assert event["args"]["status"] == outcome.status.value
    # A queued slice for exactly the calls that waited for capacity, from queued_at to their start or outcome.
    waits = sorted(
        (o.call_id, o.queued_at - result.started_at, until - o.queued_at)
        for o in result
        if o.queued_at is not None
        and (until := o.started_at if o.started_at is not None else o.finished_at) is not None
        and until > o.queued_at
    )
    queued = [e for e in doc["traceEvents"] if e.get("cat") == "queued"]
    assert sorted((e["name"], e["ts"], e["dur"]) for e in queued) == [
        (call_id, round(at * 1e6, 3), round((at + wait) * 1e6, 3) - round(at * 1e6, 3)) for call_id, at, wait in waits
    ]
    # Tracks are filled greedily in order of start, which needs no more of them than calls ever ran at once.
    # A call's span also covers a backoff after a failed attempt, when it holds no capacity (it was retried,
    # or stopped before its retry began): then spans may overlap more.
    backed_off = [i for i in recorder.intervals if i.ending == "raised" and result[i.call_id].finished_at != i.end]
    if backed_off:
        return
    names = list(track_names(doc).values())
    for resource, cap in turn.limits.items():
        assert sum(n == resource or n.startswith(f"{resource} (") for n in names) <= cap
