"""Validated JSON arguments turned into the Python types a tool declares.

One cattrs converter, strict: JSON input must already be of the declared
kind (``"false"`` never becomes ``True``, ``"3"`` never ``3``, ``1`` never
``True``), arrays must be arrays and objects objects, and classes refuse
unknown keys. Each failure is reported with the JSON path of the value at
fault (``$.items[2].sku: expected a string, got 5``), all together in one
`ArgumentsError`.
"""

from __future__ import annotations

import collections.abc
import datetime
import decimal
import enum
import functools
import re
import types
import typing
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Literal, Union, final, get_args, get_origin

import cattrs
from cattrs.gen import make_dict_structure_fn
from cattrs.gen.typeddicts import make_dict_structure_fn as make_typeddict_structure_fn

from ._exceptions import ArgumentsError, RegistrationError
from ._hints import DECIMAL_PATTERN, MAPPING_TYPES, SEQUENCE_TYPES, SET_TYPES, is_class
from ._jsonvalue import json_key, json_kind, short

__all__ = ["Structure", "converter", "identity", "make_structure", "unstructure"]

Structure = Callable[[Mapping[str, Any]], dict[str, Any]]
"""Turns a tool's validated JSON arguments into its keyword arguments; raises `ArgumentsError`."""

converter = cattrs.Converter(
    forbid_extra_keys=True,
    detailed_validation=True,
    unstruct_collection_overrides={collections.abc.Set: list, tuple: list},
)

_NONE = type(None)
_EXPECTED = {str: "a string", int: "an integer", float: "a number", bool: "a boolean", _NONE: "null"}


@final
class _Mismatch(ValueError):
    """A value is not of the expected kind; the message has no path (the walk adds it)."""


@final
class _Nested(Exception):
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
            return isinstance(value, int) and not isinstance(value, bool)
        return value is None if kind is _NONE else isinstance(value, kind)

    def structure(value: object, cl: Any) -> object:
        if cl is not kind:
            # cattrs dispatches on the MRO first, so an enum that mixes in str or int arrives here.
            return _structure_enum(value, cl)
        if not accepts(value):
            raise _Mismatch(f"expected {_EXPECTED[kind]}, {_got(value)}")
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
        raise _Mismatch(f"expected an ISO 8601 {name} string, {_got(value)}")

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
    raise _Mismatch(f"expected a UUID string, {_got(value)}")


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
    raise _Mismatch(f"expected a decimal number (a number or a string such as '12.50'), {_got(value)}")


converter.register_structure_hook(decimal.Decimal, _structure_decimal)
converter.register_unstructure_hook(decimal.Decimal, str)


# --- choices: enums, literals, unions -------------------------------------------------


def _choice(options: Mapping[object, object], shown: list[object]) -> Callable[[object, Any], object]:
    def structure(value: object, _: object) -> object:
        found = options.get(json_key(value, 0), _MISSING)
        if found is _MISSING:
            raise _Mismatch(f"expected one of {short(shown, 200)}, {_got(value)}")
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
        raise _Mismatch(f"expected {' or '.join(_expected(m) for m in members)}, {_got(value)}")

    return structure


# --- containers ---------------------------------------------------------------------


@final
class _Lazy:
    """The hook for ``hint``, looked up at first use (a class may contain itself)."""

    __slots__ = ("hint", "hook")

    def __init__(self, hint: Any) -> None:
        self.hint = hint
        self.hook: Callable[[Any, Any], Any] | None = None

    def __call__(self, value: object) -> Any:
        if self.hook is None:
            self.hook = converter.get_structure_hook(self.hint)
        return self.hook(value, self.hint)


def _each(pairs: typing.Iterable[tuple[str, _Lazy, object]]) -> list[Any]:
    done: list[Any] = []
    problems: list[tuple[str, Exception]] = []
    for where, hook, value in pairs:
        try:
            done.append(hook(value))
        except Exception as exc:  # collected, so that every problem is reported at once
            problems.append((where, exc))
    if problems:
        raise _Nested(problems)
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
            raise _Mismatch(f"expected an array, {_got(value)}")
        if fixed:
            if len(value) != len(hooks):
                raise _Mismatch(f"expected an array of {len(hooks)} items, got {len(value)}")
            return build(_each((f"[{i}]", hook, v) for i, (hook, v) in enumerate(zip(hooks, value, strict=True))))
        return build(_each((f"[{i}]", hooks[0], v) for i, v in enumerate(value)))

    return structure


def _is_mapping(hint: Any) -> bool:
    return (get_origin(hint) or hint) in MAPPING_TYPES


def _mapping_hook(hint: Any) -> Callable[[object, Any], object]:
    args = get_args(hint)
    values = _Lazy(args[1] if args else Any)

    def structure(value: object, _: object) -> object:
        if not isinstance(value, Mapping):
            raise _Mismatch(f"expected an object, {_got(value)}")
        bad = [k for k in value if not isinstance(k, str)]
        if bad:
            raise _Mismatch(f"property names must be strings, got {short(bad[0])}")
        return dict(zip(value, _each((key_path(k), values, v) for k, v in value.items()), strict=True))

    return structure


