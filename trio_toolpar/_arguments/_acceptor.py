"""The compiled quick check: a schema turned into a predicate for the common case.

`validate` builds paths and messages; most tool calls are fine and need
neither. `compile_acceptor` turns a schema once, when the tool is registered,
into a function that says ``True`` only for values `validate` accepts, and
``False`` for "not sure, ask `validate`".
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .._values._jsonvalue import NUMBER_KEYWORDS, json_equal, number_problems
from ._references import holds_reference
from ._schema import JSONSchema

__all__ = ["Acceptor", "compile_acceptor"]

Acceptor = Callable[[object], bool]
"""A quick check: ``True`` only for values `validate` finds nothing wrong with."""

_NONE_TYPE = type(None)
_PLAIN = frozenset({str, int, float, bool, _NONE_TYPE, dict, list, tuple})


def _never(value: object) -> bool:
    return False


def _always(value: object) -> bool:
    return True


def compile_acceptor(schema: JSONSchema | bool, *, flat: bool = False, references: bool = False) -> Acceptor:
    """Compile ``schema`` (accepted by `check_schema`) into a quick check.

    The check answers ``True`` only when ``validate(schema, value)`` would
    return no errors, and it handles the common case (plain dicts, lists and
    scalars against the usual keywords) without building paths or messages.
    ``False`` means "not sure": run `validate` for the verdict and its
    messages. Values of other Python types than the exact JSON ones, and the
    keywords ``oneOf``, ``not``, ``uniqueItems`` and ``$ref``, always answer
    ``False``.

    With ``flat``, it also answers ``False`` unless ``value`` is a dict whose
    values are all scalars or strings without a ``$``: arguments with nothing
    for the planner to find (no references, whole or inside a text, no
    escapes, no nesting), which are most tool calls, and which the planner
    then checks in one pass.

    With ``references`` (not with ``flat``, which rules them out), it stands
    for ``validate(schema, value, skip=holds_reference)`` instead: a string
    that is a reference, or has one inside, passes wherever it stands (its
    value is checked once substituted). The planner asks it for the
    arguments it found references in.
    """
    if flat and references:
        raise ValueError("flat arguments hold no references: ask for one or the other")
    if flat:
        if schema is not True and isinstance(schema, Mapping) and _is_plain_object(schema):
            return _object_acceptor(schema, references=False, typed=True, flat=True)
        anything = compile_acceptor(schema)
        return lambda v: _flat_dict(v) and anything(v)
    check = _compile(schema, references)
    if references and check is not _always:
        return lambda v: check(v) or holds_reference(v)
    return check


def _compile(schema: JSONSchema | bool, references: bool) -> Acceptor:
    """`compile_acceptor` without ``flat``; with ``references``, a reference passes in the schema's parts, not here."""
    if schema is True:
        return _always
    if schema is False or not isinstance(schema, Mapping):
        return _never
    if "oneOf" in schema or "not" in schema or "$ref" in schema or schema.get("uniqueItems"):
        return _never
    if _is_plain_object(schema):
        return _object_acceptor(schema, references, typed=True)  # the usual tool schema: its type check folded in
    if _is_plain_array(schema):
        return _array_acceptor(schema, references, typed=True)  # the usual list parameter: likewise
    expected = schema.get("type")
    checks: list[Acceptor] = []
    if expected is not None:
        checks.append(_type_acceptor([expected] if isinstance(expected, str) else expected))
    if "enum" in schema:
        options = list(schema["enum"])
        checks.append(lambda v: any(json_equal(v, o) for o in options))
    if "const" in schema:
        const = schema["const"]
        checks.append(lambda v: json_equal(v, const))
    if _NUMBER_KEYS & schema.keys():
        checks.append(functools.partial(_accepts_number, {k: schema[k] for k in _NUMBER_KEYS & schema.keys()}))
    if _STRING_KEYS & schema.keys():
        pattern = re.compile(schema["pattern"]) if "pattern" in schema else None
        checks.append(functools.partial(_accepts_string, schema.get("minLength"), schema.get("maxLength"), pattern))
    if _OBJECT_KEYS & schema.keys():
        checks.append(_object_acceptor(schema, references))
    if _ARRAY_KEYS & schema.keys():
        checks.append(_array_acceptor(schema, references))
    checks.extend(compile_acceptor(option, references=references) for option in schema.get("allOf", ()))
    if "anyOf" in schema:
        branches = [compile_acceptor(option, references=references) for option in schema["anyOf"]]
        checks.append(lambda v: any(branch(v) for branch in branches))
    if expected is None:
        checks.insert(0, _plain_value)  # a type check (first) lets through only the exact JSON types
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda v: first(v) and second(v)
    return lambda v: all(check(v) for check in checks)


