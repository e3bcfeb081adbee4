"""References between the calls of a turn: ``"$c1"``, ``"$c1.items.0.id"``.

A string argument (at any depth) is a reference when it is exactly ``$``, a
call id, and optionally a dot-separated path. Call ids that can be referenced
start with a letter or ``_`` and hold letters, digits, ``_`` and ``-`` (every
OpenAI and Anthropic id does). A model cannot know the ids the provider will
give its calls, so ``$#N`` (``N`` from 1) names the turn's ``N``-th call in
emission order instead: ``"$#1.order_id"``. No id starts with ``#``, so the
two forms never collide; nor does ``$@g``, which names the winner of race
group ``g`` (see `_races`). ``$$`` at the start stands for a literal ``$``;
every other string (``"$5.00"``, ``"costs $5"``, ``"$#0"``) is literal.

Resolution walks only dict keys and list indices of the referenced value's
JSON form: never attributes, never code.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, final

import attrs

from .._values._jsonvalue import MAX_DEPTH

__all__ = [
    "CALL_ID",
    "GROUP",
    "POSITION",
    "Reference",
    "ReferenceError_",
    "find_references",
    "is_reference",
    "parse_reference",
    "resolve",
    "scan",
    "substitute",
]

CALL_ID = r"[A-Za-z_][A-Za-z0-9_\-]*"
"""A call id a reference can name (the regular-expression syntax shared by Python and ECMA-262)."""
POSITION = r"#[1-9][0-9]{0,8}"
"""A position a reference can name: ``#1`` is the turn's first call."""
GROUP = rf"@{CALL_ID}"
"""A race group a reference can name: ``@search`` is the winner of the race ``search``."""
_REF = re.compile(rf"\$({CALL_ID}|{POSITION}|{GROUP})((?:\..*)?)", re.DOTALL)
_INDEX = re.compile(r"(?:0|[1-9][0-9]*)", re.ASCII)


@final
@attrs.frozen
class Reference:
    """A parsed reference: the call it names and the path into its value."""

    call_id: str
    """The call's id, ``#N`` for a positional reference to the ``N``-th call (see `position`), or ``@g`` for a race."""
    path: tuple[str, ...]
    text: str

    @property
    def position(self) -> int | None:
        """For ``$#N``: the 0-based index ``N - 1`` of the call it names; ``None`` for an id reference."""
        return int(self.call_id[1:]) - 1 if self.call_id.startswith("#") else None

    @property
    def group(self) -> str | None:
        """For ``$@g``: the race group ``g`` whose winner it names; ``None`` otherwise."""
        return self.call_id[1:] if self.call_id.startswith("@") else None


class ReferenceError_(ValueError):
    """A reference that is malformed or does not exist in the referenced value."""


def parse_reference(text: str) -> Reference | None:
    """The `Reference` in ``text``, or ``None`` when ``text`` is a literal.

    Raises:
        ReferenceError_: ``text`` has a reference's form but an empty path segment.
    """
    if not text.startswith("$") or text.startswith("$$"):
        return None
    match = _REF.fullmatch(text)
    if match is None:
        return None
    path = tuple(match.group(2).split(".")[1:]) if match.group(2) else ()
    if any(segment == "" for segment in path):
        raise ReferenceError_(
            f"reference {text!r} has an empty path segment; write '$id.key.0', or '$$' for a literal '$'"
        )
    return Reference(match.group(1), path, text)


def is_reference(value: object) -> bool:
    """Whether ``value`` is a string that is a (possibly malformed) reference."""
    if not isinstance(value, str) or not value.startswith("$") or value.startswith("$$"):
        return False
    return _REF.fullmatch(value) is not None


def _strings(value: object) -> Iterator[str]:
    stack = [value]
    while stack:
        item = stack.pop()
        # Exact types first: the abstract-class isinstance below is slow.
        if type(item) is str:
            yield item
        elif type(item) is dict:
            stack.extend(item.values())
        elif type(item) is list:
            stack.extend(item)
        elif isinstance(item, str):
            yield item
        elif isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)


def find_references(arguments: Mapping[str, Any]) -> tuple[list[Reference], list[str], bool]:
    """All references in ``arguments``.

    Returns:
        ``(references, problems, has_escapes)``: the well-formed references in
        no particular order, messages for malformed ones, and whether any
        ``$$`` escape needs unescaping.
    """
    references: list[Reference] = []
    problems: list[str] = []
    escapes = False
    for text in _strings(arguments):
        if not text.startswith("$"):
            continue
        if text.startswith("$$"):
            escapes = True
            continue
        try:
            ref = parse_reference(text)
        except ReferenceError_ as exc:
            problems.append(str(exc))
            continue
        if ref is not None:
            references.append(ref)
    return references, problems, escapes


