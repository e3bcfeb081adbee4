"""The hot path's shortcuts answer exactly what the slow, obvious code answers.

Each shortcut (compiled schema checks, the one-pass argument scan, the
planner's quick path for flat arguments) is compared with the code it
stands in for, on generated input.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from trio_toolpar import Registry, ToolCall
from trio_toolpar._arguments._acceptor import compile_acceptor
from trio_toolpar._arguments._references import find_references, holds_reference, nests_deeper, scan, substitute
from trio_toolpar._arguments._schema import check_schema, validate
from trio_toolpar._planning._plan import Plan
from trio_toolpar._values._jsonvalue import MAX_DEPTH

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "a", "abc", "$c1", "$$x", "x1", "hello world", "$", "$c1.items.0"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.sampled_from(["a", "b", "n", "items", "x"]), inner, max_size=4),
    ),
    max_leaves=12,
)

_huge = st.integers(4400, 5000).map(lambda digits: 10**digits + 1)  # too long for str(), and for a float
schema_scalars = st.one_of(scalars, _huge, _huge.map(lambda n: -n), st.sampled_from([2**64, 2**53 + 1, -(2**70)]))
"""Scalars for the schema checks: the plain ones, NaN and the infinities, and integers of any size."""
schema_values = st.recursive(
    schema_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.sampled_from(["a", "b", "n", "items", "x"]), inner, max_size=4),
    ),
    max_leaves=12,
)
_options = st.one_of(schema_scalars, st.lists(schema_scalars, max_size=2), st.dictionaries(st.just("a"), scalars))
"""Enum options and consts: bools beside 0 and 1, also inside arrays and objects."""

_types = st.sampled_from(["object", "array", "string", "integer", "number", "boolean", "null"])


_constraints = st.one_of(
    st.lists(_options, min_size=1, max_size=3).map(lambda options: {"enum": options}),
    _options.map(lambda c: {"const": c}),
    st.integers(-3, 3).map(lambda m: {"minimum": m}),
    _huge.map(lambda m: {"maximum": m}),
    st.integers(-3, 3).map(lambda m: {"maximum": m}),
    st.integers(-3, 3).map(lambda m: {"exclusiveMinimum": m}),
    st.integers(-3, 3).map(lambda m: {"exclusiveMaximum": m}),
    st.sampled_from([1, 2, 3, 0.5, 0.1, 2**70]).map(lambda m: {"multipleOf": m}),
    st.integers(0, 3).map(lambda m: {"minLength": m}),
    st.integers(0, 3).map(lambda m: {"maxLength": m}),
    st.sampled_from(["^a", "c$", "[0-9]"]).map(lambda p: {"pattern": p}),
    st.integers(0, 3).map(lambda m: {"minItems": m}),
    st.integers(0, 3).map(lambda m: {"maxItems": m}),
    st.integers(0, 3).map(lambda m: {"minProperties": m}),
    st.integers(0, 3).map(lambda m: {"maxProperties": m}),
    st.just({"description": "annotations are ignored", "default": 1}),
)
_uncompiled = st.just({"uniqueItems": True})


def _merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    return {k: v for part in parts for k, v in part.items()}


def _leaf_schemas(constraints: st.SearchStrategy[dict[str, Any]] = _constraints) -> st.SearchStrategy[dict[str, Any]]:
    kind = st.one_of(_types, st.lists(_types, min_size=1, max_size=3, unique=True))
    typed = st.builds(lambda t, parts: {"type": t, **_merge(parts)}, kind, st.lists(constraints, max_size=1))
    untyped = st.lists(constraints, max_size=1).map(_merge)
    return st.one_of(typed, typed, typed, untyped)


def _extend(inner: st.SearchStrategy[Any], *, everything: bool = False) -> st.SearchStrategy[Any]:
    names = st.sampled_from(["a", "b", "n", "items", "x"])
    obj = st.builds(
        lambda base, props, required, extra: {
            **base,
            "type": "object",
            "properties": props,
            "required": required,
            **({"additionalProperties": extra} if extra is not None else {}),
        },
        st.lists(_constraints, max_size=1).map(_merge),
        st.dictionaries(names, inner, max_size=3),
        st.lists(names, max_size=2, unique=True),
        st.one_of(st.none(), st.booleans(), inner),
    )
    options = [
        obj,
        obj,
        st.builds(lambda base, items: {**base, "type": "array", "items": items}, _leaf_schemas(), inner),
        st.builds(
            lambda base, prefix: {**base, "prefixItems": prefix},
            _leaf_schemas(),
            st.lists(inner, min_size=1, max_size=3),
        ),
        st.lists(inner, min_size=1, max_size=3).map(lambda options: {"anyOf": options}),
        st.lists(inner, min_size=1, max_size=2).map(lambda options: {"allOf": options}),
    ]
    if everything:
        options.append(st.lists(inner, min_size=1, max_size=2).map(lambda options: {"oneOf": options}))
        options.append(inner.map(lambda sub: {"not": sub}))
    return st.one_of(options)


compiled_schemas = st.recursive(st.one_of(st.booleans(), _leaf_schemas(), _leaf_schemas()), _extend, max_leaves=4)
"""Schemas of the keywords the quick check covers."""
schemas = st.recursive(
    st.one_of(st.booleans(), _leaf_schemas(st.one_of(_constraints, _uncompiled))),
    lambda inner: _extend(inner, everything=True),
    max_leaves=6,
)
"""Schemas of every keyword the validator knows."""


def _near(schema: Any) -> st.SearchStrategy[Any]:
    """Values shaped by ``schema``: mostly fitting, with the near misses a quick check could let through."""
    if not isinstance(schema, dict):
        return schema_values
    options: list[st.SearchStrategy[Any]] = [schema_values]
    for branch in schema.get("anyOf", []) + schema.get("allOf", []) + schema.get("oneOf", []):
        options.append(_near(branch))
    if "enum" in schema:
        options.append(st.sampled_from(schema["enum"]))
        options.append(st.sampled_from(schema["enum"]).map(_swap_bools))
    if "const" in schema:
        options.append(st.just(schema["const"]))
        options.append(st.just(_swap_bools(schema["const"])))
    kinds = schema.get("type", [])
    for kind in [kinds] if isinstance(kinds, str) else kinds:
        if kind == "integer":
            options.append(st.one_of(st.integers(-5, 5), _huge, st.sampled_from([1.0, -2.0, True, False, 2**64])))
        elif kind == "number":
            options.append(
                st.one_of(st.integers(-5, 5), st.floats(-5, 5), _huge, st.sampled_from([math.inf, math.nan, 0.3, 0.7]))
            )
        elif kind == "boolean":
            options.append(st.sampled_from([True, False, 0, 1]))
        elif kind == "string":
            options.append(st.sampled_from(["", "a", "abc", "c", "a1c", "0"]))
        elif kind == "array":
            items = _near(schema.get("items", True))
            prefix = [_near(sub) for sub in schema.get("prefixItems", [])]
            options.append(st.tuples(*prefix, st.lists(items, max_size=4)).map(lambda t: [*t[:-1], *t[-1]]))
        elif kind == "object":
            props = schema.get("properties", {})
            extra = schema.get("additionalProperties", True)
            options.append(
                st.fixed_dictionaries(
                    {},
                    optional={
                        **{name: _near(sub) for name, sub in props.items()},
                        "extra": _near(extra),
                    },
                )
            )
    return st.one_of(options)


def _swap_bools(value: Any) -> Any:
    """``value`` with booleans and 0/1 exchanged at every depth: equal in Python, not in JSON."""
    if type(value) is bool:
        return int(value)
    if type(value) is int and value in (0, 1):
        return bool(value)
    if isinstance(value, (list, tuple)):
        return [_swap_bools(v) for v in value]
    if isinstance(value, dict):
        return {k: _swap_bools(v) for k, v in value.items()}
    return value


@st.composite
def schema_and_value(draw: st.DrawFn) -> tuple[Any, Any]:
    schema = draw(st.one_of(compiled_schemas, schemas))
    return schema, draw(_near(schema))


def _compiled_fully(schema: Any) -> bool:
    """Whether ``schema`` avoids the keywords the quick check leaves to the validator."""
    if not isinstance(schema, dict):
        return True
    if "oneOf" in schema or "not" in schema or schema.get("uniqueItems"):
        return False
    subs = [*schema.get("properties", {}).values(), *schema.get("anyOf", []), *schema.get("allOf", [])]
    subs += [*schema.get("prefixItems", []), schema.get("items", True), schema.get("additionalProperties", True)]
    return all(_compiled_fully(sub) for sub in subs)


def _plain(value: Any) -> bool:
    if type(value) is dict:
        return all(type(k) is str and _plain(v) for k, v in value.items())
    if type(value) in (list, tuple):
        return all(_plain(v) for v in value)
    return type(value) in (str, int, float, bool, type(None))


@given(schema_and_value())
def test_a_compiled_schema_accepts_exactly_what_the_validator_accepts(pair: tuple[Any, Any]) -> None:
    schema, value = pair
    check_schema(schema)
    accepted = compile_acceptor(schema)(value)
    valid = validate(schema, value) == []
    if accepted:
        assert valid
    elif valid:
        # "Not sure" is allowed only for what the quick check does not cover.
        assert not _compiled_fully(schema) or not _plain(value)


KEYWORD_SCHEMAS: list[Any] = [
    True,
    False,
    {},
    {"type": "integer"},
    {"type": "number"},
    {"type": "boolean"},
    {"type": "null"},
    {"type": ["string", "null"]},
    {"type": "string", "minLength": 1, "maxLength": 2},
    {"type": "string", "pattern": "c$"},
    {"enum": ["a", 1, True, None]},
    {"enum": [[1, 0], {"a": True}, [[False]]]},
    {"const": [1, {"a": 0}]},
    {"type": "array", "uniqueItems": True, "items": {"type": "array"}},
    {"type": "integer", "multipleOf": 3, "maximum": 2**80},
    {"type": "number", "multipleOf": 0.1, "minimum": -(2**80)},
    {"const": 1},
    {"type": "number", "minimum": 0, "maximum": 2},
    {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 2},
    {"type": "number", "multipleOf": 0.5},
    {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 2},
    {"type": "array", "prefixItems": [{"type": "string"}, {"type": "boolean"}], "items": {"type": "null"}},
    {"type": "array", "uniqueItems": True},
    {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"], "additionalProperties": False},
    {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": {"type": "integer"}},
    {"type": "object", "minProperties": 1, "maxProperties": 2},
    {
        "type": "object",
        "properties": {
            "a": {"type": ["string", "null"], "description": "d"},
            "b": {"type": "number"},
            "c": {"type": "boolean", "title": "c"},
            "d": {"type": "array"},
            "e": {"type": "object"},
            "f": {"type": "integer", "enum": [1, 2]},
        },
        "required": ["a"],
    },
    {"type": ["object", "null"], "properties": {"a": {"type": "integer"}}, "required": ["a"]},
    {"anyOf": [{"type": "integer"}, {"type": "array", "items": {"type": "string"}}]},
    {"allOf": [{"type": "number"}, {"minimum": 1}]},
    {"oneOf": [{"type": "integer"}, {"minimum": 0}]},
    {"not": {"type": "string"}},
    {
        "type": "object",
        "properties": {
            "query": {"type": "string", "minLength": 1},
            "limit": {"type": "integer", "minimum": 1, "default": 10},
            "tags": {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]},
        },
        "required": ["query"],
        "additionalProperties": False,
    },
]


@pytest.mark.parametrize("schema", KEYWORD_SCHEMAS, ids=repr)
@given(data=st.data())
def test_each_keyword_is_compiled_to_what_the_validator_checks(schema: Any, data: st.DataObject) -> None:
    test_a_compiled_schema_accepts_exactly_what_the_validator_accepts.hypothesis.inner_test(  # type: ignore[attr-defined]
        (schema, data.draw(_near(schema)))
    )


@given(schemas, schema_values)
def test_a_compiled_schema_is_never_wrong_about_arguments_with_references(schema: Any, value: Any) -> None:
    # The planner skips reference strings when it validates; a quick yes must hold there too.
    from trio_toolpar._arguments._references import is_reference

    if compile_acceptor(schema)(value):
        assert validate(schema, value, skip=is_reference) == []


_reference_texts = st.sampled_from(["$c1", "$#2", "$c1.items.0", "$@race", "total: $#1.n", "$$c1", "$#0", "$5", "$"])
"""Texts that are or hold a reference, and near misses that hold none: an escape, ``$#0``, a price, a lone ``$``."""


