"""`MemoryJournal`: a journal in memory that can crash, for testing durable turns."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import final

import trio

from .._journal._codec import decode_calls, decode_entries, encode_calls, encode_entries
from .._journal._fold import turn_log
from .._journal._records import (
    Decision,
    JournalCall,
    Record,
    TurnBusy,
    TurnLog,
)

__all__ = ["MemoryJournal", "SimulatedCrash"]


class SimulatedCrash(BaseException):
    """The process "died": raised by a `MemoryJournal` write past its ``crash_after``.

    A `BaseException`, like `KeyboardInterrupt`, so the runtime lets it
    through as it would let a dying process go: nothing more is recorded.
    """


@final
class MemoryJournal:
    """A `trio_toolpar.abc.Journal` in memory, for tests; one instance stands for one store, shared by "processes".

    Args:
        latency: seconds each write takes (on Trio's clock), to test what
            waits for a write and what does not.
        crash_after: the number of writes (``begin`` and ``append``) that
            succeed; the next one, and every one after it, raises
            `SimulatedCrash` and records nothing, so the store holds exactly
            what was committed before the crash. `recover` lets writes
            succeed again, as a restarted process would find the store.

    Examples:
        ```python
        journal = MemoryJournal(crash_after=3)
        executor = Executor(registry, journal=journal)
        try:
            await executor.run(calls, turn_id="t1")
        except SimulatedCrash:
            pass
        journal.recover()
        result = await executor.run(calls, turn_id="t1")  # resumes from the three writes
        ```
    """

    def __init__(self, *, latency: float = 0.0, crash_after: int | None = None) -> None:
        self.latency = latency
        self.crash_after = crash_after
        self.writes = 0
        """Writes committed so far."""
        self.appends: list[tuple[str, tuple[Record, ...]]] = []
        """Every committed append, in order, with its turn id: a group commit is one entry."""
        self._calls: dict[str, tuple[JournalCall, ...]] = {}
        self._records: dict[str, list[Record | Decision]] = {}
        self._claimed: set[str] = set()

    def __repr__(self) -> str:
        return f"<MemoryJournal {len(self._calls)} turns, {self.writes} writes, crash_after={self.crash_after}>"

    @property
    def crashed(self) -> bool:
        """Whether writes are refused now."""
        return self.crash_after is not None and self.writes >= self.crash_after

    def recover(self) -> None:
        """Let writes succeed again (no more crashes)."""
        self.crash_after = None

    @asynccontextmanager
    async def claim(self, turn_id: str) -> AsyncIterator[None]:
        """Hold ``turn_id``; released when the block ends, even by a crash (as a lock the OS drops)."""
        if turn_id in self._claimed:
            raise TurnBusy(f"turn {turn_id!r} is being run by another run; wait for it to end, then resume it")
        self._claimed.add(turn_id)
        try:
            yield
        finally:
            self._claimed.discard(turn_id)

    async def load(self, turn_id: str) -> TurnLog | None:
        """The turn as recorded: the latest start, the first finish and decision of each call."""
        await trio.lowlevel.checkpoint()
        calls = self._calls.get(turn_id)
        if calls is None:
            return None
        return turn_log(turn_id, calls, self._records[turn_id])

    async def begin(self, turn_id: str, calls: Sequence[JournalCall]) -> None:
        """Record a new turn (its calls copied through JSON text, as a store on disk keeps them)."""
        await self._write()
        self._calls[turn_id] = tuple(decode_calls(encode_calls(calls)))
        self._records[turn_id] = []

    async def append(self, turn_id: str, records: Sequence[Record]) -> None:
        """Commit ``records`` together (copied through JSON text, as a store on disk keeps them)."""
        await self._write()
        self._records[turn_id].extend(decode_entries(encode_entries(records)))
        self.appends.append((turn_id, tuple(records)))

    async def decide(self, turn_id: str, decision: Decision) -> None:
        """Record a decision (never crashes: it stands for another process).

        Raises:
            KeyError: no such turn, or no such call in it.
        """
        await trio.lowlevel.checkpoint()
        calls = self._calls.get(turn_id)
        if calls is None:
            raise KeyError(f"the journal holds no turn {turn_id!r}")
        if decision.call_id not in {c.call_id for c in calls}:
            raise KeyError(f"turn {turn_id!r} has no call {decision.call_id!r}")
        self._records[turn_id].append(decision)

    async def _write(self) -> None:
        if self.crashed:
            raise SimulatedCrash(f"the journal crashed after {self.writes} writes")
        if self.latency:
            await trio.sleep(self.latency)
        else:
            await trio.lowlevel.checkpoint()
        if self.crashed:  # another write crashed the store while this one waited
            raise SimulatedCrash(f"the journal crashed after {self.writes} writes")
        self.writes += 1
