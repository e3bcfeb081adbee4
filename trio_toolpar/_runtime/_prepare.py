"""Just before a call starts: substitute its references, check it again, give it its idempotency key,
and structure its arguments into the types the tool declares."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from .._arguments._references import Reference, ReferenceError_, nests_deeper, resolve, substitute
from .._arguments._schema import validate
from .._planning._planned_call import PlannedCall
from .._values._convert import dumps, jsonable
from .._values._exceptions import ArgumentsError
from .._values._jsonvalue import MAX_DEPTH
from .._values._outcome import ErrorCode, Status, Verdict
from .._values._render import exception_text, safe_str

__all__ = ["Prepared", "idempotency_key", "prepare"]


Prepared = tuple[Mapping[str, Any], str | None]
"""A call ready to start, ``(arguments, idempotency_key)``: what `prepare` gives it once, for all its attempts.

The tool's keyword arguments (references substituted, structured into the types it declares), and the
idempotency key (for writes and tools that take a `CallContext`; computed from the JSON arguments, so it
does not depend on Python types). A plain tuple: a `NamedTuple` costs 150 ns a call to build."""


def idempotency_key(planned: PlannedCall, arguments: Mapping[str, Any]) -> str:
    """A key that is the same for every attempt of this call: its id, tool and arguments, hashed."""
    assert planned.tool is not None
    digest = hashlib.sha256(f"{planned.call.id}\0{planned.tool.name}\0{dumps(arguments, sort_keys=True)}".encode())
    return digest.hexdigest()[:32]


def prepare(planned: PlannedCall, value_of: Callable[[Reference], object]) -> Prepared | Verdict:
    """The call's final arguments and key, or why it is rejected after all.

    ``value_of(ref)`` is the value of the call ``ref`` names, which ended ``ok``.
    """
    tool = planned.tool
    arguments = planned.arguments
    assert tool is not None and arguments is not None
    if planned.references or planned.has_escapes:
        try:
            arguments = substitute(arguments, lambda ref: resolve(ref, value_of(ref), jsonable), planned.references)
        except ReferenceError_ as exc:
            return Verdict(Status.REJECTED, ErrorCode.BAD_REFERENCE, safe_str(exc))
        except Exception as exc:  # the referenced value's own code failed while it was read
            return Verdict(
                Status.REJECTED,
                ErrorCode.BAD_REFERENCE,
                f"a referenced value could not be read: {exception_text(exc)}",
            )
        if planned.references:
            problem = _check_again(planned, arguments)
            if problem is not None:
                return Verdict(Status.REJECTED, ErrorCode.INVALID_ARGUMENTS, problem)
    key = (
        idempotency_key(planned, arguments)
        if tool.context_parameter is not None or tool.side_effect == "write"
        else None
    )
    try:
        typed = tool.structure(arguments)
    except ArgumentsError as exc:
        problems = "; ".join(exc.problems[:5])
        return Verdict(
            Status.REJECTED,
            ErrorCode.INVALID_ARGUMENTS,
            f"arguments for {tool.name!r} do not fit its types: {problems}",
        )
    return typed, key


def _check_again(planned: PlannedCall, arguments: Mapping[str, Any]) -> str | None:
    tool = planned.tool
    assert tool is not None
    if nests_deeper(arguments, MAX_DEPTH):
        return f"arguments nest deeper than {MAX_DEPTH} levels once references are substituted"
    try:
        errors = [] if tool.accepts(arguments) else validate(tool.parameters, arguments)
    except Exception as exc:  # a referenced value's own code (its __eq__, say) failed while it was checked
        return (
            f"arguments for {tool.name!r} could not be checked once references were substituted: {exception_text(exc)}"
        )
    if errors:
        return f"arguments for {tool.name!r} do not fit its schema once references are substituted: " + "; ".join(
            errors[:5]
        )
    return None
