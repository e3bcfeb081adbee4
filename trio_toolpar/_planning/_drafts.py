"""A call being planned (`Draft`), and the checks that need only the call and the registry.

The batch planner and the incremental one (for open turns) both build a
`Draft` per call, check it here, add the edges they find between calls, and
freeze it into a `PlannedCall` once they are done with it. (A batch call
that no later pass could change skips the draft: see `plan_batch`.)
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from .._arguments._references import Reference, find_references, holds_reference, parse_reference, scan, substitute
from .._arguments._schema import validate
from .._arguments._text import ArgumentsText, parse_arguments
from .._tools._registry import Registry, Tool
from .._values._convert import dumps
from .._values._jsonvalue import MAX_DEPTH
from .._values._outcome import ErrorCode, Status, ToolCall, Verdict
from .._values._render import exception_text
from ._planned_call import PlannedCall, make_planned_call

__all__ = ["Draft", "check_call", "check_schema_and_keys", "fill_keys", "flat_arguments", "ordering"]

_NO_EDGES: frozenset[int] = frozenset()
_UNKNOWN_KEY = object()


class Draft:
    """A call being planned: what the planner has learnt of it so far.

    The planner fills these fields over several passes (checks, then
    references, then conflicts); `freeze` builds the `PlannedCall` once.
    """

    __slots__ = ("after", "arguments", "call", "has_escapes", "index", "keys", "needs", "references", "tool", "verdict")

    def __init__(self, index: int, call: ToolCall) -> None:
        self.index = index
        self.call = call
        self.tool: Tool | None = None
        self.arguments: Mapping[str, Any] | None = None
        self.references: tuple[Reference, ...] = ()
        self.has_escapes = False
        # Shared and empty until a call gets an edge: most calls never do, and a turn may hold 100,000.
        self.needs: AbstractSet[int] = _NO_EDGES
        self.after: AbstractSet[int] = _NO_EDGES
        self.keys: tuple[str, ...] | None = ()
        self.verdict: Verdict | None = None

    def need(self, index: int) -> None:
        """Make this call depend on the result of call ``index``."""
        if not self.needs:
            self.needs = set()
        assert isinstance(self.needs, set)
        self.needs.add(index)

    def reject(self, code: ErrorCode, message: str, status: Status = Status.REJECTED) -> None:
        """Decide that this call will not run (the first reason found stands)."""
        if self.verdict is None:
            self.verdict = Verdict(status=status, code=code, message=message)

    def predecessors(self) -> AbstractSet[int]:
        """Every call that must finish before this one starts."""
        return self.needs | self.after if self.after else self.needs

    def freeze(self, generation: int | None) -> PlannedCall:
        """This call as planned, with its plan generation."""
        return make_planned_call(
            index=self.index,
            call=self.call,
            tool=self.tool,
            arguments=self.arguments,
            references=self.references,
            has_escapes=self.has_escapes,
            needs=tuple(sorted(self.needs)) if self.needs else (),
            after=tuple(sorted(self.after)) if self.after else (),
            keys=self.keys,
            generation=generation,
            verdict=self.verdict,
        )


def flat_arguments(tool: Tool, call: ToolCall) -> dict[str, Any] | None:
    """``call``'s arguments if they are flat and surely fit ``tool``, and it has no `ToolCall.after` (most calls).

    Flat: scalars, and texts without a ``$``. `check_call` and
    `check_schema_and_keys` would find nothing in them: no reference, no
    escape, nothing to reject; only the keys are left to fill (`fill_keys`).
    """
    arguments = call.arguments
    if type(arguments) is dict and not call.after and tool.accepts_flat(arguments):
        return arguments
    return None


def check_call(registry: Registry, d: Draft) -> Sequence[Reference]:
    """Look the tool up, read the arguments, find the references; return the references.

    The references are not checked against the turn (that is the planner's
    job); the schema is checked by `check_schema_and_keys` once they are.
    """
    call = d.call
    tool = d.tool = registry.get(call.tool)
    if tool is None:
        hint = registry.suggest(call.tool)
        known = ", ".join(sorted(t.name for t in registry)) or "none"
        d.reject(
            ErrorCode.UNKNOWN_TOOL,
            f"tool {call.tool!r} is not registered"
            + (f"; did you mean {hint!r}?" if hint else f"; known tools: {known}"),
        )
    try:
        d.arguments = arguments = parse_arguments(call.arguments)
    except ArgumentsText as exc:
        d.reject(ErrorCode.INVALID_ARGUMENTS, str(exc))
        return ()
    try:
        found = scan(arguments, MAX_DEPTH)
    except Exception as exc:  # a caller's Python value whose own code fails when looked at
        d.reject(ErrorCode.INVALID_ARGUMENTS, f"the arguments could not be read: {exception_text(exc)}")
        d.arguments = None
        return ()
    if found is None:
        d.reject(ErrorCode.INVALID_ARGUMENTS, f"arguments nest deeper than {MAX_DEPTH} levels; send a flatter object")
        d.arguments = None
        return ()
    references, problems, d.has_escapes = found
    if references:
        d.references = tuple(references)
    for problem in problems:
        d.reject(ErrorCode.BAD_REFERENCE, problem)
    return [*references, *ordering(d)] if call.after else references


def ordering(d: Draft) -> list[Reference]:
    """The calls ``d`` runs after (`ToolCall.after`), as references whose value it does not use."""
    found: list[Reference] = []
    for entry in d.call.after:
        ref = parse_reference(f"${entry}") if isinstance(entry, str) and not entry.startswith("$") else None
        if ref is None or ref.path:
            d.reject(
                ErrorCode.BAD_REFERENCE,
                f"after entry {entry!r} must be a call id, '#N' (a position) or '@race', without a path",
            )
        else:
            found.append(ref)
    return found


def check_schema_and_keys(d: Draft) -> None:
    """Check the arguments against the tool's schema (references pass as any value), and fill the keys.

    A text with a reference inside passes too: it is checked once the reference is substituted.
    """
    tool, arguments = d.tool, d.arguments
    if tool is None or arguments is None or d.verdict is not None:
        return
    # A compiled check usually settles it (with references, one that lets them pass); the validator explains the rest.
    accepts = tool.accepts_references if d.references else tool.accepts
    if not accepts(arguments):
        errors = validate(tool.parameters, arguments, skip=holds_reference)
        if errors:
            d.reject(
                ErrorCode.INVALID_ARGUMENTS,
                f"arguments for {tool.name!r} do not fit its schema: " + "; ".join(errors[:5]),
            )
            return
    d.keys = fill_keys(tool, arguments) if tool.keys else ()


def fill_keys(tool: Tool, arguments: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The resource keys the call touches, or ``None`` if one is filled from a reference (known at run time)."""
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
            parts.append(value if isinstance(value, str) else dumps(value, sort_keys=True, compact=False))
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
    if holds_reference(value) or (not isinstance(value, str) and find_references({"": value})[0]):
        return _UNKNOWN_KEY  # filled from another call's result: only known at run time
    return substitute(value, _no_reference)  # a text's escapes, unescaped as the tool will see them


def _no_reference(ref: Reference) -> object:
    raise AssertionError(f"{ref.text!r} was not seen as a reference")  # holds_reference said there is none
