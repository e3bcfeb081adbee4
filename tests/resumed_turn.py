"""A durable turn crashed in the middle, to resume: one call finished, two in flight (one of them retry-safe)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import trio

from trio_toolpar import CallContext, Executor, Registry, ToolCall
from trio_toolpar.testing import MemoryJournal, SimulatedCrash

registry = Registry()


@registry.tool(side_effect="read")
async def read(id: str, seconds: float = 1.0, value: object = None) -> str:
    await trio.sleep(seconds)
    return f"read {id}"


@registry.tool()  # unannotated: not retry-safe
async def write(id: str, seconds: float = 1.0) -> str:
    await trio.sleep(seconds)
    return f"wrote {id}"


@registry.tool(side_effect="write", idempotency_key=True)
async def keyed_write(id: str, ctx: CallContext, seconds: float = 1.0) -> str:
    await trio.sleep(seconds)
    return f"wrote {id}"


CALLS = [
    ToolCall(id="a", tool="read", arguments={"id": "a"}),
    ToolCall(id="w", tool="write", arguments={"id": "w", "seconds": 3}),
    ToolCall(id="k", tool="keyed_write", arguments={"id": "k", "seconds": 3}),
]


async def crashed_turn(calls: Sequence[ToolCall] = CALLS) -> MemoryJournal:
    """A journal left as a crash leaves it: the read finished; the write and the keyed write in flight.

    Writes: begin; the Started records of w and k (one group); a's Finished at 1 s; the Finished
    records of w and k at 3 s: the crash.
    """
    journal = MemoryJournal(crash_after=3)
    with pytest.raises(SimulatedCrash):
        await Executor(registry, journal=journal, deterministic=True).run(calls, turn_id="t")
    journal.recover()
    return journal
