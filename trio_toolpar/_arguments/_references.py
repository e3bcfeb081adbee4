"""References between the calls of a turn: ``"$c1"``, ``"$#1.items.0.id"``, ``"5 * $#1.rate"``.

A string argument (at any depth) that is exactly ``$``, a call id, and
optionally a dot-separated path is a reference: the call receives the value
itself. Call ids that can be referenced start with a letter or ``_`` and
hold letters, digits, ``_`` and ``-`` (every OpenAI and Anthropic id does),
and the path of an id reference runs to the end of the string (any key but
one holding a dot). A model cannot know the ids the provider will give its
calls, so ``$#N`` (``N`` from 1) names the turn's ``N``-th call in emission
order instead: ``"$#1.order_id"``. No id starts with ``#``, so the two forms
never collide; nor does ``$@g``, which names the winner of race group ``g``
(see `_races`).

``$#N`` may also stand inside a longer text (``"Meeting ID: $#1.id"``,
``"$#1.a - $#2.b"``): each is replaced by its value as text (a string as it
is, anything else as compact JSON). Its path is made of keys of letters,
digits and ``_`` (a ``-`` between them, as in ``content-type``), and ends at
the first other character, so a text's punctuation is never read as a key.
Only the positional form is read inside a text: ``$HOME`` in a shell command
or ``$5`` in a price stays as it is.

``$$`` at the start of a string stands for a literal ``$``, and so does
``$$`` before ``#N`` anywhere (``"$$#1"`` is the text ``$#1``); every other
``$`` (``"$5.00"``, ``"costs $5"``, ``"$#0"``) is literal.

Resolution walks only dict keys and list indices of the referenced value's
JSON form: never attributes, never code.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, final

import attrs

from .._values._convert import dumps
from .._values._jsonvalue import MAX_DEPTH

__all__ = [
    "CALL_ID",
    "GROUP",
    "POSITION",
    "POSITIONAL",
    "SEGMENT",
    "Reference",
    "ReferenceError_",
    "as_text",
    "find_references",
    "holds_reference",
    "is_reference",
    "parse_reference",
    "resolve",
    "scan",
    "substitute",
    "text_references",
]

CALL_ID = r"[A-Za-z_][A-Za-z0-9_\-]*"
"""A call id a reference can name (the regular-expression syntax shared by Python and ECMA-262)."""
POSITION = r"#[1-9][0-9]{0,8}"
"""A position a reference can name: ``#1`` is the turn's first call."""
GROUP = rf"@{CALL_ID}"
"""A race group a reference can name: ``@search`` is the winner of the race ``search``."""
SEGMENT = r"\w+(?:-\w+)*"
"""A key or index in a positional reference's path: letters, digits and ``_``, with ``-`` between them."""
POSITIONAL = rf"\$({POSITION})((?:\.{SEGMENT})*)(?!\w)"
"""A positional reference, whole or inside a text: it ends where its path cannot go on."""
_NAMED = re.compile(rf"\$({CALL_ID}|{GROUP})((?:\..*)?)", re.DOTALL)
_WHOLE = re.compile(POSITIONAL)
_IN_TEXT = re.compile(rf"\A\$\$|\$\$(?={POSITION})|{POSITIONAL}")
"""In a text: the leading ``$$`` escape, a ``$$#N`` escape, or a positional reference (group 1 is its ``#N``)."""
_INDEX = re.compile(r"(?:0|[1-9][0-9]*)", re.ASCII)


@final
@attrs.frozen
class Reference:
    """A parsed reference: the call it names and the path into its value."""

    call_id: str
    """The call's id, ``#N`` for a positional reference to the ``N``-th call (see `position`), or ``@g`` for a race."""
    path: tuple[str, ...]
    text: str
    # Read by the planner and again when the call starts: worked out once, from `call_id`.
    position: int | None = attrs.field(init=False, eq=False, repr=False)
    """For ``$#N``: the 0-based index ``N - 1`` of the call it names; ``None`` for an id reference."""
    group: str | None = attrs.field(init=False, eq=False, repr=False)
    """For ``$@g``: the race group ``g`` whose winner it names; ``None`` otherwise."""

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "position", int(self.call_id[1:]) - 1 if self.call_id.startswith("#") else None)
        object.__setattr__(self, "group", self.call_id[1:] if self.call_id.startswith("@") else None)


