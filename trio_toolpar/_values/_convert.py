"""The one cattrs converter for JSON in and out, and JSON for any value.

(`TurnResult` registers its own unstructuring in `_result`, which builds on this module.)

`dumps` is the rule for turning whatever a tool returned into JSON text:
it never raises, and its output is always standard JSON that UTF-8 can
carry (see `_render` for the same rule for plain text).
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping
from typing import Any

import attrs
import cattrs
from cattrs.gen import make_dict_unstructure_fn, override
from cattrs.preconf.json import make_converter

from ._jsonvalue import MAX_DEPTH
from ._outcome import Outcome, ToolCall
from ._render import clean_text, huge_int_text, safe_str, type_name, without_addresses

__all__ = ["converter", "dumps", "jsonable", "plain"]

converter = make_converter(forbid_extra_keys=True)


def _strict(kind: type) -> Any:
    # cattrs coerces by default ("false" -> True); JSON input must already be of the right kind.
    def structure(value: object, _: type) -> object:
        if type(value) is not kind and not (kind is float and type(value) is int):
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__} {safe_str(value)[:80]}")
        return value

    return structure


for _kind in (str, int, float, bool):
    converter.register_structure_hook(_kind, _strict(_kind))


_CALL_KEYS = frozenset(field.name for field in attrs.fields(ToolCall))


def _structure_call(data: object, _: type) -> ToolCall:
    if not isinstance(data, Mapping):
        raise TypeError(f"a tool call must be an object, got {type(data).__name__}")
    extra = set(data) - _CALL_KEYS
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
        race=None if data.get("race") is None else converter.structure(data["race"], str),
        after=tuple(converter.structure(entry, str) for entry in _entries(data.get("after", ()))),
    )


def _entries(after: object) -> list[object]:
    if not isinstance(after, (list, tuple)):
        raise TypeError(f"after must be a list of call ids, got {type(after).__name__}")
    return list(after)


converter.register_structure_hook(ToolCall, _structure_call)
# A pydantic model (told by its method, so that pydantic is never imported) is shown in its own JSON form.
converter.register_unstructure_hook_func(
    lambda cls: callable(getattr(cls, "model_dump", None)) and isinstance(cls, type),
    lambda value: value.model_dump(mode="json"),
)


def _bytes(value: bytes | bytearray | memoryview) -> str:
    raw = bytes(value)
    try:
        return clean_text(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return f"<{len(raw)} bytes, base64: {base64.b64encode(raw).decode('ascii')}>"


def jsonable(value: object) -> object:
    """``value`` in JSON form: attrs classes and the like unstructured, the rest left as is.

    May raise what the value's own code raises; `plain` never does.
    """
    if value is None or isinstance(value, (str, int, float, bool, list, dict)):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _bytes(value)
    if isinstance(value, (set, frozenset)):
        return _in_order(list(value))
    return converter.unstructure(value)


def _in_order(members: list[Any]) -> list[Any]:
    """A set's members in one order for every run (a set of strings iterates by hash, which is salted per process)."""
    return sorted(members, key=dumps)


def plain(value: object) -> Any:
    """``value`` as plain JSON data (dicts, lists, str, finite numbers, bools, None); never raises.

    What JSON cannot hold is shown as a string: ``"<TypeName: str>"`` for an
    unknown object, ``"NaN"``/``"inf"`` for non-finite floats, ``"<int of N
    bits>"`` for an int too large to print, ``"<cycle>"``, ``"<nested too
    deep>"`` past `MAX_DEPTH`; bytes become their UTF-8 text, or base64.
    Mapping keys become strings.
    """
    return _plain(value, 0, frozenset())


def _plain(value: object, depth: int, seen: frozenset[int]) -> Any:
    try:
        if value is None or isinstance(value, (str, bool)):
            return clean_text(value) if isinstance(value, str) else value
        if isinstance(value, int):
            return huge_int_text(value) or int(value)
        if isinstance(value, float):
            return float(value) if math.isfinite(value) else str(value)
        if depth >= MAX_DEPTH:
            return "<nested too deep>"
        if id(value) in seen:
            return "<cycle>"
        inner = seen | {id(value)}
        if isinstance(value, Mapping):
            return {
                clean_text(k) if isinstance(k, str) else safe_str(k): _plain(v, depth + 1, inner)
                for k, v in value.items()
            }
        if isinstance(value, (list, tuple)):
            return [_plain(v, depth + 1, inner) for v in value]
        if isinstance(value, (set, frozenset)):
            return _in_order([_plain(v, depth + 1, inner) for v in value])
        converted = jsonable(value)
    except Exception:  # the value's own code failed while we looked at it
        return f"<{type_name(value)}>"
    if converted is value:  # not data the converter knows: say what it is
        return f"<{type_name(value)}: {without_addresses(safe_str(value))}>"
    return _plain(converted, depth + 1, seen | {id(value)})


def dumps(value: object, *, sort_keys: bool = False, compact: bool = True) -> str:
    """Standard JSON for ``value`` (compact, or spaced for people), whatever it is; never raises (see `plain`)."""
    options: dict[str, Any] = {
        "separators": (",", ":") if compact else (", ", ": "),
        "ensure_ascii": False,
        "allow_nan": False,
        "sort_keys": sort_keys,
    }
    try:
        text = json.dumps(value, default=_default, **options)
    except Exception:  # huge ints, NaN, cycles, odd keys, or the value's own code: take the careful way
        text = json.dumps(plain(value), **options)
    return clean_text(text)


def _default(value: object) -> object:
    converted = jsonable(value)
    if converted is value:
        raise TypeError("not JSON data")  # handled by `plain`
    return converted


_outcome_fields = make_dict_unstructure_fn(
    Outcome, converter, exception=override(omit=True), traceback=override(omit=True), value=override(omit=True)
)


def _unstructure_outcome(outcome: Outcome) -> dict[str, Any]:
    data = _outcome_fields(outcome)
    data["ok"] = outcome.ok
    data["value"] = plain(outcome.value)
    for text in ("call_id", "tool", "error"):  # the model's text and the tool's, for UTF-8
        if data.get(text) is not None:
            data[text] = clean_text(data[text])
    return data


converter.register_unstructure_hook(Outcome, _unstructure_outcome)
