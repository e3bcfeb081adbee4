"""Planning an open turn one call at a time, as a streamed response delivers the calls.

Differences from a batch (`plan_batch`), because calls may already be
running when a later one arrives: a duplicate id rejects only the later
call; a reference to an id or position not seen yet waits for it (and is
rejected with ``bad_reference`` if the turn is closed before it arrives);
a cycle rejects only its members. Positions count calls as submitted.
With an admission limit, calls are admitted as they arrive (`OpenAdmission`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import final

import attrs

from .._tools._registry import Registry
from .._values._construct import fast_constructor
from .._values._outcome import ErrorCode, Status, ToolCall, Verdict
from ._admission import OpenAdmission
from ._conflicts import Conflicts
from ._drafts import Draft, check_call, check_schema_and_keys, fill_keys, flat_arguments
from ._plan import Plan
from ._planned_call import PlannedCall, by_generation, in_plan_order

__all__ = ["Added", "IncrementalPlanner", "cycle_verdict", "missing_verdict"]


def cycle_verdict(cycle_text: str) -> Verdict:
    """For the members of a cycle an arriving call closed."""
    return Verdict(
        status=Status.REJECTED,
        code=ErrorCode.DEPENDENCY_CYCLE,
        message=f"calls form a dependency cycle ({cycle_text}; 'a -> b' means a waits for b); "
        "the calls of the cycle did not run. Send them as a serial plan, in separate turns",
    )


def missing_verdict(names: set[str]) -> Verdict:
    """For a call still waiting for ids or positions when the turn's input closed."""
    return Verdict(
        status=Status.REJECTED,
        code=ErrorCode.BAD_REFERENCE,
        message=f"refers to call(s) {', '.join(sorted(names))}, which never arrived in this turn",
    )


@final
@attrs.frozen(kw_only=True)
class Added:
    """What `IncrementalPlanner.add` found for one new call."""

    index: int
    needs: frozenset[int]
    """Earlier calls whose results the new call references."""
    after: frozenset[int]
    """Earlier calls it conflicts with (it runs after them)."""
    verdict: Verdict | None
    """Why it will not run, if planning already knows."""
    waiting: bool
    """It also waits for ids or positions that have not arrived yet."""
    resolved: tuple[int, ...]
    """Earlier calls that were waiting for this call's id or position, and now wait for the call."""
    cycle: tuple[int, ...]
    """Calls (this one among them) that now wait for each other in a cycle, if any."""
    cycle_text: str
    deferred: tuple[int, ...] = ()
    """Earlier calls admitted that are deferred now: they wait for this call, which was deferred."""


_make_added = fast_constructor(Added)
"""``Added(...)``, faster: one per call an open turn is fed (see `fast_constructor`)."""


