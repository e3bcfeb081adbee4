"""Scoped failures: the calls one failed call stops when its policy's scope is narrower than the turn.

A policy says what a failure reaches (`Policy.failure_scope`). ``"turn"``
stops the whole turn through `Stopping`; the two narrower scopes stop single
calls, here, at the instant of the failure:

* ``"dependents"``: every call that waits for the failed one — it references
  it, or a shared key orders it after it — and every call that waits for
  those, transitively (`Dependencies.waiting_for`).
* ``"resource"``: those, and every call that shares the failed call's
  resource or one of its resource keys, with every call that waits for them.
  A key known only at run time shares with every keyed call, as in conflicts.

So the scopes nest: dependents ⊆ resource ⊆ turn. A call that has ended, or
whose ending is reported at this instant, is not reached: it keeps its own
outcome (one that returned at the failure's instant stays ``ok``), and the
calls that wait for it are reached only through another call. Reached calls
are decided at once, in plan order, for `failed_reason`: ``cancelled`` if
they had started (`CallRun.halt` cancels their task, which keeps its capacity
until it unwinds), else ``skipped``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .._values._outcome import Outcome, Verdict
from ._call_run import CallRun, CallState
from ._decide import failed_reason
from ._dependencies import Dependencies
from ._policy import FailureScope

__all__ = ["reached", "stop_reached"]


def stop_reached(
    failed: CallRun,
    failure: Outcome,
    scope: FailureScope,
    runs: Sequence[CallRun],
    deps: Dependencies,
    *,
    turn: int,
    decide: Callable[[CallRun, Verdict], None],
) -> None:
    """Stop, now, the calls that ``failed`` (which ended ``failure``) reaches within ``scope``.

    Call this before ``failed`` finishes in ``deps``: the calls that wait
    for it must not start in between. ``turn`` is the turn's number (for
    plan order).
    """
    stopped = sorted(reached(failed, scope, runs, deps), key=lambda run: run.rank(turn))
    for run in stopped:
        if run.started_at is None and run.later is None:
            # Deciding one may make another ready: the dispatcher then decides it for this same reason.
            run.later = failed_reason(failure, scope, started=False)
    for run in stopped:
        if run.outcome is None:
            run.halt()
            started = run.started_at is not None
            decide(run, failed_reason(failure, scope, started=True) if started or run.later is None else run.later)


def reached(failed: CallRun, scope: FailureScope, runs: Sequence[CallRun], deps: Dependencies) -> list[CallRun]:
    """The undecided calls other than ``failed`` that its failure reaches within a scope narrower than the turn."""
    seeds = [failed.index]
    if scope == "resource":
        seeds += [run.index for run in runs if run is not failed and _open(run) and _shares(failed, run)]
    found = set(seeds)
    todo = list(seeds)
    while todo:
        for k in deps.waiting_for(todo.pop()):
            if k not in found and _open(runs[k]):
                found.add(k)
                todo.append(k)
    found.discard(failed.index)
    return [runs[i] for i in sorted(found)]


def _open(run: CallRun) -> bool:
    """Whether ``run`` has neither its outcome nor a reported ending."""
    return run.outcome is None and run.state is not CallState.REPORTED


def _shares(failed: CallRun, run: CallRun) -> bool:
    """Whether ``run`` uses ``failed``'s resource or one of its keys (an open turn's call still waiting
    for a call to arrive is not planned yet: only the calls that wait for it reach it)."""
    a, b = failed.planned, run.planned
    if a is None or b is None:
        return False
    resource = a.tool.resource if a.tool is not None else None
    if resource is not None and b.tool is not None and b.tool.resource == resource:
        return True
    if a.keys is None or b.keys is None:  # known only at run time: it may be any key
        return a.keys != () and b.keys != ()
    return not set(a.keys).isdisjoint(b.keys)
