"""Planning a turn: pure, synchronous, no I/O.

From the calls of one turn, in emission order: validate each call, find its
references, add conflict edges between calls on the same resource key,
reject the whole batch if the edges form a cycle, and group the rest into
waves (topological generations). A `Plan` can be rendered and tested without
running anything.
"""

from __future__ import annotations

import heapq
import json
import string
from collections import Counter, defaultdict
from collections.abc import Container, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any, final

import attrs

from ._outcome import ErrorCode, Status, ToolCall
from ._references import MAX_DEPTH, Reference, is_reference, parse_reference, scan
from ._registry import Registry, Tool
from ._schema import validate

__all__ = ["Plan", "PlannedCall", "Verdict"]

_UNKNOWN_KEY = object()


@final
@attrs.frozen(kw_only=True)
class Verdict:
    """What planning decided for a call that will not run."""

    status: Status
    code: ErrorCode
    message: str


_PLANNED_FIELDS = (
    "after",
    "arguments",
    "call",
    "generation",
    "has_escapes",
    "index",
    "keys",
    "needs",
    "references",
    "tool",
    "verdict",
)
"""The fields of `PlannedCall`, which `_Draft` holds too."""


class _PlannedCallSlots:
    """The storage of `PlannedCall`, shared with the builder `_Draft.freeze` fills."""

    __slots__ = (*_PLANNED_FIELDS, "__weakref__")


@final
@attrs.frozen(kw_only=True)
class PlannedCall(_PlannedCallSlots):
    """One call as the planner sees it.

    ``needs`` are the calls whose results it references; ``after`` are the
    earlier calls it must wait for because they touch the same resource key
    and one of the two writes. Both hold indices into `Plan.calls`.
    """

    index: int
    call: ToolCall
    tool: Tool | None
    arguments: Mapping[str, Any] | None
    references: tuple[Reference, ...]
    has_escapes: bool
    needs: tuple[int, ...]
    after: tuple[int, ...]
    keys: tuple[str, ...] | None
    """The resource keys it touches; ``None`` when a key is only known at run time."""
    generation: int | None
    verdict: Verdict | None

    @property
    def runnable(self) -> bool:
        """Whether planning left this call to run."""
        return self.verdict is None

    @property
    def predecessors(self) -> tuple[int, ...]:
        """Every call that must finish before this one starts."""
        return tuple(sorted(set(self.needs) | set(self.after)))


@final
@attrs.frozen(kw_only=True, eq=False, repr=False)
class Plan:
    """The schedule of one turn. Build it with `Plan.build`.

    Two plans are equal when their calls, waves and cycle are.
    """

    _calls: tuple[PlannedCall, ...] | None
    waves: tuple[tuple[int, ...], ...]
    """Per generation, the indices of its calls in plan order (priority, then emission)."""
    cycle: tuple[str, ...] | None
    """The call ids of a dependency cycle (first id repeated last), if the batch has one."""
    _drafts: Sequence[_Draft] = attrs.field(default=(), alias="_drafts")
    """The planner's drafts, which `calls` freezes on first use (``calls`` is ``None`` until then)."""

    @property
    def calls(self) -> tuple[PlannedCall, ...]:
        """Every call as planned, in emission order."""
        calls = self._calls
        if calls is None:
            calls = tuple(d.freeze() for d in self._drafts)
            object.__setattr__(self, "_calls", calls)
        return calls

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Plan):
            return NotImplemented
        return (self.calls, self.waves, self.cycle) == (other.calls, other.waves, other.cycle)

    def __hash__(self) -> int:
        return hash((self.calls, self.waves, self.cycle))

    def __repr__(self) -> str:
        return f"Plan(calls={self.calls!r}, waves={self.waves!r}, cycle={self.cycle!r})"

    @property
    def rejected(self) -> bool:
        """Whether any call was rejected or skipped during planning."""
        return any(c.verdict is not None for c in self.calls)

    @classmethod
    def build(cls, registry: Registry, calls: Iterable[ToolCall]) -> Plan:
        """Plan ``calls`` (in emission order) against ``registry``."""
        return _Planner(registry, list(calls)).build()

    @classmethod
    def _build_with(cls, registry: Registry, calls: Iterable[ToolCall], draft: type[_Draft]) -> Plan:
        """`build`, with drafts of a subclass (the executor's run records)."""
        return _Planner(registry, list(calls), draft).build()

    def render(self) -> str:
        """A text picture of the plan: the waves, each call's edges, the rejections."""
        lines = [f"plan: {len(self.calls)} calls, {len(self.waves)} waves"]
        for number, wave in enumerate(self.waves):
            for position, index in enumerate(wave):
                pc = self.calls[index]
                label = f"wave {number}:" if position == 0 else ""
                lines.append(f"  {label:<9}{_describe(pc, self.calls)}")
        not_run = [pc for pc in self.calls if pc.verdict is not None]
        if not_run:
            lines.append("  not run:")
            for pc in not_run:
                assert pc.verdict is not None
                lines.append(
                    f"    {pc.call.id} {pc.call.tool}: {pc.verdict.status} ({pc.verdict.code}) {pc.verdict.message}"
                )
        return "\n".join(lines)


