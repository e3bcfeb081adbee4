"""JSON schemas: checked once when a tool is registered, then used to validate arguments.

The validator covers the subset of JSON Schema that tool definitions use in
practice (the keywords in `CHECKED`), local references included (``$ref`` to
``#``, ``#/$defs/...`` or ``#/definitions/...``, as pydantic models and MCP
servers write them). A schema that uses anything else is refused when the
tool is registered, rather than silently not checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, final

from .._values._exceptions import SchemaError
from .._values._jsonvalue import NUMBER_KEYWORDS, json_equal, json_key, json_kind, kind_matches, number_problems, short
from ._pointer import MISSING, Pointer, follow, ref_tokens

__all__ = ["CHECKED", "MAX_VALUE_DEPTH", "JSONSchema", "check_schema", "validate"]

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
_ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "default",
        "examples",
        "$schema",
        "$id",
        "$comment",
        "deprecated",
        "readOnly",
        "writeOnly",
        "format",
        "contentMediaType",
        "contentEncoding",
    }
)
_DEFINITIONS = ("$defs", "definitions")
_TYPES = frozenset({"object", "array", "string", "integer", "number", "boolean", "null"})
_COUNTS = ("minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties")
_IN_PLACE = ("allOf", "anyOf", "oneOf")
"""Keywords whose schemas apply to the value itself, not to a part of it (so a loop through them never ends)."""

MAX_VALUE_DEPTH: Final = 128
"""Values nested deeper are reported, not checked (the planner already stops at 100 levels)."""


def check_schema(schema: object, path: str = "$") -> None:
    """Raise `SchemaError` unless every keyword of ``schema`` is one we check.

    ``format`` and the other annotation keywords are accepted and not enforced.
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
            if key in _ANNOTATIONS:
                continue
            if key in _DEFINITIONS:
                if not isinstance(sub, Mapping):
                    raise SchemaError(f"{key!r} at {path} must be an object of named schemas", path=path)
                for name, definition in sub.items():
                    self.walk(definition, f"{path}.<{key}.{name}>", (*at, key, name))
                continue
            if key not in CHECKED:
                raise SchemaError(
                    f"schema keyword {key!r} at {path} is not supported by the built-in validator; "
                    f"supported: {', '.join(sorted(CHECKED))}",
                    path=path,
                )
            self._keyword(key, sub, path, at)

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


def validate(schema: JSONSchema | bool, value: object, *, skip: Callable[[object], bool] | None = None) -> list[str]:
    """Check ``value`` against ``schema``; return readable errors (empty: valid).

    Never raises for a JSON-like value: NaN, the infinities, huge integers,
    deep nesting (past `MAX_VALUE_DEPTH`) are reported as errors.

    Args:
        schema: a schema accepted by `check_schema`.
        value: the JSON-like value to check.
        skip: values for which it returns ``True`` match any schema (used for
            reference strings, which are checked again once substituted).
    """
    errors: list[str] = []
    _Validation(schema, skip).check(schema, value, "$", 0, errors)
    return errors


