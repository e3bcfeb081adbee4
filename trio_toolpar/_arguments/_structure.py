"""The converter that turns validated JSON into the Python types a tool declares.

One cattrs converter, strict: JSON input must already be of the declared
kind (``"false"`` never becomes ``True``, ``"3"`` never ``3``, ``1`` never
``True``; ``5.0``, an integer to JSON, becomes the ``int`` 5), arrays must be
arrays and objects objects, and classes refuse unknown keys. A pydantic
model validates itself (``model_validate``). Failures are `Mismatch` (a value of the wrong kind) or
`Nested` (the failures inside an array or object, by path); cattrs' own
exception groups report classes. `trio_toolpar._arguments` reads them all
into JSON paths.
"""

from __future__ import annotations

import collections.abc
import datetime
import decimal
import enum
import functools
import itertools
import re
import types
import typing
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Literal, Union, final, get_args, get_origin

import cattrs
from cattrs.gen import make_dict_structure_fn

from .._values._jsonvalue import is_integral, json_key, json_kind, short
from ._hints import (
    DECIMAL_PATTERN,
    MAPPING_TYPES,
    SEQUENCE_TYPES,
    SET_TYPES,
    bare,
    class_fields,
    is_class,
    is_model,
)

__all__ = ["Mismatch", "Nested", "converter", "key_path", "unstructure"]

converter = cattrs.Converter(
    forbid_extra_keys=True,
    detailed_validation=True,
    unstruct_collection_overrides={collections.abc.Set: list, tuple: list},
)

_NONE = type(None)
_EXPECTED = {str: "a string", int: "an integer", float: "a number", bool: "a boolean", _NONE: "null"}


@final
class Mismatch(ValueError):
    """A value is not of the expected kind; the message has no path (the reader of the failure adds it)."""


@final
class Nested(Exception):
    """The failures inside one array or object, each with the path below it (``[2]``, ``.sku``)."""

    def __init__(self, problems: list[tuple[str, Exception]]) -> None:
        super().__init__(f"{len(problems)} problems")
        self.problems = problems


def _got(value: object) -> str:
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        return f"got {short(value)}"
    return f"got {json_kind(value)} {short(value)}"


# --- scalars ----------------------------------------------------------------------


def _strict(kind: type) -> Callable[[object, Any], object]:
    def accepts(value: object) -> bool:
        if kind is float:
            return isinstance(value, (int, float)) and not isinstance(value, bool)  # an int is a float (PEP 484)
        if kind is int:
            return is_integral(value)
        return value is None if kind is _NONE else isinstance(value, kind)

    def structure(value: object, cl: Any) -> object:
        if cl is not kind:
            # cattrs dispatches on the MRO first, so an enum that mixes in str or int arrives here.
            return _structure_enum(value, cl)
        if type(value) is kind:
            return value  # as JSON gives it (the usual case)
        if not accepts(value):
            raise Mismatch(f"expected {_EXPECTED[kind]}, {_got(value)}")
        if kind is int and type(value) is float:
            return int(value)  # 5.0 is the integer 5 to JSON; int() of a float with no fraction is exact
        return value

    return structure


for _kind in _EXPECTED:
    converter.register_structure_hook(_kind, _strict(_kind))


def _iso(kind: type[datetime.date] | type[datetime.time], name: str) -> Callable[[object, Any], object]:
    def structure(value: object, _: object) -> object:
        if isinstance(value, str):
            try:
                return kind.fromisoformat(value)
            except (ValueError, OverflowError):
                pass
        raise Mismatch(f"expected an ISO 8601 {name} string, {_got(value)}")

    return structure


for _time_kind, _name in ((datetime.datetime, "date-time"), (datetime.date, "date"), (datetime.time, "time")):
    converter.register_structure_hook(_time_kind, _iso(_time_kind, _name))
    converter.register_unstructure_hook(_time_kind, lambda value: value.isoformat())


def _structure_uuid(value: object, _: object) -> uuid.UUID:
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise Mismatch(f"expected a UUID string, {_got(value)}")


converter.register_structure_hook(uuid.UUID, _structure_uuid)
converter.register_unstructure_hook(uuid.UUID, str)

_DECIMAL = re.compile(DECIMAL_PATTERN)


def _structure_decimal(value: object, _: object) -> decimal.Decimal:
    # A float is read as the decimal it was written as (0.1 is one tenth), like the schema's multipleOf.
    if isinstance(value, int) and not isinstance(value, bool):
        return decimal.Decimal(value)
    if isinstance(value, float) and value - value == 0:
        return decimal.Decimal(repr(value))
    if isinstance(value, str) and _DECIMAL.match(value):
        return decimal.Decimal(value)
    raise Mismatch(f"expected a decimal number (a number or a string such as '12.50'), {_got(value)}")