class ReferenceError_(ValueError):
    """A reference that is malformed or does not exist in the referenced value."""


def parse_reference(text: str) -> Reference | None:
    """The `Reference` that ``text`` is as a whole, or ``None`` when it is not one (see `text_references`).

    Raises:
        ReferenceError_: ``text`` has a reference's form but an empty path segment.
    """
    if not text.startswith("$") or text.startswith("$$"):
        return None
    match = _WHOLE.fullmatch(text) or _NAMED.fullmatch(text)
    if match is None:
        return None
    path = tuple(match.group(2).split(".")[1:]) if match.group(2) else ()
    if "" in path:
        raise ReferenceError_(
            f"reference {text!r} has an empty path segment; write '$id.key.0', or '$$' for a literal '$'"
        )
    return Reference(match.group(1), path, text)


def is_reference(value: object) -> bool:
    """Whether ``value`` is a string that is a (possibly malformed) reference as a whole."""
    if not isinstance(value, str) or not value.startswith("$") or value.startswith("$$"):
        return False
    return (_WHOLE.fullmatch(value) or _NAMED.fullmatch(value)) is not None


def holds_reference(value: object) -> bool:
    """Whether ``value`` is a string that is a reference or has one inside (its value is known only at run time)."""
    if not isinstance(value, str) or "$" not in value:
        return False
    return is_reference(value) or any(match.group(1) for match in _IN_TEXT.finditer(value))


def text_references(text: str) -> tuple[list[Reference], bool]:
    """The positional references inside ``text`` (a string that is not one reference), and whether it has escapes."""
    references: list[Reference] = []
    escapes = False
    for match in _IN_TEXT.finditer(text):
        position, path = match.group(1, 2)
        if position is None:
            escapes = True
        else:
            references.append(Reference(position, tuple(path.split(".")[1:]) if path else (), match.group(0)))
    return references, escapes


_SCALARS: frozenset[type] = frozenset({int, float, bool, type(None)})
_LEAVES: frozenset[type] = _SCALARS | {str}


def _children(item: object) -> Iterable[object] | None:
    """The values of a mapping, the items of a list or tuple; ``None`` for anything else (a string too)."""
    # Exact types first: the abstract-class isinstance below is slow.
    if type(item) is dict:
        return item.values()
    if type(item) is list or type(item) is tuple:
        return item
    if type(item) in _LEAVES or isinstance(item, str):
        return None
    if isinstance(item, Mapping):
        return item.values()
    if isinstance(item, (list, tuple)):
        return item
    return None


def _walk(value: object, limit: int, passed: frozenset[type]) -> list[object] | None:
    """What ``value`` holds at any depth besides containers (last first), or ``None`` if it nests deeper than ``limit``.

    Items whose exact type is in ``passed`` are neither walked nor kept: only
    containers nest, and a list of 100,000 numbers must not become 100,000
    entries of the stack. Nothing is looked into but containers, so a value
    that nests too deep is refused before any of its text is read.
    """
    found: list[object] = []
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        children = _children(item)
        if children is None:
            found.append(item)
            continue
        if depth >= limit:
            return None
        for child in children:
            if type(child) not in passed:
                stack.append((child, depth + 1))
    return found


def find_references(arguments: Mapping[str, Any]) -> tuple[list[Reference], list[str], bool]:
    """All references in ``arguments``, whole strings and inside texts.

    Returns:
        ``(references, problems, has_escapes)``: the well-formed references in
        no particular order, messages for malformed ones, and whether any
        ``$$`` escape needs unescaping.
    """
    found = _walk(arguments, sys.maxsize, _SCALARS)
    assert found is not None  # nothing nests that deep
    return _references_in(found)