@final
class _Validation:
    """One validation: the root schema (for ``$ref``) and the values to skip."""

    __slots__ = ("root", "skip")

    def __init__(self, root: object, skip: Callable[[object], bool] | None) -> None:
        self.root = root
        self.skip = skip

    def failures(self, schema: object, value: object, path: str, depth: int) -> list[str]:
        found: list[str] = []
        self.check(schema, value, path, depth, found)
        return found

    def check(self, schema: object, value: object, path: str, depth: int, errors: list[str]) -> None:
        if self.skip is not None and self.skip(value):
            return
        if schema is True:
            return
        if not isinstance(schema, Mapping):
            errors.append(f"{path}: no value is allowed here")
            return
        if depth > MAX_VALUE_DEPTH:
            errors.append(f"{path}: nested more than {MAX_VALUE_DEPTH} levels deep")
            return
        expected = schema.get("type")
        if expected is not None:
            names = [expected] if isinstance(expected, str) else list(expected)
            if not any(kind_matches(n, value) for n in names):
                errors.append(f"{path}: expected {' or '.join(names)}, got {json_kind(value)} {short(value)}")
                return
        if "$ref" in schema:
            self._check_ref(schema["$ref"], value, path, depth, errors)
        if "enum" in schema and not any(json_equal(value, option) for option in schema["enum"]):
            errors.append(f"{path}: {short(value)} is not one of {short(schema['enum'], 200)}")
        if "const" in schema and not json_equal(value, schema["const"]):
            errors.append(f"{path}: must be {short(schema['const'])}, got {short(value)}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            errors.extend(f"{path}: {problem}" for problem in number_problems(schema, value))
        elif isinstance(value, str):
            _check_string(schema, value, path, errors)
        elif isinstance(value, Mapping):
            self._check_object(schema, value, path, depth, errors)
        elif isinstance(value, (list, tuple)):
            self._check_array(schema, value, path, depth, errors)
        for option in schema.get("allOf", ()):
            self.check(option, value, path, depth, errors)
        if "anyOf" in schema:
            self._check_any_of(schema["anyOf"], value, path, depth, errors)
        if "oneOf" in schema:
            matches = sum(1 for o in schema["oneOf"] if not self.failures(o, value, path, depth))
            if matches != 1:
                errors.append(f"{path}: {short(value)} must match exactly one allowed shape, matches {matches}")
        if "not" in schema and not self.failures(schema["not"], value, path, depth):
            errors.append(f"{path}: {short(value)} matches a shape that is not allowed")

    def _check_ref(self, ref: object, value: object, path: str, depth: int, errors: list[str]) -> None:
        tokens = ref_tokens(ref) if isinstance(ref, str) else None
        target = MISSING if tokens is None else follow(self.root, tokens)
        if target is MISSING:
            errors.append(f"{path}: the schema's $ref {short(ref)} does not resolve")
        else:
            self.check(target, value, path, depth, errors)

    def _check_any_of(self, options: list[Any], value: object, path: str, depth: int, errors: list[str]) -> None:
        results = []
        for option in options:
            found = self.failures(option, value, path, depth)
            if not found:
                return
            results.append((option, found))
        # Report the branch meant for this kind of value (e.g. the list in list[str] | None).
        shapes = [(self._kinds(option), found) for option, found in results]
        fitting = [found for kinds, found in shapes if any(kind_matches(k, value) for k in kinds)]
        if len(fitting) == 1:
            errors.extend(fitting[0])
            return
        kinds = sorted({k for option_kinds, _ in shapes for k in option_kinds})
        expected = " or ".join(kinds) if kinds else "one of the allowed shapes"
        errors.append(f"{path}: expected {expected}, got {json_kind(value)} {short(value)}")

    def _kinds(self, schema: object) -> list[str]:
        """The JSON types a schema names, through its ``$ref`` if it has no ``type`` of its own."""
        for _ in range(8):  # a chain of references to references ends somewhere near
            if not isinstance(schema, Mapping):
                return []
            kind = schema.get("type")
            if kind is not None or "$ref" not in schema:
                return [kind] if isinstance(kind, str) else list(kind or [])
            tokens = ref_tokens(schema["$ref"]) if isinstance(schema["$ref"], str) else None
            schema = MISSING if tokens is None else follow(self.root, tokens)
        return []

    def _check_object(
        self, schema: JSONSchema, value: Mapping[Any, Any], path: str, depth: int, errors: list[str]
    ) -> None:
        properties: Mapping[str, Any] = schema.get("properties", {})
        for name in schema.get("required", ()):
            if name not in value:
                errors.append(f"{path}: missing required property {name!r}")
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if not isinstance(key, str):
                errors.append(f"{path}: property names must be strings, got {short(key)}")
            elif key in properties:
                self.check(properties[key], item, f"{path}.{key}", depth + 1, errors)
            elif extra is False:
                known = ", ".join(sorted(properties)) or "none"
                errors.append(f"{path}: unexpected property {key!r} (known: {known})")
            elif extra is not True:
                self.check(extra, item, f"{path}.{key}", depth + 1, errors)
        if "minProperties" in schema and len(value) < schema["minProperties"]:
            errors.append(f"{path}: fewer than {schema['minProperties']} properties")
        if "maxProperties" in schema and len(value) > schema["maxProperties"]:
            errors.append(f"{path}: more than {schema['maxProperties']} properties")

    def _check_array(self, schema: JSONSchema, value: Sequence[Any], path: str, depth: int, errors: list[str]) -> None:
        prefix: Sequence[Any] = schema.get("prefixItems", ())
        rest = schema.get("items", True)
        for i, item in enumerate(value):
            self.check(prefix[i] if i < len(prefix) else rest, item, f"{path}[{i}]", depth + 1, errors)
        if "minItems" in schema and len(value) < schema["minItems"]:
            errors.append(f"{path}: fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"{path}: more than {schema['maxItems']} items")
        if schema.get("uniqueItems"):
            _check_unique(value, path, MAX_VALUE_DEPTH - depth, errors)


def _check_unique(items: Sequence[Any], path: str, depth: int, errors: list[str]) -> None:
    seen: set[object] = set()
    for item in items:
        key = json_key(item, depth)
        if key is None:
            errors.append(f"{path}: items nest more than {MAX_VALUE_DEPTH} levels deep")
            return
        if key in seen:
            errors.append(f"{path}: items must be unique, {short(item)} repeats")
            return
        seen.add(key)


def _check_string(schema: JSONSchema, value: str, path: str, errors: list[str]) -> None:
    if "minLength" in schema and len(value) < schema["minLength"]:
        errors.append(f"{path}: shorter than {schema['minLength']} characters")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        errors.append(f"{path}: longer than {schema['maxLength']} characters")
    if "pattern" in schema and re.search(schema["pattern"], value) is None:
        errors.append(f"{path}: {short(value)} does not match the pattern {schema['pattern']!r}")
