"""Local JSON references: ``$ref`` values such as ``"#/$defs/Item"`` read as JSON pointers (RFC 6901)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Final
from urllib.parse import unquote

__all__ = ["MISSING", "Pointer", "follow", "ref_tokens"]

Pointer = tuple[str, ...]
"""The unescaped tokens of a JSON pointer; ``()`` is the whole document."""

MISSING: Final = object()
"""What `follow` returns when a pointer leads nowhere."""


@functools.lru_cache(maxsize=512)
def ref_tokens(ref: str) -> Pointer | None:
    """The JSON-pointer tokens of a local ``$ref`` (``"#"``, ``"#/$defs/A"``), or ``None`` if it is not local.

    The fragment is percent-decoded, then ``~1`` read as ``/`` and ``~0`` as ``~``, in that order.
    """
    if not ref.startswith("#"):
        return None
    fragment = unquote(ref[1:])
    if not fragment:
        return ()
    if not fragment.startswith("/"):
        return None  # an anchor ("#name"), which is not a pointer
    return tuple(token.replace("~1", "/").replace("~0", "~") for token in fragment[1:].split("/"))


def follow(root: object, tokens: Pointer) -> object:
    """What ``tokens`` point at inside ``root``, or `MISSING`."""
    node = root
    for token in tokens:
        if isinstance(node, Mapping) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return MISSING
    return node
