"""Tool definitions a model can write references against: widened schemas, strict form, the generated note."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypedDict

import jsonschema
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from provider_fakes import check_anthropic_tools, check_openai_tools, check_responses_tools

from trio_toolpar import Registry, SchemaError, anthropic, openai
from trio_toolpar._arguments._references import is_reference, parse_reference
from trio_toolpar._wire._tool_schema import REFERENCE_PATTERN, widen

ROOT = Path(__file__).parent.parent
VALIDATOR = jsonschema.Draft202012Validator
REFERENCES = ["$#1", "$#1.total", "$#12.items.0.id", "$call_abc.items.0", "$toolu_01-x.a"]


class Line(TypedDict):
    sku: str
    quantity: int


def typed_registry() -> Registry:
    registry = Registry()

    @registry.tool(side_effect="write", key="order:{order_id}")
    async def place(
        order_id: str,
        total: float,
        lines: list[Line],
        rush: bool,
        priority: Literal[1, 2, 3],
        code: Annotated[str, {"pattern": "^[A-Z]{3}$"}],
        weights: dict[str, float],
        note: str | None = None,
        count: int = 1,
    ) -> str:
        """Place an order."""
        return order_id

    return registry


WRONG: dict[str, object] = {
    "total": "many",
    "lines": [{"sku": "a", "quantity": "two"}],
    "rush": 1.5,
    "priority": 7,
    "code": "abcd",
    "weights": {"a": "heavy"},
    "count": 1.5,
}
RIGHT: dict[str, object] = {
    "order_id": "o1",
    "total": 9.5,
    "lines": [{"sku": "a", "quantity": 2}],
    "rush": False,
    "priority": 2,
    "code": "ABC",
    "weights": {"a": 1.0},
}


def widened_parameters() -> Iterator[tuple[str, Mapping[str, Any]]]:
    yield "chat", openai.tools(typed_registry())[0]["function"]["parameters"]
    yield "responses", openai.response_tools(typed_registry())[0]["parameters"]
    yield "anthropic", anthropic.tools(typed_registry())[0]["input_schema"]


@pytest.mark.parametrize(("provider", "schema"), list(widened_parameters()))
def test_a_reference_fits_every_parameter_and_a_wrong_literal_still_fails(
    provider: str, schema: Mapping[str, Any]
) -> None:
    VALIDATOR.check_schema(schema)
    validator = VALIDATOR(schema)
    assert validator.is_valid(RIGHT)
    for name, wrong in WRONG.items():
        assert not validator.is_valid({**RIGHT, name: wrong}), (provider, name)
        for ref in REFERENCES:
            assert validator.is_valid({**RIGHT, name: ref}), (provider, name, ref)
    # At every depth: inside array items, inside a TypedDict, as a dict's values.
    nested = {**RIGHT, "lines": [{"sku": "$#1.sku", "quantity": "$#1.count"}, "$#2"], "weights": {"a": "$#3.w"}}
    assert validator.is_valid(nested)
    # Not a reference: a malformed one, a '$$' escape, or text, where a number is expected.
    for text in ["$#0", "$#1..a", "$#1.", "$$5", "5", "$ 1", "#1"]:
        assert not validator.is_valid({**RIGHT, "total": text}), text


def test_plain_string_parameters_are_not_widened() -> None:
    properties = openai.tools(typed_registry())[0]["function"]["parameters"]["properties"]
    assert properties["order_id"] == {"type": "string"}
    assert properties["code"]["anyOf"][1]["pattern"] == REFERENCE_PATTERN  # a constrained string is widened
    plain = openai.tools(typed_registry(), references=False)[0]["function"]["parameters"]
    assert plain == dict(next(iter(typed_registry())).parameters)


def registry_of(parameters: dict[str, Any]) -> Registry:
    """One pure tool ``t`` with the given schema."""
    registry = Registry()
    registry.add(lambda **kw: kw, name="t", side_effect="none", parameters=parameters)
    return registry


def test_widening_reaches_defs_prefix_items_and_one_of() -> None:
    registry = registry_of(
        {
            "type": "object",
            "properties": {
                "pair": {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "boolean"}]},
                "either": {"oneOf": [{"type": "integer"}, {"type": "null"}]},
                "anything": {},
            },
            "additionalProperties": {"type": "integer"},
        }
    )
    schema = openai.tools(registry)[0]["function"]["parameters"]
    validator = VALIDATOR(schema)
    assert validator.is_valid({"pair": ["$#1", "$#2.ok"], "either": "$#1.n", "extra": "$#4"})
    assert not validator.is_valid({"pair": [1.5, True]})
    assert not validator.is_valid({"extra": "text"})
    assert schema["properties"]["anything"] == {}


def test_widening_reaches_defs() -> None:
    # The registry's own validator does not take $defs; a schema built elsewhere may hold them.
    schema = widen(
        {
            "type": "object",
            "properties": {"line": {"$ref": "#/$defs/line"}},
            "$defs": {"line": {"type": "object", "properties": {"n": {"type": "integer"}}}},
        }
    )
    validator = VALIDATOR(schema)
    assert validator.is_valid({"line": "$#1"})
    assert validator.is_valid({"line": {"n": "$#1.n"}})
    assert not validator.is_valid({"line": {"n": "one"}})


@given(st.text(alphabet="$#.0123456789abAZ_-x \n", max_size=14))
@example("$#1\n")
@example("$#1234567890")
def test_the_pattern_is_the_executors_reference_syntax(text: str) -> None:
    """A string the schema calls a reference is one the executor resolves, and the other way round.

    The pattern is matched as ECMA-262 reads it (what the providers use): its
    ``$`` is the end of the text, Python's ``\\Z``, not "before a final newline".
    """
    assert REFERENCE_PATTERN.startswith("^") and REFERENCE_PATTERN.endswith("$")
    ecma = re.compile(REFERENCE_PATTERN[:-1] + r"\Z")
    try:
        executor_says = parse_reference(text) is not None
    except ValueError:
        executor_says = False  # malformed (an empty path segment): the executor rejects it
    assert (ecma.search(text) is not None) == executor_says
    if executor_says:
        assert is_reference(text)


# -- strict mode -------------------------------------------------------------------------------------

STRICT_KEYWORDS = {
    *("type", "properties", "required", "additionalProperties", "items", "anyOf", "enum", "const"),
    *("description", "title", "$defs", "$ref", "pattern", "format", "minItems", "maxItems"),
    *("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"),
}


def assert_strict(schema: Mapping[str, Any], where: str = "$") -> None:
    """OpenAI's strict-mode rules: closed objects, all properties required, known keywords only."""
    assert set(schema) <= STRICT_KEYWORDS, (where, set(schema) - STRICT_KEYWORDS)
    if "properties" in schema or schema.get("type") == "object":
        assert schema["additionalProperties"] is False, where
        assert schema["required"] == list(schema["properties"]), where
        for name, sub in schema["properties"].items():
            assert_strict(sub, f"{where}.{name}")
    if schema.get("type") == "array":
        assert_strict(schema["items"], f"{where}[]")
    for option in schema.get("anyOf", []):
        assert_strict(option, where)


