"""Group commit: the records a turn adds at one instant go to its journal in one append.

A record is added (`GroupCommit.add`) and made durable later, with every
record added before it. Whoever needs it durable (`GroupCommit.durable`) and
finds no append under way writes the pending records itself, after one
checkpoint, so that the other tasks woken at the same instant add theirs
first: calls granted together are committed together. The others wait for
that append, and write the next group if theirs was not in it.

A call's `Finished` record takes the place of its `Started` record while
that one still waits for an append: one append keeps both or neither, so the
start would tell a resume nothing (a call that has an outcome is replayed).
A turn of calls that finish at once writes one record per call, not two.
"""

from __future__ import annotations

from typing import final

import trio

from .._journal._protocol import Journal
from .._journal._records import Finished, Record, Started

__all__ = ["Batch", "GroupCommit"]


@final
class Batch:
    """The records of one append: ``done`` once they are durable; ``error`` if the store refused them."""

    __slots__ = ("done", "error", "moved")

    def __init__(self) -> None:
        self.done = False
        self.error: Exception | None = None
        self.moved: Batch | None = None
        """Its append was cancelled: its records went back, ahead of this batch's."""


@final
class GroupCommit:
    """The records of one turn on their way to ``journal``, appended in the order they were added."""

    __slots__ = ("_batch", "_idle", "_journal", "_pending", "_starts", "_turn_id", "appends")

    def __init__(self, journal: Journal, turn_id: str) -> None:
        self._journal = journal
        self._turn_id = turn_id
        self._pending: list[Record] = []
        self._starts: dict[str, int] = {}
        """The place in ``_pending`` of each call's `Started` record (until it is taken for an append)."""
        self._batch = Batch()
        self._idle: trio.Event | None = None
        """Set when the append under way ends; ``None`` while none is."""
        self.appends = 0
        """Appends made so far (one per group)."""

    def add(self, record: Record) -> Batch:
        """Add ``record``; the returned batch is the append it will be in."""
        if isinstance(record, Finished):
            place = self._starts.pop(record.call_id, None)
            if place is not None:
                self._pending[place] = record  # the start, not yet written, adds nothing to the outcome
                return self._batch
        elif isinstance(record, Started):
            self._starts[record.call_id] = len(self._pending)
        self._pending.append(record)
        return self._batch

    async def durable(self, batch: Batch) -> None:
        """Return once ``batch`` is durable.

        Raises:
            Exception: what the store raised for it (the append failed).
        """
        while not batch.done:
            if batch.moved is not None:
                batch = batch.moved
            elif self._idle is not None:
                await self._idle.wait()
            else:
                await self._append()
        if batch.error is not None:
            raise batch.error

    async def flush(self) -> None:
        """Make every record added so far durable (raises as `durable` does)."""
        if self._pending:
            await self.durable(self._batch)

    async def _append(self) -> None:
        self._idle = idle = trio.Event()
        try:
            await trio.lowlevel.checkpoint()  # the tasks woken at this instant add theirs first
            records, self._pending, self._starts = self._pending, [], {}
            batch, self._batch = self._batch, Batch()
            try:
                await self._journal.append(self._turn_id, records)
                self.appends += 1
                batch.done = True
            except Exception as exc:  # the store's failure: each waiter decides what it means
                batch.error, batch.done = exc, True
            finally:
                if not batch.done:  # cancelled mid-append: the next group appends these again, first
                    self._pending[:0] = records
                    self._starts = {call_id: place + len(records) for call_id, place in self._starts.items()}
                    batch.moved = self._batch
        finally:
            self._idle = None
            idle.set()