converter.register_structure_hook(decimal.Decimal, _structure_decimal)
converter.register_unstructure_hook(decimal.Decimal, str)


# --- choices: enums, literals, unions -------------------------------------------------


def _choice(options: Mapping[object, object], shown: list[object]) -> Callable[[object, Any], object]:
    def structure(value: object, _: object) -> object:
        found = options.get(json_key(value, 0), _MISSING)
        if found is _MISSING:
            raise Mismatch(f"expected one of {short(shown, 200)}, {_got(value)}")
        return found

    return structure


_MISSING = object()


@functools.cache
def _enum_hook(cls: type[enum.Enum]) -> Callable[[object, Any], object]:
    return _choice({json_key(m.value, 0): m for m in cls}, [m.value for m in cls])


def _structure_enum(value: object, cl: type[enum.Enum]) -> object:
    return _enum_hook(cl)(value, cl)


converter.register_structure_hook(enum.Enum, _structure_enum)


def _literal_hook(hint: Any) -> Callable[[object, Any], object]:
    args = get_args(hint)
    values = [a.value if isinstance(a, enum.Enum) else a for a in args]
    return _choice({json_key(v, 0): a for v, a in zip(values, args, strict=True)}, values)


def _expected(hint: Any) -> str:
    origin = get_origin(hint) or hint
    if isinstance(hint, type) and hint in _EXPECTED:
        return _EXPECTED[hint]
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return f"one of {short([m.value for m in hint])}"
    if origin in SEQUENCE_TYPES or origin in SET_TYPES or origin is tuple:
        return "an array"
    if is_class(hint) or origin in MAPPING_TYPES:
        return "an object"
    return getattr(hint, "__name__", repr(hint))


def _is_union(hint: Any) -> bool:
    return get_origin(hint) in (Union, types.UnionType)


def _union_hook(hint: Any) -> Callable[[object, Any], object]:
    members = get_args(hint)
    hooks = [_Lazy(m) for m in members if m is not _NONE]
    takes_none = len(hooks) < len(members)

    def structure(value: object, _: object) -> object:
        if value is None and takes_none:
            return None
        failures: list[Exception] = []
        for hook in hooks:  # the first member that takes the value wins
            try:
                return hook(value)
            except Exception as exc:  # this member does not take it; the next may
                failures.append(exc)
        if len(hooks) == 1:
            raise failures[0]  # Optional[X]: what is wrong for X is the useful message
        raise Mismatch(f"expected {' or '.join(_expected(m) for m in members)}, {_got(value)}")

    return structure


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def key_path(key: object) -> str:
    """The JSON-path step to property ``key``: ``.sku``, or ``["odd key"]``."""
    text = key if isinstance(key, str) else str(key)
    if _IDENTIFIER.match(text):
        return f".{text}"
    return "[" + short(text, 200).replace("\\'", "'") + "]"


# --- containers ---------------------------------------------------------------------


@final
class _Lazy:
    """The hook for ``hint``, looked up at first use (a class may contain itself)."""

    __slots__ = ("hint", "hook")

    def __init__(self, hint: Any) -> None:
        self.hint = bare(hint)
        self.hook: Callable[[Any, Any], Any] | None = None

    def __call__(self, value: object) -> Any:
        if self.hook is None:
            self.hook = converter.get_structure_hook(self.hint)
        return self.hook(value, self.hint)


def _each(items: typing.Iterable[tuple[Any, _Lazy, object]], where: Callable[[Any], str]) -> list[Any]:
    """Each ``(key, hook, value)``'s value through its hook; a failure's path is ``where(key)`` (built only then)."""
    done: list[Any] = []
    problems: list[tuple[str, Exception]] = []
    for key, hook, value in items:
        try:
            done.append(hook(value))
        except Exception as exc:  # collected, so that every problem is reported at once
            problems.append((where(key), exc))
    if problems:
        raise Nested(problems)
    return done


def _is_array(hint: Any) -> bool:
    origin = get_origin(hint) or hint
    return origin in SEQUENCE_TYPES or origin in SET_TYPES or origin is tuple


