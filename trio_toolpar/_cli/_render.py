"""How the ``trio-toolpar`` command prints a finished turn: JSON, or a table, the errors, a timeline, the speed-up.

The speed-up line compares the turn with running its calls one after
another, which costs the sum of the calls' own latencies: given by the
caller when it can measure them (the demo does, without the waits for a
capacity slot that an outcome's latency includes between retries), else the
sum of the outcomes' latencies. It is shown only
when every call did its work: a turn whose calls were cancelled, skipped
(by the budget, fail-fast or the caller) or deferred (past the turn's
admission limit) did less than a serial run would
have, and a ratio would flatter it; nor when it rounds to no speed-up at all
(one call, or calls that could only run one after another); nor for a
resumed durable turn with replayed calls, which ran in an earlier run.

A resumed turn's replayed calls are marked in the table and the timeline;
their recorded times are of the run that recorded them, on its clock, so
`rescaled` shows them decided at this turn's start, never started in it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import IO, Any, final

import attrs

from .._planning._plan import Plan
from .._runtime._result import TurnResult
from .._values._convert import converter, dumps
from .._values._outcome import Outcome, Status
from .._values._render import clean_text
from .._values._timeline import replayed_flags

__all__ = [
    "Report",
    "count",
    "error_lines",
    "plan_data",
    "print_json",
    "print_report",
    "render_plan",
    "rescaled",
    "speedup_lines",
]

_NOT_DONE = frozenset({Status.CANCELLED, Status.SKIPPED, Status.IN_DOUBT, Status.DEFERRED})
_ALSO_NOT_DONE = ((Status.DEFERRED, "deferred"), (Status.IN_DOUBT, "in doubt"))
"""Named in the speed-up line only when a call of the turn ended so."""


@final
@attrs.frozen(kw_only=True)
class Report:
    """How to print a turn.

    ``time_scale`` is how many seconds on Trio's clock make one second as
    shown (in ``unit``): ``0.2`` when the demo plays at ``--speed 5``.
    """

    name: str
    """What the turn is called in a trace."""
    header: tuple[str, ...]
    time_scale: float
    unit: str
    json: bool
    width: int


def count(n: int, noun: str) -> str:
    """``1 call``, ``2 calls``: ``n`` and ``noun``, in the plural unless ``n`` is 1."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def render_plan(plan: Plan) -> str:
    """`Plan.render`'s picture of the waves, then the calls planning refused, one line per reason.

    Calls refused for one reason share a line, so that a dependency cycle,
    which refuses every call in it, is told once.
    """
    # Without their verdicts, Plan.render draws only the header and the waves (the refused calls are in none).
    waves_only = attrs.evolve(plan, calls=tuple(attrs.evolve(pc, verdict=None) for pc in plan.calls))
    lines = [f"plan: {count(len(plan.calls), 'call')}, {count(len(plan.waves), 'wave')}"]
    lines.extend(waves_only.render().splitlines()[1:])
    refused: dict[tuple[str, str, str], list[str]] = {}
    for pc in plan.calls:
        if pc.verdict is not None:
            reason = (pc.verdict.status.value, pc.verdict.code.value, pc.verdict.message)
            refused.setdefault(reason, []).append(f"{pc.call.id} {pc.call.tool}")
    if refused:
        lines.append("  not run:")
        for (status, code, message), calls in refused.items():
            lines.append(f"    {', '.join(calls)}: {status} ({code}) {message}")
    return clean_text("\n".join(lines))  # ids, tools and keys are the model's text


def print_json(result: TurnResult, out: IO[str]) -> None:
    """The turn's result as indented JSON; values JSON cannot hold are shown as ``"<type: text>"``."""
    print(json.dumps(json.loads(dumps(converter.unstructure(result))), indent=2, ensure_ascii=False), file=out)


def print_report(
    result: TurnResult, report: Report, out: IO[str], *, extra: Sequence[str] = (), serial: float | None = None
) -> None:
    """What a resumed turn went on from, the outcomes table, the errors, the timeline, ``extra`` lines, then the
    speed-up (see `speedup_lines`)."""
    if result.resumed:
        replayed = ", ".join(result.replayed)
        went_on = f"{replayed} replayed as recorded (not run again)" if replayed else "no call replayed"
        print(f"resumed turn {result.turn_id} from its journal: {went_on}", file=out)
    print(result.table(), file=out)
    errors = error_lines(result)
    if errors:
        print(file=out)
        print("errors:", file=out)
        for line in errors:
            print(f"  {line}", file=out)
    print(file=out)
    print(f"timeline ({report.unit}):", file=out)
    print(result.timeline(width=report.width), file=out)
    if extra:
        print(file=out)
        for line in extra:
            print(line, file=out)
    print(file=out)
    for line in speedup_lines(result, unit=report.unit, serial=serial):
        print(line, file=out)


