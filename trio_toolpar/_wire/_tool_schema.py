"""The argument schema a model is shown: the tool's own, widened so that a reference fits anywhere.

A model passes one call's result to another by writing ``"$#1.total"``
where a value is expected, but a tool's schema says ``{"type": "integer"}``
there; a model held to the schema (OpenAI's ``strict`` mode) could not
write the reference at all, and one that is not would be told by the schema
that it may not. So every place that expects a value (a property, array
items, ``additionalProperties``, a ``$defs`` entry) becomes::

    {"anyOf": [<the original>, {"type": "string", "pattern": REFERENCE_PATTERN}]}

Places that already take any string are left alone. The executor still
validates the real arguments against the tool's own schema, after the
references are substituted; this schema is only what the model is told.

`strict_schema` also brings a schema into OpenAI's strict form (every
object closed and all its properties required) and says plainly what
cannot be brought there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._arguments._references import CALL_ID, GROUP, POSITION, SEGMENT
from .._tools._registry import Tool
from .._values._exceptions import SchemaError
from ._payloads import as_data

__all__ = ["REFERENCE_PATTERN", "REFERENCE_SCHEMA", "model_parameters", "strict_schema", "widen"]

REFERENCE_PATTERN = rf"^\$({POSITION}(\.{SEGMENT})*|({CALL_ID}|{GROUP})(\.[^.]+)*)$"
"""A whole reference as a JSON Schema (ECMA-262) pattern: ``$#N`` or ``$<call id>``, then ``.key`` segments.

The same language as the executor's syntax for a whole reference
(`trio_toolpar._arguments._references`) less the malformed forms (an empty
path segment), which the executor rejects. (ECMA-262 reads a word character
as ASCII only, so a positional path with other letters is not offered where a number
is expected; a reference inside a text only goes where any string does,
which is never widened.)
"""

REFERENCE_SCHEMA: Mapping[str, Any] = {"type": "string", "pattern": REFERENCE_PATTERN}
"""The alternative added to each place; the syntax itself is explained once, in the tool's description."""

# Keywords whose value is one schema, or a list or map of schemas, in a place that expects a value.
_ONE = ("items", "additionalProperties", "not", "contains")
_MANY = ("prefixItems",)
_MAP = ("properties", "patternProperties", "$defs", "definitions")
# Keywords that constrain a string: with one of these, a "string" place may refuse a reference.
_STRING_LIMITS = frozenset({"enum", "const", "pattern", "format", "minLength", "maxLength", "not", "allOf", "oneOf"})
# What OpenAI's strict mode accepts; anything else is left out of what the model sees.
_STRICT_KEYWORDS = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "anyOf",
        "enum",
        "const",
        "description",
        "title",
        "$defs",
        "$ref",
        "pattern",
        "format",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minItems",
        "maxItems",
    }
)


def model_parameters(tool: Tool, *, references: bool, strict: bool) -> dict[str, Any]:
    """``tool``'s argument schema as a model is shown it: `strict_schema` if ``strict``, then `widen` if ``references``.

    Raises:
        SchemaError: ``strict`` and a schema that has no strict form.
    """
    schema: dict[str, Any] = as_data(tool.parameters)
    if strict:
        schema = strict_schema(schema, tool=tool.name)
    return widen(schema) if references else schema