@st.composite
def _with_references(draw: st.DrawFn, value: Any) -> Any:
    """``value`` with some of its parts (itself, an item, a property), at any depth, swapped for `_reference_texts`."""
    if draw(st.integers(0, 3)) == 0:
        return draw(_reference_texts)
    if type(value) is dict:
        return {key: draw(_with_references(item)) for key, item in value.items()}
    if type(value) in (list, tuple):
        return type(value)(draw(_with_references(item)) for item in value)
    return value


@st.composite
def schema_and_referencing_value(draw: st.DrawFn) -> tuple[Any, Any]:
    schema, value = draw(schema_and_value())
    return schema, draw(_with_references(value))


@given(schema_and_referencing_value())
@example(({"type": "integer", "minimum": 5}, "$c1"))
@example(({"type": "object", "properties": {"n": {"type": "integer"}}}, {"n": "$$c1"}))
@example(({"type": "object", "properties": {"n": {"type": "integer"}}}, {"n": "total: $#1.n"}))
@example(({"type": "array", "items": False}, ["$#2", "$#0"]))
@example(({"anyOf": [{"type": "null"}, {"type": "array", "items": {"type": "integer"}}]}, [1, "$c1.items.0"]))
@example(({"type": "array", "prefixItems": [{"type": "boolean"}], "items": {"type": "string"}}, ["$#2", "$5"]))
@example(({"not": {"type": "string"}}, "$c1"))
@example(({"allOf": [{"type": "object", "properties": {"n": {"type": "integer"}}}]}, {"n": "$c1"}))
@example(({"minProperties": 1, "additionalProperties": {"type": "null"}}, {"n": "$#2"}))
def test_the_referencing_check_accepts_exactly_what_the_validator_skipping_references_accepts(
    pair: tuple[Any, Any],
) -> None:
    # The planner's check for arguments with references: a text that is or holds one passes anywhere, as in validate.
    schema, value = pair
    accepted = compile_acceptor(schema, references=True)(value)
    valid = validate(schema, value, skip=holds_reference) == []
    if accepted:
        assert valid
    elif valid:
        assert not _compiled_fully(schema) or not _plain(value)