def _describe(pc: PlannedCall, calls: Sequence[PlannedCall]) -> str:
    args = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in (pc.arguments or {}).items())
    if len(args) > 60:
        args = args[:57] + "..."
    parts = [f"{pc.call.id} {pc.call.tool}({args})"]
    tool = pc.tool
    if tool is not None and tool.side_effect != "none":
        where = ",".join(pc.keys) if pc.keys is not None else "<key known at run time>"
        parts.append(
            f"[{tool.side_effect}{' ' + where if where else ''}{' @' + tool.resource if tool.resource else ''}]"
        )
    if pc.needs:
        parts.append("needs " + ",".join(calls[i].call.id for i in pc.needs))
    after = [i for i in pc.after if i not in pc.needs]
    if after:
        parts.append("after " + ",".join(calls[i].call.id for i in after))
    return " ".join(parts)


_NO_EDGES: frozenset[int] = frozenset()


class _Draft:
    """A call being planned: `PlannedCall`'s fields, mutable, its edges as sets.

    A batch `Plan` keeps its drafts and freezes them into `PlannedCall`s only
    when its `calls` are first read: a turn runs from the drafts (its records
    are drafts, see `_execute._Record`), so the usual turn never builds a
    second object per call.
    """

    __slots__ = _PLANNED_FIELDS

    index: int
    call: ToolCall
    tool: Tool | None
    arguments: Mapping[str, Any] | None
    references: tuple[Reference, ...]
    has_escapes: bool
    # Shared and empty until a call gets an edge: most calls never do, and a turn may hold 10,000.
    needs: AbstractSet[int]
    after: AbstractSet[int]
    keys: tuple[str, ...] | None
    generation: int | None
    verdict: Verdict | None

    def __init__(self, index: int, call: ToolCall) -> None:
        self.index = index
        self.call = call
        self.tool = None
        self.arguments = None
        self.references = ()
        self.has_escapes = False
        self.needs = _NO_EDGES
        self.after = _NO_EDGES
        self.keys = ()
        self.generation = None
        self.verdict = None

    @property
    def predecessors(self) -> tuple[int, ...]:
        """Every call that must finish before this one starts."""
        return tuple(sorted(self.needs | self.after))

    def need(self, index: int) -> None:
        if not self.needs:
            self.needs = set()
        assert isinstance(self.needs, set)
        self.needs.add(index)

    def reject(self, code: ErrorCode, message: str, status: Status = Status.REJECTED) -> None:
        if self.verdict is None:
            self.verdict = Verdict(status=status, code=code, message=message)

    def freeze(self) -> PlannedCall:
        """This draft as planned so far, as a frozen `PlannedCall`; the draft stays a draft.

        attrs' frozen ``__init__`` assigns each field through ``object.__setattr__``;
        here they are assigned on a mutable twin that shares `PlannedCall`'s slots,
        which then becomes one (see `make_outcome`).
        """
        built: Any = _new(_PlannedCallBuilder)
        built.index = self.index
        built.call = self.call
        built.tool = self.tool
        built.arguments = self.arguments
        built.references = self.references
        built.has_escapes = self.has_escapes
        built.needs = tuple(sorted(self.needs)) if self.needs else ()
        built.after = tuple(sorted(self.after)) if self.after else ()
        built.keys = self.keys
        built.generation = self.generation
        built.verdict = self.verdict
        built.__class__ = PlannedCall
        planned: PlannedCall = built
        return planned


