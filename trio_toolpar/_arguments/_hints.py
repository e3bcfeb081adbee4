"""JSON schemas derived from Python type hints.

One walk over a hint gives its schema and whether it is *plain*: whether a
value that fits the schema already is a value of the hint, so that it needs
no structuring (``str``, ``float``, ``list[str]``, ``dict[str, bool] | None``,
a `TypedDict` of those, ...). Everything else (ints, since ``5.0`` fits
``integer``; enums, tuples, sets, dates, UUIDs, decimals, attrs classes,
dataclasses, pydantic models) is structured by
`trio_toolpar._arguments._structure` before the tool is called.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import functools
import inspect
import math
import operator
import types
import typing
import uuid
from collections.abc import Mapping, MutableMapping, MutableSequence, MutableSet, Sequence, Set
from typing import Any, Literal, Union, final, get_args, get_origin

import attrs

from .._values._exceptions import RegistrationError

__all__ = [
    "DECIMAL_PATTERN",
    "MAPPING_TYPES",
    "SEQUENCE_TYPES",
    "SET_TYPES",
    "HintSchemas",
    "bare",
    "class_fields",
    "is_class",
    "is_model",
]

DECIMAL_PATTERN = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$"
"""A decimal number written as a JSON string (no NaN, no infinities)."""

SEQUENCE_TYPES = (list, Sequence, MutableSequence)
SET_TYPES = (set, frozenset, Set, MutableSet)
MAPPING_TYPES = (dict, Mapping, MutableMapping)
"""The generic types read from JSON arrays and objects (and what a bare ``list`` or ``dict`` hint means)."""
_SCALARS: dict[Any, dict[str, Any]] = {
    bool: {"type": "boolean"},
    int: {"type": "integer"},
    float: {"type": "number"},
    str: {"type": "string"},
    None: {"type": "null"},
    type(None): {"type": "null"},
}
_FORMATS: dict[type, str] = {
    datetime.datetime: "date-time",
    datetime.date: "date",
    datetime.time: "time",
    uuid.UUID: "uuid",
}
_JSON_SCALARS = (str, int, float, bool, type(None))

Described = tuple[dict[str, Any], bool]
"""A hint's schema, and whether it is plain (needs no structuring)."""


def class_fields(cls: type, where: str) -> list[tuple[str, Any, bool]]:
    """The ``(key, hint, required)`` of the JSON object an attrs class, dataclass or `TypedDict` is read from."""
    try:
        hints = typing.get_type_hints(cls, include_extras=True)
    except (NameError, TypeError) as exc:
        raise RegistrationError(
            f"{where}: cannot resolve the type hints of {cls.__qualname__}: {exc}; define the types at module level"
        ) from None
    if typing.is_typeddict(cls):
        required: frozenset[str] = cls.__required_keys__  # type: ignore[attr-defined]
        return [(name, _strip_required(hint), _is_required(hint, name in required)) for name, hint in hints.items()]
    if attrs.has(cls):
        return [(a.name, hints.get(a.name, a.type), a.default is attrs.NOTHING) for a in attrs.fields(cls) if a.init]
    return [
        (
            f.name,
            hints.get(f.name, f.type),
            f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
        )
        for f in dataclasses.fields(cls)
        if f.init
    ]


def _is_required(hint: Any, default: bool) -> bool:
    # With string annotations (PEP 563) the class cannot see Required/NotRequired itself; the resolved hint can.
    origin = get_origin(hint)
    return True if origin is typing.Required else False if origin is typing.NotRequired else default


def _strip_required(hint: Any) -> Any:
    while get_origin(hint) in (typing.Required, typing.NotRequired):
        hint = get_args(hint)[0]
    return hint


def bare(hint: Any) -> Any:
    """``hint`` without its ``Annotated`` metadata, at any depth.

    The metadata (a description, schema keywords) is for the schema only, and
    cattrs cannot look up a hint that holds an unhashable one (a dict).
    """
    origin, args = get_origin(hint), get_args(hint)
    if origin is typing.Annotated:
        return bare(args[0])
    if not args or origin is Literal:
        return hint
    stripped = tuple(bare(arg) for arg in args)
    if stripped == args:
        return hint
    if origin in (Union, types.UnionType):
        return functools.reduce(operator.or_, stripped)
    copy_with = getattr(hint, "copy_with", None)  # typing's own aliases (typing.Sequence[...])
    return copy_with(stripped) if callable(copy_with) else types.GenericAlias(origin, stripped)


