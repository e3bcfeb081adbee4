"""The one cattrs converter for JSON in and out."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import cattrs
from cattrs.gen import make_dict_unstructure_fn, override
from cattrs.preconf.json import make_converter

from ._outcome import Outcome, ToolCall, TurnResult
from ._references import MAX_DEPTH

__all__ = ["converter", "dumps", "jsonable"]

converter = make_converter(forbid_extra_keys=True)


def _strict(kind: type) -> Any:
    # cattrs coerces by default ("false" -> True); JSON input must already be of the right kind.
    def structure(value: object, _: type) -> object:
        if type(value) is not kind and not (kind is float and type(value) is int):
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__} {value!r}")
        return value

    return structure


for _kind in (str, int, float, bool):
    converter.register_structure_hook(_kind, _strict(_kind))


def _structure_call(data: object, _: type) -> ToolCall:
    if not isinstance(data, Mapping):
        raise TypeError(f"a tool call must be an object, got {type(data).__name__}")
    extra = set(data) - {"id", "tool", "arguments", "priority"}
    if extra:
        raise cattrs.ForbiddenExtraKeysError(f"unknown keys {sorted(extra)} in a tool call", ToolCall, extra)
    arguments = data.get("arguments", {})
    if not isinstance(arguments, (Mapping, str)):
        raise TypeError(f"arguments must be an object or a JSON string, got {type(arguments).__name__}")
    return ToolCall(
        id=converter.structure(data["id"], str),
        tool=converter.structure(data["tool"], str),
        arguments=arguments,
        priority=converter.structure(data.get("priority", 0), int),
    )


converter.register_structure_hook(ToolCall, _structure_call)

_outcome_fields = make_dict_unstructure_fn(
    Outcome, converter, exception=override(omit=True), traceback=override(omit=True)
)


def _unstructure_outcome(outcome: Outcome) -> dict[str, Any]:
    data = _outcome_fields(outcome)
    data["ok"] = outcome.ok
    data["value"] = jsonable(outcome.value)
    return data


converter.register_unstructure_hook(Outcome, _unstructure_outcome)


def _unstructure_result(result: TurnResult) -> dict[str, Any]:
    return {
        "ok": result.ok,
        "started_at": result.started_at,
        "finished_at": result.finished_at,
        "outcomes": [_unstructure_outcome(o) for o in result.outcomes],
    }


converter.register_unstructure_hook_func(lambda cls: cls is TurnResult, _unstructure_result)


def jsonable(value: object) -> object:
    """``value`` in JSON form: attrs classes and the like unstructured, the rest left as is."""
    if value is None or isinstance(value, (str, int, float, bool, list, dict)):
        return value
    return converter.unstructure(value)


def _fallback(value: object) -> object:
    unstructured = converter.unstructure(value)
    if unstructured is value:
        # Not data the converter knows: show the model what it is rather than fail.
        return f"<{type(value).__name__}: {value!s}>"
    return unstructured


def dumps(value: object) -> str:
    """Standard, compact JSON for ``value``, whatever it is; never raises.

    What JSON cannot hold is shown as ``"<type: str>"``; ``NaN`` and the
    infinities as strings; non-string keys as their ``str``; a cycle as
    ``"<cycle>"``; nesting past ``MAX_DEPTH`` as ``"<nested too deep>"``.
    """
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_fallback, allow_nan=False)
    except (ValueError, TypeError, RecursionError):
        return json.dumps(_sanitize(value, 0, frozenset()), separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _sanitize(value: object, depth: int, seen: frozenset[int]) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if depth >= MAX_DEPTH:
        return "<nested too deep>"
    if id(value) in seen:
        return "<cycle>"
    inner = seen | {id(value)}
    if isinstance(value, Mapping):
        return {k if isinstance(k, str) else str(k): _sanitize(v, depth + 1, inner) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_sanitize(v, depth + 1, inner) for v in value]
    try:
        converted = _fallback(value)
    except Exception:  # the value's own unstructuring failed: say what it is instead
        return f"<{type(value).__name__}>"
    return converted if isinstance(converted, str) else _sanitize(converted, depth + 1, inner)
