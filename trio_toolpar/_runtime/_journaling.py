"""A durable turn's records, written ahead: a start before the tool starts, an outcome before it is announced.

A call that is not retry-safe starts only once its `Started` record is
durable (`Journaling.started` waits for it); a retry-safe call starts at
once, its record committed with the next group (`GroupCommit`), and one
without an idempotency key (a read, say) has none: a resume runs it again
whether it started or not. Every
outcome the turn decides is held until its `Finished` record is durable
(`Journaling.commit`); only then does the turn announce it (``on_outcome``,
streams, the calls that depend on it). A call whose approver deferred is
recorded `Waiting`, and neither it nor the calls that wait for it are
recorded finished: the resume runs them.

What the store's failures mean: a call that is not retry-safe whose start
cannot be recorded does not start (``error``, ``journal_unavailable``); an
outcome whose record cannot be written is announced all the same, logged
once, and a later resume treats its call as a crash would (``in_doubt`` if
it is not retry-safe).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, final

import attrs

from .._journal._outcomes import encode_outcome
from .._journal._protocol import Journal
from .._journal._records import Decision, Finished, Record, Started, TurnLog, Waiting
from .._tools._registry import Approval, Approver, Tool
from .._values._outcome import ErrorCode, Outcome, Status, ToolCall, Verdict
from .._values._render import exception_text
from ._call_run import CallRun
from ._group_commit import GroupCommit

__all__ = ["Announce", "Journaling", "Resumption"]

logger = logging.getLogger("trio_toolpar")

_UNRECORDED = frozenset({ErrorCode.AWAITING_APPROVAL, ErrorCode.DEPENDENCY_AWAITING})
"""Outcomes of a suspended turn's waiting calls: not final, so never recorded finished."""


@final
@attrs.frozen(kw_only=True)
class Resumption:
    """What an earlier run of a turn decided, to apply before the turn runs on."""

    replayed: Mapping[int, Outcome] = attrs.field(factory=dict)
    """Recorded outcomes, by call index."""
    decided: Mapping[int, tuple[Verdict | None, Any]] = attrs.field(factory=dict)
    """Calls in doubt (their verdict), or reconciled (``None`` and their value), by call index."""
    keys: Mapping[str, str | None] = attrs.field(factory=dict)
    """The idempotency key of each retry-safe call that runs again."""


class Announce(Protocol):
    """The turn's way to report a decided outcome (``holds``: the calls after it wait on, for a decision)."""

    def __call__(self, run: CallRun, outcome: Outcome, *, holds: bool = False) -> None: ...


@final
class Journaling:
    """One turn's records on their way to its journal.

    Args:
        journal: the store.
        turn_id: the turn's id in it.
        ids: the index of the first call with each id (a repeated id is
            rejected at planning, and never recorded).
        announce: reports an outcome once it is recorded (`record`).
    """

    __slots__ = (
        "_announce",
        "_decisions",
        "_keys",
        "_unannounced",
        "_waiting",
        "_warned",
        "ids",
        "journal",
        "resumption",
        "turn_id",
        "writer",
    )

    def __init__(self, journal: Journal, turn_id: str, ids: Mapping[str, int], announce: Announce) -> None:
        self.journal = journal
        self.turn_id = turn_id
        self.writer = GroupCommit(journal, turn_id)
        self.ids = ids
        self._announce = announce
        self._unannounced: list[tuple[CallRun, Outcome]] = []
        self._warned = False
        self._keys: Mapping[str, str | None] = {}
        self._decisions: Mapping[str, Decision] = {}
        self._waiting: frozenset[str] = frozenset()
        self.resumption: Resumption | None = None
        """What an earlier run of the turn recorded (``None``: the turn is new)."""

    def resume(self, log: TurnLog, resumption: Resumption) -> None:
        """Go on from ``log``: its decisions and waits, and what `resumption` read of it."""
        self.resumption = resumption
        self._keys, self._decisions, self._waiting = resumption.keys, log.decisions, log.waiting

    def summary(self, runs: Sequence[CallRun]) -> dict[str, Any]:
        """What the turn's result says of the journal: ``resumed``, and the ids of the ``replayed`` calls."""
        if self.resumption is None:
            return {}
        return {"resumed": True, "replayed": tuple(runs[i].call.id for i in sorted(self.resumption.replayed))}

    def approver(self, call_id: str) -> Approver | None:
        """The answer recorded for a gated call: a person's decision, a wait that goes on, or ``None`` (ask)."""
        decision = self._decisions.get(call_id)
        if decision is not None:
            answer = Approval(approved=decision.approved, reason=decision.reason)
        elif call_id in self._waiting:
            answer = Approval.defer()
        else:
            return None

        async def recorded(call: ToolCall, tool: Tool) -> Approval:
            return answer

        return recorded

    async def started(self, run: CallRun, tool: Tool) -> Verdict | None:
        """Record that ``run`` starts; for a call that is not retry-safe, wait until that is durable.

        Returns why the call must not start: its start could not be recorded.
        """
        call_id = run.call.id
        if call_id in self._keys:
            run.idempotency_key = self._keys[call_id]  # a retry-safe call run again: the key it had
        if tool.retry_safe and run.idempotency_key is None:
            return None  # nothing to keep: after a crash it runs again, as a call that never started does
        batch = self.writer.add(Started(call_id=call_id, attempt=run.attempts + 1, idempotency_key=run.idempotency_key))
        if tool.retry_safe:
            return None  # durable with the next group: run again after a crash, under the key it had
        try:
            await self.writer.durable(batch)
        except Exception as exc:  # the store is down: what is not retry-safe must not start unrecorded
            return Verdict(
                Status.ERROR,
                ErrorCode.JOURNAL_UNAVAILABLE,
                f"not started: the turn's journal could not record its start ({exception_text(exc)}); "
                "a call that is not retry-safe starts only once its start is recorded",
            )
        return None

    def finished(self, run: CallRun, outcome: Outcome) -> None:
        """Hold ``outcome`` until its record is durable (see `commit`)."""
        self._unannounced.append((run, outcome))
        if self.ids.get(run.call.id) != run.index:
            return  # a repeated id: rejected again by any resume
        record: Record
        if outcome.error_code in _UNRECORDED:
            if outcome.error_code is not ErrorCode.AWAITING_APPROVAL:
                return
            record = Waiting(call_id=run.call.id)
        else:
            record = Finished(call_id=run.call.id, outcome=encode_outcome(outcome))
        self.writer.add(record)

    @property
    def unannounced(self) -> bool:
        """Whether decided outcomes wait for `record`."""
        return bool(self._unannounced)

    async def record(self) -> None:
        """Make the outcomes held so far durable, then announce them (which may decide more, recorded in turn).

        If the store fails, they are announced all the same (see the module's docstring).
        """
        while self._unannounced:
            try:
                await self.writer.flush()
            except Exception as exc:
                self._store_failed(exc)
            self.release()

    def release(self) -> None:
        """Announce the outcomes held so far, recorded or not (the turn is cancelled from outside)."""
        held, self._unannounced = self._unannounced, []
        for run, outcome in held:
            self._announce(run, outcome, holds=outcome.error_code in _UNRECORDED)

    def _store_failed(self, exc: Exception) -> None:
        if not self._warned:
            self._warned = True
            logger.warning(
                "turn %r: the journal could not record outcomes (%s); they are reported unrecorded, "
                "and a resume treats their calls as a crash would",
                self.turn_id,
                exception_text(exc),
            )
