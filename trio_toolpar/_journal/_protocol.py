"""The protocol a journal store implements (``trio_toolpar.abc.Journal``)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol, runtime_checkable

from ._records import Decision, JournalCall, Record, TurnLog

__all__ = ["Journal"]


@runtime_checkable
class Journal(Protocol):
    """Where durable turns are recorded; `trio_toolpar.journal.SqliteJournal` and
    `trio_toolpar.redis.RedisJournal` implement it.

    Every method that writes returns only once what it wrote is durable:
    the runtime starts a call that is not retry-safe only after its
    `Started` record is written, and reports an outcome only after its
    `Finished` record is.
    """

    def claim(self, turn_id: str) -> AbstractAsyncContextManager[None]:
        """Hold ``turn_id`` for this run while the block runs.

        Raises:
            TurnBusy: at once, if another run (in any process) holds it. A
                holder that dies releases it (a lock the operating system
                drops, or a lease that expires).
        """
        ...

    async def load(self, turn_id: str) -> TurnLog | None:
        """All the journal holds of ``turn_id``; ``None`` if it has never begun."""
        ...

    async def begin(self, turn_id: str, calls: Sequence[JournalCall]) -> None:
        """Record a new turn and its calls."""
        ...

    async def append(self, turn_id: str, records: Sequence[Record]) -> None:
        """Make ``records`` durable, in order, together (one commit)."""
        ...

    async def decide(self, turn_id: str, decision: Decision) -> None:
        """Record a person's decision for a call of ``turn_id``; any process may, holding no claim.

        Raises:
            KeyError: the journal holds no such turn, or the turn no such call.
        """
        ...