class _PlannedCallBuilder(_PlannedCallSlots):
    """A `PlannedCall` under construction: the same slots, without the frozen ``__setattr__``."""

    __slots__ = ()


_new = object.__new__


@attrs.define
class _History:
    """Per resource key: the last write and the reads since (for conflict edges)."""

    last_write: int | None = None
    reads: list[int] = attrs.Factory(list)


class _Planner:
    def __init__(self, registry: Registry, calls: list[ToolCall], draft: type[_Draft] = _Draft) -> None:
        self.registry = registry
        self.drafts = [draft(i, call) for i, call in enumerate(calls)]
        self.index_of: dict[str, int] = {}
        # What _validate learns of the batch on its way, so that most turns (a handful of
        # independent reads) skip the graph work they do not need.
        self.referenced = False  # some call references another
        self.writes = False  # some call writes
        self.prioritized = False  # some call has a priority
        self.ordered = False  # some call waits for another (set by build)

    def build(self) -> Plan:
        self._validate()
        referenced = self.referenced
        cycle = self._find_cycle(lambda i: self.drafts[i].needs) if referenced else None
        if cycle is None:
            if referenced:
                self._propagate_rejections()
            if self.writes:
                self._conflicts()
            self.ordered = referenced or (self.writes and any(d.after for d in self.drafts))
            if self.ordered:
                cycle = self._find_cycle(lambda i: self.drafts[i].needs | self.drafts[i].after)
        if cycle is not None:
            self._reject_batch(cycle)
            waves: list[list[int]] = []
        else:
            waves = self._generations()
        ids = tuple(self.drafts[i].call.id for i in cycle) if cycle else None
        # The calls are frozen from the drafts when first read (see Plan.calls).
        return Plan(calls=None, waves=tuple(tuple(w) for w in waves), cycle=ids, _drafts=self.drafts)

    # -- validation ----------------------------------------------------------------

    def _validate(self) -> None:
        index_of = self.index_of
        for i, d in enumerate(self.drafts):
            index_of.setdefault(d.call.id, i)
        counts = Counter(d.call.id for d in self.drafts) if len(index_of) < len(self.drafts) else None
        positions: dict[str, str] = {}
        unique_ids: list[str] = []
        tools = self.registry._tools
        for d in self.drafts:
            call = d.call
            if counts is not None and counts[call.id] > 1:
                where = positions.setdefault(
                    call.id, _some([str(j) for j, other in enumerate(self.drafts) if other.call.id == call.id])
                )
                d.reject(
                    ErrorCode.DUPLICATE_CALL_ID,
                    f"call id {call.id!r} is used by the calls at positions {where}; ids must be unique within a turn",
                )
            tool = tools.get(call.tool)
            arguments = call.arguments
            if tool is not None and d.verdict is None and type(arguments) is dict and tool.accepts_flat(arguments):
                # Flat arguments that surely fit: nothing for the checks below to find or reject.
                d.tool = tool
                d.arguments = arguments
                if tool.keys:
                    d.keys = _fill_keys(tool, arguments)
                if tool.side_effect == "write":
                    self.writes = True
                if call.priority:
                    self.prioritized = True
                continue
            for ref in _check_call(self.registry, d):
                position = ref.position
                if position is not None:
                    target = position if position < len(self.drafts) else None
                else:
                    target = self.index_of.get(ref.call_id)
                if target is None and position is not None:
                    d.reject(
                        ErrorCode.BAD_REFERENCE,
                        f"{ref.text!r} refers to call #{position + 1}, but this turn has {len(self.drafts)} "
                        "call(s); positions count from #1 in the order the calls were sent",
                    )
                elif target is None:
                    unique_ids = unique_ids or list(index_of)  # in first-seen order
                    d.reject(
                        ErrorCode.BAD_REFERENCE,
                        f"{ref.text!r} refers to call {ref.call_id!r}, which is not in this turn "
                        f"(other ids: {_others(unique_ids, index_of, call.id)}); write '$$' for a literal '$'",
                    )
                else:
                    d.need(target)
                    self.referenced = True
            _check_schema_and_keys(d)
            tool = d.tool
            if tool is not None and tool.side_effect == "write":
                self.writes = True
            if call.priority:
                self.prioritized = True

    # -- graph ---------------------------------------------------------------------

    def _find_cycle(self, edges: Any) -> list[int] | None:
        """The first dependency cycle in emission order, as indices (start repeated), or None."""
        n = len(self.drafts)
        state = [0] * n  # 0 new, 1 on the stack, 2 done
        for root in range(n):
            if state[root]:
                continue
            stack: list[tuple[int, list[int]]] = [(root, sorted(edges(root)))]
            path = [root]
            state[root] = 1
            while stack:
                node, pending = stack[-1]
                if pending:
                    nxt = pending.pop(0)
                    if state[nxt] == 1:
                        return [*path[path.index(nxt) :], nxt]
                    if state[nxt] == 0:
                        state[nxt] = 1
                        path.append(nxt)
                        stack.append((nxt, sorted(edges(nxt))))
                else:
                    state[node] = 2
                    stack.pop()
                    path.pop()
        return None

    def _reject_batch(self, cycle: list[int]) -> None:
        names = " -> ".join(self.drafts[i].call.id for i in cycle)
        members = set(cycle)
        for i, d in enumerate(self.drafts):
            d.verdict = None
            d.generation = None
            if i in members:
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

    def _propagate_rejections(self) -> None:
        order = self._topological(lambda i: self.drafts[i].needs)
        for i in order:
            d = self.drafts[i]
            if d.verdict is not None:
                continue
            for j in sorted(d.needs):
                dep = self.drafts[j]
                if dep.verdict is not None:
                    d.reject(
                        ErrorCode.DEPENDENCY_FAILED,
                        f"not run: it depends on call {dep.call.id!r}, which was "
                        f"{dep.verdict.status.value} ({dep.verdict.code.value})",
                        Status.SKIPPED,
                    )
                    break

    def _topological(self, edges: Any) -> list[int]:
        n = len(self.drafts)
        indegree = [0] * n
        successors: dict[int, list[int]] = defaultdict(list)
        for i in range(n):
            for j in edges(i):
                indegree[i] += 1
                successors[j].append(i)
        ready = [i for i in range(n) if indegree[i] == 0]
        heapq.heapify(ready)
        order: list[int] = []
        while ready:
            i = heapq.heappop(ready)
            order.append(i)
            for k in successors[i]:
                indegree[k] -= 1
                if indegree[k] == 0:
                    heapq.heappush(ready, k)
        return order

    def _conflicts(self) -> None:
        # Called only for a batch with a write: reads only wait for writes.
        conflicts = _Conflicts()
        for i, d in enumerate(self.drafts):
            if d.tool is not None and d.tool.side_effect != "none":
                conflicts.add(i, d)

    def _generations(self) -> list[list[int]]:
        runnable = [i for i, d in enumerate(self.drafts) if d.verdict is None]
        if not self.ordered:
            drafts = self.drafts
            for i in runnable:
                drafts[i].generation = 0
            if not self.prioritized:
                return [runnable] if runnable else []  # in emission order already
            return [sorted(runnable, key=lambda i: (-drafts[i].call.priority, i))] if runnable else []
        order = self._topological(lambda i: self.drafts[i].needs | self.drafts[i].after)
        for i in order:
            d = self.drafts[i]
            if d.verdict is None:
                preds = d.needs | d.after
                d.generation = max((self.drafts[j].generation or 0) + 1 for j in preds) if preds else 0
        waves: dict[int, list[int]] = defaultdict(list)
        for i in runnable:
            generation = self.drafts[i].generation
            assert generation is not None
            waves[generation].append(i)
        return [sorted(waves[g], key=lambda i: (-self.drafts[i].call.priority, i)) for g in sorted(waves)]


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


