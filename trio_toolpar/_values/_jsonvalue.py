"""JSON values as JSON sees them: kinds, equality, exact numbers, and short text.

Python's data model differs from JSON's in ways that matter to a validator:
``True == 1`` and ``hash(True) == hash(1)`` (JSON booleans are not numbers),
floats can be NaN or infinite (not JSON numbers), integers can have thousands
of digits (``float()`` and ``str()`` refuse them), and ``0.1`` is not the
decimal ``0.1``. The helpers here answer as JSON would and never raise for a
JSON-like value.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterator, Mapping
from fractions import Fraction
from typing import Any

__all__ = [
    "MAX_DEPTH",
    "NUMBER_KEYWORDS",
    "is_integral",
    "is_number",
    "json_equal",
    "json_key",
    "json_kind",
    "kind_matches",
    "number_problems",
    "short",
]

MAX_DEPTH = 100
"""How deeply arguments, and values passed by reference, may nest (JSON has no limit; Python's stack has)."""

_NULL_KEY = ("null",)


def is_number(value: object) -> bool:
    """Whether ``value`` is a JSON number: an int or a finite float, not a bool."""
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int) and not isinstance(value, bool)


def is_integral(value: object) -> bool:
    """Whether ``value`` is a JSON integer: an int that is not a bool, or a float with no fraction (``5.0``, ``1e308``).

    ``int(value)`` of such a float is exact, however large it is.
    """
    if isinstance(value, float):
        return value.is_integer()  # false for NaN and the infinities
    return isinstance(value, int) and not isinstance(value, bool)


def kind_matches(name: str, value: object) -> bool:
    """Whether ``value`` is of the JSON type ``name`` (``"integer"``, ``"object"``, ...).

    JSON types, not Python ones: a bool is not an integer, a number with no
    fraction is one (``5.0``, as JSON Schema and the models that send it
    count it; see `is_integral`), and NaN and the infinities are not numbers.
    """
    if name == "string":
        return isinstance(value, str)
    if name == "integer":
        return is_integral(value)
    if name == "number":
        return is_number(value)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if name == "object":
        return type(value) is dict or isinstance(value, Mapping)  # the abstract-class isinstance is slow
    return isinstance(value, (list, tuple))  # "array"


def json_kind(value: object) -> str:
    """The JSON type name of ``value`` (or its Python type name if it has none)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return type(value).__name__


def json_equal(a: object, b: object) -> bool:
    """JSON equality: ``true`` is not ``1``, ``1`` is ``1.0``, at any depth.

    It recurses only while both sides have the same shape, so its depth is
    that of the shallower side (a schema's ``enum`` or ``const``).
    """
    if type(a) is bool or type(b) is bool:
        return type(a) is type(b) and a is b
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b  # exact between int and float, whatever their size
    if a is None or b is None:
        return a is b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return len(a) == len(b) and all(k in b and json_equal(v, b[k]) for k, v in a.items())
    return a is b


def json_key(value: object, depth: int) -> Hashable | None:
    """A hashable stand-in for ``value``, equal for JSON-equal values.

    Returns ``None`` when ``value`` nests deeper than ``depth``.
    """
    if value is None:
        return _NULL_KEY
    kind = type(value)
    if kind is bool:
        return (bool, value)
    if isinstance(value, str):
        return (str, value)
    if isinstance(value, (int, float)):
        return (float, value)  # 1 and 1.0 share a hash and compare equal, as JSON numbers do
    if depth <= 0:
        return None
    if isinstance(value, (list, tuple)):
        items = [json_key(item, depth - 1) for item in value]
        return None if None in items else (list, tuple(items))
    if isinstance(value, Mapping):
        pairs = [(key, json_key(item, depth - 1)) for key, item in value.items()]
        return None if any(p[1] is None for p in pairs) else (dict, frozenset(pairs))
    return (object, id(value))


def _exact(number: int | float) -> Fraction:
    # A float stands for the shortest decimal that reads back as it, which is what the JSON text said:
    # 0.1 is one tenth here, not the binary fraction nearest to it.
    return Fraction(number) if isinstance(number, int) else Fraction(repr(number))


def _is_multiple(value: int | float, factor: int | float) -> bool:
    if type(value) is int and type(factor) is int:
        return value % factor == 0
    return _exact(value) % _exact(factor) == 0


NUMBER_KEYWORDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")


def number_problems(schema: Mapping[str, Any], value: int | float) -> Iterator[str]:
    """What is wrong with the number ``value`` for the numeric keywords of ``schema``.

    Comparisons are exact, for integers of any size too; ``multipleOf`` is
    decimal arithmetic (``0.3`` is a multiple of ``0.1``). NaN and the
    infinities are not JSON numbers and fail every numeric keyword.
    """
    if not is_number(value):
        if any(key in schema for key in NUMBER_KEYWORDS):
            yield f"{short(value)} is not a finite number"
        return
    if "minimum" in schema and value < schema["minimum"]:
        yield f"{short(value)} is less than the minimum {short(schema['minimum'])}"
    if "maximum" in schema and value > schema["maximum"]:
        yield f"{short(value)} is more than the maximum {short(schema['maximum'])}"
    if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
        yield f"{short(value)} must be more than {short(schema['exclusiveMinimum'])}"
    if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
        yield f"{short(value)} must be less than {short(schema['exclusiveMaximum'])}"
    if "multipleOf" in schema and not _is_multiple(value, schema["multipleOf"]):
        yield f"{short(value)} is not a multiple of {short(schema['multipleOf'])}"


_LONG_INT_BITS = 200
"""Integers longer than this (about 60 digits) are shown by their size: ``str()`` refuses the longest."""


def short(value: object, limit: int = 60) -> str:
    """A one-line ``repr``-like text of ``value``, at most ``limit`` characters; never raises."""
    parts: list[str] = []
    _render(value, parts, limit + 1)
    text = "".join(parts)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _render(value: object, parts: list[str], budget: int) -> int:
    """Append text for ``value`` to ``parts``, stopping once ``budget`` characters are spent; return what is left."""
    if budget <= 0:
        return 0
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > _LONG_INT_BITS:
        digits = int(value.bit_length() * math.log10(2)) + 1
        text = f"<{'-' if value < 0 else ''}integer of about {digits} digits>"
    elif isinstance(value, str):
        text = repr(value[:budget])  # a long string is cut anyway: do not copy all of it first
    elif value is None or type(value) in (int, float, bool):  # a subclass's own __repr__ may raise: see below
        text = repr(value)
    elif isinstance(value, (list, tuple, Mapping)):
        return _render_container(value, parts, budget)
    else:
        try:
            text = repr(value)
        except Exception:  # a hostile __repr__ must not turn a validation message into a crash
            text = f"<{type(value).__name__}>"
    parts.append(text[:budget])
    return budget - len(text)


def _render_container(value: list[Any] | tuple[Any, ...] | Mapping[Any, Any], parts: list[str], budget: int) -> int:
    is_map = isinstance(value, Mapping)
    opening, closing = ("{", "}") if is_map else ("[", "]") if isinstance(value, list) else ("(", ")")
    parts.append(opening)
    budget -= 1
    items = value.items() if isinstance(value, Mapping) else value
    for i, item in enumerate(items):
        if budget <= 0:
            return 0
        if i:
            parts.append(", ")
            budget -= 2
        if is_map:
            key, item = item
            budget = _render(key, parts, budget)
            parts.append(": ")
            budget -= 2
        budget = _render(item, parts, budget)
    parts.append(closing)
    return budget - 1