_SCALARS = frozenset({int, float, bool, type(None)})
_LEAVES = _SCALARS | {str}
_NOTHING_FOUND: tuple[Sequence[Reference], Sequence[str], bool] = ((), (), False)


def scan(arguments: Mapping[str, Any], limit: int) -> tuple[Sequence[Reference], Sequence[str], bool] | None:
    """`find_references` and the depth check in one call: ``None`` if ``arguments`` nest deeper than ``limit``.

    A flat dict of scalars and strings without ``$`` (most tool calls) is
    answered in one pass over its values.
    """
    if type(arguments) is dict and limit > 0:
        for value in arguments.values():
            kind = type(value)
            if kind is str:
                if value.startswith("$"):
                    break
            elif kind not in _SCALARS:
                break
        else:
            return _NOTHING_FOUND
    if nests_deeper(arguments, limit):
        return None
    return find_references(arguments)


def resolve(ref: Reference, value: object, unstructure: Callable[[object], object]) -> object:
    """The part of ``value`` that ``ref.path`` names, as a deep copy.

    ``unstructure`` turns a value that is not plain JSON data (an attrs
    instance, say) into its JSON form: the same form the model sees.

    Raises:
        ReferenceError_: a key that is missing, an index out of range or not
            a non-negative integer, or a step into a scalar.
    """
    current = value
    walked = f"${ref.call_id}"
    for segment in ref.path:
        if not isinstance(current, (Mapping, list, tuple, str, int, float, bool, type(None))):
            current = unstructure(current)
        if isinstance(current, Mapping):
            if segment not in current:
                keys = ", ".join(repr(k) for k in list(current)[:10]) or "none"
                raise ReferenceError_(f"{ref.text!r}: {walked} has no key {segment!r} (keys: {keys})")
            current = current[segment]
        elif isinstance(current, (list, tuple)):
            if not _INDEX.fullmatch(segment):
                raise ReferenceError_(f"{ref.text!r}: {walked} is a list; {segment!r} is not a non-negative index")
            index = int(segment)
            if index >= len(current):
                raise ReferenceError_(
                    f"{ref.text!r}: index {index} is out of range for {walked} (length {len(current)})"
                )
            current = current[index]
        else:
            raise ReferenceError_(f"{ref.text!r}: {walked} is a {type(current).__name__}, it has no {segment!r}")
        walked = f"{walked}.{segment}"
    if not isinstance(current, (Mapping, list, tuple, str, int, float, bool, type(None))):
        current = unstructure(current)
    if nests_deeper(current, MAX_DEPTH):
        raise ReferenceError_(f"{ref.text!r}: the value nests deeper than {MAX_DEPTH} levels")
    return _plain_copy(current)


def nests_deeper(value: object, limit: int) -> bool:
    """Whether dicts and lists in ``value`` nest more than ``limit`` levels (without recursion)."""
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if type(item) is dict or (not isinstance(item, str) and isinstance(item, Mapping)):
            children: Iterable[object] = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if depth >= limit:
            return True
        # Only containers nest: a list of 100,000 strings must not become 100,000 entries of the stack.
        stack.extend((child, depth + 1) for child in children if type(child) not in _LEAVES)
    return False


def _plain_copy(value: object) -> object:
    """A copy of the plain containers in ``value`` (dicts, lists, tuples become lists).

    Anything else is passed on as it is: copying it would run its own code
    (``__deepcopy__``, ``__reduce_ex__``), which a reference must never do.
    """
    if type(value) is dict:
        return {k: _plain_copy(v) for k, v in value.items()}
    if type(value) is list or type(value) is tuple:
        return [_plain_copy(v) for v in value]
    return value


def substitute(value: Any, lookup: Callable[[Reference], object]) -> Any:
    """A copy of ``value`` with references replaced through ``lookup`` and ``$$`` unescaped."""
    if isinstance(value, str):
        if value.startswith("$$"):
            return value[1:]
        ref = parse_reference(value) if value.startswith("$") else None
        return lookup(ref) if ref is not None else value
    if isinstance(value, Mapping):
        return {k: substitute(v, lookup) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [substitute(v, lookup) for v in value]
    return value
