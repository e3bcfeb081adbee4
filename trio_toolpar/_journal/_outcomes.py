"""Outcomes as JSON text, for a journal's `Finished` records, with values that come back as they went in.

A value round-trips (``decode(encode(v)) == v``, of the same types) when it
is built of ``None``, ``bool``, ``int`` (of any size), ``float`` (NaN and the
infinities included), ``str``, ``bytes``, ``list``, ``tuple`` and ``dict``
(with keys of these kinds). Plain JSON data is stored as itself; the rest is
tagged with a one-key object (``{"$bytes": "<base64>"}``), and a dict that
could be read as a tag is stored as its items. Anything else (a dataclass, a
set, a pydantic model) is stored in its JSON observation form, the form the
model reads (`plain`), and comes back in that form; so is a cycle, and
nesting past `MAX_DEPTH` (``"<cycle>"``, ``"<nested too deep>"``). An exception is
never stored: only the outcome's fields and its traceback's text.

An outcome is one JSON array of its fields in `_OUTCOME_FIELDS` order, so
that a turn's outcomes cost one small encoding each, without their names.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping
from operator import attrgetter
from typing import Any

from .._values._convert import plain
from .._values._jsonvalue import MAX_DEPTH
from .._values._outcome import ErrorCode, Outcome, Status

__all__ = ["arguments_text", "decode_outcome", "decode_value", "encode_outcome", "encode_value", "tagged_value"]

_SAFE_INT = 10**300
"""Ints this large are stored as hex text: Python refuses to print ints past 4,300 digits as decimals."""
_TAGS = frozenset({"$bytes", "$tuple", "$int", "$float", "$dict"})
_OUTCOME_FIELDS = (
    "call_id",
    "tool",
    "status",
    "value",
    "error_code",
    "error",
    "latency_ms",
    "attempts",
    "queued_at",
    "started_at",
    "finished_at",
    "wave",
    "idempotency_key",
    "traceback",
)
"""The fields a recorded outcome keeps, in the order of its JSON array (all but the exception)."""
_fields = attrgetter(*_OUTCOME_FIELDS)
_VALUE = _OUTCOME_FIELDS.index("value")


def encode_value(value: object) -> Any:
    """``value`` as JSON data that `decode_value` turns back into it (see the module's docstring).

    Plain JSON data is its own encoding: it is returned as it is, once checked,
    instead of copied by `tagged_value`, which gives equal data for it.
    """
    return value if _is_plain(value, 0) else _encode(value, 0, frozenset())


def tagged_value(value: object) -> Any:
    """`encode_value` by the general walk alone: every container copied, what is not plain JSON tagged."""
    return _encode(value, 0, frozenset())


def _is_plain(value: object, depth: int) -> bool:
    """Whether `_encode` would give ``value`` back unchanged: JSON data of exactly JSON's types (no tuple, no
    subclass), finite floats, ints a decimal can hold, string keys no tag could be read in, within `MAX_DEPTH`.

    Runs no code of the value's own (exact types only): a cycle is nesting past `MAX_DEPTH`, for the walk.
    """
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return True
    if kind is int:
        return -_SAFE_INT < value < _SAFE_INT  # type: ignore[operator]
    if kind is float:
        return math.isfinite(value)  # type: ignore[arg-type]
    if depth >= MAX_DEPTH:
        return False
    if kind is list:
        return all(_is_plain(v, depth + 1) for v in value)  # type: ignore[attr-defined]
    if kind is not dict:
        return False
    items: dict[Any, Any] = value  # type: ignore[assignment]
    if len(items) == 1 and next(iter(items)) in _TAGS:
        return False
    return all(type(k) is str and _is_plain(v, depth + 1) for k, v in items.items())


def _encode(value: object, depth: int, seen: frozenset[int]) -> Any:
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return value
    if kind is int:
        number: int = value  # type: ignore[assignment]
        return number if -_SAFE_INT < number < _SAFE_INT else {"$int": hex(number)}
    if kind is float:
        return value if math.isfinite(value) else {"$float": repr(value)}  # type: ignore[arg-type]
    if kind is bytes:
        return {"$bytes": base64.b64encode(value).decode("ascii")}  # type: ignore[arg-type]
    if kind not in (list, tuple, dict):
        return _encode(plain(value), depth, seen)  # not data this codec keeps: its observation form
    if depth >= MAX_DEPTH:
        return "<nested too deep>"
    if id(value) in seen:
        return "<cycle>"
    inner = seen | {id(value)}
    if kind is list:
        return [_encode(v, depth + 1, inner) for v in value]  # type: ignore[attr-defined]
    if kind is tuple:
        return {"$tuple": [_encode(v, depth + 1, inner) for v in value]}  # type: ignore[attr-defined]
    items: Mapping[Any, Any] = value  # type: ignore[assignment]
    if all(type(k) is str for k in items) and not (len(items) == 1 and next(iter(items)) in _TAGS):
        return {k: _encode(v, depth + 1, inner) for k, v in items.items()}
    return {"$dict": [[_encode(k, depth + 1, inner), _encode(v, depth + 1, inner)] for k, v in items.items()]}


def decode_value(data: Any) -> Any:
    """The value `encode_value` stored as ``data``."""
    if isinstance(data, list):
        return [decode_value(v) for v in data]
    if not isinstance(data, dict):
        return data
    if len(data) == 1:
        ((tag, inner),) = data.items()
        if tag == "$bytes":
            return base64.b64decode(inner)
        if tag == "$tuple":
            return tuple(decode_value(v) for v in inner)
        if tag == "$int":
            return int(inner, 16)
        if tag == "$float":
            return float(inner)
        if tag == "$dict":
            return {_hashable(decode_value(k)): decode_value(v) for k, v in inner}
    return {k: decode_value(v) for k, v in data.items()}


def _hashable(key: Any) -> Any:
    """A decoded dict key: a list (the observation form of an odd key) becomes its text."""
    return key if not isinstance(key, (list, dict)) else json.dumps(key, sort_keys=True)


_text = json.JSONEncoder(ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode
"""JSON data as ASCII text (one encoder for every outcome: ``json.dumps`` with options builds one per call)."""
_canonical_text = json.JSONEncoder(ensure_ascii=True, allow_nan=False, separators=(",", ":"), sort_keys=True).encode
"""`_text` with sorted keys: the form a journal compares arguments in."""


def encode_outcome(outcome: Outcome) -> str:
    """``outcome`` as JSON text; `decode_outcome` gives back an equal `Outcome` (its exception excepted).

    Never raises: a value this codec cannot store, even in its observation
    form, is stored as that form's text.
    """
    data = list(_fields(outcome))  # `Status` and `ErrorCode` are `str`: JSON holds their values
    try:
        data[_VALUE] = encode_value(outcome.value)
        return _text(data)
    except Exception:  # the value's own code failed while it was read (a hostile __eq__, say)
        data[_VALUE] = plain(outcome.value)
        return _text(data)


def decode_outcome(text: str) -> Outcome:
    """The `Outcome` `encode_outcome` stored as ``text`` (without its exception: none is stored)."""
    data = dict(zip(_OUTCOME_FIELDS, json.loads(text), strict=True))
    code = data.pop("error_code")
    return Outcome(
        status=Status(data.pop("status")),
        error_code=ErrorCode(code) if code is not None else None,
        value=decode_value(data.pop("value")),
        **data,
    )


def arguments_text(arguments: Mapping[str, Any] | str) -> str:
    """A call's arguments as a journal compares them: canonical JSON text (sorted keys), or the raw text."""
    if isinstance(arguments, str):
        return arguments
    try:
        return _canonical_text(encode_value(dict(arguments)))
    except Exception:  # the arguments' own code failed while they were read: compare their observation form
        return _canonical_text(plain(arguments))