def is_model(hint: object) -> bool:
    """Whether ``hint`` is a pydantic (v2) model, which describes and validates itself.

    Told by its methods, so that pydantic is never imported.
    """
    return (
        isinstance(hint, type)
        and callable(getattr(hint, "model_json_schema", None))
        and callable(getattr(hint, "model_validate", None))
    )


def is_class(hint: object) -> bool:
    """Whether ``hint`` is read from a JSON object field by field: an attrs class, a dataclass or a `TypedDict`."""
    return isinstance(hint, type) and (attrs.has(hint) or dataclasses.is_dataclass(hint) or typing.is_typeddict(hint))


@final
class HintSchemas:
    """Derives schemas from hints; classes that contain themselves go to `definitions`, referenced by ``$ref``."""

    def __init__(self) -> None:
        self.definitions: dict[str, dict[str, Any]] = {}
        self._names: dict[type, str] = {}
        self._open: list[type] = []
        self._models: dict[type, dict[str, Any]] = {}

    def describe(self, hint: Any, where: str) -> Described:
        """The schema of ``hint`` and whether it is plain; ``where`` names it in errors.

        Raises:
            RegistrationError: the hint has no JSON form.
        """
        if hint is Any or hint is inspect.Parameter.empty or hint is object:
            return {}, True
        if isinstance(hint, type) or hint is None:  # hints such as Annotated[...] may not be hashable
            if hint in _SCALARS:
                # Not int: 5.0 is an integer to JSON, and becomes the int 5 when structured.
                return dict(_SCALARS[hint]), hint is not int
            if hint in _FORMATS:
                return {"type": "string", "format": _FORMATS[hint]}, False
        origin = get_origin(hint)
        args = get_args(hint)
        if origin is typing.Annotated:
            return self._annotated(args, where)
        if origin is Union or origin is types.UnionType:
            described = [self.describe(a, where) for a in args]
            return {"anyOf": [s for s, _ in described]}, all(p for _, p in described)
        if origin is Literal:
            return _literal(args, where)
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            return _enum(hint, where), False
        if hint is decimal.Decimal:
            return {"anyOf": [{"type": "number"}, {"type": "string", "pattern": DECIMAL_PATTERN}]}, False
        if hint in SEQUENCE_TYPES or hint is tuple or origin in SEQUENCE_TYPES or origin is tuple:
            return self._array(hint, origin, args, where)
        if hint in SET_TYPES or origin in SET_TYPES:
            items = self.describe(args[0], where)[0] if args else {}
            return {"type": "array", "items": items, "uniqueItems": True}, False
        if hint in MAPPING_TYPES or origin in MAPPING_TYPES:
            return self._mapping(hint, args, where)
        if is_model(hint):
            return self._model(hint, where), False
        if is_class(hint):
            return self._class(hint, where)
        supertype = getattr(hint, "__supertype__", None)
        if supertype is not None:  # a NewType
            return self.describe(supertype, where)
        raise RegistrationError(
            f"{where}: cannot derive a JSON schema from the type {hint!r}; use a JSON-like annotation "
            "(str, int, float, bool, None, lists, tuples, sets, dict[str, ...], Literal, an Enum, datetime, date, "
            "time, UUID, Decimal, an attrs class, a dataclass or a TypedDict) or pass parameters={...} "
            "to register the schema explicitly"
        )

    def _annotated(self, args: tuple[Any, ...], where: str) -> Described:
        schema, plain = self.describe(args[0], where)
        for extra in args[1:]:
            if isinstance(extra, str):
                schema["description"] = extra
            elif isinstance(extra, Mapping):
                schema.update(extra)
        return schema, plain

    def _array(self, hint: Any, origin: Any, args: tuple[Any, ...], where: str) -> Described:
        if origin is tuple and (not args or args[-1] is not Ellipsis):
            if not args:  # tuple[]
                return {"type": "array", "maxItems": 0}, False
            prefix = [self.describe(a, where)[0] for a in args]
            return {"type": "array", "prefixItems": prefix, "minItems": len(args), "maxItems": len(args)}, False
        is_tuple = hint is tuple or origin is tuple
        if not args:
            return {"type": "array"}, not is_tuple
        items, plain = self.describe(args[0], where)
        return {"type": "array", "items": items}, plain and not is_tuple

    def _mapping(self, hint: Any, args: tuple[Any, ...], where: str) -> Described:
        if not args:
            return {"type": "object"}, True
        if args[0] is not str:
            raise RegistrationError(
                f"{where}: JSON object keys are strings; {hint!r} cannot be described: use dict[str, ...]"
            )
        values, plain = self.describe(args[1], where)
        return {"type": "object", "additionalProperties": values}, plain

    def _class(self, cls: type, where: str) -> Described:
        if cls in self._open or cls in self._names:
            return {"$ref": self._ref(cls)}, False
        self._open.append(cls)
        try:
            fields = class_fields(cls, where)
            described = {key: self.describe(hint, f"{where}, field {key!r}") for key, hint, _ in fields}
        finally:
            self._open.pop()
        schema: dict[str, Any] = {"type": "object", "properties": {k: s for k, (s, _) in described.items()}}
        required = [key for key, _, needed in fields if needed]
        if required:
            schema["required"] = required
        schema["additionalProperties"] = False
        # A TypedDict is a dict at run time: one of plain values needs nothing done to it.
        plain = typing.is_typeddict(cls) and all(p for _, p in described.values())
        if cls in self._names:  # it contained itself: describe it once, by reference
            self.definitions[self._names[cls]] = schema
            return {"$ref": self._ref(cls)}, False
        return schema, plain

    def _model(self, cls: type, where: str) -> dict[str, Any]:
        """A pydantic model's own schema, its ``$defs`` moved to the tool's (renamed where names collide)."""
        if cls not in self._models:
            try:
                schema = dict(cls.model_json_schema())  # type: ignore[attr-defined]
            except (RuntimeError, TypeError, ValueError) as exc:  # pydantic's refusal: a PydanticUserError
                raise RegistrationError(
                    f"{where}: {cls.__qualname__}.model_json_schema() failed: {exc}; use a model pydantic can "
                    "describe in JSON, or pass parameters={...}"
                ) from None
            defs: Mapping[str, Any] = schema.pop("$defs", {})
            names = {name: self._free_name(name) for name in defs}
            renamed = {f"#/$defs/{name}": f"#/$defs/{new}" for name, new in names.items()}
            for name, definition in defs.items():
                self.definitions[names[name]] = _refs_renamed(definition, renamed)
            self._models[cls] = _refs_renamed(schema, renamed)
        return dict(self._models[cls])

    def _free_name(self, name: str) -> str:
        """``name``, or ``name2``, ``name3`` ...: the first that no definition holds or will hold."""
        taken = {*self._names.values(), *self.definitions}
        free, n = name, 2
        while free in taken:
            free, n = f"{name}{n}", n + 1
        return free

    def _ref(self, cls: type) -> str:
        if cls not in self._names:
            self._names[cls] = self._free_name(cls.__name__)
        return f"#/$defs/{self._names[cls]}"


