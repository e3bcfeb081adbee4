"""JSON schemas: derived from a tool's signature, and checked without I/O.

The validator covers the subset of JSON Schema that tool definitions use in
practice (the keywords in `_CHECKED`). A schema that uses anything else is
refused when the tool is registered, rather than silently not checked.
"""

from __future__ import annotations

import enum
import functools
import inspect
import math
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, Union, get_args, get_origin

from ._exceptions import RegistrationError, SchemaError

__all__ = ["check_schema", "compile_acceptor", "schema_from_signature", "validate"]

JSONSchema = Mapping[str, Any]

_CHECKED = frozenset(
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
_TYPES = frozenset({"object", "array", "string", "integer", "number", "boolean", "null"})


def check_schema(schema: object, path: str = "$") -> None:
    """Raise `SchemaError` unless every keyword of ``schema`` is one we check.

    ``format`` and the other annotation keywords are accepted and not enforced.
    """
    if isinstance(schema, bool):
        return
    if not isinstance(schema, Mapping):
        raise SchemaError(f"schema at {path} must be an object or a boolean, not {type(schema).__name__}", path=path)
    for key, sub in schema.items():
        if key in _ANNOTATIONS:
            continue
        if key not in _CHECKED:
            raise SchemaError(
                f"schema keyword {key!r} at {path} is not supported by the built-in validator; "
                f"supported: {', '.join(sorted(_CHECKED))}",
                path=path,
            )
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
                check_schema(prop, f"{path}.{name}")
        elif key in ("additionalProperties", "items", "not"):
            check_schema(sub, f"{path}.<{key}>")
        elif key in ("anyOf", "oneOf", "allOf", "prefixItems"):
            if not isinstance(sub, list) or not sub:
                raise SchemaError(f"{key!r} at {path} must be a non-empty list of schemas", path=path)
            for i, option in enumerate(sub):
                check_schema(option, f"{path}.<{key}[{i}]>")
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


def _type_matches(name: str, value: object) -> bool:
    # JSON types, not Python ones: a bool is not an integer, and 1.0 is not an
    # integer either (models that send 5.0 for an int get a clear error).
    if name == "string":
        return isinstance(value, str)
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if name == "object":
        return type(value) is dict or isinstance(value, Mapping)
    return isinstance(value, (list, tuple))  # "array"


def _json_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return type(value).__name__


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _json_equal(a: object, b: object) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def validate(schema: JSONSchema | bool, value: object, *, skip: Callable[[object], bool] | None = None) -> list[str]:
    """Check ``value`` against ``schema``; return readable errors (empty: valid).

    Args:
        schema: a schema accepted by `check_schema`.
        value: the JSON-like value to check.
        skip: values for which it returns ``True`` match any schema (used for
            reference strings, which are checked again once substituted).
    """
    errors: list[str] = []
    _validate(schema, value, "$", errors, skip)
    return errors


def _validate(
    schema: JSONSchema | bool, value: object, path: str, errors: list[str], skip: Callable[[object], bool] | None
) -> None:
    if skip is not None and skip(value):
        return
    if schema is True:
        return
    if schema is False:
        errors.append(f"{path}: no value is allowed here")
        return
    assert isinstance(schema, Mapping)
    expected = schema.get("type")
    if expected is not None:
        names = [expected] if isinstance(expected, str) else list(expected)
        if not any(_type_matches(n, value) for n in names):
            errors.append(f"{path}: expected {' or '.join(names)}, got {_json_name(value)} {_short(value)}")
            return
    if "enum" in schema and not any(_json_equal(value, option) for option in schema["enum"]):
        errors.append(f"{path}: {_short(value)} is not one of {schema['enum']!r}")
    if "const" in schema and not _json_equal(value, schema["const"]):
        errors.append(f"{path}: must be {schema['const']!r}, got {_short(value)}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        _check_number(schema, value, path, errors)
    elif isinstance(value, str):
        _check_string(schema, value, path, errors)
    elif type(value) is dict or isinstance(value, Mapping):
        _check_object(schema, value, path, errors, skip)
    elif isinstance(value, (list, tuple)):
        _check_array(schema, value, path, errors, skip)
    for option in schema.get("allOf", ()):
        _validate(option, value, path, errors, skip)
    if "anyOf" in schema:
        _check_any_of(schema["anyOf"], value, path, errors, skip)
    if "oneOf" in schema:
        matches = sum(1 for o in schema["oneOf"] if not validate(o, value, skip=skip))
        if matches != 1:
            errors.append(f"{path}: {_short(value)} must match exactly one allowed shape, matches {matches}")
    if "not" in schema and not validate(schema["not"], value, skip=skip):
        errors.append(f"{path}: {_short(value)} matches a shape that is not allowed")


Acceptor = Callable[[object], bool]
"""A quick check: ``True`` only for values `validate` finds nothing wrong with."""

_NONE_TYPE = type(None)
_PLAIN = frozenset({str, int, float, bool, _NONE_TYPE, dict, list, tuple})


def _never(value: object) -> bool:
    return False


def _always(value: object) -> bool:
    return True


def compile_acceptor(schema: JSONSchema | bool, *, flat: bool = False) -> Acceptor:
    """Compile ``schema`` (accepted by `check_schema`) into a quick check.

    The check answers ``True`` only when ``validate(schema, value)`` would
    return no errors, and it handles the common case (plain dicts, lists and
    scalars against the usual keywords) without building paths or messages.
    ``False`` means "not sure": run `validate` for the verdict and its
    messages. Values of other Python types than the exact JSON ones, and the
    keywords ``oneOf``, ``not`` and ``uniqueItems``, always answer ``False``.

    With ``flat``, it also answers ``False`` unless ``value`` is a dict whose
    values are all scalars or strings that do not start with ``$``: arguments
    with nothing for the planner to find (no references, escapes or nesting),
    which are most tool calls, and which the planner then checks in one pass.
    """
    if flat:
        if schema is not True and isinstance(schema, Mapping) and _is_plain_object(schema):
            return _object_acceptor(schema, typed=True, flat=True)
        anything = compile_acceptor(schema)
        return lambda v: _flat_dict(v) and anything(v)
    if schema is True:
        return _always
    if schema is False or not isinstance(schema, Mapping):
        return _never
    if "oneOf" in schema or "not" in schema or schema.get("uniqueItems"):
        return _never
    if _is_plain_object(schema):
        return _object_acceptor(schema, typed=True)  # the usual tool schema: its type check folded in
    expected = schema.get("type")
    checks: list[Acceptor] = []
    if expected is not None:
        checks.append(_type_acceptor([expected] if isinstance(expected, str) else expected))
    if "enum" in schema:
        options = list(schema["enum"])
        checks.append(lambda v: any(_json_equal(v, o) for o in options))
    if "const" in schema:
        const = schema["const"]
        checks.append(lambda v: _json_equal(v, const))
    if _NUMBER_KEYS & schema.keys():
        checks.append(functools.partial(_accepts_number, {k: schema[k] for k in _NUMBER_KEYS & schema.keys()}))
    if _STRING_KEYS & schema.keys():
        pattern = re.compile(schema["pattern"]) if "pattern" in schema else None
        checks.append(functools.partial(_accepts_string, schema.get("minLength"), schema.get("maxLength"), pattern))
    if _OBJECT_KEYS & schema.keys():
        checks.append(_object_acceptor(schema))
    if _ARRAY_KEYS & schema.keys():
        checks.append(_array_acceptor(schema))
    checks.extend(compile_acceptor(option) for option in schema.get("allOf", ()))
    if "anyOf" in schema:
        branches = [compile_acceptor(option) for option in schema["anyOf"]]
        checks.append(lambda v: any(branch(v) for branch in branches))
    if expected is None:
        checks.insert(0, _plain_value)  # a type check (first) lets through only the exact JSON types
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda v: first(v) and second(v)
    return lambda v: all(check(v) for check in checks)


_NUMBER_KEYS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"})
_STRING_KEYS = frozenset({"minLength", "maxLength", "pattern"})
_OBJECT_KEYS = frozenset({"properties", "required", "additionalProperties", "minProperties", "maxProperties"})
_ARRAY_KEYS = frozenset({"items", "prefixItems", "minItems", "maxItems"})
_OTHER_KEYS = frozenset({"enum", "const", "allOf", "anyOf", "oneOf", "not", "uniqueItems"})
_OTHER_CHECKS = _OTHER_KEYS | _NUMBER_KEYS | _STRING_KEYS | _ARRAY_KEYS
"""Keywords with a check of their own besides ``type`` and the object keywords."""
_TYPE_ONLY_SKIPS = _OTHER_CHECKS | _OBJECT_KEYS


def _is_plain_object(schema: Mapping[str, Any]) -> bool:
    """Whether ``schema`` is ``type: object`` with object keywords only (and no never-compiled ones)."""
    return schema.get("type") == "object" and not (_OTHER_CHECKS & schema.keys())


_FLAT_SCALARS = frozenset({int, float, bool, _NONE_TYPE})


def _flat_dict(value: object) -> bool:
    if type(value) is not dict:
        return False
    for item in value.values():
        kind = type(item)
        if item.startswith("$") if kind is str else kind not in _FLAT_SCALARS:
            return False
    return True


def _plain_value(value: object) -> bool:
    return type(value) in _PLAIN


_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (_NONE_TYPE,),
    "object": (dict,),
    "array": (list, tuple),
}


def _type_acceptor(names: list[str]) -> Acceptor:
    kinds = frozenset(kind for name in names for kind in _PYTHON_TYPES[name])
    if "number" in names:
        return lambda v: type(v) in kinds and (type(v) is not float or math.isfinite(v))
    return lambda v: type(v) in kinds


def _accepts_number(bounds: dict[str, Any], value: object) -> bool:
    if type(value) is not int and type(value) is not float:
        return True
    return _check_number_ok(bounds, value)


def _check_number_ok(schema: Mapping[str, Any], value: float) -> bool:
    errors: list[str] = []
    _check_number(schema, value, "", errors)
    return not errors


def _accepts_string(
    min_length: int | None, max_length: int | None, pattern: re.Pattern[str] | None, value: object
) -> bool:
    if type(value) is not str:
        return True
    if min_length is not None and len(value) < min_length:
        return False
    if max_length is not None and len(value) > max_length:
        return False
    return pattern is None or pattern.search(value) is not None


def _simple_kinds(schema: object) -> frozenset[type] | None:
    """The Python types a schema allows, if its one check is a non-numeric ``type``."""
    if not isinstance(schema, Mapping) or _TYPE_ONLY_SKIPS & schema.keys():
        return None
    expected = schema.get("type")
    names = [expected] if isinstance(expected, str) else expected
    if not isinstance(names, list) or not names or "number" in names:
        return None  # no type at all, or a number, whose check also rules out NaN and infinities
    return frozenset(kind for name in names for kind in _PYTHON_TYPES[name])


def _object_acceptor(schema: JSONSchema, *, typed: bool = False, flat: bool = False) -> Acceptor:
    """Checks the object keywords; with ``typed`` the value must be a dict, too (``flat``: see `compile_acceptor`)."""
    declared: Mapping[str, Any] = schema.get("properties", {})
    # A property that only has a type is checked inline, without a call per property.
    simple = {name: kinds for name, sub in declared.items() if (kinds := _simple_kinds(sub)) is not None}
    properties = {name: compile_acceptor(sub) for name, sub in declared.items() if name not in simple}
    required = tuple(schema.get("required", ()))
    extra = schema.get("additionalProperties", True)
    other = None if extra is True or extra is False else compile_acceptor(extra)
    closed = extra is False
    least = schema.get("minProperties")
    most = schema.get("maxProperties")

    def accepts(value: object) -> bool:
        if type(value) is not dict:
            return not typed
        for name in required:
            if name not in value:
                return False
        for key, item in value.items():
            if flat:
                kind = type(item)
                if item.startswith("$") if kind is str else kind not in _FLAT_SCALARS:
                    return False
            kinds = simple.get(key)
            if kinds is not None:
                if type(item) not in kinds:
                    return False
                continue
            check = properties.get(key)
            if check is not None:
                if not check(item):
                    return False
            elif type(key) is not str or closed or (other is not None and not other(item)):
                return False
        return (least is None or len(value) >= least) and (most is None or len(value) <= most)

    return accepts


def _array_acceptor(schema: JSONSchema) -> Acceptor:
    prefix = [compile_acceptor(sub) for sub in schema.get("prefixItems", ())]
    rest = compile_acceptor(schema.get("items", True))
    least = schema.get("minItems")
    most = schema.get("maxItems")

    def accepts(value: object) -> bool:
        if type(value) is not list and type(value) is not tuple:
            return True
        items: Sequence[object] = value
        if (least is not None and len(items) < least) or (most is not None and len(items) > most):
            return False
        if prefix:
            return all((prefix[i] if i < len(prefix) else rest)(item) for i, item in enumerate(items))
        if rest is _always:
            return True
        return all(rest(item) for item in items)

    return accepts


def _check_any_of(
    options: list[Any], value: object, path: str, errors: list[str], skip: Callable[[object], bool] | None
) -> None:
    results = []
    for option in options:
        found: list[str] = []
        _validate(option, value, path, found, skip)
        if not found:
            return
        results.append((option, found))
    # Report the branch meant for this kind of value (e.g. the list in list[str] | None).
    fitting = [found for option, found in results if isinstance(option, Mapping) and _kind_fits(option, value)]
    if len(fitting) == 1:
        errors.extend(fitting[0])
        return
    kinds = sorted({t for option in options if isinstance(option, Mapping) for t in _kinds(option)})
    expected = " or ".join(kinds) if kinds else "one of the allowed shapes"
    errors.append(f"{path}: expected {expected}, got {_json_name(value)} {_short(value)}")


def _kinds(schema: Mapping[str, Any]) -> list[str]:
    kind = schema.get("type")
    return [kind] if isinstance(kind, str) else list(kind or [])


def _kind_fits(schema: Mapping[str, Any], value: object) -> bool:
    kinds = _kinds(schema)
    return bool(kinds) and any(_type_matches(k, value) for k in kinds)


def _check_number(schema: JSONSchema, value: float, path: str, errors: list[str]) -> None:
    if "minimum" in schema and value < schema["minimum"]:
        errors.append(f"{path}: {value} is less than the minimum {schema['minimum']}")
    if "maximum" in schema and value > schema["maximum"]:
        errors.append(f"{path}: {value} is more than the maximum {schema['maximum']}")
    if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
        errors.append(f"{path}: {value} must be more than {schema['exclusiveMinimum']}")
    if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
        errors.append(f"{path}: {value} must be less than {schema['exclusiveMaximum']}")
    if "multipleOf" in schema and math.remainder(value, schema["multipleOf"]) != 0:
        errors.append(f"{path}: {value} is not a multiple of {schema['multipleOf']}")


def _check_string(schema: JSONSchema, value: str, path: str, errors: list[str]) -> None:
    if "minLength" in schema and len(value) < schema["minLength"]:
        errors.append(f"{path}: shorter than {schema['minLength']} characters")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        errors.append(f"{path}: longer than {schema['maxLength']} characters")
    if "pattern" in schema and re.search(schema["pattern"], value) is None:
        errors.append(f"{path}: {_short(value)} does not match the pattern {schema['pattern']!r}")


def _check_object(
    schema: JSONSchema, value: Mapping[Any, Any], path: str, errors: list[str], skip: Callable[[object], bool] | None
) -> None:
    properties: Mapping[str, Any] = schema.get("properties", {})
    for name in schema.get("required", ()):
        if name not in value:
            errors.append(f"{path}: missing required property {name!r}")
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        if not isinstance(key, str):
            errors.append(f"{path}: property names must be strings, got {_short(key)}")
        elif key in properties:
            _validate(properties[key], item, f"{path}.{key}", errors, skip)
        elif extra is False:
            known = ", ".join(sorted(properties)) or "none"
            errors.append(f"{path}: unexpected property {key!r} (known: {known})")
        elif extra is not True:
            _validate(extra, item, f"{path}.{key}", errors, skip)
    if "minProperties" in schema and len(value) < schema["minProperties"]:
        errors.append(f"{path}: fewer than {schema['minProperties']} properties")
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        errors.append(f"{path}: more than {schema['maxProperties']} properties")


def _check_array(
    schema: JSONSchema, value: Sequence[Any], path: str, errors: list[str], skip: Callable[[object], bool] | None
) -> None:
    prefix: Sequence[Any] = schema.get("prefixItems", ())
    for i, item in enumerate(value):
        sub = prefix[i] if i < len(prefix) else schema.get("items", True)
        _validate(sub, item, f"{path}[{i}]", errors, skip)
    if "minItems" in schema and len(value) < schema["minItems"]:
        errors.append(f"{path}: fewer than {schema['minItems']} items")
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        errors.append(f"{path}: more than {schema['maxItems']} items")
    if schema.get("uniqueItems"):
        seen: list[object] = []
        for item in value:
            if any(_json_equal(item, s) for s in seen):
                errors.append(f"{path}: items must be unique, {_short(item)} repeats")
                break
            seen.append(item)


# --- deriving a schema from a signature --------------------------------------------


def _hint_schema(hint: Any, where: str) -> dict[str, Any]:
    if hint is Any or hint is inspect.Parameter.empty or hint is object:
        return {}
    origin = get_origin(hint)
    args = get_args(hint)
    if origin is typing.Annotated:
        schema = _hint_schema(args[0], where)
        for extra in args[1:]:
            if isinstance(extra, str):
                schema["description"] = extra
            elif isinstance(extra, Mapping):
                schema.update(extra)
        return schema
    if hint is None or hint is type(None):
        return {"type": "null"}
    if hint is bool:
        return {"type": "boolean"}
    if hint is int:
        return {"type": "integer"}
    if hint is float:
        return {"type": "number"}
    if hint is str:
        return {"type": "string"}
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return {"enum": [member.value for member in hint]}
    if origin is Literal:
        return {"enum": list(args)}
    if origin is Union or origin is types.UnionType:
        return {"anyOf": [_hint_schema(a, where) for a in args]}
    if (
        hint in (list, tuple)
        or origin in (list, Sequence, typing.Sequence)
        or (origin is tuple and args[-1:] == (...,))
    ):
        return {"type": "array", "items": _hint_schema(args[0], where)} if args else {"type": "array"}
    if origin is tuple:
        return {
            "type": "array",
            "prefixItems": [_hint_schema(a, where) for a in args],
            "minItems": len(args),
            "maxItems": len(args),
        }
    if hint is dict or origin in (dict, Mapping):
        if args and args[0] is not str:
            raise RegistrationError(f"{where}: JSON object keys are strings; {hint!r} cannot be described")
        return {"type": "object", "additionalProperties": _hint_schema(args[1], where)} if args else {"type": "object"}
    if typing.is_typeddict(hint):
        hints = typing.get_type_hints(hint, include_extras=True)
        return {
            "type": "object",
            "properties": {k: _hint_schema(v, f"{where}.{k}") for k, v in hints.items()},
            "required": sorted(hint.__required_keys__),
            "additionalProperties": False,
        }
    raise RegistrationError(
        f"{where}: cannot derive a JSON schema from the type {hint!r}; "
        "use a JSON-like annotation or pass parameters={...} to register the schema explicitly"
    )


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


def schema_from_signature(
    fn: Callable[..., Any], *, tool: str, context_type: type, derive: bool = True
) -> tuple[dict[str, Any], str | None, str]:
    """Derive the arguments' schema of ``fn``.

    With ``derive=False`` (an explicit schema will be used) only the context
    parameter and the description are looked for.

    Returns:
        ``(schema, context_parameter, description)``, where ``context_parameter``
        is the name of the parameter annotated with ``context_type`` (it is
        filled by the executor, not by the model) or ``None``.
    """
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except (NameError, TypeError) as exc:
        if not derive:
            # An explicit schema is given: only the context parameter is needed, by name if need be.
            raw = getattr(fn, "__annotations__", {})
            hints = {k: context_type for k, v in raw.items() if v in (context_type, context_type.__name__)}
        else:
            raise RegistrationError(
                f"tool {tool!r}: cannot resolve the type hints of {fn!r}: {exc}; "
                "define the types at module level, or pass parameters={...}",
                tool=tool,
            ) from None
    summary, docs = _docstring_parts(inspect.getdoc(fn))
    properties: dict[str, Any] = {}
    required: list[str] = []
    extra_allowed = False
    context_param: str | None = None
    for name, param in inspect.signature(fn).parameters.items():
        hint = hints.get(name, inspect.Parameter.empty)
        if hint is context_type:
            context_param = name
            continue
        if param.kind is param.VAR_KEYWORD:
            extra_allowed = True
            continue
        if param.kind in (param.VAR_POSITIONAL, param.POSITIONAL_ONLY):
            raise RegistrationError(
                f"tool {tool!r}: parameter {name!r} cannot be passed by name; tools receive JSON objects as keywords",
                tool=tool,
            )
        if not derive:
            continue
        schema = _hint_schema(hint, f"tool {tool!r}, parameter {name!r}")
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
    return result, context_param, summary
