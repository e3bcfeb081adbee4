"""Planning a batch turn: pure, synchronous, no I/O.

From the calls of one turn, in emission order: check each call, resolve its
references to calls of the turn (by id, or by position for ``$#N``), add
conflict edges between calls on the same resource key, reject the whole
batch if the edges form a cycle, and group the rest into waves
(topological generations).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Container, Sequence

from ._conflicts import Conflicts
from ._drafts import Draft, check_call, check_schema_and_keys, fill_keys
from ._graph import find_cycle, generations, topological_order
from ._outcome import ErrorCode, Status, ToolCall
from ._planned import PlannedCall
from ._races import link_groups
from ._registry import Registry

__all__ = ["plan_batch"]

Waves = tuple[tuple[int, ...], ...]


def plan_batch(
    registry: Registry, calls: Sequence[ToolCall]
) -> tuple[tuple[PlannedCall, ...], Waves, tuple[str, ...] | None]:
    """Plan ``calls`` (in emission order): each call as planned, the waves, and the ids of a cycle if any."""
    drafts = [Draft(i, call) for i, call in enumerate(calls)]
    referenced = _check(registry, drafts)
    cycle = find_cycle(len(drafts), lambda i: drafts[i].needs) if referenced else None
    if cycle is None:
        if referenced:
            _propagate_rejections(drafts)
        if any(d.tool is not None and d.tool.side_effect == "write" for d in drafts):
            conflicts = Conflicts()  # reads only ever wait for writes
            for d in drafts:
                conflicts.add(d)
        if referenced or any(d.call.race is not None for d in drafts):
            link_groups(drafts)  # after conflicts, which set `after` afresh
        if referenced or any(d.after for d in drafts):
            cycle = find_cycle(len(drafts), lambda i: drafts[i].predecessors())
    if cycle is not None:
        _reject_batch(drafts, cycle)
        return tuple(d.freeze(None) for d in drafts), (), tuple(drafts[i].call.id for i in cycle)
    if any(d.needs or d.after for d in drafts):
        order = topological_order(len(drafts), lambda i: drafts[i].predecessors())
        generation = generations(order, lambda i: drafts[i].predecessors(), lambda i: drafts[i].verdict is None)
    else:  # no call waits for another (the usual turn): every runnable call is in wave 0
        generation = {d.index: 0 for d in drafts if d.verdict is None}
    waves: dict[int, list[int]] = defaultdict(list)
    for i in sorted(generation):
        waves[generation[i]].append(i)
    planned = tuple(d.freeze(generation.get(d.index)) for d in drafts)
    ranked = tuple(tuple(sorted(waves[g], key=lambda i: (-calls[i].priority, i))) for g in sorted(waves))
    return planned, ranked, None


def _check(registry: Registry, drafts: list[Draft]) -> bool:
    """Check every call and its references; return whether any call references another."""
    index_of: dict[str, int] = {}
    for d in drafts:
        index_of.setdefault(d.call.id, d.index)
    duplicates: dict[str, list[str]] = defaultdict(list)
    if len(index_of) < len(drafts):
        for d in drafts:
            duplicates[d.call.id].append(str(d.index))
    ids: list[str] = []  # every id, in first-seen order, for messages (built when first needed)
    referenced = False
    for d in drafts:
        call = d.call
        if len(duplicates.get(call.id, ())) > 1:
            where = _some(duplicates[call.id])
            d.reject(
                ErrorCode.DUPLICATE_CALL_ID,
                f"call id {call.id!r} is used by the calls at positions {where}; ids must be unique within a turn",
            )
        tool = registry.get(call.tool)
        arguments = call.arguments
        if (
            tool is not None
            and d.verdict is None
            and type(arguments) is dict
            and not call.after
            and tool.accepts_flat(arguments)
        ):
            # Flat arguments that surely fit (most calls): nothing below could find or reject anything.
            d.tool, d.arguments = tool, arguments
            d.keys = fill_keys(tool, arguments) if tool.keys else ()
            continue
        for ref in check_call(registry, d):
            if ref.group is not None:
                referenced = True  # a race's winner: checked and linked by `link_groups`
                continue
            position = ref.position
            target = index_of.get(ref.call_id) if position is None else position if position < len(drafts) else None
            if target is not None:
                d.need(target)
                referenced = True
            elif position is not None:
                d.reject(
                    ErrorCode.BAD_REFERENCE,
                    f"{ref.text!r} refers to call #{position + 1}, but this turn has {len(drafts)} call(s); "
                    "positions count from #1 in the order the calls were sent",
                )
            else:
                ids = ids or list(index_of)
                d.reject(
                    ErrorCode.BAD_REFERENCE,
                    f"{ref.text!r} refers to call {ref.call_id!r}, which is not in this turn "
                    f"(other ids: {_others(ids, index_of, call.id)}); write '$$' for a literal '$'",
                )
        check_schema_and_keys(d)
    return referenced


def _reject_batch(drafts: list[Draft], cycle: list[int]) -> None:
    names = " -> ".join(drafts[i].call.id for i in cycle)
    members = set(cycle)
    for d in drafts:
        d.verdict = None
        if d.index in members:
            d.reject(
                ErrorCode.DEPENDENCY_CYCLE,
                f"calls form a dependency cycle ({names}; 'a -> b' means a waits for b), so no order can run them; "
                "nothing in this turn ran. Send a serial plan: call them in separate turns, "
                "without references between them",
            )
        else:
            d.reject(
                ErrorCode.BATCH_REJECTED,
                f"not run: the turn was rejected because of the dependency cycle {names}; send this call again",
            )


def _propagate_rejections(drafts: list[Draft]) -> None:
    """Skip, transitively, every call that references a call planning rejected."""
    for i in topological_order(len(drafts), lambda i: drafts[i].needs):
        d = drafts[i]
        if d.verdict is not None:
            continue
        for j in sorted(d.needs):
            dep = drafts[j]
            if dep.verdict is not None:
                d.reject(
                    ErrorCode.DEPENDENCY_FAILED,
                    f"not run: it depends on call {dep.call.id!r}, which was "
                    f"{dep.verdict.status.value} ({dep.verdict.code.value})",
                    Status.SKIPPED,
                )
                break


def _some(items: list[str], limit: int = 8) -> str:
    """``items`` joined, or the first ``limit`` of them and how many more (messages stay short)."""
    if len(items) <= limit + 1:
        return ", ".join(items) or "none"
    return f"{', '.join(items[:limit])} and {len(items) - limit} more"


def _others(ids: Sequence[str], known: Container[str], own: str, limit: int = 8) -> str:
    """The ids other than ``own``: up to ``limit`` named and a count of the rest (never "and 1 more")."""
    named = [repr(i) for i in ids[: limit + 2] if i != own][: limit + 1]
    total = len(ids) - (own in known)
    if total > limit + 1:
        named = named[:limit]
    rest = total - len(named)
    return ", ".join(named) + (f" and {rest} more" if rest > 0 else "") if named else "none"