_NUMBER_KEYS = frozenset(NUMBER_KEYWORDS)
_STRING_KEYS = frozenset({"minLength", "maxLength", "pattern"})
_OBJECT_KEYS = frozenset({"properties", "required", "additionalProperties", "minProperties", "maxProperties"})
_ARRAY_KEYS = frozenset({"items", "prefixItems", "minItems", "maxItems"})
_NEVER_COMPILED = frozenset({"oneOf", "not", "uniqueItems", "$ref"})
"""Keywords left to the validator: rare in tool schemas, or (``$ref``) needing the whole schema at hand."""
_OTHER_KEYS = frozenset({"enum", "const", "allOf", "anyOf"}) | _NEVER_COMPILED
_OTHER_CHECKS = _OTHER_KEYS | _NUMBER_KEYS | _STRING_KEYS | _ARRAY_KEYS
"""Keywords with a check of their own besides ``type`` and the object keywords."""
_TYPE_ONLY_SKIPS = _OTHER_CHECKS | _OBJECT_KEYS


def _is_plain_object(schema: Mapping[str, Any]) -> bool:
    """Whether ``schema`` is ``type: object`` with object keywords only (and no never-compiled ones)."""
    return schema.get("type") == "object" and not (_OTHER_CHECKS & schema.keys())


_NOT_ARRAY_CHECKS = _OTHER_KEYS | _NUMBER_KEYS | _STRING_KEYS | _OBJECT_KEYS


def _is_plain_array(schema: Mapping[str, Any]) -> bool:
    """Whether ``schema`` is ``type: array`` with array keywords only (and no never-compiled ones)."""
    return schema.get("type") == "array" and not (_NOT_ARRAY_CHECKS & schema.keys())


_FLAT_SCALARS: frozenset[type] = frozenset({int, float, bool, _NONE_TYPE})
_FLAT_KINDS: frozenset[type] = _FLAT_SCALARS | {str}
_MISSING = object()


def _flat_dict(value: object) -> bool:
    if type(value) is not dict:
        return False
    for item in value.values():
        kind = type(item)
        if "$" in item if kind is str else kind not in _FLAT_SCALARS:
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
    if "integer" in names:
        return lambda v: type(v) in kinds or _integral_float(v)
    return lambda v: type(v) in kinds


def _integral_float(value: object) -> bool:
    """A float with no fraction, which is an integer to JSON (asked only once a value's type did not fit)."""
    return type(value) is float and value.is_integer()


def _accepts_number(bounds: dict[str, Any], value: object) -> bool:
    if type(value) is not int and type(value) is not float:
        return True
    return next(number_problems(bounds, value), None) is None


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


