"""Checks of the arguments users pass: a wrong type raises `TypeError`, a wrong value `ValueError`.

Every public constructor and option is checked here, so that the rule and
the messages are the same everywhere: each names the parameter, says what it
must be and shows what it got (``thread_limit must be a whole number >= 1,
not 0``). ``bool`` is never a number here, although it is an ``int``:
``max_concurrency=True`` is a mistake, not a cap of 1.

Each check returns the value it accepted, so a caller can check and store in
one line; `attrs_validator` adapts a check to an attrs field.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from typing import Any, Literal, TypeAlias, TypeVar, overload

import attrs

from ._render import safe_str, type_name

__all__ = [
    "attrs_validator",
    "check_callable",
    "check_choice",
    "check_name",
    "check_number",
    "check_positive_number",
    "check_type",
    "check_whole_number",
]

T = TypeVar("T")
_Kind: TypeAlias = "type[T] | tuple[type[T], ...]"
"""What `check_type` checks against, as `isinstance` takes it."""
_MAX_SHOWN = 80


def _shown(value: object) -> str:
    """``repr(value)``, cut to a readable length; never raises (see `safe_str`)."""
    try:
        text = repr(value)
    except Exception:  # a hostile __repr__, an int too long to print: show what can be shown
        text = safe_str(value)
    return text if len(text) <= _MAX_SHOWN else f"{text[: _MAX_SHOWN - 3]}..."


def _fail(error: type[Exception], name: str, must: str, value: object, *, allow_none: bool) -> Exception:
    return error(f"{name} must be {must}{' or None' if allow_none else ''}, not {_shown(value)}")


@overload
def check_type(name: str, value: object, kind: _Kind[T], *, expected: str | None = ...) -> T: ...


@overload
def check_type(
    name: str, value: object, kind: _Kind[T], *, expected: str | None = ..., allow_none: Literal[True]
) -> T | None: ...


def check_type(
    name: str, value: object, kind: _Kind[T], *, expected: str | None = None, allow_none: bool = False
) -> T | None:
    """``value`` if it is a ``kind`` (or ``None``, when allowed).

    Args:
        name: the parameter, as the message names it.
        value: what was passed.
        kind: the type it must have (a runtime-checkable protocol or an
            abstract class will do), or a tuple of types.
        expected: what the message says it must be (default: ``a <kind>``).
        allow_none: whether ``None`` is accepted.

    Raises:
        TypeError: it is not.
    """
    if value is None and allow_none:
        return None
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        default = " or ".join(f"a {k.__name__}" for k in kinds)
        raise _fail(TypeError, name, expected or default, value, allow_none=allow_none)
    return value


def check_callable(name: str, value: T, *, expected: str, allow_none: bool = False) -> T:
    """``value`` if it is callable (or ``None``, when allowed).

    Raises:
        TypeError: it is not.
    """
    if not (callable(value) or (value is None and allow_none)):
        raise _fail(TypeError, name, expected, value, allow_none=allow_none)
    return value


def check_choice(name: str, value: object, choices: Collection[str]) -> str:
    """``value`` if it is one of the strings ``choices``.

    Raises:
        TypeError: it is not a string.
        ValueError: it is a string, but not one of them.
    """
    must = " or ".join(", ".join(repr(c) for c in choices).rsplit(", ", 1))
    if not isinstance(value, str):
        raise _fail(TypeError, name, must, value, allow_none=False)
    if value not in choices:
        raise _fail(ValueError, name, must, value, allow_none=False)
    return value


def check_name(name: str, value: object) -> str:
    """``value`` if it is a non-empty string (a resource, a namespace).

    Raises:
        TypeError: it is not a string.
        ValueError: it is empty.
    """
    if not isinstance(value, str):
        raise _fail(TypeError, name, "a non-empty string", value, allow_none=False)
    if not value:
        raise _fail(ValueError, name, "a non-empty string", value, allow_none=False)
    return value


@overload
def check_whole_number(name: str, value: object, *, minimum: int = ...) -> int: ...


@overload
def check_whole_number(name: str, value: object, *, minimum: int = ..., allow_none: Literal[True]) -> int | None: ...


def check_whole_number(name: str, value: object, *, minimum: int = 1, allow_none: bool = False) -> int | None:
    """``value`` if it is an ``int`` (not a ``bool``) of at least ``minimum`` (or ``None``, when allowed).

    Raises:
        TypeError: it is not an ``int``.
        ValueError: it is less than ``minimum``.
    """
    if value is None and allow_none:
        return None
    must = f"a whole number >= {minimum}"
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(TypeError, name, must, value, allow_none=allow_none)
    if value < minimum:
        raise _fail(ValueError, name, must, value, allow_none=allow_none)
    return value


@overload
def check_number(
    name: str,
    value: object,
    *,
    minimum: float = ...,
    maximum: float = ...,
    above: bool = ...,
    finite: bool = ...,
    unit: str = ...,
) -> float: ...


@overload
def check_number(
    name: str,
    value: object,
    *,
    minimum: float = ...,
    maximum: float = ...,
    above: bool = ...,
    finite: bool = ...,
    unit: str = ...,
    allow_none: Literal[True],
) -> float | None: ...


def check_number(
    name: str,
    value: object,
    *,
    minimum: float = -math.inf,
    maximum: float = math.inf,
    above: bool = False,
    finite: bool = False,
    unit: str = "",
    allow_none: bool = False,
) -> float | None:
    """``value`` if it is an ``int`` or a ``float`` (not a ``bool``) in range (or ``None``, when allowed).

    Args:
        name: the parameter, as the message names it.
        value: what was passed.
        minimum: the least value accepted (excluded with ``above``).
        maximum: the greatest value accepted.
        above: whether ``minimum`` itself is refused.
        finite: whether infinities are refused (NaN always is).
        unit: what the number counts, for the message (``"seconds"``).
        allow_none: whether ``None`` is accepted.

    Raises:
        TypeError: it is not a number.
        ValueError: it is NaN, or out of range.
    """
    if value is None and allow_none:
        return None
    must = _number_phrase(minimum, maximum, above=above, finite=finite, unit=unit)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(TypeError, name, must, value, allow_none=allow_none)
    low_ok = value > minimum if above else value >= minimum
    if not (low_ok and value <= maximum) or (finite and math.isinf(value)):  # NaN fails every comparison
        raise _fail(ValueError, name, must, value, allow_none=allow_none)
    return value


@overload
def check_positive_number(name: str, value: object, *, finite: bool = ..., unit: str = ...) -> float: ...


@overload
def check_positive_number(
    name: str, value: object, *, finite: bool = ..., unit: str = ..., allow_none: Literal[True]
) -> float | None: ...


def check_positive_number(
    name: str, value: object, *, finite: bool = False, unit: str = "", allow_none: bool = False
) -> float | None:
    """``value`` if it is a number above 0 (see `check_number`).

    Raises:
        TypeError: it is not a number.
        ValueError: it is NaN, 0 or less (or infinite, with ``finite``).
    """
    if allow_none:
        return check_number(name, value, minimum=0, above=True, finite=finite, unit=unit, allow_none=True)
    return check_number(name, value, minimum=0, above=True, finite=finite, unit=unit)


def _number_phrase(minimum: float, maximum: float, *, above: bool, finite: bool, unit: str) -> str:
    of = f" of {unit}" if unit else ""
    if minimum == 0 and maximum == math.inf:
        kind = "positive" if above else "non-negative"
        return f"a {kind}{', finite' if finite else ''} number{of}"
    if maximum == math.inf:
        return f"a{' finite' if finite else ''} number{of} {'>' if above else '>='} {minimum:g}"
    return f"a number{of} from {minimum:g} to {maximum:g}"


def attrs_validator(check: Callable[..., object], **options: Any) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    """An attrs validator that runs ``check`` on a field, naming it ``Class.field``."""

    def validate(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        check(f"{type_name(instance)}.{attribute.name}", value, **options)

    return validate
