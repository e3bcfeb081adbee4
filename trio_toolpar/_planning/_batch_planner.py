"""Planning a batch turn: pure, synchronous, no I/O.

From the calls of one turn, in emission order: check each call, resolve its
references to calls of the turn (by id, or by position for ``$#N``), add
conflict edges between calls on the same resource key, reject the whole
batch if the edges form a cycle, and group the rest into waves
(topological generations).

Most calls of a turn have flat arguments that fit their tool and nothing
that could make them wait: the check plans them at once, in wave 0. Only the
other calls get a `Draft`, and the passes that add and follow edges visit
those drafts and their edges, not the whole batch (which may hold 100,000
calls).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Container, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import cast

import attrs

from .._tools._registry import Registry
from .._values._outcome import ErrorCode, Status, ToolCall, Verdict
from ._conflicts import Conflicts
from ._drafts import Draft, check_call, check_schema_and_keys, fill_keys, flat_arguments
from ._graph import find_cycle, generations, topological_order
from ._planned_call import PlannedCall, Waves, by_generation, in_plan_order, make_planned_call
from ._race_groups import link_groups

__all__ = ["plan_batch"]


def plan_batch(
    registry: Registry, calls: Sequence[ToolCall]
) -> tuple[tuple[PlannedCall, ...], Waves, tuple[str, ...] | None]:
    """Plan ``calls`` (in emission order): each call as planned, the waves, and the ids of a cycle if any."""
    planned, drafts, referenced = _check(registry, calls)
    by_index = {d.index: d for d in drafts}
    cycle = _link(by_index, referenced=referenced)
    if cycle is not None:
        return _reject_batch(planned, by_index, cycle), (), tuple(by_index[i].call.id for i in cycle)
    generation = _generations(by_index)
    for d in drafts:
        planned[d.index] = d.freeze(generation.get(d.index))
    everyone = _all(planned)
    if len(generation) == len(drafts) and not any(generation.values()):
        waves: Sequence[Sequence[int]] = [range(len(everyone))] if everyone else []  # every call runs, in wave 0
    else:
        waves = by_generation(everyone)
    return tuple(everyone), in_plan_order(waves, everyone), None


def _link(by_index: Mapping[int, Draft], *, referenced: bool) -> list[int] | None:
    """Add the edges between the drafts (only they can wait for a call); return a cycle, if they form one."""
    nodes, drafts = by_index.keys(), by_index.values()
    if referenced:
        needs = {i: d.needs for i, d in by_index.items()}
        cycle = find_cycle(nodes, needs.__getitem__)
        if cycle is not None:
            return cycle
        _propagate_rejections(by_index, needs)
    if any(d.tool is not None and d.tool.side_effect == "write" for d in drafts):
        conflicts = Conflicts()  # reads only ever wait for writes
        for d in drafts:
            conflicts.add(d)
    if referenced or any(d.call.race is not None for d in drafts):
        link_groups(list(drafts))  # after conflicts, which set `after` afresh
    if any(d.after for d in drafts):  # without them, the needs alone were found acyclic above
        return find_cycle(nodes, _predecessors(by_index))
    return None


def _generations(by_index: Mapping[int, Draft]) -> dict[int, int]:
    """Each runnable draft's generation (a call planned at once is in generation 0)."""
    if not any(d.needs or d.after for d in by_index.values()):  # no call waits for another (the usual turn)
        return {i: 0 for i, d in by_index.items() if d.verdict is None}
    edges = _predecessors(by_index)
    order = topological_order(by_index.keys(), edges)
    return generations(order, edges, lambda i: by_index[i].verdict is None)


def _predecessors(by_index: Mapping[int, Draft]) -> Callable[[int], AbstractSet[int]]:
    """Each draft's predecessors by index, each set built once (the graph passes ask for them again and again)."""
    return {i: d.predecessors() for i, d in by_index.items()}.__getitem__


def _all(planned: list[PlannedCall | None]) -> list[PlannedCall]:
    """``planned`` once every draft was frozen into it."""
    return cast("list[PlannedCall]", planned)


