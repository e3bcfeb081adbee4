"""Approval gates: a call of a gated tool waits for a yes from a person or a policy engine.

A tool registered with ``approval=`` (an approver of its own, or ``True`` for
the executor's ``approve=``) is gated. Once its references are substituted,
the call waits for its approver holding no capacity, while its siblings go
on; only an approved call queues for capacity. A refusal is the call's
outcome (``rejected``, ``not_approved``) and skips its dependents; an approver
that raises, or answers something other than a `bool` or an `Approval`, ends
the call ``error`` (``approval_failed``). The turn's budget and cancellation
apply while it waits: the approver sees ``trio.Cancelled``, and the call ends
``skipped`` with the turn's cause.

An approver that defers (`Approval.defer`) suspends a durable turn: the call
ends ``skipped`` with ``awaiting_approval`` and is recorded waiting, and a
resume asks the decision recorded by `Executor.decide` instead of the
approver. Without a journal nobody could answer later, so the call is
refused (``rejected``, ``not_approved``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import final

import attrs
import trio

from .._tools._registry import Approval, Approver, Tool
from .._values._outcome import ErrorCode, Status, ToolCall, Verdict
from .._values._render import exception_text, safe_str
from ._call_run import CallRun, CallState
from ._journaling import Journaling

__all__ = ["Gates", "approver_for", "ask", "gate"]


async def _no_approver(call: ToolCall, tool: Tool) -> Approval:
    return Approval(
        approved=False,
        reason=f"tool {tool.name!r} requires approval and the executor has no approver; pass Executor(approve=...)",
    )


def approver_for(tool: Tool, default: Approver | None) -> Approver | None:
    """Who approves calls of ``tool``: its own approver, the executor's, or nobody (not gated).

    A tool gated with ``approval=True`` on an executor without ``approve=``
    gets an approver that refuses: what nobody approved does not run.
    """
    approval = tool.approval
    if approval is False or approval is None:
        return None
    if approval is True:
        return default if default is not None else _no_approver
    return approval


async def ask(approver: Approver, call: ToolCall, tool: Tool, *, can_wait: bool = False) -> Verdict | None:
    """Ask ``approver`` about ``call``: ``None`` if approved, else why the call does not run.

    ``can_wait``: a journal holds the turn, so a deferred call waits for a recorded decision.
    """
    try:
        answer = await approver(call, tool)
    except Exception as exc:  # the approver's failure becomes the call's outcome, never a lost turn
        return Verdict(Status.ERROR, ErrorCode.APPROVAL_FAILED, f"the approval check failed: {exception_text(exc)}")
    if isinstance(answer, bool):
        approved, reason = answer, None
    elif isinstance(answer, Approval):
        approved, reason = bool(answer.approved), answer.reason
        if answer.deferred:
            return _deferred(reason, can_wait=can_wait)
    else:
        return Verdict(
            Status.ERROR,
            ErrorCode.APPROVAL_FAILED,
            f"the approval check answered a {type(answer).__name__}; an approver returns True, False or Approval(...)",
        )
    if approved:
        return None
    why = f": {safe_str(reason)}" if reason else ""
    return Verdict(Status.REJECTED, ErrorCode.NOT_APPROVED, f"not approved{why}; the call did not run")


def _deferred(reason: str | None, *, can_wait: bool) -> Verdict:
    why = f" ({safe_str(reason)})" if reason else ""
    if can_wait:
        return Verdict(
            Status.SKIPPED,
            ErrorCode.AWAITING_APPROVAL,
            f"not started: it awaits a person's decision{why}; the turn resumes once one is recorded",
        )
    return Verdict(
        Status.REJECTED,
        ErrorCode.NOT_APPROVED,
        f"not approved: its approver deferred the decision{why}, and without a journal the turn cannot wait"
        " for one; the call did not run",
    )


async def gate(
    run: CallRun,
    tool: Tool,
    approver: Approver,
    *,
    approved: Callable[[CallRun], None],
    decide: Callable[[CallRun, Verdict], None],
    cause: Callable[[bool], Verdict],
    can_wait: bool = False,
) -> None:
    """The task of one gated call: ask, then report ``approved(run)`` or ``decide(run, reason)``.

    If it is cancelled while the approver decides (the turn stops, or the
    call lost its race), the call is decided ``skipped`` for ``cause(False)``
    (why a call that never started ends as the turn stops) before
    ``Cancelled`` goes on.
    """
    assert run.resolved is not None
    call = attrs.evolve(run.call, arguments=dict(run.resolved))
    answered = False
    try:
        with trio.CancelScope() as run.scope:
            reason = await ask(approver, call, tool, can_wait=can_wait)
            answered = True
    finally:
        run.scope = None
        if not answered and run.outcome is None:
            decide(run, cause(False))
    if run.outcome is not None:
        return  # decided while it waited (a race it lost)
    if not answered:
        return  # its own scope was cancelled
    if reason is None:
        approved(run)
    else:
        decide(run, reason)


@final
class Gates:
    """Starts the approval of gated calls for a turn, which hands in what a decision leads to.

    Args:
        default: the executor's approver (``approve=``), for tools gated with ``approval=True``.
        approved: queues an approved call for capacity.
        decide: gives a call its outcome for a reason.
        cause: why a call ends as the turn stops (given whether it started), for a call whose wait is cancelled.
        journal: a durable turn's journal: a deferred call waits, and a
            resume answers with the decision it recorded.
    """

    __slots__ = ("_default", "_gate", "_journal")

    def __init__(
        self,
        default: Approver | None,
        *,
        approved: Callable[[CallRun], None],
        decide: Callable[[CallRun, Verdict], None],
        cause: Callable[[bool], Verdict],
        journal: Journaling | None = None,
    ) -> None:
        self._default = default
        self._journal = journal
        self._gate = functools.partial(
            gate, approved=approved, decide=decide, cause=cause, can_wait=journal is not None
        )

    def hold(self, run: CallRun, tool: Tool, nursery: trio.Nursery) -> bool:
        """If ``tool`` is gated, start asking about ``run`` in ``nursery`` (holding no capacity); else ``False``."""
        approver = approver_for(tool, self._default)
        if approver is None:
            return False
        if self._journal is not None:
            approver = self._journal.approver(run.call.id) or approver
        run.move(CallState.APPROVAL)
        nursery.start_soon(self._gate, run, tool, approver, name=f"toolpar-approval:{run.call.id}")
        return True
