"""A model's later call uses an earlier call's result ("$#1.total"): each provider's real wire format, end to end."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import jsonschema
import pytest
import trio
import trio.testing
from provider_fakes import (
    FakeServer,
    ResponsesWire,
    anthropic_answer,
    anthropic_block_stop,
    anthropic_json_delta,
    anthropic_message_end,
    anthropic_message_start,
    anthropic_tool_start,
    fragments,
    openai_call_args,
    openai_call_start,
    openai_chunk,
    sse,
    sse_response,
)

from trio_toolpar import Executor, Registry, Status
from trio_toolpar.agent import AgentResult, AnthropicMessages, ModelClient, OpenAIChat, OpenAIResponses, run_agent

PRICE = json.dumps({"item": "a"})
CHARGE = json.dumps({"amount": "$#1.total", "memo": "$$ for a"})


def shop(log: list[tuple[str, object, float]]) -> Registry:
    registry = Registry()

    @registry.tool(side_effect="read")
    async def price(item: str) -> dict[str, int]:
        """Look up the price of an item."""
        await trio.sleep(1.0)
        return {"total": 42}

    @registry.tool(side_effect="write")
    async def charge(amount: int, memo: str) -> str:
        """Charge an amount."""
        log.append(("charge", (amount, memo), trio.current_time()))
        await trio.sleep(1.0)
        return f"charged {amount}"

    return registry


def chat_turn() -> list[tuple[float, bytes]]:
    chunks = [(0.0, sse(openai_call_start(0, "call_p", "price")))]
    chunks += [(0.0, sse(openai_call_args(0, f))) for f in fragments(PRICE)]
    chunks += [(0.5, sse(openai_call_start(1, "call_c", "charge")))]
    chunks += [(0.5, sse(openai_call_args(1, f))) for f in fragments(CHARGE)]
    return [*chunks, (0.5, sse(openai_chunk({}, finish_reason="tool_calls"))), (0.5, b"data: [DONE]\n\n")]


def chat_answer() -> list[tuple[float, bytes]]:
    done = [(0.0, sse(openai_chunk({}, finish_reason="stop"))), (0.0, b"data: [DONE]\n\n")]
    return [(0.0, sse(openai_chunk({"role": "assistant", "content": "Charged 42."}))), *done]


def anthropic_turn() -> list[tuple[float, bytes]]:
    chunks = [(0.0, anthropic_message_start())]
    for index, (call_id, name, arguments, at) in enumerate(
        [("toolu_p", "price", PRICE, 0.0), ("toolu_c", "charge", CHARGE, 0.5)]
    ):
        chunks.append((at, anthropic_tool_start(index, call_id, name)))
        chunks += [(at, anthropic_json_delta(index, f)) for f in fragments(arguments)]
        chunks.append((at, anthropic_block_stop(index)))
    return [*chunks, *((0.5, b) for b in anthropic_message_end())]


def responses_turn() -> list[tuple[float, bytes]]:
    wire = ResponsesWire().created().call(0.0, 0.0, "call_p", "price", PRICE).call(0.5, 0.5, "call_c", "charge", CHARGE)
    return wire.completed(0.5).sse()


def responses_answer() -> list[tuple[float, bytes]]:
    return ResponsesWire().created().text(0.0, "Charged 42.").completed(0.0).sse()


Client = Callable[[httpx.AsyncClient], ModelClient]
Wire = Callable[[], list[tuple[float, bytes]]]
# The client, its first reply (price, then charge with "$#1.total"), its answer, and when price starts:
# Chat Completions hands price out when charge starts (t=0.5), the others at the end of its block (t=0).
PROVIDERS: dict[str, tuple[Client, Wire, Wire, float]] = {
    "chat": (lambda http: OpenAIChat(http, model="m", base_url="http://model.test/v1"), chat_turn, chat_answer, 0.5),
    "anthropic": (
        lambda http: AnthropicMessages(http, model="c", base_url="http://model.test"),
        anthropic_turn,
        lambda: anthropic_answer("Charged 42."),
        0.0,
    ),
    "responses": (
        lambda http: OpenAIResponses(http, model="m", base_url="http://model.test/v1"),
        responses_turn,
        responses_answer,
        0.0,
    ),
}


def tool_schemas(provider: str, body: dict[str, Any]) -> dict[str, Any]:
    if provider == "chat":
        return {t["function"]["name"]: t["function"]["parameters"] for t in body["tools"]}
    if provider == "anthropic":
        return {t["name"]: t["input_schema"] for t in body["tools"]}
    return {t["name"]: t["parameters"] for t in body["tools"]}


@pytest.mark.parametrize("provider", list(PROVIDERS))
async def test_a_later_call_gets_the_earlier_calls_value(autojump_clock: trio.testing.MockClock, provider: str) -> None:
    client, turn, answer, start = PROVIDERS[provider]
    server = FakeServer([sse_response(turn())[0], sse_response(answer())[0]])
    log: list[tuple[str, object, float]] = []
    t0 = trio.current_time()
    async with server.client() as http:
        result: AgentResult = await run_agent(client(http), Executor(shop(log)), "Charge me for a.")
    (outcomes,) = result.turns
    price, charge = outcomes
    assert (price.status, charge.status) == (Status.OK, Status.OK)
    # The reference became the value itself (an int), and '$$' a literal '$'; charge waited for price.
    assert log == [("charge", (42, "$ for a"), t0 + start + 1.0)]
    assert charge.value == "charged 42"
    assert (price.started_at, price.finished_at, charge.started_at) == (t0 + start, t0 + start + 1.0, t0 + start + 1.0)
    assert result.text == "Charged 42."
    # What the model was shown lets it write the reference: the integer parameter takes "$#1.total".
    schemas = tool_schemas(provider, server.seen[0].body)
    jsonschema.validate(json.loads(CHARGE), schemas["charge"])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"amount": "forty-two", "memo": "x"}, schemas["charge"])
