"""Registering tools, deriving their schemas, and the validator."""

from __future__ import annotations

import enum
from typing import Annotated, Any, Literal, TypedDict

import pytest

from trio_toolpar import CallContext, RegistrationError, Registry, Retry, SchemaError
from trio_toolpar._arguments._schema import check_schema, validate


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Custom:
    pass


class Address(TypedDict):
    street: str
    zip: int


def test_schema_is_derived_from_the_signature_and_docstring() -> None:
    registry = Registry()

    @registry.tool(side_effect="write", resource="crm", key="customer:{customer_id}", timeout=3)
    async def update_customer(
        ctx: CallContext,
        customer_id: int,
        name: str,
        tags: list[str],
        address: Address,
        colour: Colour = Colour.RED,
        mode: Literal["soft", "hard"] = "soft",
        score: Annotated[float, "between 0 and 1", {"minimum": 0, "maximum": 1}] = 0.5,
        note: str | None = None,
        extra: dict[str, Any] | None = None,
        pair: tuple[int, str] | None = None,
    ) -> None:
        """Update a customer record.

        Longer text that is not part of the summary.

        Args:
            customer_id: the customer's number.
            name: display name,
                as shown in the CRM.
        """

    tool = registry["update_customer"]
    assert tool.description == "Update a customer record."
    assert tool.context_parameter == "ctx"
    assert (tool.side_effect, tool.resource, tool.keys, tool.timeout) == (
        "write",
        "crm",
        ("customer:{customer_id}",),
        3,
    )
    assert tool.idempotent is False
    schema = tool.parameters
    assert schema["required"] == ["customer_id", "name", "tags", "address"]
    assert schema["additionalProperties"] is False
    props = schema["properties"]
    assert "ctx" not in props
    assert props["customer_id"] == {"type": "integer", "description": "the customer's number."}
    assert props["name"]["description"] == "display name, as shown in the CRM."
    assert props["tags"] == {"type": "array", "items": {"type": "string"}}
    assert props["address"] == {
        "type": "object",
        "properties": {"street": {"type": "string"}, "zip": {"type": "integer"}},
        "required": ["street", "zip"],
        "additionalProperties": False,
    }
    assert props["colour"] == {"enum": ["red", "blue"]}
    assert props["mode"] == {"enum": ["soft", "hard"], "default": "soft"}
    assert props["score"] == {
        "type": "number",
        "description": "between 0 and 1",
        "minimum": 0,
        "maximum": 1,
        "default": 0.5,
    }
    assert props["note"] == {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}
    assert props["pair"]["anyOf"][0] == {
        "type": "array",
        "prefixItems": [{"type": "integer"}, {"type": "string"}],
        "minItems": 2,
        "maxItems": 2,
    }
    check_schema(schema)


def test_sync_and_async_tools_are_told_apart() -> None:
    registry = Registry(default_side_effect="read")

    @registry.tool
    def sync_tool() -> None: ...

    @registry.tool
    async def async_tool() -> None: ...

    assert registry["sync_tool"].is_async is False
    assert registry["async_tool"].is_async is True
    assert registry["async_tool"].idempotent is True
    assert len(registry) == 2
    assert [t.name for t in registry] == ["sync_tool", "async_tool"]
    assert "sync_tool" in registry
    assert registry.get("missing") is None


def test_kwargs_allow_extra_properties() -> None:
    registry = Registry()

    @registry.tool
    async def anything(**kwargs: Any) -> None: ...

    assert registry["anything"].parameters["additionalProperties"] is True


@pytest.mark.parametrize(
    ("name", "message"),
    [("has space", "must be 1-64 letters"), ("", "must be 1-64 letters"), ("x" * 65, "must be 1-64 letters")],
)
def test_bad_names(name: str, message: str) -> None:
    async def f() -> None: ...

    with pytest.raises(RegistrationError, match=message):
        Registry().add(f, name=name)