def _references_in(found: Iterable[object]) -> tuple[list[Reference], list[str], bool]:
    references: list[Reference] = []
    problems: list[str] = []
    escapes = False
    for text in found:
        if not isinstance(text, str) or "$" not in text:
            continue
        try:
            ref = parse_reference(text)
        except ReferenceError_ as exc:
            problems.append(str(exc))
            continue
        if ref is not None:
            references.append(ref)
            continue
        inside, escaped = text_references(text)
        references += inside
        escapes = escapes or escaped
    return references, problems, escapes


_NOTHING_FOUND: tuple[Sequence[Reference], Sequence[str], bool] = ((), (), False)


def scan(arguments: Mapping[str, Any], limit: int) -> tuple[Sequence[Reference], Sequence[str], bool] | None:
    """`find_references` and the depth check in one call: ``None`` if ``arguments`` nest deeper than ``limit``.

    A flat dict of scalars and strings without ``$`` (most tool calls) is
    answered in one pass over its values; a reference inside a text needs a
    ``$`` too, so that one look per string covers both forms.
    """
    if type(arguments) is dict and limit > 0:
        for value in arguments.values():
            kind = type(value)
            if kind is str:
                if "$" in value:
                    break
            elif kind not in _SCALARS:
                break
        else:
            return _NOTHING_FOUND
    found = _walk(arguments, limit, _SCALARS)
    return None if found is None else _references_in(found)


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
        if not _readable(current):
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
    if type(current) in _LEAVES:
        return current  # nothing nests in it, nothing to copy (the usual value)
    if not _readable(current):
        current = unstructure(current)
    if nests_deeper(current, MAX_DEPTH):
        raise ReferenceError_(f"{ref.text!r}: the value nests deeper than {MAX_DEPTH} levels")
    return _plain_copy(current)


_READABLE = (Mapping, list, tuple, str, int, float, bool, type(None))
_PLAIN = _LEAVES | {dict, list, tuple}


def _readable(value: object) -> bool:
    """Whether `resolve` reads ``value`` as it is, without unstructuring it (exact types first: see `_children`)."""
    return type(value) in _PLAIN or isinstance(value, _READABLE)


def nests_deeper(value: object, limit: int) -> bool:
    """Whether dicts and lists in ``value`` nest more than ``limit`` levels (without recursion)."""
    return _walk(value, limit, _LEAVES) is None


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


def substitute(value: Any, lookup: Callable[[Reference], object], parsed: Iterable[Reference] = ()) -> Any:
    """A copy of ``value`` with references replaced through ``lookup`` and ``$$`` unescaped.

    A whole reference becomes its value; one inside a text becomes its value
    as text (see `as_text`), and a substituted value is never read again.
    ``parsed`` are references already read from ``value`` (by `scan`): their
    texts are not parsed again.
    """
    return _substituted(value, lookup, {ref.text: ref for ref in parsed})


def _substituted(value: Any, lookup: Callable[[Reference], object], known: Mapping[str, Reference]) -> Any:
    if type(value) in _SCALARS:
        return value
    if isinstance(value, str):
        if "$" not in value:
            return value
        # Only an exact str is looked up: a subclass's own __hash__ is never run.
        ref = known.get(value) if type(value) is str else None
        if ref is None:
            ref = parse_reference(value)
        if ref is not None:
            return lookup(ref)
        return _IN_TEXT.sub(lambda match: _replacement(match, lookup), value)
    # Exact types first: the abstract-class isinstance below is slow.
    if type(value) is dict or (type(value) is not list and isinstance(value, Mapping)):
        return {k: _substituted(v, lookup, known) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_substituted(v, lookup, known) for v in value]
    return value


def _replacement(match: re.Match[str], lookup: Callable[[Reference], object]) -> str:
    position, path = match.group(1, 2)
    if position is None:
        return "$"  # an escape
    return as_text(lookup(Reference(position, tuple(path.split(".")[1:]) if path else (), match.group(0))))


def as_text(value: object) -> str:
    """How a referenced value reads inside a text: a string as it is, anything else as compact JSON."""
    return value if isinstance(value, str) else dumps(value)