class IncrementalPlanner:
    """Plans the calls of an open turn in the order they are added."""

    def __init__(self, registry: Registry, *, admit: int | None = None) -> None:
        self._registry = registry
        self._admission = OpenAdmission(admit) if admit is not None else None
        self._drafts: list[Draft] = []
        self._index_of: dict[str, int] = {}
        self._pending: dict[str, list[int]] = {}  # an id, or "#N", not seen yet -> the calls waiting for it
        self._waiting_for: dict[int, set[str]] = {}
        self._conflicts = Conflicts()
        self.closed = False
        """Whether `close` was called: no call may be added any more."""

    def __len__(self) -> int:
        return len(self._drafts)

    def add(self, call: ToolCall) -> Added:
        """Plan ``call`` after every call added so far."""
        i = len(self._drafts)
        d = Draft(i, call)
        self._drafts.append(d)
        first = self._index_of.setdefault(call.id, i)
        if first != i:
            d.reject(
                ErrorCode.DUPLICATE_CALL_ID,
                f"call id {call.id!r} was already used by the call at position {first}; "
                "ids must be unique within a turn",
            )
        tool = self._registry.get(call.tool)
        arguments = flat_arguments(tool, call) if tool is not None and first == i else None
        if tool is not None and arguments is not None:
            d.tool, d.arguments = tool, arguments  # nothing to find or reject in them (most calls)
            d.keys = fill_keys(tool, arguments) if tool.keys else ()
            missing: set[str] = set()
        else:
            missing = self._check(d)
        self._conflicts.add(d)
        admission = self._admission
        if admission is not None and d.verdict is None:
            admission.arrive(d, self._drafts)  # a deferred call waits for nothing: decided when it arrives
        if d.verdict is None and missing:
            self._waiting_for[i] = missing
            for name in missing:
                self._pending.setdefault(name, []).append(i)
        resolved = self._resolve(i, first == i) if self._pending else ()
        deferred = admission.resolved(i, resolved, self._drafts) if admission is not None and resolved else ()
        cycle = self._cycle_through(i, set(resolved)) if resolved else ()
        return _make_added(
            index=i,
            needs=frozenset(d.needs),
            after=frozenset(d.after),
            verdict=d.verdict,
            waiting=bool(self._waiting_for.get(i)),
            resolved=resolved,
            cycle=cycle,
            cycle_text=" -> ".join(self._drafts[k].call.id for k in (*cycle, cycle[0])) if cycle else "",
            deferred=deferred,
        )

    def _resolve(self, i: int, first: bool) -> tuple[int, ...]:
        """The earlier calls that waited for call ``i``'s id (if it is the ``first`` with it) or position:
        now they need call ``i``."""
        names = ([self._drafts[i].call.id] if first else []) + [f"#{i + 1}"]
        resolved = tuple(w for name in names for w in self._pending.pop(name, ()))
        for w in resolved:
            self._drafts[w].need(i)
            self._waiting_for[w].difference_update(names)
        return resolved

    def _check(self, d: Draft) -> set[str]:
        """Check ``d`` the whole way (tool, arguments, references, schema); return the ids and positions
        it names that have not arrived yet."""
        i, call = d.index, d.call
        missing: set[str] = set()
        for ref in check_call(self._registry, d):
            if ref.group is not None:
                d.reject(
                    ErrorCode.BAD_REFERENCE, f"{ref.text!r}: a race's winner can be referenced in batch turns only"
                )
                continue
            position = ref.position
            target = self._index_of.get(ref.call_id) if position is None else position if position <= i else None
            if target == i:
                d.reject(ErrorCode.DEPENDENCY_CYCLE, f"{ref.text!r} refers to the call itself ({call.id} -> {call.id})")
            elif target is None:
                missing.add(ref.call_id)
            else:
                d.need(target)
        check_schema_and_keys(d)
        return missing

    def still_waiting(self, index: int) -> bool:
        """Whether call ``index`` still waits for an id or position that has not arrived."""
        return bool(self._waiting_for.get(index))

    def verdict(self, index: int) -> Verdict | None:
        """Why call ``index`` will not run, if planning knows."""
        return self._drafts[index].verdict

    def predecessors(self, index: int) -> frozenset[int]:
        """Every call that call ``index`` waits for, as far as known."""
        return frozenset(self._drafts[index].predecessors())

    def freeze(self, index: int, generation: int | None) -> PlannedCall:
        """Call ``index`` as planned so far (its edges are final once it no longer waits)."""
        return self._drafts[index].freeze(generation)

    def snapshot(self, frozen: Sequence[PlannedCall | None]) -> Plan:
        """The calls so far as a `Plan`.

        ``frozen[i]`` is call ``i`` as `freeze` gave it when it was scheduled
        (its edges were final then), or ``None`` if it was not: it is frozen now,
        without a generation.
        """
        calls = tuple(planned if planned is not None else self.freeze(i, None) for i, planned in enumerate(frozen))
        admit = self._admission.limit if self._admission is not None else None
        return Plan(calls=calls, waves=in_plan_order(by_generation(calls), calls), cycle=None, admit=admit)

    def close(self) -> dict[int, set[str]]:
        """End the turn's input: the calls still waiting for ids or positions that never came."""
        self.closed = True
        left = {i: names for i, names in self._waiting_for.items() if names}
        self._pending.clear()
        self._waiting_for.clear()
        return left

    def _cycle_through(self, start: int, targets: set[int]) -> tuple[int, ...]:
        """A path ``start`` waits along to one of ``targets`` (which wait for ``start``)."""
        parent: dict[int, int] = {start: start}
        stack = [start]
        while stack:
            node = stack.pop()
            for pred in sorted(self._drafts[node].predecessors()):
                if pred in parent:
                    continue
                parent[pred] = node
                if pred in targets:
                    path = [pred]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return tuple(reversed(path))
                stack.append(pred)
        return ()