def _renamed_ref(key: str, value: Any, renamed: Mapping[str, str]) -> Any:
    if key == "$ref" and isinstance(value, str):
        return renamed.get(value, value)
    return _refs_renamed(value, renamed)


def _refs_renamed(schema: Any, renamed: Mapping[str, str]) -> Any:
    """``schema`` with each ``$ref`` in ``renamed`` replaced by its new name."""
    if isinstance(schema, Mapping):
        return {key: _renamed_ref(key, value, renamed) for key, value in schema.items()}
    if isinstance(schema, list):
        return [_refs_renamed(item, renamed) for item in schema]
    return schema


def _literal(args: tuple[Any, ...], where: str) -> Described:
    values = []
    for arg in args:
        value = arg.value if isinstance(arg, enum.Enum) else arg
        if not isinstance(value, (str, int, bool, type(None))):
            raise RegistrationError(f"{where}: Literal value {arg!r} has no JSON form; use str, int, bool or None")
        values.append(value)
    # An int literal is structured too: a model's 1.0 equals 1 as JSON but should reach the tool as 1.
    plain = all(type(a) in (str, bool, type(None)) for a in args)
    return {"enum": values}, plain


def _enum(cls: type[enum.Enum], where: str) -> dict[str, Any]:
    values = [member.value for member in cls]
    for value in values:
        if not isinstance(value, _JSON_SCALARS) or (isinstance(value, float) and not math.isfinite(value)):
            raise RegistrationError(
                f"{where}: the values of {cls.__qualname__} must be JSON scalars (str, int, float, bool or None) "
                f"to be sent by a model, got {value!r}"
            )
    return {"enum": values}
