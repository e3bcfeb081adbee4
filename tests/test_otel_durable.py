"""The OpenTelemetry edge on a resumed durable turn: which calls were replayed, and which are in doubt.

The turn of `resumed_turn` crashed with ``a`` finished, ``w`` (not
retry-safe) and ``k`` (retry-safe) in flight; ``after_w`` needs ``w``.
"""

from __future__ import annotations

import pytest
import trio
import trio.testing
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode
from otel_memory import Otel, parent_of, seconds
from resumed_turn import CALLS, crashed_turn, registry

from trio_toolpar import Executor, Status, ToolCall

TURN = [*CALLS, ToolCall(id="after_w", tool="read", arguments={"id": "after_w", "value": "$w"})]


def call_spans(otel: Otel) -> dict[str, ReadableSpan]:
    return {
        str((s.attributes or {})["gen_ai.tool.call.id"]): s for s in otel.spans() if s.name.startswith("execute_tool ")
    }


def not_run(otel: Otel) -> dict[str, dict[str, object]]:
    turn = otel.span("trio_toolpar.turn")
    return {str((e.attributes or {})["gen_ai.tool.call.id"]): dict(e.attributes or {}) for e in turn.events}


async def test_each_call_of_a_resumed_turn_says_whether_it_was_replayed_and_in_doubt_is_an_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal = await crashed_turn(TURN)
    otel = Otel()
    executor = Executor(registry, journal=journal, deterministic=True, instruments=[otel.instrument])
    result = await executor.run(TURN, turn_id="t")
    assert [o.status for o in result] == [Status.OK, Status.IN_DOUBT, Status.OK, Status.SKIPPED]
    turn = otel.span("trio_toolpar.turn")
    assert turn.attributes is not None and turn.attributes["trio_toolpar.resumed"] is True
    assert tuple(turn.attributes["trio_toolpar.replayed"]) == ("a",)  # type: ignore[arg-type]
    spans = call_spans(otel)
    assert sorted(spans) == ["a", "k", "w"]
    a, w, k = spans["a"], spans["w"], spans["k"]
    assert {parent_of(s) for s in (a, w, k)} == {turn.context.span_id}
    # a ran in the crashed run: its span has no duration, here, and keeps the recorded outcome's status.
    assert (a.attributes or {})["trio_toolpar.replayed"] is True
    assert (a.attributes or {})["trio_toolpar.attempts"] == 1
    assert (seconds(a), a.status.status_code) == (0.0, StatusCode.UNSET)
    # w may or may not have taken effect: an error, never ok.
    assert (w.attributes or {})["trio_toolpar.replayed"] is False
    assert (seconds(w), w.status.status_code, w.status.description) == (0.0, StatusCode.ERROR, "in_doubt")
    assert {
        k_: (w.attributes or {})[k_] for k_ in ("trio_toolpar.status", "trio_toolpar.error_code", "error.type")
    } == {
        "trio_toolpar.status": "in_doubt",
        "trio_toolpar.error_code": "in_doubt",
        "error.type": "in_doubt",
    }
    # k ran again here: a call span like any other's, with its attempt.
    assert (k.attributes or {})["trio_toolpar.replayed"] is False
    assert seconds(k) == pytest.approx(3.0)
    attempts = [s for s in otel.spans() if s.name.startswith("attempt ")]
    assert [parent_of(s) for s in attempts] == [k.context.span_id]
    # after_w never ran anywhere: an event of the turn, which says it was not replayed.
    event = not_run(otel)["after_w"]
    assert (event["trio_toolpar.status"], event["trio_toolpar.replayed"]) == ("skipped", False)
    # Only what ran in this process is on the duration histogram.
    assert sum(p.count for p in otel.durations()) == 1


async def test_a_second_resume_marks_every_call_replayed_the_one_in_doubt_still_an_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal = await crashed_turn(TURN)
    await Executor(registry, journal=journal, deterministic=True).run(TURN, turn_id="t")
    otel = Otel()
    executor = Executor(registry, journal=journal, deterministic=True, instruments=[otel.instrument])
    await executor.run(TURN, turn_id="t")
    spans = call_spans(otel)
    assert sorted(spans) == ["a", "k", "w"]
    assert all((s.attributes or {})["trio_toolpar.replayed"] is True for s in spans.values())
    assert all(seconds(s) == 0.0 for s in spans.values())
    assert (spans["w"].status.status_code, spans["w"].status.description) == (StatusCode.ERROR, "in_doubt")
    assert spans["a"].status.status_code is spans["k"].status.status_code is StatusCode.UNSET
    event = not_run(otel)["after_w"]
    assert (event["trio_toolpar.status"], event["trio_toolpar.replayed"]) == ("skipped", True)
    assert not [s for s in otel.spans() if s.name.startswith("attempt ")]
    assert otel.reader.get_metrics_data() is None  # nothing on the duration histogram: nothing ran here


async def test_a_turn_that_does_not_resume_has_no_replayed_attribute(autojump_clock: trio.testing.MockClock) -> None:
    otel = Otel()
    await Executor(registry, deterministic=True, instruments=[otel.instrument]).run(TURN)
    turn = otel.span("trio_toolpar.turn")
    assert "trio_toolpar.resumed" not in (turn.attributes or {})
    assert all("trio_toolpar.replayed" not in (s.attributes or {}) for s in call_spans(otel).values())
