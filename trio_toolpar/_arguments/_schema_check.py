"""Checking a schema once, when a tool is registered: what the validator checks, ignores, or refuses.

JSON Schema 2020-12 treats a keyword it does not know as an annotation, and
real tool definitions are full of them: OpenAPI's ``example`` and
``discriminator``, vendors' ``x-*`` extensions, BFCL's ``optional``. So a
keyword is one of three things here:

* checked by the validator (`CHECKED`);
* an assertion the validator does not check (`UNCHECKED`: ``if``,
  ``patternProperties`` ...): refused, since a value it forbids would pass
  unchecked; the error says which keyword and what it asserts;
* anything else (annotations, unknown keywords): accepted and ignored,
  as a 2020-12 validator would.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final, final

from .._values._exceptions import SchemaError
from .._values._jsonvalue import NUMBER_KEYWORDS, short
from ._pointer import MISSING, Pointer, follow, ref_tokens

__all__ = ["CHECKED", "UNCHECKED", "JSONSchema", "check_schema"]

JSONSchema = Mapping[str, Any]

CHECKED: Final = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "prefixItems",
        "enum",
        "const",
        "anyOf",
        "oneOf",
        "allOf",
        "not",
        "$ref",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minLength",
        "maxLength",
        "pattern",
        "minItems",
        "maxItems",
        "uniqueItems",
        "minProperties",
        "maxProperties",
    }
)
"""The keywords the validator enforces."""
UNCHECKED: Final[Mapping[str, str]] = {
    "if": "a condition (with 'then' and 'else')",
    "dependentRequired": "properties required when another is present",
    "dependentSchemas": "a schema applied when a property is present",
    "dependencies": "properties or a schema required when another property is present",
    "propertyNames": "a schema for every property name",
    "patternProperties": "schemas for the properties whose names match a pattern",
    "contains": "an item an array must contain",
    "unevaluatedProperties": "a schema for properties no other keyword covered",
    "unevaluatedItems": "a schema for items no other keyword covered",
    "$dynamicRef": "a dynamic reference",
    "$recursiveRef": "a recursive reference",
}
"""Keywords that assert something the validator does not check, and what they assert.

