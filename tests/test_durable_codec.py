"""The outcome codec of durable turns (docs/durable.md, "What a recorded outcome keeps")."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from trio_toolpar import ErrorCode, Outcome, Status
from trio_toolpar._journal._outcomes import (
    arguments_data,
    arguments_text,
    decode_outcome,
    decode_value,
    encode_outcome,
    encode_value,
)
from trio_toolpar.testing import hostile_values

_keys = st.one_of(st.text(max_size=6), st.integers(), st.booleans(), st.none(), st.binary(max_size=4))
_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**299, max_value=10**5000).map(lambda n: n * 7),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.binary(),
)
supported = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(st.text(max_size=6), inner, max_size=4),
        st.dictionaries(st.sampled_from(["$bytes", "$tuple", "$int", "$float", "$dict", "x"]), inner, max_size=2),
        st.dictionaries(_keys, inner, max_size=3),
    ),
    max_leaves=12,
)


def same(a: Any, b: Any) -> bool:
    """Equal, of the same types all the way down, with NaN equal to NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return len(a) == len(b) and all(same(k, k2) and same(a[k], b[k2]) for k, k2 in zip(a, b, strict=True))
    return bool(a == b)


@given(value=supported)
def test_a_supported_value_round_trips_with_its_types(value: object) -> None:
    data = encode_value(value)
    assert same(decode_value(json.loads(json.dumps(data, allow_nan=False))), value)


plain_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text()),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=12,
)
"""JSON data as a model's arguments or a tool's result usually are: no tuple, bytes, NaN or odd key."""


def containers(data: object) -> list[object]:
    """Every list and dict inside ``data``, itself included."""
    found: list[object] = []
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, dict)):
            found.append(item)
            stack.extend(item.values() if isinstance(item, dict) else item)
    return found


@given(value=plain_json)
def test_plain_json_is_kept_as_itself_in_a_copy_that_shares_nothing_with_it(value: object) -> None:
    data = encode_value(value)
    assert same(data, value)
    assert not {id(c) for c in containers(data)} & {id(c) for c in containers(value)}


def test_what_a_tool_does_to_its_value_after_returning_it_never_changes_the_record() -> None:
    value: dict[str, Any] = {"rows": [1, 2]}
    data = encode_outcome(Outcome(call_id="c", tool="t", status=Status.OK, value=value))
    value["rows"].append(set())  # no longer JSON data either
    value["new"] = 1
    assert decode_outcome(json.loads(json.dumps(data))).value == {"rows": [1, 2]}


@given(arguments=st.dictionaries(st.text(max_size=6), plain_json, max_size=4))
def test_arguments_compare_as_canonical_text_whatever_their_key_order(arguments: dict[str, object]) -> None:
    backwards = dict(reversed(list(arguments.items())))
    assert arguments_text(arguments_data(arguments)) == arguments_text(arguments_data(backwards))
    assert decode_value(json.loads(arguments_text(arguments_data(arguments)))) == arguments  # keys sorted


def test_arguments_of_other_json_types_compare_different() -> None:
    texts = {arguments_text(arguments_data({"x": v})) for v in (1, 1.0, True, "1", [1], (1,), None)}
    assert len(texts) == 7
    assert arguments_text(arguments_data('{"x": 1}')) != arguments_text(arguments_data({"x": 1}))  # raw text


@given(value=supported, status=st.sampled_from(list(Status)), code=st.sampled_from([None, *ErrorCode]))
def test_a_recorded_outcome_decodes_equal_to_the_outcome(value: object, status: Status, code: ErrorCode | None) -> None:
    outcome = Outcome(
        call_id="c\udcff",
        tool="t",
        status=status,
        value=value,
        error_code=code,
        error="boom \x00",
        latency_ms=1.5,
        attempts=2,
        started_at=1.0,
        finished_at=2.5,
        wave=0,
        idempotency_key="k",
        exception=ValueError("not kept"),
        traceback="Traceback ...",
    )
    text = json.dumps(encode_outcome(outcome), ensure_ascii=True, allow_nan=False)
    assert text.isascii()  # any store keeps it as UTF-8, lone surrogates included
    back = decode_outcome(json.loads(text))
    assert same(back.value, value)
    assert back.exception is None and back.traceback == "Traceback ..."
    assert (back.call_id, back.status, back.error_code, back.error, back.attempts) == (
        outcome.call_id,
        status,
        code,
        "boom \x00",
        2,
    )


@given(value=hostile_values())
def test_a_hostile_value_never_loses_the_outcome(value: object) -> None:
    outcome = Outcome(call_id="c", tool="t", status=Status.OK, value=value)
    back = decode_outcome(json.loads(json.dumps(encode_outcome(outcome), allow_nan=False)))
    assert (back.call_id, back.status) == ("c", Status.OK)


def test_what_the_codec_does_not_keep_comes_back_in_its_observation_form() -> None:
    data = encode_outcome(Outcome(call_id="c", tool="t", status=Status.OK, value={1, 2}))
    back = decode_outcome(json.loads(json.dumps(data, allow_nan=False)))
    assert back.value == [1, 2]
