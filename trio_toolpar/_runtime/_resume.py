"""Resuming a durable turn: check its calls against the journal's, and read what an earlier run recorded.

For each call the journal holds of an earlier run: a finished call gets its
recorded outcome back (its id in `TurnResult.replayed`); a call that started and never
finished runs again if it is retry-safe (under the idempotency key it had),
and otherwise ends ``in_doubt`` unless its tool's ``reconcile`` finds out
what happened; a call that waits for a person gets the recorded decision,
or waits on. Calls the journal never saw started run as in any turn.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import trio

from .._journal._outcomes import arguments_data, arguments_text, decode_outcome
from .._journal._records import JournalCall, TurnLog, TurnMismatch
from .._tools._registry import Tool
from .._values._outcome import ErrorCode, Status, ToolCall, Verdict
from .._values._render import exception_text
from ._call_run import CallRun
from ._decide import Decide
from ._journaling import Journaling, Resumption

__all__ = ["journal_calls", "replay", "resuming"]

_IN_DOUBT = (
    "in doubt: this call started in an earlier run of the turn, which stopped before its outcome was recorded; "
    "it may or may not have taken effect. It was not run again. Check whether its effect happened (read the "
    "state it changes) before deciding to call it again; do not simply repeat it"
)


def journal_calls(calls: Sequence[ToolCall]) -> tuple[JournalCall, ...]:
    """The calls of a turn as its journal holds them."""
    return tuple(JournalCall(call_id=c.id, tool=c.tool, arguments=arguments_data(c.arguments)) for c in calls)


def _mismatch(turn_id: str, recorded: Sequence[JournalCall], given: Sequence[JournalCall]) -> str | None:
    """The first difference between the recorded calls of ``turn_id`` and the given ones, in words."""
    for position, (old, new) in enumerate(zip(recorded, given, strict=False), start=1):
        for what, was, now in (
            ("call_id", old.call_id, new.call_id),
            ("tool", old.tool, new.tool),
            ("arguments", arguments_text(old.arguments), arguments_text(new.arguments)),
        ):
            if was != now:
                return (
                    f"turn {turn_id!r} was recorded with other calls: call {position} has {what} "
                    f"{_cut(now)!r}, the journal {_cut(was)!r}; "
                    "resume a turn with the calls it began with, or use a new turn_id"
                )
    if len(recorded) != len(given):
        return (
            f"turn {turn_id!r} was recorded with {len(recorded)} calls and is run with {len(given)}; "
            "resume a turn with the calls it began with, or use a new turn_id"
        )
    return None


def _cut(text: str) -> str:
    return text if len(text) <= 80 else text[:79] + "…"


@asynccontextmanager
async def resuming(journaling: Journaling, runs: Sequence[CallRun]) -> AsyncIterator[None]:
    """Hold the turn's claim while the block runs; give ``journaling`` what an earlier run recorded, if any.

    Raises:
        TurnBusy: another run holds the turn (from the store's ``claim``).
        TurnMismatch: the journal holds this turn with other calls.
    """
    store, turn_id = journaling.journal, journaling.turn_id
    async with store.claim(turn_id):
        given = journal_calls([run.call for run in runs])
        log = await store.load(turn_id)
        if log is None:
            await store.begin(turn_id, given)
            yield None
            return
        problem = _mismatch(turn_id, log.calls, given)
        if problem is not None:
            raise TurnMismatch(problem)
        journaling.resume(log, await _read(log, runs, journaling.ids))
        yield


def replay(
    resumption: Resumption,
    runs: Sequence[CallRun],
    *,
    conclude: Callable[..., object],
    decide: Decide,
) -> None:
    """Give the calls an earlier run decided their outcomes: ``decide`` those in doubt or reconciled, then
    ``conclude`` the recorded ones as they were.

    Those in doubt come first: a recorded failure whose policy stops the calls
    sharing its resource must not turn a call in doubt into one it stopped.
    """
    replayed = [(runs[i], outcome) for i, outcome in sorted(resumption.replayed.items())]
    for run, outcome in replayed:
        run.outcome = outcome  # all at once: a race's recorded winner must not decide its recorded losers
    for index, (reason, value) in sorted(resumption.decided.items()):
        decide(runs[index], reason, value)
    for run, outcome in replayed:
        conclude(run, outcome, recorded=True)


async def _read(log: TurnLog, runs: Sequence[CallRun], ids: Mapping[str, int]) -> Resumption:
    replayed = {ids[c]: decode_outcome(f.outcome) for c, f in log.finished.items() if c in ids}
    keys: dict[str, str | None] = {}
    doubts: list[tuple[CallRun, Tool, str | None]] = []
    for call_id, started in log.started.items():
        index = ids.get(call_id)
        if index is None or index in replayed:
            continue
        run = runs[index]
        tool = run.planned.tool if run.planned is not None else None
        if tool is None or tool.retry_safe:
            keys[call_id] = started.idempotency_key
        else:
            doubts.append((run, tool, started.idempotency_key))
    decided: dict[int, tuple[Verdict | None, Any]] = {}
    if doubts:
        async with trio.open_nursery() as nursery:
            for run, tool, key in doubts:
                nursery.start_soon(_settle_doubt, run, tool, key, decided)
    return Resumption(replayed=replayed, decided=decided, keys=keys)


async def _settle_doubt(
    run: CallRun, tool: Tool, key: str | None, decided: dict[int, tuple[Verdict | None, Any]]
) -> None:
    """``run``'s outcome, which no run recorded: its tool's ``reconcile`` answer, or ``in_doubt``."""
    if tool.reconcile is None:
        decided[run.index] = (Verdict(Status.IN_DOUBT, ErrorCode.IN_DOUBT, _IN_DOUBT), None)
        return
    why = f"its tool's reconcile found no answer within {tool.timeout:g} s" if tool.timeout is not None else ""
    with trio.move_on_after(tool.timeout if tool.timeout is not None else float("inf")):
        try:
            decided[run.index] = (None, await tool.reconcile(run.call, key))
            return
        except Exception as exc:  # it cannot tell: the call stays in doubt, saying why
            why = f"its tool's reconcile could not tell: {exception_text(exc)}"
    decided[run.index] = (Verdict(Status.IN_DOUBT, ErrorCode.IN_DOUBT, f"{_IN_DOUBT} ({why})"), None)