def error_lines(result: TurnResult) -> list[str]:
    """One line per reason a call is not ``ok``; calls that share a reason share a line, in emission order."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for outcome in result.outcomes:
        if outcome.ok:
            continue
        code = outcome.error_code.value if outcome.error_code is not None else ""
        key = (outcome.status.value, code, outcome.error or "")
        groups.setdefault(key, []).append(outcome.call_id)
    return [
        f"{', '.join(ids)}: {status}{f' ({code})' if code else ''}{f' - {error}' if error else ''}"
        for (status, code, error), ids in groups.items()
    ]


def speedup_lines(result: TurnResult, *, unit: str, serial: float | None = None) -> list[str]:
    """The turn's time beside a serial run's, and the ratio when it is a fair one.

    Args:
        result: the turn, its times in ``unit``.
        unit: the unit shown.
        serial: the calls' own latencies in ``unit``, summed (``None``: the sum of the outcomes' latencies).
    """
    if result.replayed:
        return [
            f"this turn: {result.elapsed:.3f} {unit}",
            f"no speed-up to report: {len(result.replayed)} of {len(result)} calls were replayed from the journal, "
            "not run in this turn",
        ]
    stopped = [o for o in result if o.status in _NOT_DONE]
    if stopped:
        codes = sorted({o.error_code.value for o in stopped if o.error_code is not None})
        words = ["cancelled", "skipped"]
        words += [word for status, word in _ALSO_NOT_DONE if any(o.status is status for o in stopped)]
        how = f"{', '.join(words[:-1])} or {words[-1]}"
        return [
            f"this turn: {result.elapsed:.3f} {unit}",
            f"no speed-up to report: {len(stopped)} of {len(result)} calls were {how} "
            f"({', '.join(codes)}), so this turn did less work than a serial run would",
        ]
    if serial is None:
        serial, how = sum(o.latency_ms for o in result) / 1000.0, "sum of the calls' latencies"
    else:
        how = "the calls' own latencies"
    ratio = serial / result.elapsed if result.elapsed > 0 else 0.0
    if round(ratio, 1) <= 1.0:  # "1.0x faster" is no speed-up: say only how long it took
        return [f"this turn: {result.elapsed:.3f} {unit}"]
    label = f"serial, one call after another ({how}):"
    return [
        f"{label} {serial:8.3f} {unit}",
        f"{'this turn:':<{len(label)}} {result.elapsed:8.3f} {unit}  ({ratio:.1f}x faster)",
    ]


def rescaled(result: TurnResult, factor: float) -> TurnResult:
    """``result`` with its times measured from the turn's start, in units of ``1 / factor`` clock seconds."""
    origin = result.started_at

    def at(t: float) -> float:
        return round((t - origin) * factor, 6)

    def moved(o: Outcome, replayed: bool) -> Outcome:
        if replayed:  # its times are another run's: replayed at the turn's start
            return attrs.evolve(o, queued_at=None, started_at=None, finished_at=0.0)
        return attrs.evolve(
            o,
            queued_at=None if o.queued_at is None else at(o.queued_at),
            started_at=None if o.started_at is None else at(o.started_at),
            finished_at=None if o.finished_at is None else at(o.finished_at),
            latency_ms=round(o.latency_ms * factor, 3),
        )

    return attrs.evolve(
        result,
        outcomes=tuple(map(moved, result.outcomes, replayed_flags(result.outcomes, result.replayed))),
        started_at=0.0,
        finished_at=at(result.finished_at),
    )


def plan_data(plan: Plan) -> dict[str, Any]:
    """``plan`` as JSON-ready data: the waves by call id, the cycle, and each call's edges and verdict."""
    calls = plan.calls
    return {
        "waves": [[calls[i].call.id for i in wave] for wave in plan.waves],
        "cycle": None if plan.cycle is None else list(plan.cycle),
        "calls": [
            {
                "id": pc.call.id,
                "tool": pc.call.tool,
                "wave": pc.generation,
                "needs": [calls[i].call.id for i in pc.needs],
                "after": [calls[i].call.id for i in pc.after if i not in pc.needs],
                "status": None if pc.verdict is None else pc.verdict.status.value,
                "error_code": None if pc.verdict is None else pc.verdict.code.value,
                "error": None if pc.verdict is None else pc.verdict.message,
            }
            for pc in calls
        ],
    }
