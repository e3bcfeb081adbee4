"""The outcome codec of durable turns (docs/durable.md, "What a recorded outcome keeps")."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from trio_toolpar import ErrorCode, Outcome, Status
from trio_toolpar._journal._outcomes import (
    arguments_text,
    decode_outcome,
    decode_value,
    encode_outcome,
    encode_value,
    tagged_value,
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


def text(data: object) -> str:
    """JSON text that tells ``1``, ``1.0`` and ``true`` apart."""
    return json.dumps(data, allow_nan=False)


@given(value=plain_json)
def test_plain_json_is_its_own_encoding_the_same_data_as_the_general_walk(value: object) -> None:
    assert encode_value(value) is value  # the fast path: checked, not copied
    assert text(encode_value(value)) == text(tagged_value(value))
    assert same(decode_value(json.loads(text(encode_value(value)))), value)


@given(value=supported)
def test_any_supported_value_encodes_as_the_general_walk_does(value: object) -> None:
    assert text(encode_value(value)) == text(tagged_value(value))


@given(arguments=st.dictionaries(st.text(max_size=6), plain_json, max_size=4))
def test_plain_arguments_compare_as_the_general_walk_writes_them(arguments: dict[str, object]) -> None:
    canonical = json.dumps(tagged_value(arguments), ensure_ascii=True, separators=(",", ":"), sort_keys=True)
    assert arguments_text(arguments) == canonical


def test_what_is_not_plain_json_takes_the_general_walk() -> None:
    nested: list[object] = []
    for _ in range(150):
        nested = [nested]
    for value in ([1, (2,)], {"$bytes": "x"}, {1: "a"}, [math.nan], [10**400], [b"x"], nested):
        assert encode_value(value) is not value
        assert text(encode_value(value)) == text(tagged_value(value))


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
    text = encode_outcome(outcome)
    assert text.isascii()  # any store keeps it as UTF-8, lone surrogates included
    back = decode_outcome(text)
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
    back = decode_outcome(encode_outcome(outcome))
    assert (back.call_id, back.status) == ("c", Status.OK)


def test_what_the_codec_does_not_keep_comes_back_in_its_observation_form() -> None:
    back = decode_outcome(encode_outcome(Outcome(call_id="c", tool="t", status=Status.OK, value={1, 2})))
    assert back.value == [1, 2]
