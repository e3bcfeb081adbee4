"""A tool's arguments structured as a whole, and structuring failures read as JSON paths."""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from typing import Any, Union, get_args, get_origin

import cattrs

from .._values._exceptions import ArgumentsError, RegistrationError
from .._values._jsonvalue import short
from ._hints import bare
from ._structure import Mismatch, Nested, converter, key_path

__all__ = ["Structure", "identity", "make_structure", "problems_of"]

Structure = Callable[[Mapping[str, Any]], dict[str, Any]]
"""Turns a tool's validated JSON arguments into its keyword arguments; raises `ArgumentsError`."""

_MAX_REPORT_DEPTH = 200


def problems_of(exc: BaseException, path: str, depth: int = 0) -> list[str]:
    """Readable ``path: message`` lines for a structuring failure."""
    if depth > _MAX_REPORT_DEPTH:
        return [f"{path}: nested too deeply to report"]
    if isinstance(exc, Nested):
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
    if isinstance(exc, Mismatch):
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
            hint = bare(hint)
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

    if all(_is_int(bare(hint)) for hint in hints.values()):
        return _integers(tuple(hints), structure)
    return structure


def _is_int(hint: object) -> bool:
    return hint is int or (get_origin(hint) in (Union, types.UnionType) and set(get_args(hint)) == {int, type(None)})


def _integers(names: tuple[str, ...], structure: Structure) -> Structure:
    """For parameters that are all ``int`` (or ``int | None``), the usual typed tool: only a float needs work.

    A value that passed the schema is an int, ``None`` or an integral float
    (``5.0``), and only the last is changed; checking the type of each is
    cheaper than structuring them.
    """

    def integers(arguments: Mapping[str, Any]) -> dict[str, Any]:
        for name in names:
            if type(arguments.get(name)) is float:
                return structure(arguments)
        return identity(arguments)

    return integers
