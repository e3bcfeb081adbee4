"""What a tool's signature says: its arguments' schema, its context parameter, and how to structure its arguments."""

from __future__ import annotations

import functools
import inspect
import re
import typing
from collections.abc import Callable
from typing import Any, final

import attrs

from .._values._exceptions import RegistrationError
from ._hints import HintSchemas
from ._structuring import Structure, identity, make_structure

__all__ = ["Signature", "describe_signature", "is_async_callable"]


@final
@attrs.frozen(kw_only=True)
class Signature:
    """A tool function's signature, described for the registry."""

    schema: dict[str, Any]
    """The arguments' JSON schema derived from the type hints (empty properties when not derived)."""
    context_parameter: str | None
    """The parameter annotated with the context type (filled by the executor, not by the model), if any."""
    summary: str
    """The docstring's first paragraph."""
    structure: Structure = attrs.field(repr=False, eq=False)
    """Turns validated JSON arguments into the declared types; `identity` when all are plain JSON types."""


def describe_signature(fn: Callable[..., Any], *, tool: str, context_type: type, derive: bool = True) -> Signature:
    """Describe ``fn``'s parameters: schema, context parameter, summary and structuring.

    With ``derive=False`` (an explicit schema will be used) no schema is
    derived, and parameters whose hints have no JSON form are passed as they
    come; the others are still structured into their declared types.

    Raises:
        RegistrationError: a parameter cannot be passed by name, or (when
            deriving) its type hint cannot be resolved or has no JSON form.
    """
    where = f"tool {tool!r}"
    try:
        hints = typing.get_type_hints(_annotated(fn), include_extras=True)
    except (NameError, TypeError) as exc:
        if derive:
            raise RegistrationError(
                f"{where}: cannot resolve the type hints of {fn!r}: {exc}; "
                "define the types at module level, or pass parameters={...}",
                tool=tool,
            ) from None
        # An explicit schema is given: only the context parameter is needed, by name if need be.
        raw = getattr(_annotated(fn), "__annotations__", {})
        hints = {k: context_type for k, v in raw.items() if v in (context_type, context_type.__name__)}
    summary, docs = _docstring_parts(inspect.getdoc(fn))
    bound = _bound_keywords(fn)
    schemas = HintSchemas()
    properties: dict[str, Any] = {}
    required: list[str] = []
    to_structure: dict[str, Any] = {}
    extra_allowed = False
    context_param: str | None = None
    for name, param in inspect.signature(fn).parameters.items():
        if name in bound:
            continue  # fixed by a functools.partial: the author's value, not the model's
        hint = hints.get(name, inspect.Parameter.empty)
        if hint is context_type:
            context_param = name
            continue
        if param.kind is param.VAR_KEYWORD:
            extra_allowed = True
            continue
        if param.kind in (param.VAR_POSITIONAL, param.POSITIONAL_ONLY):
            raise RegistrationError(
                f"{where}: parameter {name!r} cannot be passed by name; tools receive JSON objects as keywords",
                tool=tool,
            )
        try:
            schema, plain = schemas.describe(hint, f"{where}, parameter {name!r}")
        except RegistrationError as exc:
            if derive:
                raise RegistrationError(str(exc), tool=tool) from None
            continue  # the explicit schema describes it; the tool gets the JSON value as it is
        if not plain:
            to_structure[name] = hint
        if not derive:
            continue
        if name in docs and "description" not in schema:
            schema["description"] = docs[name]
        if param.default is param.empty:
            required.append(name)
        elif param.default is None or isinstance(param.default, (str, int, float, bool)):
            schema.setdefault("default", param.default)
        properties[name] = schema
    result: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": extra_allowed}
    if required:
        result["required"] = required
    if schemas.definitions:
        result["$defs"] = schemas.definitions
    structure = make_structure(to_structure, tool=tool, where=where) if to_structure else identity
    return Signature(schema=result, context_parameter=context_param, summary=summary, structure=structure)


def is_async_callable(fn: object) -> bool:
    """Whether calling ``fn`` gives a coroutine to await.

    True for an async function or method, a decorated one (``__wrapped__``),
    a `functools.partial` of one, and an object whose class defines
    ``async def __call__`` (or a partial of such an object).
    """
    return any(inspect.iscoroutinefunction(candidate) for candidate in _callees(fn))


def _callees(fn: object) -> list[object]:
    """``fn`` and what calling it really calls: a partial's function, a wrapper's wrapped, an object's ``__call__``."""
    found: list[object] = []
    while fn is not None and len(found) < 16:  # every step goes one level in; real chains are a few deep
        found.append(fn)
        if isinstance(fn, functools.partial):
            fn = fn.func
        elif getattr(fn, "__wrapped__", None) is not None:
            fn = fn.__wrapped__  # type: ignore[attr-defined]
        elif inspect.isroutine(fn) or inspect.isclass(fn):
            break
        else:
            fn = type(fn).__call__ if callable(fn) else None  # what calling an object runs
    return found


def _annotated(fn: object) -> object:
    """What holds the annotations of calling ``fn``: itself, or the function a partial or a callable object runs."""
    for candidate in _callees(fn):
        if inspect.isroutine(candidate) or inspect.isclass(candidate):
            return candidate
    return fn


def _bound_keywords(fn: object) -> set[str]:
    """The keyword arguments that partials (one in another, too) fix for every call of ``fn``."""
    bound: set[str] = set()
    while isinstance(fn, functools.partial):
        bound.update(fn.keywords)
        fn = fn.func
    return bound


_ARG_LINE = re.compile(r"(\w+)(?:\s*\([^)]*\))?:\s*(.*)$")


def _docstring_parts(doc: str | None) -> tuple[str, dict[str, str]]:
    """The summary paragraph and the ``Args:`` descriptions of a Google-style docstring."""
    if not doc:
        return "", {}
    text = inspect.cleandoc(doc)
    summary = text.split("\n\n", 1)[0].replace("\n", " ").strip()
    params: dict[str, str] = {}
    in_args = False
    current: str | None = None
    base_indent: int | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped in ("Args:", "Arguments:", "Parameters:"):
            in_args = True
            continue
        if not in_args:
            continue
        if line and not line[0].isspace():
            break
        indent = len(line) - len(line.lstrip())
        match = _ARG_LINE.match(stripped)
        if match and (base_indent is None or indent <= base_indent):
            base_indent = indent
            current = match.group(1)
            params[current] = match.group(2)
        elif current and stripped:
            params[current] = f"{params[current]} {stripped}".strip()
    return summary, params
