"""Nothing let through: invalid input never reaches a tool, errors leak no traceback or secret,
observations stay bounded."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from trio_toolpar import ErrorCode, Executor, Registry, Status, ToolCall, render_observation

SECRET = "sk-live-4f9a8b7c6d5e"


def guarded_registry(received: list[dict[str, Any]]) -> Registry:
    registry = Registry()

    @registry.tool(side_effect="write", key="order:{order_id}", idempotent=True)
    async def refund(order_id: int, amount: float, reason: str = "", lines: list[int] | None = None) -> str:
        received.append({"order_id": order_id, "amount": amount, "reason": reason, "lines": lines})
        return "refunded"

    registry.add(
        _record(received),
        name="strict",
        parameters={
            "type": "object",
            "properties": {
                "mode": {"enum": ["fast", "safe"]},
                "code": {"type": "string", "pattern": "^[A-Z]{3}$", "maxLength": 3},
                "count": {"type": "integer", "minimum": 1, "maximum": 10},
                "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2, "uniqueItems": True},
            },
            "required": ["mode"],
            "additionalProperties": False,
        },
    )

    @registry.tool
    async def source() -> dict[str, object]:
        return {"id": "not-a-number", "n": 7, "amount": "12.50"}

    return registry


def _record(received: list[dict[str, Any]]) -> Any:
    async def strict(**arguments: Any) -> str:
        received.append(arguments)
        return "ran"

    return strict


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("refund", {"order_id": "7", "amount": 1}, "$.order_id: expected integer, got string '7'"),
        ("refund", {"order_id": True, "amount": 1}, "$.order_id: expected integer, got boolean True"),
        ("refund", {"order_id": 7.5, "amount": 1}, "$.order_id: expected integer, got number 7.5"),
        ("refund", {"order_id": 7, "amount": float("nan")}, "$.amount: expected number, got number nan"),
        ("refund", {"order_id": 7}, "$: missing required property 'amount'"),
        ("refund", {"order_id": 7, "amount": 1, "admin": True}, "$: unexpected property 'admin'"),
        ("refund", {"order_id": 7, "amount": 1, "lines": [1, "2"]}, "$.lines[1]: expected integer, got string '2'"),
        ("refund", {"order_id": 7, "amount": 1, "__class__": 1}, "$: unexpected property '__class__'"),
        ("refund", '{"order_id": 7, "amount": 1', "arguments are not valid JSON"),
        ("refund", "[7, 1]", "arguments must be a JSON object, got list"),
        ("refund", '"order_id=7"', "arguments must be a JSON object, got str"),
        ("strict", {"mode": "unsafe"}, "$.mode: 'unsafe' is not one of ['fast', 'safe']"),
        ("strict", {"mode": "fast", "code": "abc"}, "does not match the pattern"),
        ("strict", {"mode": "fast", "code": "ABCD"}, "$.code: longer than 3 characters"),
        ("strict", {"mode": "fast", "count": 11}, "$.count: 11 is more than the maximum 10"),
        ("strict", {"mode": "fast", "tags": ["a", "a"]}, "$.tags: items must be unique"),
        ("strict", {"mode": "fast", "tags": ["a", "b", "c"]}, "$.tags: more than 2 items"),
    ],
)
async def test_invalid_arguments_never_reach_the_tool(
    tool: str, arguments: Any, message: str, autojump_clock: trio.testing.MockClock
) -> None:
    received: list[dict[str, Any]] = []
    (o,) = await Executor(guarded_registry(received)).run([ToolCall(id="c", tool=tool, arguments=arguments)])
    assert (o.status, o.error_code, o.attempts, o.started_at) == (
        Status.REJECTED,
        ErrorCode.INVALID_ARGUMENTS,
        0,
        None,
    )
    assert o.error is not None and message in o.error
    assert received == []


@pytest.mark.parametrize(
    ("arguments", "code"),
    [
        ({"order_id": "$s.id", "amount": 1}, ErrorCode.INVALID_ARGUMENTS),  # a string where an integer goes
        ({"order_id": "$s.n", "amount": "$s.amount"}, ErrorCode.INVALID_ARGUMENTS),
        ({"order_id": "$s.n", "amount": 1, "reason": "$s"}, ErrorCode.INVALID_ARGUMENTS),
        ({"order_id": "$s.missing", "amount": 1}, ErrorCode.BAD_REFERENCE),
        ({"order_id": "$s.n.__class__", "amount": 1}, ErrorCode.BAD_REFERENCE),
    ],
)
async def test_arguments_are_validated_again_after_references_are_substituted(
    arguments: dict[str, Any], code: ErrorCode, autojump_clock: trio.testing.MockClock
) -> None:
    received: list[dict[str, Any]] = []
    result = await Executor(guarded_registry(received)).run(
        [ToolCall(id="s", tool="source"), ToolCall(id="c", tool="refund", arguments=arguments)]
    )
    assert (result[1].status, result[1].error_code, result[1].attempts) == (Status.REJECTED, code, 0)
    assert received == []


def refund_is_valid(arguments: object) -> bool:
    """The refund schema, restated by hand (JSON types: no bools for numbers; 7.0 is an integer, 7.5 is not)."""
    if not isinstance(arguments, dict) or not {"order_id", "amount"} <= set(arguments):
        return False
    if set(arguments) - {"order_id", "amount", "reason", "lines"}:
        return False

    def integer(v: object) -> bool:
        return type(v) is int or (type(v) is float and v.is_integer())

    def number(v: object) -> bool:
        return type(v) is int or (type(v) is float and v == v and v not in (float("inf"), float("-inf")))

    lines = arguments.get("lines")
    return (
        integer(arguments["order_id"])
        and number(arguments["amount"])
        and isinstance(arguments.get("reason", ""), str)
        and (lines is None or (isinstance(lines, list) and all(integer(x) for x in lines)))
    )


# Texts without "$": "$A" is a reference to a call "A", which this one-call turn lacks (bad_reference, a
# rejection of its own, tested with the references); this property is about the schema alone.
plain_text = st.text(alphabet=st.characters(blacklist_characters="$"), max_size=5)

field_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    plain_text,
    st.lists(st.one_of(st.integers(), st.booleans(), st.floats(), plain_text), max_size=3),
    st.dictionaries(plain_text, st.integers(), max_size=2),
)


@given(
    arguments=st.dictionaries(
        st.sampled_from(("order_id", "amount", "reason", "lines", "extra")), field_values, max_size=5
    ),
    as_text=st.booleans(),
)
async def test_a_tool_runs_exactly_when_its_arguments_fit_the_schema(
    arguments: dict[str, Any], as_text: bool, autojump_clock: trio.testing.MockClock
) -> None:
    received: list[dict[str, Any]] = []
    raw: dict[str, Any] | str = json.dumps(arguments) if as_text else arguments
    (o,) = await Executor(guarded_registry(received)).run([ToolCall(id="c", tool="refund", arguments=raw)])
    parsed = json.loads(raw) if isinstance(raw, str) else raw
    if refund_is_valid(parsed):
        assert o.status is Status.OK
        assert len(received) == 1
        (got,) = received
        assert type(got["order_id"]) is int and all(type(n) is int for n in got["lines"] or ())
    else:
        assert (o.status, o.error_code) == (Status.REJECTED, ErrorCode.INVALID_ARGUMENTS)
        assert received == []


# -- no traceback, no secret -----------------------------------------------------------------------


def leaky_registry() -> Registry:
    registry = Registry()

    @registry.tool
    async def connect() -> None:
        api_key = SECRET  # a local in the failing frame: a traceback with locals would show it
        try:
            raise ConnectionError(f"upstream refused key {api_key}")
        except ConnectionError as exc:
            raise RuntimeError(f"login failed for key={api_key} at https://user:{api_key}@api.internal/v1") from exc

    @registry.tool
    async def group() -> None:
        raise ExceptionGroup("batch failed", [ValueError(f"bad {SECRET}")])

    @registry.tool(timeout=1.0)
    async def stuck() -> None:
        await trio.sleep(5)

    return registry


def redact(text: str) -> str:
    return re.sub(r"sk-live-[0-9a-f]+", "[redacted]", text)


async def test_error_observations_carry_no_traceback_and_no_secret(autojump_clock: trio.testing.MockClock) -> None:
    calls = [ToolCall(id=n, tool=n) for n in ("connect", "group", "stuck")]
    connect, group, stuck = await Executor(leaky_registry(), redact=redact).run(calls)
    assert connect.error == "RuntimeError: login failed for key=[redacted] at https://user:[redacted]@api.internal/v1"
    # The error inside the group is named, and redacted like any message.
    assert group.error == "ValueError: bad [redacted] (in the tool's exception group 'batch failed')"
    assert stuck.error == "no result within the tool's 1 s timeout"
    for o in (connect, group, stuck):
        text = render_observation(o)
        data = json.loads(text)
        assert set(data) == {"ok", "error_code", "error"}
        assert SECRET not in text
        assert "Traceback" not in text
        assert 'File "' not in text and ".py" not in text
        assert "api_key" not in text
    # The exception stays on the outcome for the caller's logs, never in the observation.
    assert isinstance(connect.exception, RuntimeError)
    assert SECRET in str(connect.exception)


async def test_without_redact_the_message_is_the_exception_text_only(autojump_clock: trio.testing.MockClock) -> None:
    (connect,) = await Executor(leaky_registry()).run([ToolCall(id="connect", tool="connect")])
    text = render_observation(connect)
    assert "Traceback" not in text
    assert "ConnectionError" not in text  # the chained cause is not shown
    assert (
        json.loads(text)["error"]
        == f"RuntimeError: login failed for key={SECRET} at https://user:{SECRET}@api.internal/v1"
    )


async def test_a_traceback_is_shown_only_when_asked(autojump_clock: trio.testing.MockClock) -> None:
    (connect,) = await Executor(leaky_registry(), redact=redact).run([ToolCall(id="connect", tool="connect")])
    assert "traceback" not in json.loads(render_observation(connect))
    with_traceback = json.loads(render_observation(connect, traceback=True))
    assert "Traceback (most recent call last)" in with_traceback["traceback"]
    assert with_traceback["error"] == connect.error
    assert SECRET not in json.dumps(with_traceback)  # redact applies to the traceback too
    assert "key=[redacted]" in with_traceback["traceback"]


# -- bounded observations --------------------------------------------------------------------------


@pytest.mark.parametrize("max_chars", [100, 1_000, 16_000])
async def test_observations_are_bounded_whatever_the_tool_returns_or_raises(
    max_chars: int, autojump_clock: trio.testing.MockClock
) -> None:
    """The whole observation is cut to ``max_chars`` characters, as the model receives it, with a marker.

    The cut is measured after escaping: quotes and backslashes double a
    result's prefix, and control characters in an error message
    (``\\u0000``) take six characters each; the observation still fits, and
    falls short of ``max_chars`` only by what one escape could not fill.
    """
    registry = Registry()
    size = 2_000_000

    @registry.tool
    async def quotes() -> str:
        return '"' * size

    @registry.tool
    async def rows() -> list[str]:
        return ["é" * 10] * (size // 10)

    @registry.tool
    async def loud() -> None:
        raise ValueError("\x00" * size)

    @registry.tool
    async def wordy() -> None:
        raise ValueError("x" * size)

    result = await Executor(registry).run([ToolCall(id=n, tool=n) for n in ("quotes", "rows", "loud", "wordy")])
    quotes_o, rows_o, loud_o, wordy_o = result
    for o in (quotes_o, rows_o):
        text = render_observation(o, max_chars=max_chars)
        data = json.loads(text)
        assert max_chars - 5 <= len(text) <= max_chars
        assert data["truncated"] is True
        assert data["result_chars"] > max_chars
        assert data["dropped_chars"] == data["result_chars"] - len(data["result"])
    assert json.loads(render_observation(quotes_o, max_chars=max_chars))["result_chars"] == 2 * size + 2
    for o in (loud_o, wordy_o):
        assert o.error is not None
        text = render_observation(o, max_chars=max_chars)
        data = json.loads(text)
        if max_chars == 100:  # too short for the marker and a piece of the error: the marker alone
            assert data == {"ok": False, "error_code": "tool_error", "truncated": True, "dropped_chars": len(o.error)}
            continue
        assert max_chars - 5 <= len(text) <= max_chars
        assert o.error.startswith(data["error"])
        assert (data["truncated"], data["error_chars"]) == (True, len(o.error))
        assert data["dropped_chars"] == len(o.error) - len(data["error"])


async def test_rejection_messages_quote_only_a_short_piece_of_the_input(autojump_clock: trio.testing.MockClock) -> None:
    received: list[dict[str, Any]] = []
    huge = "A" * 1_000_000
    (o,) = await Executor(guarded_registry(received)).run(
        [ToolCall(id="c", tool="refund", arguments={"order_id": huge, "amount": 1})]
    )
    assert o.error_code is ErrorCode.INVALID_ARGUMENTS
    assert o.error is not None and len(o.error) < 300
    assert len(render_observation(o)) < 400