def test_references_and_flat_are_not_asked_together() -> None:
    with pytest.raises(ValueError, match="flat arguments hold no references"):
        compile_acceptor({"type": "object"}, flat=True, references=True)


def _flat(value: Any) -> bool:
    return type(value) is dict and all(
        (type(v) is str and not v.startswith("$")) or type(v) in (int, float, bool, type(None)) for v in value.values()
    )


@given(schema_and_value())
@example(({"type": "object", "properties": {"a": {"type": "string"}}}, {"a": "$c1"}))
@example(({"type": "object"}, {"a": "$$x", "b": 1}))
@example(({"type": "object"}, {"a": [1]}))
@example(({"type": "object", "properties": {"a": {"type": "object"}}}, {"a": {}}))
@example(({"anyOf": [{"type": "object"}, {"type": "null"}]}, {"a": "$c1"}))
def test_the_flat_check_says_yes_exactly_to_flat_arguments_the_compiled_check_accepts(pair: tuple[Any, Any]) -> None:
    # The planner's quick path: a yes must mean nothing to find (references, escapes, nesting) and a fit.
    schema, value = pair
    arguments = value if isinstance(value, dict) else {"a": value}
    flat = compile_acceptor(schema, flat=True)(arguments)
    assert flat == (_flat(arguments) and compile_acceptor(schema)(arguments))
    if flat:
        assert validate(schema, arguments) == []
        assert scan(arguments, MAX_DEPTH) == ((), (), False)


