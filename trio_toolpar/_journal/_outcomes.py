"""Outcomes and arguments as JSON data, for a journal's records, with values that come back as they went in.

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

The encoding is a copy: it shares no list or dict with the value, so what a
tool does to a value it returned, after returning it, never changes a record.
A store turns the data into text once, with the rest of its records
(`_codec`). An outcome is one JSON array of its fields in `_OUTCOME_FIELDS`
order, without their names.
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

__all__ = ["arguments_data", "arguments_text", "decode_outcome", "decode_value", "encode_outcome", "encode_value"]

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
    """``value`` as JSON data that `decode_value` turns back into it (see the module's docstring): a copy."""
    return _encode(value, 0, frozenset())


def _encode(value: Any, depth: int, seen: frozenset[int]) -> Any:
    """``value``'s encoding, chosen by its exact type (a subclass is not the data its base is: `plain` shows it)."""
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return value
    if kind is int:
        return value if -_SAFE_INT < value < _SAFE_INT else {"$int": hex(value)}
    if kind is float:
        return value if math.isfinite(value) else {"$float": repr(value)}
    if kind is bytes:
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    if kind not in (list, tuple, dict):
        return _encode(plain(value), depth, seen)  # not data this codec keeps: its observation form
    if depth >= MAX_DEPTH:
        return "<nested too deep>"
    if id(value) in seen:
        return "<cycle>"
    inner = seen | {id(value)}
    if kind is list:
        return [_encode(v, depth + 1, inner) for v in value]
    if kind is tuple:
        return {"$tuple": [_encode(v, depth + 1, inner) for v in value]}
    if all(type(k) is str for k in value) and not (len(value) == 1 and next(iter(value)) in _TAGS):
        return {k: _encode(v, depth + 1, inner) for k, v in value.items()}
    return {"$dict": [[_encode(k, depth + 1, inner), _encode(v, depth + 1, inner)] for k, v in value.items()]}


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


_canonical_text = json.JSONEncoder(ensure_ascii=True, allow_nan=False, separators=(",", ":"), sort_keys=True).encode
"""JSON data as ASCII text with sorted keys: the form a journal compares arguments in."""


def encode_outcome(outcome: Outcome) -> list[Any]:
    """``outcome`` as JSON data; `decode_outcome` gives back an equal `Outcome` (its exception excepted).

    Never raises: a value whose own code fails while it is read (a hostile
    ``__eq__``, say) is stored in its observation form.
    """
    data = list(_fields(outcome))  # `Status` and `ErrorCode` are `str`: JSON holds their values
    try:
        data[_VALUE] = encode_value(outcome.value)
    except Exception:  # the value's own code failed while it was read
        data[_VALUE] = plain(outcome.value)
    return data


def decode_outcome(data: Any) -> Outcome:
    """The `Outcome` `encode_outcome` stored as ``data`` (without its exception: none is stored)."""
    fields = dict(zip(_OUTCOME_FIELDS, data, strict=True))
    code = fields.pop("error_code")
    return Outcome(
        status=Status(fields.pop("status")),
        error_code=ErrorCode(code) if code is not None else None,
        value=decode_value(fields.pop("value")),
        **fields,
    )


def arguments_data(arguments: Mapping[str, Any] | str) -> Any:
    """A call's arguments as a journal keeps them: JSON data (`encode_value`'s), or the raw text."""
    if isinstance(arguments, str):
        return arguments
    try:
        return encode_value(dict(arguments))
    except Exception:  # the arguments' own code failed while they were read: keep their observation form
        return plain(arguments)


def arguments_text(data: Any) -> str:
    """Arguments a journal keeps (`arguments_data`), as the canonical text two runs of a turn are compared in.

    Sorted keys, and JSON's own types: ``1``, ``1.0`` and ``true`` differ, as they do in the text a model sends.
    """
    return _canonical_text(data)