def test_registration_errors_say_how_to_fix_them() -> None:
    registry = Registry()

    async def f(x: int) -> None: ...

    registry.add(f)
    with pytest.raises(RegistrationError, match="already registered"):
        registry.add(f)
    # An option of the wrong value is a ValueError, like any argument's (see test_validation.py).
    with pytest.raises(ValueError, match="tool 'g': side_effect must be 'none', 'read' or 'write', not 'delete'"):
        registry.add(f, name="g", side_effect="delete")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="tool 'g': timeout must be a positive number of seconds or None, not 0"):
        registry.add(f, name="g", timeout=0)
    with pytest.raises(RegistrationError, match="key field 'y' is not an argument"):
        registry.add(f, name="g", key="thing:{y}")
    with pytest.raises(RegistrationError, match="may only hold argument names"):
        registry.add(f, name="g", key="thing:{x!r}")
    with pytest.raises(RegistrationError, match="malformed"):
        registry.add(f, name="g", key="thing:{x")

    async def positional(x: int, /) -> None: ...

    with pytest.raises(RegistrationError, match="cannot be passed by name"):
        registry.add(positional)

    async def star(*args: int) -> None: ...

    with pytest.raises(RegistrationError, match="cannot be passed by name"):
        registry.add(star)

    async def custom(x: Custom) -> None: ...

    with pytest.raises(RegistrationError, match="pass parameters="):
        registry.add(custom)
    registry.add(custom, parameters={"type": "object", "properties": {"x": {"type": "object"}}})

    async def int_keys(x: dict[int, str]) -> None: ...

    async def unresolvable(x: NotDefinedAnywhere) -> None: ...  # type: ignore[name-defined] # noqa: F821

    with pytest.raises(RegistrationError, match="cannot resolve the type hints"):
        registry.add(unresolvable)
    registry.add(unresolvable, parameters={"type": "object"})
    with pytest.raises(RegistrationError, match="keys are strings"):
        registry.add(int_keys)
    with pytest.raises(RegistrationError, match="non-idempotent write"):
        registry.add(f, name="w", side_effect="write", retry=Retry(attempts=2))


def test_explicit_schemas_must_be_checkable() -> None:
    async def f(**kwargs: Any) -> None: ...

    with pytest.raises(SchemaError, match=r"tool 'f': \$ref '#/defs/x' does not resolve"):
        Registry().add(f, parameters={"type": "object", "$ref": "#/defs/x"})
    with pytest.raises(SchemaError, match="must have type 'object'"):
        Registry().add(f, parameters={"type": "array"})
    with pytest.raises(SchemaError, match="not a valid regular expression"):
        check_schema({"type": "string", "pattern": "("})
    with pytest.raises(SchemaError, match="must name JSON types"):
        check_schema({"type": "date"})
    with pytest.raises(SchemaError, match="non-empty list"):
        check_schema({"anyOf": []})


def test_suggestions_for_typos() -> None:
    registry = Registry()

    async def search_logs() -> None: ...

    registry.add(search_logs)
    assert registry.suggest("serch_logs") == "search_logs"
    assert registry.suggest("zzz") is None


@pytest.mark.parametrize(
    ("schema", "value", "errors"),
    [
        ({"type": "integer"}, True, ["$: expected integer, got boolean True"]),
        ({"type": "number"}, float("nan"), ["$: expected number, got number nan"]),
        ({"type": "number", "minimum": 1, "maximum": 2}, 3, ["$: 3 is more than the maximum 2"]),
        ({"type": "number", "exclusiveMinimum": 1}, 1, ["$: 1 must be more than 1"]),
        ({"type": "integer", "multipleOf": 3}, 7, ["$: 7 is not a multiple of 3"]),
        ({"type": "string", "maxLength": 2}, "abc", ["$: longer than 2 characters"]),
        ({"type": "string", "pattern": "^a"}, "b", ["$: 'b' does not match the pattern '^a'"]),
        ({"enum": [1, 2]}, True, ["$: True is not one of [1, 2]"]),
        ({"const": "x"}, "y", ["$: must be 'x', got 'y'"]),
        ({"type": "array", "uniqueItems": True}, [1, 1], ["$: items must be unique, 1 repeats"]),
        ({"type": "array", "minItems": 1}, [], ["$: fewer than 1 items"]),
        ({"type": "object", "minProperties": 1}, {}, ["$: fewer than 1 properties"]),
        (
            {"type": "object", "properties": {"a": {"type": "array", "items": {"type": "integer"}}}},
            {"a": [1, "x"]},
            ["$.a[1]: expected integer, got string 'x'"],
        ),
        (
            {"type": "object", "additionalProperties": {"type": "string"}},
            {"a": 1},
            ["$.a: expected string, got integer 1"],
        ),
        (
            {"oneOf": [{"type": "integer"}, {"type": "number"}]},
            1,
            ["$: 1 must match exactly one allowed shape, matches 2"],
        ),
        ({"not": {"type": "null"}}, None, ["$: None matches a shape that is not allowed"]),
        ({"allOf": [{"type": "integer"}, {"minimum": 5}]}, 3, ["$: 3 is less than the minimum 5"]),
        (False, 1, ["$: no value is allowed here"]),
        ({"type": ["string", "null"]}, None, []),
        ({"type": "number"}, 1, []),
    ],
)
def test_validator(schema: Any, value: Any, errors: list[str]) -> None:
    assert validate(schema, value) == errors
