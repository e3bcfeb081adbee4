"""The agent loop with streaming dispatch, against a real model or offline.

With a model endpoint in the environment it talks to it::

    TOOLPAR_BASE_URL=http://localhost:11434/v1 TOOLPAR_MODEL=qwen2.5:7b python examples/agent_loop.py
    TOOLPAR_API_KEY=sk-... TOOLPAR_MODEL=gpt-4.1-mini python examples/agent_loop.py
    TOOLPAR_PROVIDER=responses TOOLPAR_API_KEY=sk-... TOOLPAR_MODEL=gpt-4.1-mini python examples/agent_loop.py
    TOOLPAR_PROVIDER=anthropic TOOLPAR_API_KEY=sk-ant-... TOOLPAR_MODEL=claude-sonnet-4-5 python examples/agent_loop.py

(``TOOLPAR_PROVIDER`` is ``openai`` by default: any OpenAI-compatible Chat
Completions server, such as OpenAI, vLLM, Ollama, llama.cpp or OpenRouter;
``responses`` is OpenAI's Responses API.) The system prompt carries
`trio_toolpar.openai.reference_note`, so the model knows which calls run
together and how to pass one call's result to another (``"$#1.total"``).
``TOOLPAR_BASE_URL`` defaults to the provider's own API. Without
``TOOLPAR_MODEL`` it runs offline against a scripted model that
streams its three tool calls 0.3 s apart, so you can watch each call start
while the "model" is still writing the next one. No key, no network.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import trio

from trio_toolpar import Executor, Registry, ToolCall
from trio_toolpar.agent import (
    AgentResult,
    AnthropicMessages,
    Message,
    ModelClient,
    OpenAIChat,
    OpenAIResponses,
    ScriptedModel,
    ScriptedReply,
    run_agent,
)
from trio_toolpar.openai import reference_note

PROMPT = "checkout-api is slow since this morning. Find out why and post a short status update to #incidents."
SYSTEM = (
    "You are an on-call assistant. Call several read tools in one turn when you need several facts; "
    "then post one status update and answer in two sentences."
)

tools = Registry()


@tools.tool(side_effect="read", resource="metrics", key="service:{service}")
async def service_metrics(service: str) -> dict[str, object]:
    """Latency and error rate of a service over the last hour."""
    await trio.sleep(1.0)
    return {"service": service, "p99_ms": 2150, "p99_ms_yesterday": 310, "error_rate": 0.021}


@tools.tool(side_effect="read", resource="deploys", key="service:{service}")
async def recent_deploys(service: str) -> list[dict[str, str]]:
    """Deployments of a service in the last 24 hours."""
    await trio.sleep(1.2)
    return [{"version": "v412", "at": "08:55", "change": "switch payment client to new connection pool"}]


@tools.tool(side_effect="read", resource="incidents")
async def open_incidents() -> list[dict[str, str]]:
    """Open incidents across all services."""
    await trio.sleep(0.8)
    return [{"id": "INC-2231", "title": "checkout latency", "severity": "SEV2"}]


@tools.tool(side_effect="write", resource="chat", key="channel:{channel}")
async def post_update(channel: str, text: str) -> dict[str, str]:
    """Post a message to a chat channel."""
    await trio.sleep(0.5)
    return {"channel": channel, "posted": text}


def scripted_model() -> ScriptedModel:
    """Three reads streamed 0.3 s apart, then a write, then an answer."""

    def answer(messages: Sequence[Message]) -> ScriptedReply:
        return ScriptedReply(
            text="checkout-api's p99 went from 310 ms to 2150 ms after v412 (new payment connection pool) at 08:55. "
            "I posted an update to #incidents; rolling back v412 is the likely fix.",
            duration=0.2,
        )

    reads = ScriptedReply(
        text="Let me look at metrics, deploys and open incidents.",
        calls=(
            ToolCall(id="call_metrics", tool="service_metrics", arguments={"service": "checkout-api"}),
            ToolCall(id="call_deploys", tool="recent_deploys", arguments={"service": "checkout-api"}),
            ToolCall(id="call_incidents", tool="open_incidents", arguments={}),
        ),
        call_times=(0.3, 0.6, 0.9),
        duration=1.0,
    )
    post = ScriptedReply(
        calls=(
            ToolCall(
                id="call_post",
                tool="post_update",
                arguments={
                    "channel": "#incidents",
                    "text": "checkout-api p99 up 7x since v412 (08:55); rollback next.",
                },
            ),
        ),
        call_times=(0.4,),
        duration=0.5,
    )
    return ScriptedModel([reads, post, answer])


def report(result: AgentResult, source: str) -> None:
    print(f"model: {source}")
    for n, (reply, turn) in enumerate(zip(result.replies, result.turns, strict=False), start=1):
        print(f"\nturn {n}: {reply.text or '(no text)'}")
        print(turn.timeline(width=48))
    print(f"\nanswer ({result.stop}, {result.elapsed:.1f} s, {len(result.replies)} model requests):")
    print(result.text)
    if result.usage is not None:
        print(f"tokens: {result.usage.input_tokens} in, {result.usage.output_tokens} out")


async def main() -> int:
    executor = Executor(tools, limits={"metrics": 2}, budget=60)
    model_name = os.environ.get("TOOLPAR_MODEL")
    if not model_name:
        result = await run_agent(scripted_model(), executor, PROMPT, max_turns=5)
        report(result, "scripted (set TOOLPAR_MODEL and TOOLPAR_BASE_URL to use a real one)")
        return 0
    import httpx

    api_key = os.environ.get("TOOLPAR_API_KEY")
    provider = os.environ.get("TOOLPAR_PROVIDER", "openai")
    system = f"{SYSTEM}\n\n{reference_note(executor.registry)}"
    async with httpx.AsyncClient(timeout=httpx.Timeout(300, connect=10)) as http:
        model: ModelClient
        if provider == "anthropic":
            base = os.environ.get("TOOLPAR_BASE_URL", "https://api.anthropic.com")
            model = AnthropicMessages(http, model=model_name, api_key=api_key, base_url=base, system=system)
        elif provider == "responses":
            base = os.environ.get("TOOLPAR_BASE_URL", "https://api.openai.com/v1")
            model = OpenAIResponses(http, model=model_name, api_key=api_key, base_url=base, system=system)
        else:
            base = os.environ.get("TOOLPAR_BASE_URL", "https://api.openai.com/v1")
            model = OpenAIChat(http, model=model_name, api_key=api_key, base_url=base, system=system)
        result = await run_agent(model, executor, PROMPT, max_turns=6, budget=300)
    report(result, f"{model_name} at {base}")
    return 0


if __name__ == "__main__":
    sys.exit(trio.run(main))