class _Conflicts:
    """Conflict edges in emission order, from each key's last write and the reads since.

    Calls whose key is only known at run time touch every key (the wildcard);
    keyless reads and writes touch a per-tool key no template can produce.
    """

    def __init__(self) -> None:
        self.histories: dict[object, _History] = defaultdict(_History)
        self.wildcard = _History()

    def add(self, i: int, d: _Draft) -> None:
        tool = d.tool
        if d.verdict is not None or tool is None or tool.side_effect == "none":
            return
        writes = tool.side_effect == "write"
        after: set[int] = set()
        if d.keys is None:
            touched = [h for k, h in self.histories.items() if not isinstance(k, tuple)]
            _access(self.wildcard, i, writes, after, [*touched, self.wildcard])
            for h in touched:
                if writes:
                    h.last_write, h.reads = i, []
        else:
            names: list[object] = list(d.keys) if tool.keys else [("tool", tool.name)]
            for name in names:
                history = self.histories[name]
                seen = [history] if isinstance(name, tuple) else [history, self.wildcard]
                _access(history, i, writes, after, seen)
        after.discard(i)
        if after:
            d.after = after


def _access(history: _History, index: int, writes: bool, after: set[int], seen: list[_History]) -> None:
    """Record an access to one key and add the conflict edges it implies."""
    for h in seen:
        if h.last_write is not None:
            after.add(h.last_write)
        if writes:
            after.update(h.reads)
    if writes:
        history.last_write, history.reads = index, []
    else:
        history.reads.append(index)