def strict_registry() -> Registry:
    registry = Registry()

    @registry.tool(side_effect="read")
    async def search(query: str, lines: list[Line], limit: int | None = None) -> list[str]:
        """Search."""
        return []

    return registry


def test_strict_definitions_follow_strict_mode_and_still_take_references() -> None:
    chat = openai.tools(strict_registry(), strict=True)
    responses = openai.response_tools(strict_registry(), strict=True)
    check_openai_tools(chat)
    check_responses_tools(responses)
    assert chat[0]["function"]["strict"] is True
    assert responses[0]["strict"] is True
    for schema in (chat[0]["function"]["parameters"], responses[0]["parameters"]):
        assert_strict(schema)
        assert schema["required"] == ["query", "lines", "limit"]
        validator = VALIDATOR(schema)
        args = {"query": "q", "lines": [{"sku": "a", "quantity": "$#1.n"}], "limit": "$#2"}
        assert validator.is_valid(args)
        assert validator.is_valid({**args, "limit": None})
        assert not validator.is_valid({**args, "limit": "ten"})
        assert not validator.is_valid({"query": "q", "lines": []})  # strict: every property is sent
    assert "strict" not in openai.tools(strict_registry())[0]["function"]
    assert openai.response_tools(strict_registry())[0]["strict"] is False


@pytest.mark.parametrize(
    ("parameters", "match"),
    [
        ({"type": "object", "properties": {"n": {"type": "integer"}}}, r"\.n is optional, .* 'n: X \| None = None'"),
        ({"type": "object", "properties": {}, "additionalProperties": True}, "takes keys of its own choosing"),
        (
            {"type": "object", "properties": {"m": {"type": "object"}}, "required": ["m"]},
            r"arguments\.m is an object that takes keys",
        ),
        ({"type": "object", "properties": {"xs": {"type": "array"}}, "required": ["xs"]}, "array without one 'items'"),
        ({"type": "object", "properties": {"v": {}}, "required": ["v"]}, "accepts any value"),
    ],
)
def test_schemas_without_a_strict_form_are_refused_with_a_fix(parameters: dict[str, Any], match: str) -> None:
    with pytest.raises(SchemaError, match=match):
        openai.tools(registry_of(parameters), strict=True)


def test_strict_leaves_out_keywords_strict_mode_does_not_know() -> None:
    registry = registry_of(
        {"type": "object", "properties": {"s": {"type": "string", "minLength": 2, "default": "ab"}}, "required": ["s"]}
    )
    schema = openai.tools(registry, strict=True, references=False)[0]["function"]["parameters"]
    assert schema["properties"]["s"] == {"type": "string"}
    assert_strict(schema)


def test_the_sdk_types_accept_the_widened_definitions() -> None:
    check_openai_tools(openai.tools(typed_registry()))
    check_responses_tools(openai.response_tools(typed_registry()))
    check_anthropic_tools(anthropic.tools(typed_registry()))


# -- the note --------------------------------------------------------------------------------------


def test_the_note_names_every_tool_and_the_reference_syntax() -> None:
    note = openai.reference_note(typed_registry())
    assert "- place: Writes order:{order_id}: calls touching the same key run one at a time" in note
    assert '"$#N.path"' in note and '"$$"' in note
    assert anthropic.reference_note(typed_registry()) == note


def test_the_docs_show_the_note_exactly_as_generated() -> None:
    text = (ROOT / "docs" / "providers.md").read_text(encoding="utf-8")
    code = text.split("<!-- reference-note:code -->")[1].split("```python\n")[1].split("```")[0]
    shown = text.split("<!-- reference-note:output -->")[1].split("```text\n")[1].split("```")[0]
    namespace: dict[str, Any] = {}
    exec(compile(code, "docs/providers.md", "exec"), namespace)
    # The page wraps the lines too long for it: an indented line continues the one above.
    assert shown.replace("\n  ", " ") == openai.reference_note(namespace["registry"]) + "\n"
