"""An open turn's input: wiring each call the model streams in, and the end of the input.

What the incremental planner found for a new call (`Added`) becomes edges
between the turn's calls (`Dependencies`) and decisions for later
(`CallRun.later`); these functions return the calls that became ready.
"""

from __future__ import annotations

from collections.abc import Sequence

from .._planning._open_planner import Added, IncrementalPlanner, cycle_verdict, missing_verdict
from .._values._outcome import Status
from ._call_run import CallRun
from ._dependencies import Dependencies
from ._races import Races

__all__ = ["wire_closed", "wire_submitted"]


def wire_submitted(
    added: Added, planner: IncrementalPlanner, deps: Dependencies, runs: Sequence[CallRun], races: Races
) -> list[int]:
    """Wire the call just submitted (``runs[added.index]``); return the calls now ready.

    A call that joins a race already won is decided ``lost_race`` once it is ready; one rejected on
    arrival joins its race all the same, as a member that failed.
    """
    i = added.index
    ready: list[int] = []
    for k in added.deferred:  # admitted, but they wait for this call, which was not
        runs[k].later = planner.verdict(k)
    if added.verdict is not None and added.verdict.status is Status.DEFERRED:
        waits_for_nothing = deps.add(i, needs=(), after=())  # decided when submitted: it waits for nothing
    else:
        waits_for_nothing = deps.add(i, needs=added.needs, after=added.after)
    if added.waiting:
        deps.hold(i)  # released once every id or position it names has arrived
        waits_for_nothing = False
    for w in added.resolved:  # earlier calls that named this one: they now wait for it
        deps.add_need(i, w)
        if not planner.still_waiting(w) and deps.release(w):
            ready.append(w)
    if added.cycle:
        for m in added.cycle:
            runs[m].later = cycle_verdict(added.cycle_text)
        ready.extend(k for k in deps.drop_edges(added.cycle) if k != i)
        waits_for_nothing = deps.ready(i)
    # A member rejected on arrival joins its race all the same: a failed member, not the turn's failure.
    lost = races.late(i, race) if (race := runs[i].call.race) is not None else None
    if added.verdict is not None:
        runs[i].later = added.verdict
    elif lost is not None:
        runs[i].later = lost
    if waits_for_nothing:
        ready.append(i)
    return ready


def wire_closed(planner: IncrementalPlanner, deps: Dependencies, runs: Sequence[CallRun]) -> list[int]:
    """End the input: calls still waiting for ids or positions that never came are rejected when ready."""
    ready: list[int] = []
    for i, names in planner.close().items():
        runs[i].later = missing_verdict(names)
        if deps.release(i):
            ready.append(i)
    return ready
