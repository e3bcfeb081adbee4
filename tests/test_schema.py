"""The validator as JSON sees values: booleans are not numbers, numbers are exact, references resolve."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trio_toolpar import Registry, SchemaError
from trio_toolpar._arguments._acceptor import compile_acceptor
from trio_toolpar._arguments._schema import MAX_VALUE_DEPTH, check_schema, validate
from trio_toolpar._values._jsonvalue import short

HUGE = 10**5000
"""Longer than ``str()`` will print, and than a float can hold."""


def _verdicts(schema: Any, value: Any) -> tuple[bool, bool]:
    check_schema(schema)
    return validate(schema, value) == [], compile_acceptor(schema)(value)


@pytest.mark.parametrize(
    ("schema", "value"),
    [
        ({"enum": [1]}, True),
        ({"enum": [0]}, False),
        ({"enum": [True]}, 1),
        ({"enum": [[1, 2]]}, [True, 2]),
        ({"enum": [{"a": 0}]}, {"a": False}),
        ({"const": [1]}, [True]),
        ({"const": {"a": [0]}}, {"a": [False]}),
        ({"const": [1, 2]}, [1]),
        ({"const": {"a": 1}}, {"a": 1, "b": 2}),
    ],
    ids=short,
)
def test_booleans_never_equal_numbers_at_any_depth(schema: Any, value: Any) -> None:
    assert _verdicts(schema, value) == (False, False)


@pytest.mark.parametrize(
    ("schema", "value"),
    [
        ({"enum": [1]}, 1.0),
        ({"enum": [[1, 2.5]]}, [1.0, 2.5]),
        ({"const": {"a": [2]}}, {"a": [2.0]}),
        ({"enum": [True]}, True),
        ({"enum": [HUGE]}, HUGE),
    ],
    ids=short,
)
def test_json_numbers_are_equal_whatever_their_python_type(schema: Any, value: Any) -> None:
    assert _verdicts(schema, value) == (True, True)


@pytest.mark.parametrize(
    ("items", "unique"),
    [
        ([1, True], True),
        ([[1], [True]], True),
        ([{"a": 0}, {"a": False}], True),
        ([1, 1.0], False),
        ([[1, {"a": None}], [1.0, {"a": None}]], False),
        ([{"a": 1, "b": 2}, {"b": 2, "a": 1}], False),
        ([HUGE, HUGE + 1], True),
        ([HUGE, HUGE], False),
    ],
    ids=short,
)
def test_unique_items_compare_as_json(items: list[Any], unique: bool) -> None:
    errors = validate({"type": "array", "uniqueItems": True}, items)
    assert (errors == []) is unique
    if not unique:
        assert "items must be unique" in errors[0]


@pytest.mark.parametrize(
    ("value", "factor", "multiple"),
    [
        (7, 3, False),
        (9, 3, True),
        (HUGE, 5, True),
        (HUGE + 1, 5, False),
        (HUGE, 0.5, True),
        (2**64 + 1, 2, False),
        (0.3, 0.1, True),
        (0.7, 0.1, True),
        (0.75, 0.1, False),
        (1.1, 0.01, True),
        (10, 0.1, True),
        (1e300, 7, False),
        (3, 1e-300, True),
    ],
    ids=short,
)
def test_multiple_of_is_exact_decimal_arithmetic(value: float, factor: float, multiple: bool) -> None:
    errors = validate({"type": "number", "multipleOf": factor}, value)
    assert (errors == []) is multiple
    assert compile_acceptor({"type": "number", "multipleOf": factor})(value) is multiple


@pytest.mark.parametrize(
    ("schema", "value", "valid"),
    [
        ({"type": "integer", "minimum": 0}, HUGE, True),
        ({"type": "integer", "maximum": 10}, HUGE, False),
        ({"type": "number", "maximum": 1e308}, HUGE, False),
        ({"type": "number", "minimum": -1e308}, -HUGE, False),
        ({"type": "number", "exclusiveMaximum": HUGE}, HUGE, False),
        ({"type": "number", "exclusiveMaximum": HUGE + 1}, HUGE, True),
        ({"type": "number", "exclusiveMinimum": 0.5}, HUGE, True),
        ({"type": "integer", "minimum": HUGE}, HUGE - 1, False),
        ({"type": "number", "maximum": 2**53}, 2**53 + 1, False),
    ],
    ids=short,
)
def test_huge_integers_are_compared_exactly(schema: Any, value: int, valid: bool) -> None:
    errors = validate(schema, value)
    assert (errors == []) is valid
    assert compile_acceptor(schema)(value) is valid
    for error in errors:
        assert "integer of about" in error or "9007199254740993" in error


def test_messages_about_huge_integers_say_their_size() -> None:
    [error] = validate({"type": "integer", "maximum": 1}, HUGE)
    assert error == "$: <integer of about 5001 digits> is more than the maximum 1"
    [error] = validate({"type": "string"}, [HUGE])
    assert error.startswith("$: expected string, got array [<integer of about 5001 digits>]")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize(
    "schema",
    [{"type": "number"}, {"type": "integer"}, {"type": ["number", "null"]}, {"minimum": 0}, {"maximum": 0}],
    ids=short,
)
def test_nan_and_infinities_are_not_json_numbers(schema: Any, value: float) -> None:
    assert _verdicts(schema, value) == (False, False)


def test_nan_never_matches_an_enum() -> None:
    assert _verdicts({"enum": [math.nan]}, math.nan) == (False, False)


TREE = {
    "$defs": {
        "node": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
            },
            "required": ["name"],
            "additionalProperties": False,
        }
    },
    "$ref": "#/$defs/node",
}


def test_a_recursive_schema_checks_a_tree_at_every_depth() -> None:
    check_schema(TREE)
    tree = {"name": "root", "children": [{"name": "a"}, {"name": "b", "children": [{"name": "c"}]}]}
    assert validate(TREE, tree) == []
    tree["children"][1]["children"][0]["name"] = 3  # type: ignore[index]
    assert validate(TREE, tree) == ["$.children[1].children[0].name: expected string, got integer 3"]
    assert compile_acceptor(TREE)(tree) is False  # "not sure" for references


@pytest.mark.parametrize(
    ("schema", "good", "bad"),
    [
        ({"definitions": {"id": {"type": "integer"}}, "properties": {"a": {"$ref": "#/definitions/id"}}}, 1, "x"),
        ({"$defs": {"a/b": {"type": "integer"}}, "properties": {"a": {"$ref": "#/$defs/a~1b"}}}, 1, "x"),
        ({"$defs": {"a~b": {"type": "integer"}}, "properties": {"a": {"$ref": "#/$defs/a~0b"}}}, 1, "x"),
        ({"$defs": {"a~1": {"type": "integer"}}, "properties": {"a": {"$ref": "#/$defs/a~01"}}}, 1, "x"),
        ({"$defs": {"a b": {"type": "integer"}}, "properties": {"a": {"$ref": "#/$defs/a%20b"}}}, 1, "x"),
        ({"properties": {"a": {"type": "integer"}, "b": {"$ref": "#/properties/a"}}}, 1, "x"),
        ({"prefixItems": [{"type": "integer"}], "properties": {"a": {"$ref": "#/prefixItems/0"}}}, 1, "x"),
        ({"type": "object", "properties": {"a": {"anyOf": [{"type": "null"}, {"$ref": "#"}]}}}, {"a": None}, 1),
    ],
    ids=short,
)
def test_local_references_resolve_as_json_pointers(schema: Any, good: Any, bad: Any) -> None:
    check_schema(schema)
    assert validate(schema, {"a": good}) == []
    assert validate(schema, {"a": bad}) != []


def test_a_reference_applies_beside_its_siblings() -> None:
    schema = {"$defs": {"n": {"type": "integer"}}, "$ref": "#/$defs/n", "minimum": 5}
    check_schema(schema)
    assert validate(schema, 7) == []
    assert validate(schema, 3) == ["$: 3 is less than the minimum 5"]
    assert validate(schema, "x") == ["$: expected integer, got string 'x'"]


def test_union_errors_follow_references_to_the_branch_meant() -> None:
    schema: dict[str, Any] = {"$defs": {"item": {"type": "object", "properties": {"sku": {"type": "string"}}}}}
    schema["anyOf"] = [{"$ref": "#/$defs/item"}, {"type": "null"}]
    assert validate(schema, {"sku": 5}) == ["$.sku: expected string, got integer 5"]


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"properties": {"a": {"$ref": "#/$defs/Missing"}}}, r"\$ref '#/\$defs/Missing' does not resolve \(at \$\.a\)"),
        ({"$defs": {"A": {}}, "$ref": "#/$defs/B"}, r"does not resolve .*the schema defines: #/\$defs/A"),
        ({"$ref": "https://example.com/s.json"}, r"is not a local reference"),
        ({"$ref": "other.json#/a"}, r"is not a local reference"),
        ({"$ref": "#anchor"}, r"is not a local reference"),
        ({"$ref": 3}, r"'\$ref' at \$ must be a string"),
        ({"properties": {"a": {}}, "$ref": "#/properties"}, r"points at something that is not a schema"),
        ({"enum": [{}], "$ref": "#/enum/0"}, r"points at something that is not a schema"),
        ({"$ref": "#"}, r"\$ref loop # -> # comes back"),
        ({"anyOf": [{"type": "null"}, {"$ref": "#"}]}, r"\$ref loop"),
        ({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"not": {"$ref": "#/$defs/a"}}}, "$ref": "#/$defs/a"}, "loop"),
        ({"$defs": []}, r"'\$defs' at \$ must be an object"),
        ({"$defs": {"a": {"type": "date"}}}, r"'type' at \$\.<\$defs\.a> must name JSON types"),
    ],
    ids=short,
)
def test_bad_references_are_refused_with_the_reason(schema: Any, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        check_schema(schema)


def test_a_dangling_reference_is_refused_at_registration() -> None:
    async def find(**kwargs: Any) -> None: ...

    with pytest.raises(SchemaError, match=r"^tool 'find': \$ref '#/\$defs/Missing' does not resolve"):
        Registry().add(
            find, side_effect="read", parameters={"type": "object", "properties": {"q": {"$ref": "#/$defs/Missing"}}}
        )


def test_a_pydantic_style_schema_registers_and_validates() -> None:
    async def order(**kwargs: Any) -> None: ...

    schema = {
        "type": "object",
        "$defs": {
            "Line": {
                "title": "Line",
                "type": "object",
                "properties": {"sku": {"title": "Sku", "type": "string"}, "qty": {"type": "integer", "minimum": 1}},
                "required": ["sku", "qty"],
            }
        },
        "properties": {"lines": {"type": "array", "items": {"$ref": "#/$defs/Line"}}},
        "required": ["lines"],
    }
    tool = Registry().add(order, side_effect="write", parameters=schema)
    assert validate(tool.parameters, {"lines": [{"sku": "a", "qty": 2}]}) == []
    assert validate(tool.parameters, {"lines": [{"sku": "a", "qty": 0}]}) == [
        "$.lines[0].qty: 0 is less than the minimum 1"
    ]


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"multipleOf": 0}, "must be more than 0"),
        ({"multipleOf": -2}, "must be more than 0"),
        ({"minimum": "3"}, "must be a finite number"),
        ({"maximum": True}, "must be a finite number"),
        ({"maximum": math.nan}, "must be a finite number"),
        ({"minLength": -1}, "non-negative integer"),
        ({"maxItems": 1.5}, "non-negative integer"),
        ({"uniqueItems": "yes"}, "must be true or false"),
    ],
    ids=short,
)
def test_keyword_values_are_checked_at_registration(schema: Any, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        check_schema(schema)


def test_values_nested_past_the_limit_are_reported_not_raised() -> None:
    value: Any = "leaf"
    for _ in range(5000):
        value = {"name": "n", "children": [value]}
    # Each level of the tree is two levels of JSON (the node, then its children array).
    deepest = "$" + ".children[0]" * (MAX_VALUE_DEPTH // 2)
    assert validate(TREE, value) == [
        f"{deepest}.name: nested more than {MAX_VALUE_DEPTH} levels deep",
        f"{deepest}.children: nested more than {MAX_VALUE_DEPTH} levels deep",
    ]
    deep: Any = []
    for _ in range(5000):
        deep = [deep]
    assert validate({"type": "array", "uniqueItems": True}, [deep, deep]) == [
        f"$: items nest more than {MAX_VALUE_DEPTH} levels deep"
    ]


# --- validate never raises ---------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(4400, 6000).map(lambda digits: 10**digits + 1),  # built by a function: hypothesis prints strategies
    st.integers(4400, 6000).map(lambda digits: -(10**digits)),
    st.sampled_from([2**64, 2**53 + 1, 0, 1, -1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.sampled_from(["\ud800", "a\udfff", "$c1", ""]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(["a", "b", "name", "children"]), st.text(max_size=3)), inner),
    ),
    max_leaves=20,
)

EVERY_KEYWORD: list[Any] = [
    True,
    False,
    {},
    TREE,
    {"enum": [1, True, None, [1, {"a": False}], HUGE, "x"]},
    {"const": {"a": [0, 1.5]}},
    {"type": "number", "minimum": -1e308, "maximum": 1e308, "multipleOf": 0.1},
    {"type": "integer", "exclusiveMinimum": -(2**70), "exclusiveMaximum": HUGE, "multipleOf": 3},
    {"type": "string", "minLength": 1, "maxLength": 3, "pattern": "^[a-z]"},
    {"type": "array", "uniqueItems": True, "minItems": 1, "maxItems": 3, "items": {"type": ["integer", "string"]}},
    {"type": "array", "prefixItems": [{"type": "boolean"}, {"$ref": "#"}], "items": False},
    {"type": "object", "additionalProperties": {"$ref": "#/$defs/n"}, "$defs": {"n": {"type": "number"}}},
    {"type": "object", "minProperties": 1, "maxProperties": 2, "required": ["a"]},
    {
        "anyOf": [{"type": "null"}, {"$ref": "#/definitions/t"}],
        "definitions": {"t": {"type": "object", "properties": {"next": {"$ref": "#/definitions/t"}}}},
    },
    {"oneOf": [{"type": "integer"}, {"minimum": 0}], "not": {"const": 5}},
    {"allOf": [{"uniqueItems": True}, {"items": {"enum": [0, 1, False]}}]},
]


@settings(max_examples=300)
@given(st.sampled_from(EVERY_KEYWORD), json_values)
def test_validate_never_raises_and_the_quick_check_never_says_a_wrong_yes(schema: Any, value: Any) -> None:
    check_schema(schema)
    errors = validate(schema, value)
    assert all(isinstance(e, str) and e.startswith("$") for e in errors)
    if compile_acceptor(schema)(value):
        assert errors == []