def _planning_registry() -> Registry:
    registry = Registry()

    @registry.tool
    async def search(query: str, limit: int = 10, tags: list[str] | None = None) -> list[str]:
        """Search."""
        return []

    @registry.tool(side_effect="write", key="item:{n}")
    async def put(n: int, note: str = "") -> int:
        """Put."""
        return n

    @registry.tool(side_effect="read", key="item:{n}")
    async def get(n: int) -> int:
        """Get."""
        return n

    return registry


_arguments = st.dictionaries(st.sampled_from(["query", "limit", "tags", "n", "note", "x"]), values, max_size=3)
_calls = st.lists(
    st.builds(
        ToolCall,
        id=st.sampled_from(["c0", "c1", "c2", "c3", "c4"]),
        tool=st.sampled_from(["search", "put", "get", "nope"]),
        arguments=st.one_of(_arguments, _arguments.map(json.dumps), st.just("{oops")),
        priority=st.sampled_from([0, 0, 1]),
    ),
    max_size=6,
)


@given(_calls)
@example([ToolCall(id="c0", tool="put", arguments={"n": 1}), ToolCall(id="c1", tool="get", arguments={"n": 1})])
@example([ToolCall(id="c0", tool="search", arguments={"query": "$c1"}), ToolCall(id="c1", tool="get", arguments={})])
def test_planning_with_the_quick_path_plans_what_the_full_checks_plan(calls: list[ToolCall]) -> None:
    registry = _planning_registry()
    quick = Plan.build(registry, calls)
    for tool in registry:
        object.__setattr__(tool, "accepts_flat", lambda value: False)
        object.__setattr__(tool, "accepts_references", lambda value: False)
    full = Plan.build(registry, calls)
    assert quick == full
    assert quick.render() == full.render()


