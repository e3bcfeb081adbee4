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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
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
    if any(segment == "" for segment in path):
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
    """All references in ``arguments``, whole strings and inside texts.

    Returns:
        ``(references, problems, has_escapes)``: the well-formed references in
        no particular order, messages for malformed ones, and whether any
        ``$$`` escape needs unescaping.
    """
    references: list[Reference] = []
    problems: list[str] = []
    escapes = False
    for text in _strings(arguments):
        if "$" not in text:
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


_SCALARS = frozenset({int, float, bool, type(None)})
_LEAVES = _SCALARS | {str}
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
    """A copy of ``value`` with references replaced through ``lookup`` and ``$$`` unescaped.

    A whole reference becomes its value; one inside a text becomes its value
    as text (see `as_text`), and a substituted value is never read again.
    """
    if isinstance(value, str):
        if "$" not in value:
            return value
        ref = parse_reference(value)
        if ref is not None:
            return lookup(ref)
        return _IN_TEXT.sub(lambda match: _replacement(match, lookup), value)
    if isinstance(value, Mapping):
        return {k: substitute(v, lookup) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [substitute(v, lookup) for v in value]
    return value


def _replacement(match: re.Match[str], lookup: Callable[[Reference], object]) -> str:
    position, path = match.group(1, 2)
    if position is None:
        return "$"  # an escape
    return as_text(lookup(Reference(position, tuple(path.split(".")[1:]) if path else (), match.group(0))))


def as_text(value: object) -> str:
    """How a referenced value reads inside a text: a string as it is, anything else as compact JSON."""
    return value if isinstance(value, str) else dumps(value)
