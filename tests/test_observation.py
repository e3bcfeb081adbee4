from __future__ import annotations

import json

import attrs
import trio
import trio.testing

from trio_toolpar import Executor, Registry, ToolCall, render_observation


@attrs.frozen
class Ticket:
    key: str
    votes: int


async def test_observations(autojump_clock: trio.testing.MockClock) -> None:
    registry = Registry()

    @registry.tool
    async def big() -> str:
        return "x" * 50_000

    @registry.tool
    async def secret() -> None:
        raise PermissionError("token=hunter2 rejected")

    @registry.tool
    async def ticket() -> Ticket:
        return Ticket("OPS-1", 3)

    @registry.tool
    async def odd() -> object:
        return {"when": object}

    executor = Executor(registry, redact=lambda text: text.replace("hunter2", "***"))
    big_o, secret_o, ticket_o, odd_o = await executor.run(
        [ToolCall(id=n, tool=n) for n in ("big", "secret", "ticket", "odd")]
    )
    data = json.loads(render_observation(big_o, max_chars=100))
    # The observation is cut to its 100 characters: 16 of the result's JSON text (17 escaped) and the marker.
    assert data == {
        "ok": True,
        "result": '"' + "x" * 15,
        "truncated": True,
        "result_chars": 50_002,
        "dropped_chars": 50_002 - 16,
    }
    data = json.loads(render_observation(secret_o))
    assert data == {
        "ok": False,
        "error_code": "tool_error",
        "error": "PermissionError: token=*** rejected",
    }
    assert "traceback" not in data
    with_tb = json.loads(render_observation(secret_o, traceback=True))
    assert "Traceback (most recent call last)" in with_tb["traceback"]
    assert json.loads(render_observation(ticket_o))["result"] == {"key": "OPS-1", "votes": 3}
    assert json.loads(render_observation(odd_o))["result"] == {"when": "<type: <class 'object'>>"}


async def test_references_into_attrs_results_walk_their_json_form(autojump_clock: trio.testing.MockClock) -> None:
    registry = Registry()

    @registry.tool
    async def ticket() -> Ticket:
        return Ticket("OPS-1", 3)

    @registry.tool
    async def echo(value: object) -> object:
        return value

    result = await Executor(registry).run(
        [
            ToolCall(id="t", tool="ticket"),
            ToolCall(id="e", tool="echo", arguments={"value": ["$t.key", "$t"]}),
        ]
    )
    assert result["e"].value == ["OPS-1", {"key": "OPS-1", "votes": 3}]