def _parse_arguments(d: _Draft) -> Mapping[str, Any] | None:
    raw = d.call.arguments
    if type(raw) is dict:
        return raw
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else {}
        except (json.JSONDecodeError, RecursionError) as exc:
            d.reject(ErrorCode.INVALID_ARGUMENTS, f"arguments are not valid JSON ({exc}); send one JSON object")
            return None
    if not isinstance(raw, Mapping):
        d.reject(ErrorCode.INVALID_ARGUMENTS, f"arguments must be a JSON object, got {type(raw).__name__}")
        return None
    return raw


def _check_call(registry: Registry, d: _Draft) -> Sequence[Reference]:
    """Look the tool up, parse the arguments and find the references; return the references."""
    call = d.call
    d.tool = registry.get(call.tool)
    if d.tool is None:
        hint = registry.suggest(call.tool)
        known = ", ".join(sorted(t.name for t in registry)) or "none"
        d.reject(
            ErrorCode.UNKNOWN_TOOL,
            f"tool {call.tool!r} is not registered"
            + (f"; did you mean {hint!r}?" if hint else f"; known tools: {known}"),
        )
    d.arguments = _parse_arguments(d)
    if d.arguments is None:
        return []
    found = scan(d.arguments, MAX_DEPTH)
    if found is None:
        d.reject(ErrorCode.INVALID_ARGUMENTS, f"arguments nest deeper than {MAX_DEPTH} levels; send a flatter object")
        d.arguments = None
        return []
    references, problems, d.has_escapes = found
    if references:
        d.references = tuple(references)
    for problem in problems:
        d.reject(ErrorCode.BAD_REFERENCE, problem)
    return references


def _check_schema_and_keys(d: _Draft) -> None:
    if d.tool is None or d.arguments is None or d.verdict is not None:
        return
    # Without references the compiled check usually settles it; the validator explains the rest.
    errors = (
        []
        if not d.references and d.tool.accepts(d.arguments)
        else validate(d.tool.parameters, d.arguments, skip=is_reference)
    )
    if errors:
        d.reject(
            ErrorCode.INVALID_ARGUMENTS,
            f"arguments for {d.call.tool!r} do not fit its schema: " + "; ".join(errors[:5]),
        )
        return
    d.keys = _fill_keys(d.tool, d.arguments) if d.tool.keys else ()


def _fill_keys(tool: Tool, arguments: Mapping[str, Any]) -> tuple[str, ...] | None:
    keys: list[str] = []
    properties: Mapping[str, Any] = tool.parameters.get("properties", {})
    for template in tool.keys:
        parts: list[str] = []
        for literal, field, _, _ in string.Formatter().parse(template):
            parts.append(literal)
            if field is None:
                continue
            value = _lookup(arguments, field, properties)
            if value is _UNKNOWN_KEY:
                return None
            parts.append(value if isinstance(value, str) else json.dumps(value, sort_keys=True))
        keys.append("".join(parts))
    return tuple(keys)


