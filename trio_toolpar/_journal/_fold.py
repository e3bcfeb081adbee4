"""From the records a store kept, in the order it kept them, to the `TurnLog` a resume reads.

Every store folds the same way, so that a turn resumes alike whatever keeps it:

* ``started``: each call's latest `Started` (a retry's attempt replaces the one before);
* ``finished``: each call's first `Finished`: an outcome once recorded may
  have been reported, so a later one (which the runtime never writes) cannot replace it;
* ``decisions``: each call's first `Decision`: the answer a run may already
  have acted on binds; later ones are kept by the store but not read;
* ``waiting``: the calls with a `Waiting` record, and neither a decision nor an outcome.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ._records import Decision, Finished, JournalCall, Record, Started, TurnLog, Waiting

__all__ = ["Entry", "turn_log"]

Entry = Record | Decision
"""What a store keeps of a turn after its calls: the runtime's records and the decisions, in one order."""


def turn_log(turn_id: str, calls: Sequence[JournalCall], entries: Iterable[Entry]) -> TurnLog:
    """The `TurnLog` of ``turn_id``, given its calls and its entries in the order they were written."""
    started: dict[str, Started] = {}
    finished: dict[str, Finished] = {}
    waiting: set[str] = set()
    decisions: dict[str, Decision] = {}
    for entry in entries:
        if isinstance(entry, Started):
            started[entry.call_id] = entry
        elif isinstance(entry, Finished):
            finished.setdefault(entry.call_id, entry)
        elif isinstance(entry, Waiting):
            waiting.add(entry.call_id)
        else:
            decisions.setdefault(entry.call_id, entry)
    return TurnLog(
        turn_id=turn_id,
        calls=tuple(calls),
        started=started,
        finished=finished,
        waiting=frozenset(waiting - decisions.keys() - finished.keys()),
        decisions=decisions,
    )