Everything that is neither here nor in `CHECKED` is an annotation to the
validator (``title``, ``examples``, ``format``, ``x-*``, ...) and ignored."""
_DEFINITIONS = ("$defs", "definitions")
_TYPES = frozenset({"object", "array", "string", "integer", "number", "boolean", "null"})
_COUNTS = ("minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties")
_IN_PLACE = ("allOf", "anyOf", "oneOf")
"""Keywords whose schemas apply to the value itself, not to a part of it (so a loop through them never ends)."""


def check_schema(schema: object, path: str = "$") -> None:
    """Raise `SchemaError` if ``schema`` asserts something the validator does not check, or is malformed.

    Annotations (``format``, ``examples``, ``x-*`` ...) and unknown keywords
    are accepted and not enforced; the keywords in `UNCHECKED` are refused.
    Every ``$ref`` must point at a schema inside ``schema`` itself, and a loop
    of references must reach into the value (a tree's children) before it
    comes back, so that validation always ends.
    """
    checker = _SchemaChecker()
    checker.walk(schema, path, ())
    checker.check_references(schema)


@final
class _SchemaChecker:
    """One walk over a schema: the keywords, then the references between its parts."""

    def __init__(self) -> None:
        self.schemas: set[Pointer] = set()
        self.refs: list[tuple[str, str, Pointer]] = []
        self.in_place: dict[Pointer, list[Pointer]] = {}

    def walk(self, schema: object, path: str, at: Pointer) -> None:
        self.schemas.add(at)
        if isinstance(schema, bool):
            return
        if not isinstance(schema, Mapping):
            raise SchemaError(
                f"schema at {path} must be an object or a boolean, not {type(schema).__name__}", path=path
            )
        for key, sub in schema.items():
            if key in _DEFINITIONS:
                if not isinstance(sub, Mapping):
                    raise SchemaError(f"{key!r} at {path} must be an object of named schemas", path=path)
                for name, definition in sub.items():
                    self.walk(definition, f"{path}.<{key}.{name}>", (*at, key, name))
                continue
            if key in CHECKED:
                self._keyword(key, sub, path, at)
            elif key in UNCHECKED:
                raise SchemaError(
                    f"schema keyword {key!r} at {path} asserts {UNCHECKED[key]}, which the built-in validator "
                    "does not check, so values it forbids would pass; express it with the checked keywords "
                    f"({', '.join(sorted(CHECKED))}), or leave it out",
                    path=path,
                )

    def _keyword(self, key: str, sub: Any, path: str, at: Pointer) -> None:
        if key == "type":
            names = [sub] if isinstance(sub, str) else sub
            if not isinstance(names, list) or not names or any(n not in _TYPES for n in names):
                raise SchemaError(
                    f"'type' at {path} must name JSON types from {sorted(_TYPES)}, got {sub!r}", path=path
                )
        elif key == "properties":
            if not isinstance(sub, Mapping):
                raise SchemaError(f"'properties' at {path} must be an object", path=path)
            for name, prop in sub.items():
                self.walk(prop, f"{path}.{name}", (*at, key, name))
        elif key == "items" and isinstance(sub, list):
            raise SchemaError(
                f"'items' at {path} is a list, the tuple form of drafts before 2020-12; write 'prefixItems' "
                "for the items by position (and 'items' for the rest)",
                path=path,
            )
        elif key in ("additionalProperties", "items", "not"):
            self.walk(sub, f"{path}.<{key}>", (*at, key))
            if key == "not":
                self.in_place.setdefault(at, []).append((*at, key))
        elif key in ("anyOf", "oneOf", "allOf", "prefixItems"):
            if not isinstance(sub, list) or not sub:
                raise SchemaError(f"{key!r} at {path} must be a non-empty list of schemas", path=path)
            for i, option in enumerate(sub):
                self.walk(option, f"{path}.<{key}[{i}]>", (*at, key, str(i)))
                if key in _IN_PLACE:
                    self.in_place.setdefault(at, []).append((*at, key, str(i)))
        elif key == "$ref":
            if not isinstance(sub, str):
                raise SchemaError(f"'$ref' at {path} must be a string, got {short(sub)}", path=path)
            self.refs.append((sub, path, at))
        elif key == "required":
            if not isinstance(sub, list) or not all(isinstance(n, str) for n in sub):
                raise SchemaError(f"'required' at {path} must be a list of property names", path=path)
        elif key == "enum" and not isinstance(sub, list):
            raise SchemaError(f"'enum' at {path} must be a list", path=path)
        elif key == "pattern":
            try:
                re.compile(sub)
            except (re.error, TypeError) as exc:
                raise SchemaError(f"'pattern' at {path} is not a valid regular expression: {exc}", path=path) from None
        elif key in NUMBER_KEYWORDS:
            if isinstance(sub, bool) or not isinstance(sub, (int, float)) or sub != sub or abs(sub) == float("inf"):
                raise SchemaError(f"{key!r} at {path} must be a finite number, got {short(sub)}", path=path)
            if key == "multipleOf" and sub <= 0:
                raise SchemaError(f"'multipleOf' at {path} must be more than 0, got {short(sub)}", path=path)
        elif key in _COUNTS:
            if isinstance(sub, bool) or not isinstance(sub, int) or sub < 0:
                raise SchemaError(f"{key!r} at {path} must be a non-negative integer, got {short(sub)}", path=path)
        elif key == "uniqueItems" and not isinstance(sub, bool):
            raise SchemaError(f"'uniqueItems' at {path} must be true or false, got {short(sub)}", path=path)

    def check_references(self, root: object) -> None:
        for ref, path, at in self.refs:
            tokens = ref_tokens(ref)
            if tokens is None:
                raise SchemaError(
                    f"$ref {ref!r} (at {path}) is not a local reference; only '#' and '#/...' JSON pointers "
                    "into this schema (such as '#/$defs/Name') are supported: inline the referenced schema",
                    path=path,
                )
            if tokens not in self.schemas:
                found = follow(root, tokens) is not MISSING
                defined = [f"#/{kind}/{name}" for kind in _DEFINITIONS for name in _names(root, kind)]
                raise SchemaError(
                    f"$ref {ref!r} "
                    + ("points at something that is not a schema" if found else "does not resolve")
                    + f" (at {path}); the schema defines: {', '.join(defined) or 'nothing under $defs or definitions'}",
                    path=path,
                )
            self.in_place.setdefault(at, []).append(tokens)
        self._check_loops()

    def _check_loops(self) -> None:
        # A loop through $ref, allOf, anyOf, oneOf and not alone would check the same value forever.
        done: set[Pointer] = set()
        for start in self.in_place:
            trail: list[Pointer] = []
            self._visit(start, trail, set(), done)

    def _visit(self, node: Pointer, trail: list[Pointer], open_: set[Pointer], done: set[Pointer]) -> None:
        if node in done:
            return
        if node in open_:
            loop = " -> ".join("#" + "".join(f"/{t}" for t in p) for p in [*trail[trail.index(node) :], node])
            raise SchemaError(
                f"$ref loop {loop} comes back to the same value without reaching into it (through properties "
                "or items); validating it would never end",
                path="$",
            )
        open_.add(node)
        trail.append(node)
        for child in self.in_place.get(node, ()):
            self._visit(child, trail, open_, done)
        trail.pop()
        open_.discard(node)
        done.add(node)


def _names(root: object, kind: str) -> list[str]:
    defs = root.get(kind) if isinstance(root, Mapping) else None
    return [str(name) for name in defs] if isinstance(defs, Mapping) else []