def _object_acceptor(schema: JSONSchema, references: bool, *, typed: bool = False, flat: bool = False) -> Acceptor:
    """Checks the object keywords; with ``typed`` the value must be a dict, too (the flags: see `compile_acceptor`)."""
    declared: Mapping[str, Any] = schema.get("properties", {})
    # A property that only has a type is checked inline, without a call per property.
    simple = {name: kinds for name, sub in declared.items() if (kinds := _simple_kinds(sub)) is not None}
    properties = {
        name: compile_acceptor(sub, references=references) for name, sub in declared.items() if name not in simple
    }
    required = tuple(schema.get("required", ()))
    extra = schema.get("additionalProperties", True)
    other = None if extra is True or extra is False else compile_acceptor(extra, references=references)
    closed = extra is False
    least = schema.get("minProperties")
    most = schema.get("maxProperties")
    if flat and not properties and other is None and least is None and most is None:
        return _flat_typed_acceptor(simple, required, closed=closed)

    def accepts(value: object) -> bool:
        if type(value) is not dict:
            return not typed
        for name in required:
            if name not in value:
                return False
        for key, item in value.items():
            if flat:
                kind = type(item)
                if "$" in item if kind is str else kind not in _FLAT_SCALARS:
                    return False
            kinds = simple.get(key)
            if kinds is not None:
                if type(item) in kinds or (int in kinds and _integral_float(item)):
                    continue
                if references and holds_reference(item):
                    continue
                return False
            check = properties.get(key)
            if check is not None:
                if not check(item):
                    return False
            elif type(key) is not str or closed or (other is not None and not other(item)):
                return False
        return (least is None or len(value) >= least) and (most is None or len(value) <= most)

    return accepts


def _flat_typed_acceptor(simple: Mapping[str, frozenset[type]], required: tuple[str, ...], *, closed: bool) -> Acceptor:
    """`_object_acceptor` with ``flat``, for properties that only have a type (the usual tool): one check per value.

    A flat value is a scalar or a string without a ``$``, so a
    property's kinds are narrowed to those once, here, and an undeclared key
    (allowed unless ``closed``) needs a flat value of any kind.
    """
    flat_kinds = {name: kinds & _FLAT_KINDS for name, kinds in simple.items()}
    if closed and set(required) == flat_kinds.keys():
        return _exact_flat_acceptor(flat_kinds)

    def accepts(value: object) -> bool:
        if type(value) is not dict:
            return False
        for name in required:
            if name not in value:
                return False
        for key, item in value.items():
            kinds = flat_kinds.get(key)
            if kinds is None:
                if closed or type(key) is not str:
                    return False
                kinds = _FLAT_KINDS
            kind = type(item)
            if kind not in kinds:
                if not (int in kinds and _integral_float(item)):
                    return False
            elif kind is str and "$" in item:
                return False
        return True

    return accepts


def _exact_flat_acceptor(flat_kinds: Mapping[str, frozenset[type]]) -> Acceptor:
    """`_flat_typed_acceptor` when every property is required and no other is allowed (a function without defaults).

    The arguments then hold exactly the declared names: one look-up per name, and no pass over their items.
    """
    checks = tuple(flat_kinds.items())
    count = len(checks)

    def accepts(value: object) -> bool:
        if type(value) is not dict or len(value) != count:
            return False
        for name, kinds in checks:
            item = value.get(name, _MISSING)  # of no allowed kind
            kind = type(item)
            if kind not in kinds:
                if not (int in kinds and _integral_float(item)):
                    return False
            elif kind is str and "$" in item:
                return False
        return True

    return accepts


def _array_acceptor(schema: JSONSchema, references: bool, *, typed: bool = False) -> Acceptor:
    """Checks the array keywords; with ``typed`` the value must be a list or a tuple, too (the flag: see above)."""
    prefix = [compile_acceptor(sub, references=references) for sub in schema.get("prefixItems", ())]
    rest = compile_acceptor(schema.get("items", True), references=references)
    least = schema.get("minItems")
    most = schema.get("maxItems")

    def accepts(value: object) -> bool:
        if type(value) is not list and type(value) is not tuple:
            return not typed
        items: Sequence[object] = value
        if (least is not None and len(items) < least) or (most is not None and len(items) > most):
            return False
        if prefix:
            return all((prefix[i] if i < len(prefix) else rest)(item) for i, item in enumerate(items))
        if rest is _always:
            return True
        return all(map(rest, items))

    return accepts