def test_the_compiled_check_settles_the_usual_calls_without_the_validator() -> None:
    registry = Registry()

    @registry.tool
    async def search(
        query: str, limit: int = 10, tags: list[str] | None = None, ratio: float = 0.5, exact: bool = False
    ) -> list[str]:
        """Search."""
        return []

    accepts = registry["search"].accepts
    assert accepts({"query": "q"})
    assert accepts({"query": "q", "limit": 3, "tags": ["a", "b"], "ratio": 1, "exact": True})
    assert accepts({"query": "q", "tags": None, "ratio": 2.5})
    # Anything wrong, or unusual, goes to the validator, which explains it.
    assert not accepts({"query": 1})
    assert not accepts({"limit": 3})
    assert accepts({"query": "q", "limit": 3.0})  # an integer to JSON
    assert not accepts({"query": "q", "limit": 3.5})
    assert not accepts({"query": "q", "limit": True})
    assert not accepts({"query": "q", "ratio": math.inf})
    assert not accepts({"query": "q", "other": 1})
    assert not accepts({"query": "q", "tags": ["a", 1]})


def test_a_chain_of_referencing_calls_is_planned_without_the_validator(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = Registry()

    @registry.tool
    async def step(i: int, prev: list[int]) -> int:
        """Step."""
        return i

    def no_validate(*args: object, **kwargs: object) -> list[str]:
        raise AssertionError("the compiled check should have settled it")

    calls = [ToolCall(id="c1", tool="step", arguments={"i": 1, "prev": []})]
    calls += [ToolCall(id=f"c{i}", tool="step", arguments={"i": i, "prev": [f"$c{i - 1}"]}) for i in range(2, 5)]
    calls.append(ToolCall(id="c5", tool="step", arguments={"i": "$#4.i", "prev": "$c4.prev"}))
    monkeypatch.setattr("trio_toolpar._planning._drafts.validate", no_validate)
    plan = Plan.build(registry, calls)
    assert not plan.rejected
    assert [[plan.calls[i].call.id for i in wave] for wave in plan.waves] == [["c1"], ["c2"], ["c3"], ["c4"], ["c5"]]
    # A reference in the wrong place is still left to the validator, which explains it.
    monkeypatch.undo()
    wrong = Plan.build(registry, [*calls, ToolCall(id="c6", tool="step", arguments={"i": "x", "prev": ["$c5"]})])
    assert wrong.calls[-1].verdict is not None
    assert "$.i: expected integer" in wrong.calls[-1].verdict.message


@given(values)
@example({"a": "$c1"})
@example({"a": 1, "b": "$$x"})
@example({"a": "$c1.", "b": "x"})
@example({"a": "x", "b": ["$c1"]})
def test_the_one_pass_scan_agrees_with_the_two_walks(value: Any) -> None:
    arguments = value if isinstance(value, dict) else {"x": value}
    found = scan(arguments, MAX_DEPTH)
    if nests_deeper(arguments, MAX_DEPTH):
        assert found is None
        return
    assert found is not None
    references, problems, escapes = find_references(arguments)
    assert sorted(r.text for r in found[0]) == sorted(r.text for r in references)
    assert list(found[1]) == problems
    assert found[2] == escapes


@pytest.mark.parametrize("limit", [0, 1, 2])
def test_the_scan_keeps_small_depth_limits(limit: int) -> None:
    assert (scan({"a": 1}, limit) is None) is nests_deeper({"a": 1}, limit)
    assert (scan({"a": [1]}, limit) is None) is nests_deeper({"a": [1]}, limit)


@given(values)
@example({"a": "$c1", "b": ["$c1", "x $#1.a y", "$$#1"]})
@example({"a": ("$#2.x", {"n": "$c1.items.0"})})
def test_substitute_reads_the_parsed_references_as_it_would_parse_them(value: Any) -> None:
    arguments = value if isinstance(value, dict) else {"x": value}
    found = scan(arguments, MAX_DEPTH)
    if found is None or found[1]:
        return  # too deep, or a malformed reference: planning rejects the call before any substitution
    seen: dict[str, list[object]] = {"parsed": [], "unparsed": []}

    def lookup(into: list[object]) -> Any:
        def value_of(ref: Any) -> object:
            into.append(ref)
            return f"<{ref.call_id}:{'.'.join(ref.path)}>"

        return value_of

    with_parsed = substitute(arguments, lookup(seen["parsed"]), found[0])
    assert with_parsed == substitute(arguments, lookup(seen["unparsed"]))
    assert seen["parsed"] == seen["unparsed"]
