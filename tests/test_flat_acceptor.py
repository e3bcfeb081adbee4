"""The flat quick check for the usual tool schemas: properties that only have a type.

Its shapes (open or closed, every property required or some optional) each
get a check of their own; each must say yes exactly to the flat arguments
the schema's validator accepts.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from trio_toolpar._arguments._acceptor import compile_acceptor
from trio_toolpar._arguments._schema import validate

PROPERTIES = {"a": {"type": "integer"}, "b": {"type": ["string", "null"]}, "c": {"type": "boolean"}}
SCHEMAS = [
    {"type": "object", "properties": PROPERTIES, "required": ["a", "b", "c"], "additionalProperties": False},
    {"type": "object", "properties": PROPERTIES, "required": ["c", "a", "b"], "additionalProperties": False},
    {"type": "object", "properties": PROPERTIES, "required": ["a"], "additionalProperties": False},
    {"type": "object", "properties": PROPERTIES, "required": ["a", "b", "c"]},
    {"type": "object", "properties": PROPERTIES, "required": ["a", "z"], "additionalProperties": False},
    {"type": "object", "properties": {"a": {"type": "array"}}, "required": ["a"], "additionalProperties": False},
    {"type": "object", "properties": {}, "additionalProperties": False},
]
VALUES = st.one_of(
    st.integers(),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False),
    st.sampled_from(["", "x", "$c1", "$$x", "$", "a $#1.b", "5$"]),
    st.lists(st.integers(), max_size=1),
    st.dictionaries(st.just("k"), st.integers(), max_size=1),
)


def _flat(arguments: dict[Any, Any]) -> bool:
    return all(
        (type(v) is str and "$" not in v) or type(v) in (int, float, bool, type(None)) for v in arguments.values()
    )


@pytest.mark.parametrize("schema", SCHEMAS, ids=repr)
@given(arguments=st.dictionaries(st.sampled_from(["a", "b", "c", "z"]), VALUES, max_size=4))
@example(arguments={"a": 1, "b": None, "c": True})
@example(arguments={"a": 1, "b": "x", "c": False, "z": 0})  # every declared name, and one more
@example(arguments={"a": 1, "b": "$c1", "c": False})
def test_the_flat_check_says_yes_exactly_to_flat_arguments_that_fit(
    schema: dict[str, Any], arguments: dict[str, Any]
) -> None:
    assert compile_acceptor(schema, flat=True)(arguments) == (_flat(arguments) and validate(schema, arguments) == [])


@pytest.mark.parametrize("schema", SCHEMAS[:3], ids=repr)
@pytest.mark.parametrize("value", [None, [], "{}", {"a": 1, "b": None, "c": True}.items()])
def test_anything_but_a_dict_is_not_flat(schema: dict[str, Any], value: object) -> None:
    assert not compile_acceptor(schema, flat=True)(value)
