"""Schemas as real tools write them: annotations and unknown keywords are ignored, integral numbers
are integers, and pydantic models, dataclasses and TypedDicts register and round-trip."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from typing import Annotated, Any, Literal, TypedDict

import pydantic
import pytest
import trio
import trio.testing
from hypothesis import example, given
from hypothesis import strategies as st
from test_fast_paths import schema_and_value

from trio_toolpar import ErrorCode, Executor, Registry, SchemaError, Status, ToolCall
from trio_toolpar._arguments._acceptor import compile_acceptor
from trio_toolpar._arguments._schema import check_schema, validate

# -- keywords that only annotate --------------------------------------------------------------------

ANNOTATIONS: dict[str, Any] = {
    "title": "A title",
    "description": "what it is",
    "$comment": "for people",
    "example": {"city": "Oslo"},
    "examples": [1, "two", None],
    "x-order": 3,
    "x-nullable": True,
    "x-google-enum-descriptions": ["a", "b"],
    "deprecated": True,
    "readOnly": False,
    "writeOnly": True,
    "optional": True,
    "discriminator": {"propertyName": "kind", "mapping": {"a": "#/$defs/A"}},
    "contentMediaType": "application/json",
    "contentEncoding": "base64",
    "contentSchema": {"type": "object", "if": {"type": "null"}},
    "format": "not-a-format-we-know",
    "nullable": True,
    "default": {"anything": "at all"},
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://example.com/tool.json",
    "$anchor": "here",
    "$vocabulary": {"https://json-schema.org/draft/2020-12/vocab/core": True},
    "someVendorKeyword": {"not": "a schema"},
}


async def bfcl_tool(**arguments: Any) -> dict[str, Any]:
    return arguments


BFCL_DEFINITIONS: list[dict[str, Any]] = [
    {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city", "example": "Oslo"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "optional": True, "default": "celsius"},
                "days": {"type": "integer", "minimum": 1, "optional": True, "x-display-name": "Days ahead"},
            },
            "required": ["city"],
            "x-bfcl-category": "simple",
        },
    },
    {
        "name": "book_flight",
        "parameters": {
            "type": "object",
            "properties": {
                "route": {
                    "type": "object",
                    "properties": {
                        "from": {"type": "string", "examples": ["OSL"]},
                        "to": {"type": "string", "x-iata": True},
                    },
                    "required": ["from", "to"],
                    "example": {"from": "OSL", "to": "BER"},
                },
                "seats": {"type": "array", "items": {"type": "integer"}, "optional": False, "deprecated": True},
                "class": {"type": "string", "readOnly": False, "$comment": "cabin"},
            },
            "required": ["route"],
        },
    },
]


@pytest.mark.parametrize("definition", BFCL_DEFINITIONS, ids=lambda d: d["name"])
def test_bfcl_style_definitions_register_and_validate(definition: dict[str, Any]) -> None:
    tool = Registry().add(bfcl_tool, name=definition["name"], side_effect="read", parameters=definition["parameters"])
    if tool.name == "get_weather":
        assert validate(tool.parameters, {"city": "Oslo", "days": 3}) == []
        assert validate(tool.parameters, {"city": "Oslo", "days": 0}) == ["$.days: 0 is less than the minimum 1"]
        assert validate(tool.parameters, {"unit": "kelvin"}) == [
            "$: missing required property 'city'",
            "$.unit: 'kelvin' is not one of ['celsius', 'fahrenheit']",
        ]
    else:
        assert validate(tool.parameters, {"route": {"from": "OSL", "to": "BER"}, "seats": [1, 2]}) == []
        assert validate(tool.parameters, {"route": {"from": "OSL"}, "seats": ["1A"]}) == [
            "$.route: missing required property 'to'",
            "$.seats[0]: expected integer, got string '1A'",
        ]


async def test_a_bfcl_definition_runs_in_a_turn(autojump_clock: trio.testing.MockClock) -> None:
    registry = Registry()
    for definition in BFCL_DEFINITIONS:
        registry.add(bfcl_tool, name=definition["name"], side_effect="read", parameters=definition["parameters"])
    result = await Executor(registry).run(
        [
            ToolCall(id="a", tool="get_weather", arguments='{"city": "Oslo", "days": 2.0}'),
            ToolCall(id="b", tool="book_flight", arguments={"route": {"from": "OSL"}}),
        ]
    )
    assert result[0].status is Status.OK and result[0].value == {"city": "Oslo", "days": 2.0}
    assert (result[1].status, result[1].error_code) == (Status.REJECTED, ErrorCode.INVALID_ARGUMENTS)


@pytest.mark.parametrize(
    "keyword",
    [
        "if",
        "dependentRequired",
        "dependentSchemas",
        "dependencies",
        "propertyNames",
        "patternProperties",
        "contains",
        "unevaluatedProperties",
        "unevaluatedItems",
        "$dynamicRef",
        "$recursiveRef",
    ],
)
def test_a_keyword_that_asserts_what_we_do_not_check_is_refused_saying_so(keyword: str) -> None:
    value: Any = {"a": ["b"]} if keyword in ("dependentRequired", "dependencies") else {"type": "string"}
    if keyword in ("$dynamicRef", "$recursiveRef"):
        value = "#"
    with pytest.raises(
        SchemaError, match=rf"schema keyword {re.escape(repr(keyword))} at \$\.x asserts .* does not check"
    ):
        check_schema({"type": "object", "properties": {"x": {keyword: value}}})


def test_the_tuple_form_of_items_is_refused_with_its_2020_12_spelling() -> None:
    with pytest.raises(SchemaError, match="write 'prefixItems'"):
        check_schema({"type": "array", "items": [{"type": "string"}]})


def _with_annotation(schema: Any, keyword: str) -> Any:
    """``schema`` with ``keyword`` added at every object schema in it."""
    if not isinstance(schema, dict):
        return schema
    out = {k: _annotate_sub(k, v, keyword) for k, v in schema.items()}
    out[keyword] = ANNOTATIONS[keyword]
    return out


def _annotate_sub(key: str, value: Any, keyword: str) -> Any:
    if key in ("properties", "$defs"):
        return {name: _with_annotation(sub, keyword) for name, sub in value.items()}
    if key in ("items", "additionalProperties", "not"):
        return _with_annotation(value, keyword)
    if key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        return [_with_annotation(sub, keyword) for sub in value]
    return value


@given(pair=schema_and_value(), keyword=st.sampled_from(sorted(ANNOTATIONS)))
def test_an_annotation_never_changes_a_verdict(pair: tuple[Any, Any], keyword: str) -> None:
    schema, value = pair
    annotated = _with_annotation(schema, keyword)
    check_schema(annotated)
    assert validate(annotated, value) == validate(schema, value)
    assert compile_acceptor(annotated)(value) == compile_acceptor(schema)(value)


# -- a number with no fraction is an integer ------------------------------------------------------

integral_floats = st.floats(allow_nan=False, allow_infinity=False).filter(float.is_integer)


@given(number=integral_floats)
@example(number=5.0)
@example(number=-0.0)
@example(number=1e308)
@example(number=2.0**53 + 2)
def test_an_integral_float_is_an_integer_and_structures_as_an_int(number: float) -> None:
    assert validate({"type": "integer"}, number) == []
    assert compile_acceptor({"type": "integer"})(number)
    assert validate({"type": "integer", "maximum": number}, number) == []
    flat = {
        "type": "object",
        "properties": {"n": {"type": "integer"}},
        "required": ["n"],
        "additionalProperties": False,
    }
    assert compile_acceptor(flat, flat=True)({"n": number})
    assert compile_acceptor({**flat, "additionalProperties": True}, flat=True)({"n": number, "m": 1})
    tool = Registry().add(_takes_int, side_effect="read")
    typed = tool.structure({"n": number, "ns": [number, 3], "maybe": number})
    assert typed == {"n": int(number), "ns": [int(number), 3], "maybe": int(number)}
    assert [type(typed["n"]), type(typed["ns"][0]), type(typed["maybe"])] == [int, int, int]


async def _takes_int(n: int, ns: list[int], maybe: int | None = None) -> int:
    return n


@pytest.mark.parametrize("value", [5.5, True, False, math.nan, math.inf, -math.inf, "5", 1e-300])
def test_what_is_still_not_an_integer(value: object) -> None:
    assert validate({"type": "integer"}, value) != []
    assert not compile_acceptor({"type": "integer"})(value)


async def test_a_typed_int_parameter_receives_an_int(autojump_clock: trio.testing.MockClock) -> None:
    received: list[tuple[int, int | None]] = []
    registry = Registry()

    @registry.tool(side_effect="read")
    async def page(number: int, size: int | None = None) -> int:
        received.append((number, size))
        return number

    result = await Executor(registry).run(
        [
            ToolCall(id="a", tool="page", arguments='{"number": 5.0, "size": 2.0}'),
            ToolCall(id="b", tool="page", arguments={"number": 7.0}),
            ToolCall(id="c", tool="page", arguments={"number": "$a"}),
            ToolCall(id="d", tool="page", arguments='{"number": 5.5}'),
            ToolCall(id="e", tool="page", arguments='{"number": true}'),
        ]
    )
    assert [o.status for o in result] == [Status.OK] * 3 + [Status.REJECTED] * 2
    assert sorted(received, key=repr) == [(5, 2), (5, None), (7, None)]
    assert all(type(n) is int and (s is None or type(s) is int) for n, s in received)
    assert json.loads(json.dumps(result[0].value)) == 5


# -- pydantic models, dataclasses, TypedDicts -----------------------------------------------------


class Cat(pydantic.BaseModel):
    pet_type: Literal["cat"]
    meows: int


class Dog(pydantic.BaseModel):
    pet_type: Literal["dog"]
    barks: float
    name: str = "Rex"


Pet = Annotated[Cat | Dog, pydantic.Field(discriminator="pet_type")]


class Owner(pydantic.BaseModel):
    name: str
    pet: Pet = pydantic.Field(description="their one pet")
    pets: list[Pet] = []


@dataclasses.dataclass(frozen=True)
class Address:
    street: str
    number: int = 1


class Label(TypedDict):
    text: str
    size: int


async def test_a_pydantic_discriminated_union_parameter_receives_the_right_model(
    autojump_clock: trio.testing.MockClock,
) -> None:
    received: list[tuple[object, object]] = []
    registry = Registry()

    @registry.tool(side_effect="read")
    async def adopt(pet: Pet, owner: Owner | None = None) -> Owner:
        received.append((pet, owner))
        return owner if owner is not None else Owner(name="nobody", pet=pet)

    schema = registry["adopt"].parameters
    check_schema(schema)
    assert "discriminator" in json.dumps(schema)  # kept, and ignored by the validator
    dog = {"pet_type": "dog", "barks": 2.5}
    owner = {"name": "Ada", "pet": {"pet_type": "cat", "meows": 3}, "pets": [dog, {"pet_type": "cat", "meows": 1.0}]}
    result = await Executor(registry).run(
        [
            ToolCall(id="a", tool="adopt", arguments={"pet": dog}),
            ToolCall(id="b", tool="adopt", arguments={"pet": {"pet_type": "cat", "meows": 1}, "owner": owner}),
            ToolCall(id="c", tool="adopt", arguments={"pet": {"pet_type": "cow", "moos": 1}}),
            ToolCall(id="d", tool="adopt", arguments={"pet": {"pet_type": "dog"}}),
        ]
    )
    assert [o.status for o in result] == [Status.OK, Status.OK, Status.REJECTED, Status.REJECTED]
    ada = Owner(
        name="Ada",
        pet=Cat(pet_type="cat", meows=3),
        pets=[Dog(pet_type="dog", barks=2.5), Cat(pet_type="cat", meows=1)],
    )
    assert sorted(received, key=lambda r: r[1] is not None) == [
        (Dog(pet_type="dog", barks=2.5), None),
        (Cat(pet_type="cat", meows=1), ada),
    ]
    assert "$.pet" in (result[2].error or "") and "$.pet" in (result[3].error or "")
    # The value goes back to the model in its JSON form.
    assert result[0].value == Owner(name="nobody", pet=Dog(pet_type="dog", barks=2.5))
    observation = json.loads(_observation(result[0]))
    assert observation["result"] == {
        "name": "nobody",
        "pet": {"pet_type": "dog", "barks": 2.5, "name": "Rex"},
        "pets": [],
    }


def _observation(outcome: Any) -> str:
    from trio_toolpar import render_observation

    return render_observation(outcome)


def test_models_dataclasses_and_typeddicts_round_trip() -> None:
    from trio_toolpar._arguments._structure import unstructure

    async def f(owner: Owner, address: Address, label: Label, pets: list[Pet]) -> None: ...

    tool = Registry().add(f, side_effect="read")
    check_schema(tool.parameters)
    arguments = {
        "owner": {"name": "Ada", "pet": {"pet_type": "dog", "barks": 1.0, "name": "Rex"}, "pets": []},
        "address": {"street": "Main", "number": 3},
        "label": {"text": "hi", "size": 2},
        "pets": [{"pet_type": "cat", "meows": 2}],
    }
    assert validate(tool.parameters, arguments) == []
    typed = tool.structure(arguments)
    assert typed["owner"] == Owner(name="Ada", pet=Dog(pet_type="dog", barks=1.0))
    assert typed["address"] == Address("Main", 3)
    assert typed["label"] == {"text": "hi", "size": 2}
    assert typed["pets"] == [Cat(pet_type="cat", meows=2)]
    hints = {"owner": Owner, "address": Address, "label": Label, "pets": list[Pet]}
    assert {name: unstructure(typed[name], hints[name]) for name in hints} == arguments


def test_two_models_of_one_name_keep_their_own_definitions() -> None:
    def make(field: type) -> type[pydantic.BaseModel]:
        class Inner(pydantic.BaseModel):
            value: field  # type: ignore[valid-type]

        class Outer(pydantic.BaseModel):
            inner: Inner

        return Outer

    first, second = make(int), make(str)

    async def f(a: Any, b: Any) -> None: ...

    f.__annotations__ = {"a": first, "b": second, "return": None}  # two local classes, as real types
    tool = Registry().add(f, side_effect="read")
    assert validate(tool.parameters, {"a": {"inner": {"value": 1}}, "b": {"inner": {"value": "x"}}}) == []
    assert validate(tool.parameters, {"a": {"inner": {"value": "x"}}, "b": {"inner": {"value": 1}}}) == [
        "$.a.inner.value: expected integer, got string 'x'",
        "$.b.inner.value: expected string, got integer 1",
    ]


def test_a_model_pydantic_cannot_describe_is_refused_at_registration() -> None:
    from collections.abc import Callable

    from trio_toolpar import RegistrationError

    class Hook(pydantic.BaseModel):
        run: Callable[[], None]

    async def f(hook: Any) -> None: ...

    f.__annotations__ = {"hook": Hook, "return": None}
    with pytest.raises(RegistrationError, match=r"parameter 'hook': .*Hook.model_json_schema\(\) failed"):
        Registry().add(f, side_effect="read")
