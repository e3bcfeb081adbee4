"""JSON schemas: validating arguments against a schema that `check_schema` accepted.

The validator covers the subset of JSON Schema that tool definitions use in
practice (the keywords in `CHECKED`), local references included (``$ref`` to
``#``, ``#/$defs/...`` or ``#/definitions/...``, as pydantic models and MCP
servers write them). Which schemas are accepted, once, when a tool is
registered, is `trio_toolpar._arguments._schema_check`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, final

from .._values._jsonvalue import NUMBER_KEYWORDS, json_equal, json_key, json_kind, kind_matches, number_problems, short
from ._pointer import MISSING, follow, ref_tokens
from ._schema_check import CHECKED, JSONSchema, check_schema

__all__ = ["CHECKED", "MAX_VALUE_DEPTH", "JSONSchema", "check_schema", "validate"]

_NUMBER_KEYS = frozenset(NUMBER_KEYWORDS)
_VALUE_KEYWORDS = frozenset({"$ref", "enum", "const"})
_COMBINING_KEYWORDS = frozenset({"allOf", "anyOf", "oneOf", "not"})

MAX_VALUE_DEPTH: Final = 128
"""Values nested deeper are reported, not checked (the planner already stops at 100 levels)."""


def validate(schema: JSONSchema | bool, value: object, *, skip: Callable[[object], bool] | None = None) -> list[str]:
    """Check ``value`` against ``schema``; return readable errors (empty: valid).

    Never raises for a JSON-like value: NaN, the infinities, huge integers,
    deep nesting (past `MAX_VALUE_DEPTH`) are reported as errors.

    Args:
        schema: a schema accepted by `check_schema`.
        value: the JSON-like value to check.
        skip: strings for which it returns ``True`` match any schema (used for
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
        if self.skip is not None and isinstance(value, str) and self.skip(value):
            return
        if schema is True:
            return
        if type(schema) is not dict and not isinstance(schema, Mapping):
            errors.append(f"{path}: no value is allowed here")
            return
        if depth > MAX_VALUE_DEPTH:
            errors.append(f"{path}: nested more than {MAX_VALUE_DEPTH} levels deep")
            return
        expected = schema.get("type")
        if expected is not None and not _of_type(expected, value):
            names = [expected] if isinstance(expected, str) else list(expected)
            errors.append(f"{path}: expected {' or '.join(names)}, got {json_kind(value)} {short(value)}")
            return
        # Most schemas have none of the keywords of the first and last steps: one look for each step.
        if not _VALUE_KEYWORDS.isdisjoint(schema.keys()):
            self._check_value(schema, value, path, depth, errors)
        # Exact types first: the abstract-class isinstance below is slow.
        if type(value) is dict:
            self._check_object(schema, value, path, depth, errors)
        elif type(value) is list:
            self._check_array(schema, value, path, depth, errors)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            if not _NUMBER_KEYS.isdisjoint(schema.keys()):  # without them, nothing to say about a number
                errors.extend(f"{path}: {problem}" for problem in number_problems(schema, value))
        elif isinstance(value, str):
            _check_string(schema, value, path, errors)
        elif isinstance(value, Mapping):
            self._check_object(schema, value, path, depth, errors)
        elif isinstance(value, (list, tuple)):
            self._check_array(schema, value, path, depth, errors)
        if not _COMBINING_KEYWORDS.isdisjoint(schema.keys()):
            self._check_combined(schema, value, path, depth, errors)

    def _check_value(self, schema: JSONSchema, value: object, path: str, depth: int, errors: list[str]) -> None:
        """``$ref``, ``enum`` and ``const``."""
        if "$ref" in schema:
            self._check_ref(schema["$ref"], value, path, depth, errors)
        if "enum" in schema and not any(json_equal(value, option) for option in schema["enum"]):
            errors.append(f"{path}: {short(value)} is not one of {short(schema['enum'], 200)}")
        if "const" in schema and not json_equal(value, schema["const"]):
            errors.append(f"{path}: must be {short(schema['const'])}, got {short(value)}")

    def _check_combined(self, schema: JSONSchema, value: object, path: str, depth: int, errors: list[str]) -> None:
        """``allOf``, ``anyOf``, ``oneOf`` and ``not``."""
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


def _of_type(expected: str | list[str], value: object) -> bool:
    """Whether ``value`` is of the JSON type, or one of the JSON types, that ``expected`` names."""
    if isinstance(expected, str):
        return kind_matches(expected, value)
    return any(kind_matches(name, value) for name in expected)


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