def _array_hook(hint: Any) -> Callable[[object, Any], object]:
    origin = get_origin(hint) or hint
    args = get_args(hint)
    build: Callable[[list[Any]], Any] = (
        tuple if origin is tuple else frozenset if origin is frozenset else set if origin in SET_TYPES else list
    )
    fixed = hint is not tuple and origin is tuple and (not args or args[-1] is not Ellipsis)
    hooks = [_Lazy(a) for a in args] if fixed else [_Lazy(args[0] if args else Any)]

    def structure(value: object, _: object) -> object:
        if not isinstance(value, (list, tuple)):
            raise Mismatch(f"expected an array, {_got(value)}")
        if fixed:
            if len(value) != len(hooks):
                raise Mismatch(f"expected an array of {len(hooks)} items, got {len(value)}")
            return build(_each(zip(itertools.count(), hooks, value), "[{}]".format))
        return build(_each(zip(itertools.count(), itertools.repeat(hooks[0]), value), "[{}]".format))

    return structure


def _is_mapping(hint: Any) -> bool:
    return (get_origin(hint) or hint) in MAPPING_TYPES


def _mapping_hook(hint: Any) -> Callable[[object, Any], object]:
    args = get_args(hint)
    values = _Lazy(args[1] if args else Any)

    def structure(value: object, _: object) -> object:
        if not isinstance(value, Mapping):
            raise Mismatch(f"expected an object, {_got(value)}")
        bad = [k for k in value if not isinstance(k, str)]
        if bad:
            raise Mismatch(f"property names must be strings, got {short(bad[0])}")
        return dict(zip(value, _each(((k, values, v) for k, v in value.items()), key_path), strict=True))

    return structure


def _is_anything(hint: object) -> bool:
    return hint is object or hint is Any


def _is_literal(hint: object) -> bool:
    return get_origin(hint) is Literal


def _class_hook(cls: type) -> Callable[[object, Any], object]:
    if typing.is_typeddict(cls):
        return _typeddict_hook(cls)
    inner: Callable[[Any, Any], object] = make_dict_structure_fn(cls, converter, _cattrs_forbid_extra_keys=True)

    def structure(value: object, _: object) -> object:
        if not isinstance(value, Mapping):
            raise Mismatch(f"expected an object, {_got(value)}")
        return inner(typing.cast(Any, value), cls)

    return structure


def _typeddict_hook(cls: type) -> Callable[[object, Any], object]:
    # Not cattrs' own: under PEP 563 string annotations Python gets __required_keys__ wrong for
    # NotRequired, and the schema's reading of the class (class_fields) is the one to agree with.
    fields = class_fields(cls, f"TypedDict {cls.__qualname__}")
    hooks = {key: _Lazy(hint) for key, hint, _ in fields}
    required = [key for key, _, needed in fields if needed]

    def structure(value: object, _: object) -> object:
        if not isinstance(value, Mapping):
            raise Mismatch(f"expected an object, {_got(value)}")
        problems: list[tuple[str, Exception]] = [
            ("", Mismatch(f"missing required property {key!r}")) for key in required if key not in value
        ]
        problems += [("", Mismatch(f"unexpected property {short(key)}")) for key in value if key not in hooks]
        result: dict[str, Any] = {}
        for key, item in value.items():
            if key in hooks:
                try:
                    result[key] = hooks[key](item)
                except Exception as exc:  # collected, so that every problem is reported at once
                    problems.append((key_path(key), exc))
        if problems:
            raise Nested(problems)
        return result

    return structure


def _model_hook(cls: Any) -> Callable[[object, Any], object]:
    def structure(value: object, _: object) -> object:
        if not isinstance(value, Mapping):
            raise Mismatch(f"expected an object, {_got(value)}")
        try:
            return cls.model_validate(value)
        except ValueError as exc:  # pydantic's ValidationError: one problem per location
            raise _model_problems(exc) from None

    return structure


def _model_problems(exc: ValueError) -> Exception:
    errors = getattr(exc, "errors", None)
    found = errors() if callable(errors) else []
    problems: list[tuple[str, Exception]] = [
        (
            "".join(f"[{step}]" if isinstance(step, int) else key_path(step) for step in error.get("loc", ())),
            Mismatch(str(error.get("msg"))),
        )
        for error in found
        if isinstance(error, dict)
    ]
    return Nested(problems) if problems else Mismatch(str(exc))


converter.register_structure_hook_func(_is_anything, lambda value, _: value)
converter.register_structure_hook_factory(is_model, _model_hook)
converter.register_unstructure_hook_func(is_model, lambda value: value.model_dump(mode="json"))
converter.register_structure_hook_factory(_is_literal, _literal_hook)
converter.register_structure_hook_factory(_is_union, _union_hook)
converter.register_structure_hook_factory(_is_array, _array_hook)
converter.register_structure_hook_factory(_is_mapping, _mapping_hook)
converter.register_structure_hook_factory(is_class, _class_hook)


def unstructure(value: object, hint: Any) -> object:
    """``value``, of type ``hint``, in the JSON form a model would send for it."""
    return converter.unstructure(value, hint)