def _check(registry: Registry, calls: Sequence[ToolCall]) -> tuple[list[PlannedCall | None], list[Draft], bool]:
    """Check every call and its references.

    Returns the calls planned at once (``None`` for the others), a draft for
    each of the others, and whether any call references another.
    """
    duplicates = _duplicates(calls)
    tools = {name: registry.get(name) for name in {call.tool for call in calls}}
    writes = any(tool is not None and tool.side_effect == "write" for tool in tools.values())
    planned: list[PlannedCall | None] = [None] * len(calls)
    drafts: list[Draft] = []
    unchecked: list[Draft] = []  # drafts the quick path could not check
    for i, call in enumerate(calls):
        tool = tools[call.tool]
        arguments = flat_arguments(tool, call) if tool is not None and call.id not in duplicates else None
        if tool is not None and arguments is not None:
            # Flat arguments that surely fit (most calls): nothing below could find or reject anything.
            keys = fill_keys(tool, arguments) if tool.keys else ()
            if call.race is None and (tool.side_effect == "none" or not writes):
                # Nor could a later pass give it an edge (only writes make calls wait): planned at once, in wave 0.
                planned[i] = make_planned_call(
                    index=i,
                    call=call,
                    tool=tool,
                    arguments=arguments,
                    references=(),
                    has_escapes=False,
                    needs=(),
                    after=(),
                    keys=keys,
                    generation=0,
                    verdict=None,
                )
                continue
            d = Draft(i, call)
            d.tool, d.arguments, d.keys = tool, arguments, keys
        else:
            d = Draft(i, call)
            unchecked.append(d)
        drafts.append(d)
    referenced = _check_fully(registry, unchecked, calls, duplicates) if unchecked else False
    return planned, drafts, referenced


def _check_fully(
    registry: Registry, drafts: list[Draft], calls: Sequence[ToolCall], duplicates: Mapping[str, list[str]]
) -> bool:
    """Check ``drafts`` the whole way: id, tool, arguments, their references to ``calls``, schema and keys.

    Returns whether any of them references another call.
    """
    index_of: dict[str, int] = {}  # each id's first position (built when first needed)
    ids: list[str] = []  # every id, in first-seen order, for messages (built when first needed)
    referenced = False
    for d in drafts:
        call = d.call
        if call.id in duplicates:
            d.reject(
                ErrorCode.DUPLICATE_CALL_ID,
                f"call id {call.id!r} is used by the calls at positions {_some(duplicates[call.id])}; "
                "ids must be unique within a turn",
            )
        for ref in check_call(registry, d):
            if ref.group is not None:
                referenced = True  # a race's winner: checked and linked by `link_groups`
                continue
            position = ref.position
            if position is None:
                index_of = index_of or _first_positions(calls)
                target = index_of.get(ref.call_id)
            else:
                target = position if position < len(calls) else None
            if target is not None:
                d.need(target)
                referenced = True
            elif position is not None:
                d.reject(
                    ErrorCode.BAD_REFERENCE,
                    f"{ref.text!r} refers to call #{position + 1}, but this turn has {len(calls)} call(s); "
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


def _duplicates(calls: Sequence[ToolCall]) -> dict[str, list[str]]:
    """The ids used by more than one call, each with the positions of its calls (usually none)."""
    if len({call.id for call in calls}) == len(calls):
        return {}
    positions: dict[str, list[str]] = defaultdict(list)
    for i, call in enumerate(calls):
        positions[call.id].append(str(i))
    return {k: v for k, v in positions.items() if len(v) > 1}


def _first_positions(calls: Sequence[ToolCall]) -> dict[str, int]:
    """Each id and the position of its first call (the one a reference to the id means), in first-seen order."""
    index_of: dict[str, int] = {}
    for i, call in enumerate(calls):
        index_of.setdefault(call.id, i)
    return index_of


def _reject_batch(
    planned: list[PlannedCall | None], by_index: Mapping[int, Draft], cycle: list[int]
) -> tuple[PlannedCall, ...]:
    """Every call rejected for the cycle: its members, and every other call with them."""
    names = " -> ".join(by_index[i].call.id for i in cycle)
    members = set(cycle)
    on_cycle = Verdict(
        status=Status.REJECTED,
        code=ErrorCode.DEPENDENCY_CYCLE,
        message=f"calls form a dependency cycle ({names}; 'a -> b' means a waits for b), so no order can run them; "
        "nothing in this turn ran. Send a serial plan: call them in separate turns, "
        "without references between them",
    )
    rejected = Verdict(
        status=Status.REJECTED,
        code=ErrorCode.BATCH_REJECTED,
        message=f"not run: the turn was rejected because of the dependency cycle {names}; send this call again",
    )
    for i, d in by_index.items():
        d.verdict = on_cycle if i in members else rejected
    return tuple(
        by_index[i].freeze(None) if pc is None else attrs.evolve(pc, generation=None, verdict=rejected)
        for i, pc in enumerate(planned)
    )


def _propagate_rejections(by_index: Mapping[int, Draft], needs: Mapping[int, AbstractSet[int]]) -> None:
    """Skip, transitively, every call that references a call planning rejected (a call planned at once never is)."""
    if all(d.verdict is None for d in by_index.values()):
        return  # nothing to pass on (the usual turn)
    for i in topological_order(by_index.keys(), needs.__getitem__):
        d = by_index[i]
        if d.verdict is not None:
            continue
        for j in sorted(d.needs):
            dep = by_index.get(j)
            if dep is not None and dep.verdict is not None:
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
