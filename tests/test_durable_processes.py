"""A suspended turn decided from another process: the decisions cross processes through a SQLite file.

The turn has two gated writes and three reads. Its approver defers both
writes, so the turn suspends; a separate Python process records one
approval and one refusal with `Executor.decide`; the resume, in this
process, runs the approved write once and rejects the other.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import trio

from trio_toolpar import Approval, ErrorCode, Executor, Registry, Status, Tool, ToolCall
from trio_toolpar.journal import SqliteJournal

DECIDE = textwrap.dedent(
    """
    import sys
    import trio
    from trio_toolpar import Executor, Registry
    from trio_toolpar.journal import SqliteJournal

    async def main(path: str) -> None:
        async with SqliteJournal(path) as journal:
            executor = Executor(Registry(), journal=journal)  # no tools, no approver: it only records
            await executor.decide("refunds", "refund_a", approved=True)
            await executor.decide("refunds", "refund_b", approved=False, reason="the order shipped")

    trio.run(main, sys.argv[1])
    """
)


def shop(executed: list[str]) -> Registry:
    registry = Registry()

    @registry.tool(side_effect="read")
    async def order(id: str) -> dict[str, str]:
        """Read an order."""
        executed.append(id)
        return {"order": id}

    async def refund(id: str, order: str, seen: dict[str, str]) -> str:
        """Refund an order (a payment: gated), having seen it."""
        executed.append(id)
        return f"refunded {order} ({seen['order']})"

    registry.add(refund, side_effect="write", key="order:{order}", approval=True)
    return registry


CALLS = [
    ToolCall(id="read_a", tool="order", arguments={"id": "read_a"}),
    ToolCall(id="read_b", tool="order", arguments={"id": "read_b"}),
    ToolCall(id="read_c", tool="order", arguments={"id": "read_c"}),
    ToolCall(id="refund_a", tool="refund", arguments={"id": "refund_a", "order": "A", "seen": "$read_a"}),
    ToolCall(id="refund_b", tool="refund", arguments={"id": "refund_b", "order": "B", "seen": "$read_b"}),
]


async def defer(call: ToolCall, tool: Tool) -> Approval:
    return Approval.defer("a person approves refunds")


async def test_a_decision_written_by_another_process_is_honoured_by_the_resume(tmp_path: Path) -> None:
    path = tmp_path / "turns.db"
    executed: list[str] = []
    async with SqliteJournal(path) as journal:
        first = await Executor(shop(executed), journal=journal, approve=defer).run(CALLS, turn_id="refunds")
    assert first.awaiting == ("refund_a", "refund_b")
    assert [first[c].status for c in ("read_a", "read_b", "read_c")] == [Status.OK] * 3
    assert {first[c].error_code for c in first.awaiting} == {ErrorCode.AWAITING_APPROVAL}
    assert sorted(executed) == ["read_a", "read_b", "read_c"]

    decided = await trio.to_thread.run_sync(
        lambda: subprocess.run(
            [sys.executable, "-c", DECIDE, str(path)], capture_output=True, text=True, timeout=60, check=False
        )
    )
    assert decided.returncode == 0, decided.stderr

    async with SqliteJournal(path) as journal:
        resumed = await Executor(shop(executed), journal=journal, approve=defer).run(CALLS, turn_id="refunds")
    assert resumed.awaiting == ()
    assert resumed.replayed == ("read_a", "read_b", "read_c")
    assert resumed["refund_a"].ok and resumed["refund_a"].value == "refunded A (read_a)"
    assert (resumed["refund_b"].status, resumed["refund_b"].error_code) == (Status.REJECTED, ErrorCode.NOT_APPROVED)
    assert "the order shipped" in (resumed["refund_b"].error or "")
    # The reads ran once, in the first process; the approved write ran once, in the resume; the refused one never.
    assert sorted(executed) == ["read_a", "read_b", "read_c", "refund_a"]