def widen(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the arguments' schema in which a reference string is valid wherever a value is expected.

    The root is the arguments object itself, which a reference cannot replace:
    only what it holds is widened.
    """
    return _children(dict(parameters))


def _widen(schema: object) -> object:
    if not isinstance(schema, Mapping):
        return schema  # True / False: True takes anything already, False nothing (not even a reference)
    node = _children(dict(schema))
    if _takes_any_string(node) or "$ref" in node:
        return node  # a $ref target is a $defs entry, widened where it is defined
    if "oneOf" in node:
        node["anyOf"] = node.pop("oneOf")  # a reference could match two branches; anyOf never minds
    if "anyOf" in node and set(node) <= {"anyOf", "description", "title", "default"}:
        node["anyOf"] = [*node["anyOf"], dict(REFERENCE_SCHEMA)]
        return node
    return {"anyOf": [node, dict(REFERENCE_SCHEMA)]}


def _children(node: dict[str, Any]) -> dict[str, Any]:
    for key in _ONE:
        if key in node:
            node[key] = _widen(node[key])
    for key in _MANY:
        if isinstance(node.get(key), list):
            node[key] = [_widen(s) for s in node[key]]
    for key in _MAP:
        if isinstance(node.get(key), Mapping):
            node[key] = {name: _widen(s) for name, s in node[key].items()}
    for key in ("anyOf", "oneOf"):
        if isinstance(node.get(key), list):
            node[key] = [_children(dict(s)) if isinstance(s, Mapping) else s for s in node[key]]
    return node


def _takes_any_string(node: Mapping[str, Any]) -> bool:
    if not node:
        return True  # {} takes anything
    kind = node.get("type")
    kinds = [kind] if isinstance(kind, str) else kind if isinstance(kind, list) else []
    if "string" in kinds and not _STRING_LIMITS & node.keys() and "anyOf" not in node:
        return True
    options = node.get("anyOf")
    return isinstance(options, list) and any(isinstance(o, Mapping) and _takes_any_string(o) for o in options)


def strict_schema(parameters: Mapping[str, Any], *, tool: str) -> dict[str, Any]:
    """The arguments' schema in OpenAI's strict form: every object closed, all its properties required.

    A property that was optional stays optional for the tool only if it
    accepts ``null`` (the model must then send ``null`` for "not given"):
    declare it ``limit: int | None = None``. Keywords strict mode does not
    know (``default``, ``minLength`` ...) are left out of what the model sees;
    the executor still checks them.

    Raises:
        SchemaError: something that has no strict form (a free-form object,
            an array without ``items``, an optional property that refuses
            ``null``), named with how to fix it.
    """
    return _strict(dict(parameters), f"tool {tool!r}", "arguments")


def _strict(node: dict[str, Any], tool: str, where: str) -> dict[str, Any]:
    if "oneOf" in node:
        node["anyOf"] = node.pop("oneOf")
    out = {k: v for k, v in node.items() if k in _STRICT_KEYWORDS}
    kind = node.get("type")
    kinds: list[object] = list(kind) if isinstance(kind, list) else [kind]
    if "object" in kinds or "properties" in node:
        _strict_object(out, node, tool, where)
    if "array" in kinds or "items" in node:
        if not isinstance(node.get("items"), Mapping):
            raise SchemaError(
                f"{tool}: {where} is an array without one 'items' schema, which strict mode cannot express; "
                "annotate it list[X], or pass strict=False",
                path=where,
            )
        out["items"] = _strict(dict(node["items"]), tool, f"{where}[]")
    if isinstance(node.get("anyOf"), list):
        out["anyOf"] = [_strict(dict(s), tool, where) if isinstance(s, Mapping) else s for s in node["anyOf"]]
    if isinstance(node.get("$defs"), Mapping):
        out["$defs"] = {k: _strict(dict(s), tool, f"$defs.{k}") for k, s in node["$defs"].items()}
    if not out.keys() - {"description", "title"}:
        raise SchemaError(
            f"{tool}: {where} accepts any value, which strict mode cannot express; "
            "give it a type, or pass strict=False",
            path=where,
        )
    return out


def _strict_object(out: dict[str, Any], node: Mapping[str, Any], tool: str, where: str) -> None:
    properties = node.get("properties")
    if node.get("additionalProperties", False) is not False or not isinstance(properties, Mapping):
        raise SchemaError(
            f"{tool}: {where} is an object that takes keys of its own choosing, which strict mode cannot express; "
            "list its properties (a TypedDict), or pass strict=False",
            path=where,
        )
    required = set(node.get("required") or ())
    fields: dict[str, Any] = {}
    for name, sub in properties.items():
        place = f"{where}.{name}"
        if not isinstance(sub, Mapping):
            raise SchemaError(f"{tool}: {place} has a boolean schema; give it a type, or pass strict=False", path=place)
        if name not in required and not _accepts_null(sub):
            raise SchemaError(
                f"{tool}: {place} is optional, but strict mode makes the model send every property, and it "
                f"does not accept null; declare it '{name}: X | None = None', or pass strict=False",
                path=place,
            )
        fields[name] = _strict(dict(sub), tool, place)
    out["properties"] = fields
    out["required"] = list(fields)
    out["additionalProperties"] = False


def _accepts_null(node: Mapping[str, Any]) -> bool:
    kind = node.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    options = node.get("anyOf", node.get("oneOf"))
    return isinstance(options, list) and any(isinstance(o, Mapping) and _accepts_null(o) for o in options)