def _lookup(arguments: Mapping[str, Any], field: str, properties: Mapping[str, Any]) -> Any:
    head, *rest = field.split(".")
    if head in arguments:
        value: Any = arguments[head]
    elif isinstance(properties.get(head), Mapping) and "default" in properties[head]:
        value = properties[head]["default"]
    else:
        return _UNKNOWN_KEY
    for part in rest:
        if not isinstance(value, Mapping) or part not in value:
            return _UNKNOWN_KEY
        value = value[part]
    if isinstance(value, str) and value.startswith("$") and parse_reference(value) is not None:
        return _UNKNOWN_KEY  # filled from another call's result: only known at run time
    if isinstance(value, str) and value.startswith("$$"):
        return value[1:]
    return value


@final
@attrs.frozen(kw_only=True)
class Added:
    """What `IncrementalPlanner.add` found for one new call."""

    index: int
    resolved: tuple[int, ...]
    """Earlier calls that were waiting for this call's id and now need it."""
    cycle: tuple[int, ...]
    """Calls (this one among them) that now wait for each other in a cycle, if any."""
    cycle_text: str


class IncrementalPlanner:
    """Plans the calls of a turn one at a time, as a streamed response delivers them.

    Differences from `Plan.build`, because calls may already be running when a
    later one arrives: a duplicate id rejects only the later call; a reference
    to an id not seen yet waits for it (and is rejected with ``bad_reference``
    if the turn is closed before it arrives); a cycle rejects only its members.
    """

    def __init__(self, registry: Registry, draft: type[_Draft] = _Draft) -> None:
        self.registry = registry
        self._draft = draft
        self.drafts: list[_Draft] = []
        self.index_of: dict[str, int] = {}
        self.pending: dict[str, list[int]] = {}
        self.waiting_for: dict[int, set[str]] = {}
        self._conflicts = _Conflicts()

    def add(self, call: ToolCall) -> Added:
        """Plan ``call`` after every call added so far."""
        i = len(self.drafts)
        d = self._draft(i, call)
        self.drafts.append(d)
        first = self.index_of.setdefault(call.id, i)
        if first != i:
            d.reject(
                ErrorCode.DUPLICATE_CALL_ID,
                f"call id {call.id!r} was already used by the call at position {first}; "
                "ids must be unique within a turn",
            )
        missing: set[str] = set()
        for ref in _check_call(self.registry, d):
            position = ref.position
            target = self.index_of.get(ref.call_id) if position is None else position if position <= i else None
            if target == i:
                d.reject(ErrorCode.DEPENDENCY_CYCLE, f"{ref.text!r} refers to the call itself ({call.id} -> {call.id})")
            elif target is None:
                missing.add(ref.call_id)
            else:
                d.need(target)
        _check_schema_and_keys(d)
        if d.verdict is None and missing:
            self.waiting_for[i] = missing
            for name in missing:
                self.pending.setdefault(name, []).append(i)
        self._conflicts.add(i, d)
        # Waiting for this call: references to its id (if it is the first with it) and to its position.
        names = ([call.id] if first == i else []) + [f"#{i + 1}"]
        resolved = tuple(w for name in names for w in self.pending.pop(name, ()))
        for w in resolved:
            self.drafts[w].need(i)
            self.waiting_for[w].difference_update(names)
        cycle = self._cycle_through(i, set(resolved))
        text = " -> ".join(self.drafts[k].call.id for k in (*cycle, cycle[0])) if cycle else ""
        return Added(index=i, resolved=resolved, cycle=cycle, cycle_text=text)

    def _cycle_through(self, start: int, targets: set[int]) -> tuple[int, ...]:
        """A path ``start`` waits along to one of ``targets`` (which waits for ``start``)."""
        if not targets:
            return ()
        parent: dict[int, int] = {start: start}
        stack = [start]
        while stack:
            node = stack.pop()
            d = self.drafts[node]
            for pred in sorted(d.needs | d.after):
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

    def close(self) -> dict[int, set[str]]:
        """End the turn's input: the calls still waiting for ids that never came."""
        left = {i: names for i, names in self.waiting_for.items() if names}
        self.pending.clear()
        self.waiting_for.clear()
        return left
