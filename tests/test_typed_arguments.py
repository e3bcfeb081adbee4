"""Tools receive their declared Python types: the structuring built from a signature, family by family."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import math
import typing
import uuid
from collections.abc import Sequence
from typing import Annotated, Any, Literal, NotRequired, Required, TypedDict

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trio_toolpar import CallContext, RegistrationError, Registry, ToolparError
from trio_toolpar._arguments._schema import check_schema, validate
from trio_toolpar._arguments._structure import unstructure
from trio_toolpar._arguments._structuring import identity
from trio_toolpar._values._exceptions import ArgumentsError


class Priority(enum.Enum):
    LOW = "low"
    HIGH = "high"


class Colour(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    ONE = 1
    TWO = 2


@attrs.frozen
class Line:
    sku: str
    qty: int = 1


@attrs.frozen
class Order:
    lines: list[Line]
    priority: Priority = Priority.LOW
    note: str | None = None


@dataclasses.dataclass(frozen=True)
class Point:
    x: float
    y: float = 0.0


@attrs.frozen
class Flags:
    flag: bool = False
    count: int = 0
    name: str = ""
    ratio: float = 0.0


@attrs.frozen
class Tree:
    label: str
    kids: list[Tree] = attrs.Factory(list)


class Options(TypedDict, total=False):
    verbose: bool
    level: Required[Level]


class Filter(TypedDict):
    field: str
    op: NotRequired[Literal["eq", "ne"]]
    value: Priority


class Plain(TypedDict):
    name: str
    tags: NotRequired[list[str]]


class Blob:
    """Has no JSON form."""


@attrs.frozen
class Holder:
    blob: bytes


class Shapes(enum.Enum):
    SQUARE = (1, 1)


def _tool(fn: Any, **options: Any) -> Any:
    return Registry().add(fn, side_effect="none", **options)


def _problems(tool: Any, arguments: dict[str, Any]) -> list[str]:
    with pytest.raises(ArgumentsError) as caught:
        tool.structure(arguments)
    assert caught.value.tool == tool.name
    return caught.value.problems


# --- plain JSON parameters cost nothing -------------------------------------------------


def test_plain_json_parameters_are_passed_as_they_are() -> None:
    async def search(
        ctx: CallContext,
        query: str,
        ratio: float = 0.5,
        exact: bool = False,
        tags: list[str] | None = None,
        weights: dict[str, float] | None = None,
        mode: Literal["a", "b", None] = None,
        anything: Any = None,
        plain: Plain | None = None,
        seq: Sequence[Annotated[float, "a number"]] = (),
    ) -> None: ...

    tool = _tool(search)
    assert tool.structure is identity
    arguments = {"query": "q", "ratio": 1, "tags": ["a"], "plain": {"name": "n"}, "seq": [1]}
    assert tool.structure(arguments) is arguments
    assert type(tool.structure(arguments)["ratio"]) is int  # an int is a float (PEP 484): left as it came


def test_ints_are_left_as_they_came_unless_sent_as_integral_floats() -> None:
    async def page(number: int, size: int | None = None) -> None: ...

    tool = _tool(page)
    arguments = {"number": 3, "size": None}
    assert tool.structure(arguments) is arguments  # only a float needs work: the usual call costs a type check
    assert tool.structure({"number": 3.0, "size": 2.0}) == {"number": 3, "size": 2}
    assert _problems(tool, {"number": 3.5}) == ["$.number: expected an integer, got 3.5"]

    async def counts(n: Annotated[int, {"minimum": 1}], ns: list[Annotated[int, {"maximum": 9}]]) -> None: ...

    typed = _tool(counts).structure({"n": 1.0, "ns": [2.0, 3]})
    assert typed == {"n": 1, "ns": [2, 3]}
    assert [type(v) for v in (typed["n"], *typed["ns"])] == [int, int, int]


def test_only_the_parameters_that_need_it_are_structured() -> None:
    async def f(p: Priority, q: str, extra: list[str]) -> None: ...

    tool = _tool(f)
    arguments = {"p": "high", "q": "x", "extra": ["1"]}
    result = tool.structure(arguments)
    assert result == {"p": Priority.HIGH, "q": "x", "extra": ["1"]}
    assert result["extra"] is arguments["extra"]
    assert arguments["p"] == "high"  # the caller's arguments are not changed
    assert tool.structure({"q": "x"}) == {"q": "x"}  # absent (defaulted) parameters stay absent


# --- one test per family ---------------------------------------------------------------


def test_enums_by_value() -> None:
    async def f(p: Priority, c: Colour = Colour.RED, level: Level = Level.ONE) -> None: ...

    tool = _tool(f)
    assert tool.parameters["properties"]["p"] == {"enum": ["low", "high"]}
    assert tool.structure({"p": "low", "c": "red", "level": 2}) == {
        "p": Priority.LOW,
        "c": Colour.RED,
        "level": Level.TWO,
    }
    assert _problems(tool, {"p": "mid", "level": True}) == [
        "$.p: expected one of ['low', 'high'], got 'mid'",
        "$.level: expected one of [1, 2], got boolean True",
    ]


def test_literals_reach_the_tool_as_declared() -> None:
    async def f(n: Literal[1, 2], p: Literal[Priority.HIGH] = Priority.HIGH) -> None: ...

    tool = _tool(f)
    assert tool.parameters["properties"]["n"] == {"enum": [1, 2]}
    assert tool.parameters["properties"]["p"] == {"enum": ["high"]}
    result = tool.structure({"n": 1.0, "p": "high"})
    assert result == {"n": 1, "p": Priority.HIGH}
    assert type(result["n"]) is int
    assert _problems(tool, {"n": True}) == ["$.n: expected one of [1, 2], got boolean True"]


def test_tuples_fixed_and_variadic() -> None:
    async def f(pair: tuple[int, str], coords: tuple[float, ...] = (), empty: tuple[()] = ()) -> None: ...

    tool = _tool(f)
    props = tool.parameters["properties"]
    assert props["pair"] == {
        "type": "array",
        "prefixItems": [{"type": "integer"}, {"type": "string"}],
        "minItems": 2,
        "maxItems": 2,
    }
    assert props["coords"] == {"type": "array", "items": {"type": "number"}}
    assert props["empty"] == {"type": "array", "maxItems": 0}
    assert tool.structure({"pair": [1, "a"], "coords": [1, 2.5], "empty": []}) == {
        "pair": (1, "a"),
        "coords": (1, 2.5),
        "empty": (),
    }
    assert _problems(tool, {"pair": [1], "coords": [1, "x"], "empty": [1]}) == [
        "$.pair: expected an array of 2 items, got 1",
        "$.coords[1]: expected a number, got 'x'",
        "$.empty: expected an array of 0 items, got 1",
    ]
    assert _problems(tool, {"pair": ["1", 2]}) == [
        "$.pair[0]: expected an integer, got '1'",
        "$.pair[1]: expected a string, got 2",
    ]


def test_sets_are_arrays_of_unique_items() -> None:
    async def f(tags: set[str], ids: frozenset[int] = frozenset()) -> None: ...

    tool = _tool(f)
    assert tool.parameters["properties"]["tags"] == {"type": "array", "items": {"type": "string"}, "uniqueItems": True}
    result = tool.structure({"tags": ["a", "b"], "ids": [3]})
    assert result == {"tags": {"a", "b"}, "ids": frozenset({3})}
    assert type(result["ids"]) is frozenset
    assert validate(tool.parameters, {"tags": ["a", "a"]}) == ["$.tags: items must be unique, 'a' repeats"]
    assert _problems(tool, {"tags": "ab"}) == ["$.tags: expected an array, got 'ab'"]


def test_dicts_with_string_keys() -> None:
    async def f(by_name: dict[str, Line]) -> None: ...

    tool = _tool(f)
    assert tool.parameters["properties"]["by_name"]["additionalProperties"]["required"] == ["sku"]
    assert tool.structure({"by_name": {"a": {"sku": "x"}}}) == {"by_name": {"a": Line(sku="x")}}
    assert _problems(tool, {"by_name": {"alice": {"sku": "x", "qty": "2"}, "a b": {"sku": 1}}}) == [
        "$.by_name.alice.qty: expected an integer, got '2'",
        "$.by_name['a b'].sku: expected a string, got 1",
    ]
    assert _problems(tool, {"by_name": [1]}) == ["$.by_name: expected an object, got array [1]"]

    async def g(x: dict[int, str]) -> None: ...

    with pytest.raises(RegistrationError, match=r"JSON object keys are strings.*use dict\[str, \.\.\.\]"):
        _tool(g)


def test_dates_and_times_are_iso_8601_strings() -> None:
    async def f(when: datetime.datetime, day: datetime.date, at: datetime.time) -> None: ...

    tool = _tool(f)
    props = tool.parameters["properties"]
    assert [props[k]["format"] for k in ("when", "day", "at")] == ["date-time", "date", "time"]
    result = tool.structure({"when": "2024-05-01T10:00:00Z", "day": "2024-05-01", "at": "10:30:00+02:00"})
    assert result["when"] == datetime.datetime(2024, 5, 1, 10, tzinfo=datetime.UTC)
    assert result["day"] == datetime.date(2024, 5, 1)
    assert type(result["day"]) is datetime.date
    assert result["at"] == datetime.time(10, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
    assert _problems(tool, {"when": "tomorrow", "day": "2024-05-01T10:00", "at": 1030}) == [
        "$.when: expected an ISO 8601 date-time string, got 'tomorrow'",
        "$.day: expected an ISO 8601 date string, got '2024-05-01T10:00'",
        "$.at: expected an ISO 8601 time string, got 1030",
    ]


def test_uuids() -> None:
    async def f(id: uuid.UUID) -> None: ...

    tool = _tool(f)
    assert tool.parameters["properties"]["id"] == {"type": "string", "format": "uuid"}
    text = "12345678-1234-5678-1234-567812345678"
    assert tool.structure({"id": text}) == {"id": uuid.UUID(text)}
    assert _problems(tool, {"id": "nope"}) == ["$.id: expected a UUID string, got 'nope'"]


def test_decimals_from_numbers_or_strings_exactly() -> None:
    async def f(amount: decimal.Decimal) -> None: ...

    tool = _tool(f)
    check_schema(tool.parameters)
    for given_, expected in [("12.50", "12.50"), (0.1, "0.1"), (3, "3"), ("-1e-7", "-1E-7"), (10**40, "1" + "0" * 40)]:
        assert validate(tool.parameters, {"amount": given_}) == []
        assert tool.structure({"amount": given_}) == {"amount": decimal.Decimal(expected)}
    for bad in ["NaN", "Infinity", "1,5", "", True]:
        assert validate(tool.parameters, {"amount": bad}) != []
        assert _problems(tool, {"amount": bad})[0].startswith("$.amount: expected a decimal number")


def test_nested_attrs_classes_with_defaults_refuse_unknown_keys() -> None:
    async def place(order: Order) -> None: ...

    tool = _tool(place)
    schema = tool.parameters["properties"]["order"]
    assert schema["required"] == ["lines"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["lines"]["items"]["properties"]["qty"] == {"type": "integer"}
    assert tool.structure({"order": {"lines": [{"sku": "a"}, {"sku": "b", "qty": 2}], "priority": "high"}}) == {
        "order": Order(lines=[Line("a"), Line("b", 2)], priority=Priority.HIGH)
    }
    bad = {"lines": [{"sku": "a"}, {"sku": "b"}, {"sku": 5, "colour": "red"}, {}], "priority": "mid", "x": 1}
    assert sorted(_problems(tool, {"order": bad})) == [
        "$.order.lines[2].sku: expected a string, got 5",
        "$.order.lines[2]: unexpected property 'colour'",
        "$.order.lines[3]: missing required property 'sku'",
        "$.order.priority: expected one of ['low', 'high'], got 'mid'",
        "$.order: unexpected property 'x'",
    ]
    assert _problems(tool, {"order": [1]}) == ["$.order: expected an object, got array [1]"]


def test_dataclasses() -> None:
    async def f(at: Point) -> None: ...

    tool = _tool(f)
    assert tool.parameters["properties"]["at"]["required"] == ["x"]
    assert tool.structure({"at": {"x": 1.5}}) == {"at": Point(1.5)}
    assert _problems(tool, {"at": {"y": "0"}}) == [
        "$.at: missing required property 'x'",
        "$.at.y: expected a number, got '0'",
    ]


def test_typeddicts_with_required_and_not_required_keys() -> None:
    async def f(options: Options, where: Filter) -> None: ...

    tool = _tool(f)
    props = tool.parameters["properties"]
    assert props["options"]["required"] == ["level"]  # total=False, but Required
    assert props["where"]["required"] == ["field", "value"]  # NotRequired, though annotations are strings here
    assert tool.structure({"options": {"level": 2}, "where": {"field": "f", "value": "low"}}) == {
        "options": {"level": Level.TWO},
        "where": {"field": "f", "value": Priority.LOW},
    }
    assert sorted(
        _problems(tool, {"options": {"verbose": 1}, "where": {"field": "f", "op": "gt", "value": "low", "z": 0}})
    ) == [
        "$.options.verbose: expected a boolean, got 1",
        "$.options: missing required property 'level'",
        "$.where.op: expected one of ['eq', 'ne'], got 'gt'",
        "$.where: unexpected property 'z'",
    ]


def test_annotated_hints_give_descriptions_and_keep_their_type() -> None:
    async def f(p: Annotated[Priority, "how urgent"], n: Annotated[int, {"minimum": 1}] = 1) -> None: ...

    tool = _tool(f)
    assert tool.parameters["properties"]["p"] == {"enum": ["low", "high"], "description": "how urgent"}
    assert tool.parameters["properties"]["n"] == {"type": "integer", "minimum": 1, "default": 1}
    assert tool.structure({"p": "high", "n": 2}) == {"p": Priority.HIGH, "n": 2}


def test_unions_take_the_first_member_that_fits() -> None:
    async def f(line: Line | None = None, key: Priority | int = 0, when: datetime.date | str = "") -> None: ...

    tool = _tool(f)
    assert tool.structure({"line": None, "key": "low", "when": "2024-01-02"}) == {
        "line": None,
        "key": Priority.LOW,
        "when": datetime.date(2024, 1, 2),
    }
    assert tool.structure({"line": {"sku": "a"}, "key": 3, "when": "soon"}) == {
        "line": Line("a"),
        "key": 3,
        "when": "soon",
    }
    assert _problems(tool, {"line": {"sku": 1}, "key": [1]}) == [
        "$.line.sku: expected a string, got 1",  # Optional[X]: what is wrong for X
        "$.key: expected one of ['low', 'high'] or an integer, got array [1]",
    ]


def test_no_primitive_is_coerced() -> None:
    async def f(flags: Flags) -> None: ...

    tool = _tool(f)
    assert tool.structure({"flags": {"ratio": 1, "flag": True}}) == {"flags": Flags(flag=True, ratio=1)}
    for field, value, message in [
        ("flag", "false", "expected a boolean, got 'false'"),
        ("flag", 1, "expected a boolean, got 1"),
        ("count", "3", "expected an integer, got '3'"),
        ("count", True, "expected an integer, got boolean True"),
        ("count", 3.5, "expected an integer, got 3.5"),
        ("name", 5, "expected a string, got 5"),
        ("name", None, "expected a string, got null None"),
        ("ratio", False, "expected a number, got boolean False"),
        ("ratio", "1.5", "expected a number, got '1.5'"),
    ]:
        assert _problems(tool, {"flags": {field: value}}) == [f"$.flags.{field}: {message}"]
    assert tool.structure({"flags": {"count": 3.0}}) == {"flags": Flags(count=3)}  # an integer to JSON


def test_a_recursive_class_is_described_once_under_defs() -> None:
    async def f(tree: Tree) -> None: ...

    tool = _tool(f)
    assert tool.parameters["properties"]["tree"] == {"$ref": "#/$defs/Tree"}
    assert tool.parameters["$defs"]["Tree"]["properties"]["kids"]["items"] == {"$ref": "#/$defs/Tree"}
    check_schema(tool.parameters)
    value = {"tree": {"label": "a", "kids": [{"label": "b", "kids": [{"label": "c"}]}]}}
    assert validate(tool.parameters, value) == []
    assert tool.structure(value) == {"tree": Tree("a", [Tree("b", [Tree("c")])])}
    assert _problems(tool, {"tree": {"label": "a", "kids": [{"kids": [{"label": 1}]}]}}) == [
        "$.tree.kids[0]: missing required property 'label'",
        "$.tree.kids[0].kids[0].label: expected a string, got 1",
    ]


def test_an_explicit_schema_still_structures_the_hints_it_can() -> None:
    async def f(ctx: CallContext, p: Priority, blob: Blob, n: int) -> None: ...

    schema = {"type": "object", "properties": {"p": {"type": "string"}, "blob": {}, "n": {"type": "integer"}}}
    tool = _tool(f, parameters=schema)
    assert tool.parameters == schema
    assert tool.context_parameter == "ctx"
    assert tool.structure({"p": "low", "blob": {"raw": 1}, "n": 2}) == {"p": Priority.LOW, "blob": {"raw": 1}, "n": 2}

    async def unresolvable(x: NotDefinedAnywhere) -> None: ...  # type: ignore[name-defined] # noqa: F821

    tool = _tool(unresolvable, parameters={"type": "object"})
    assert tool.structure is identity


@pytest.mark.parametrize(
    ("annotation", "message"),
    [
        (bytes, r"tool 'f', parameter 'x': cannot derive a JSON schema from the type <class 'bytes'>"),
        (Blob, r"parameter 'x': cannot derive .*Blob.*pass parameters=\{\.\.\.\}"),
        (list[complex], r"parameter 'x': cannot derive a JSON schema from the type <class 'complex'>"),
        (Literal[b"x"], r"parameter 'x': Literal value b'x' has no JSON form"),
        (dict[int, int], r"parameter 'x': JSON object keys are strings"),
    ],
    ids=str,
)
def test_unsupported_hints_are_refused_naming_the_parameter_and_the_type(annotation: Any, message: str) -> None:
    async def f(x: Any) -> None: ...

    f.__annotations__["x"] = annotation
    with pytest.raises(RegistrationError, match=message) as caught:
        _tool(f)
    assert caught.value.tool == "f"


def test_a_bad_field_type_is_refused_naming_the_field() -> None:
    async def f(x: Holder) -> None: ...

    with pytest.raises(RegistrationError, match=r"tool 'f', parameter 'x', field 'blob': cannot derive"):
        _tool(f)

    async def g(x: Shapes) -> None: ...

    with pytest.raises(RegistrationError, match=r"parameter 'x': the values of .*Shapes must be JSON scalars"):
        _tool(g)


def test_arguments_errors_are_toolpar_and_value_errors() -> None:
    async def f(p: Priority) -> None: ...

    with pytest.raises(ArgumentsError) as caught:
        _tool(f).structure({"p": 1})
    assert isinstance(caught.value, ToolparError)
    assert isinstance(caught.value, ValueError)
    assert str(caught.value) == "$.p: expected one of ['low', 'high'], got 1"


# --- properties --------------------------------------------------------------------------


async def everything(
    ctx: CallContext,
    priority: Priority,
    level: Level,
    pair: tuple[int, str],
    coords: tuple[float, ...],
    tags: set[str],
    ids: frozenset[int],
    lines: dict[str, Line],
    when: datetime.datetime,
    day: datetime.date,
    at: datetime.time,
    id: uuid.UUID,
    amount: decimal.Decimal,
    point: Point,
    order: Order,
    options: Options,
    where: Filter,
    tree: Tree,
    maybe: Line | None,
    choice: Literal[1, "two"],
    flags: Flags,
) -> None:
    """Every family at once."""


EVERYTHING = Registry().add(everything, side_effect="none")


_text = st.text(max_size=8)
_floats = st.floats(allow_nan=False, allow_infinity=False)
_lines = st.builds(Line, sku=_text, qty=st.integers())
_zones = st.sampled_from([None, datetime.UTC, datetime.timezone(datetime.timedelta(hours=5, minutes=30))])
_trees = st.recursive(
    st.builds(Tree, label=_text),
    lambda inner: st.builds(Tree, label=_text, kids=st.lists(inner, max_size=3)),
    max_leaves=8,
)
DECLARED: dict[str, st.SearchStrategy[Any]] = {
    "priority": st.sampled_from(Priority),
    "level": st.sampled_from(Level),
    "pair": st.tuples(st.integers(), _text),
    "coords": st.lists(_floats, max_size=3).map(tuple),
    "tags": st.sets(_text, max_size=3),
    "ids": st.frozensets(st.integers(), max_size=3),
    "lines": st.dictionaries(_text, _lines, max_size=2),
    "when": st.datetimes(timezones=_zones),
    "day": st.dates(),
    "at": st.times(timezones=_zones),
    "id": st.uuids(),
    "amount": st.decimals(allow_nan=False, allow_infinity=False),
    "point": st.builds(Point, x=_floats, y=_floats),
    "order": st.builds(
        Order, lines=st.lists(_lines, max_size=2), priority=st.sampled_from(Priority), note=st.none() | _text
    ),
    "options": st.fixed_dictionaries({"level": st.sampled_from(Level)}, optional={"verbose": st.booleans()}),
    "where": st.fixed_dictionaries(
        {"field": _text, "value": st.sampled_from(Priority)}, optional={"op": st.sampled_from(["eq", "ne"])}
    ),
    "tree": _trees,
    "maybe": st.none() | _lines,
    "choice": st.sampled_from([1, "two"]),
    "flags": st.builds(Flags, flag=st.booleans(), count=st.integers(), name=_text, ratio=_floats | st.integers()),
}


@settings(max_examples=150, deadline=None)
@given(st.fixed_dictionaries(DECLARED))
def test_declared_values_round_trip_through_the_schema(values: dict[str, Any]) -> None:
    tool = EVERYTHING
    hints = typing.get_type_hints(everything)
    arguments = {name: unstructure(value, hints[name]) for name, value in values.items()}
    assert validate(tool.parameters, arguments) == []
    assert tool.structure(arguments) == values


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(4400, 5000).map(lambda digits: 10**digits),
        st.floats(),
        st.sampled_from([math.nan, math.inf, "\ud800", "low", "2024-01-01", "12.5", "eq"]),
        st.text(max_size=5),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(["sku", "qty", "label", "kids", "lines", "x", "level", "field"]) | _text, inner
        ),
    ),
    max_leaves=15,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from([*DECLARED, "extra"]), json_values))
def test_structuring_any_json_raises_nothing_but_arguments_error(arguments: dict[str, Any]) -> None:
    tool = EVERYTHING
    try:
        result = tool.structure(arguments)
    except ArgumentsError as exc:
        problems = exc.problems
    else:
        problems = ["$.ok: nothing wrong"]
        assert result.keys() == arguments.keys()
    assert problems
    assert all(p.startswith("$.") and ": " in p for p in problems)