def _is_anything(hint: object) -> bool:
    return hint is object or hint is Any


def _is_literal(hint: object) -> bool:
    return get_origin(hint) is Literal


def _class_hook(cls: type) -> Callable[[object, Any], object]:
    inner: Callable[[Any, Any], object]
    if typing.is_typeddict(cls):
        inner = make_typeddict_structure_fn(cls, converter, _cattrs_forbid_extra_keys=True)
    else:
        inner = make_dict_structure_fn(cls, converter, _cattrs_forbid_extra_keys=True)

    def structure(value: object, _: object) -> object:
        if not isinstance(value, Mapping):
            raise _Mismatch(f"expected an object, {_got(value)}")
        return inner(typing.cast(Any, value), cls)

    return structure


converter.register_structure_hook_func(_is_anything, lambda value, _: value)
converter.register_structure_hook_factory(_is_literal, _literal_hook)
converter.register_structure_hook_factory(_is_union, _union_hook)
converter.register_structure_hook_factory(_is_array, _array_hook)
converter.register_structure_hook_factory(_is_mapping, _mapping_hook)
converter.register_structure_hook_factory(is_class, _class_hook)


# --- the arguments as a whole ---------------------------------------------------------

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MAX_REPORT_DEPTH = 200


def key_path(key: object) -> str:
    """The JSON-path step to property ``key``: ``.sku``, or ``["odd key"]``."""
    text = key if isinstance(key, str) else str(key)
    if _IDENTIFIER.match(text):
        return f".{text}"
    return "[" + short(text, 200).replace("\\'", "'") + "]"


def problems_of(exc: BaseException, path: str, depth: int = 0) -> list[str]:
    """Readable ``path: message`` lines for a structuring failure."""
    if depth > _MAX_REPORT_DEPTH:
        return [f"{path}: nested too deeply to report"]
    if isinstance(exc, _Nested):
        return [m for where, inner in exc.problems for m in problems_of(inner, path + where, depth + 1)]
    if isinstance(exc, cattrs.ClassValidationError):
        found: list[str] = []
        with_notes, without = exc.group_exceptions()
        for inner, note in with_notes:
            if type(inner) is KeyError:
                found.append(f"{path}: missing required property {note.name!r}")
            else:
                found.extend(problems_of(inner, path + key_path(note.name), depth + 1))
        for inner in without:
            found.extend(problems_of(inner, path, depth + 1))
        return found
    if isinstance(exc, cattrs.IterableValidationError):
        with_index, rest = exc.group_exceptions()
        lines = [m for inner, note in with_index for m in problems_of(inner, f"{path}[{note.index}]", depth + 1)]
        return lines + [m for inner in rest for m in problems_of(inner, path, depth + 1)]
    if isinstance(exc, cattrs.ForbiddenExtraKeysError):
        return [f"{path}: unexpected property {short(k)}" for k in sorted(map(str, exc.extra_fields))]
    return [f"{path}: {_text(exc)}"]


def _text(exc: BaseException) -> str:
    if isinstance(exc, _Mismatch):
        return str(exc)
    try:
        return f"{type(exc).__name__}: {exc}"
    except Exception:  # a hostile __str__ still leaves the error readable
        return type(exc).__name__


def identity(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The structuring of a tool whose parameters are plain JSON types: nothing to do."""
    return arguments if type(arguments) is dict else dict(arguments)


def make_structure(hints: Mapping[str, Any], *, tool: str, where: str) -> Structure:
    """The structuring of the parameters in ``hints`` (name to hint); other arguments pass as they are.

    Raises:
        RegistrationError: the converter cannot structure one of the hints.
    """
    if not hints:
        return identity
    hooks: list[tuple[str, Callable[[Any, Any], Any], Any]] = []
    for name, hint in hints.items():
        try:
            hooks.append((name, converter.get_structure_hook(hint), hint))
        except Exception as exc:  # cattrs' own refusal, said in our words
            raise RegistrationError(
                f"{where}, parameter {name!r}: cannot read the type {hint!r} from JSON ({exc}); "
                "use a JSON-like annotation or pass parameters={...}",
                tool=tool,
            ) from None

    def structure(arguments: Mapping[str, Any]) -> dict[str, Any]:
        result = dict(arguments)
        problems: list[str] = []
        for name, hook, hint in hooks:
            if name in result:
                try:
                    result[name] = hook(result[name], hint)
                except Exception as exc:  # becomes the call's invalid_arguments outcome
                    problems.extend(problems_of(exc, "$" + key_path(name)))
        if problems:
            raise ArgumentsError(problems, tool=tool)
        return result

    return structure


def unstructure(value: object, hint: Any) -> object:
    """``value``, of type ``hint``, in the JSON form a model would send for it."""
    return converter.unstructure(value, hint)
