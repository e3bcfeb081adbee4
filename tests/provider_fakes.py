"""Test helpers for the provider edges: wire-format builders, timed byte streams, SDK validators."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs
import httpx
import pydantic
import trio
from anthropic.types import MessageParam, ToolParam
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam
from openai.types.responses import FunctionToolParam, ResponseInputItemParam, ResponseStreamEvent

from trio_toolpar import Registry

# -- SDK validation -------------------------------------------------------------------------

_openai_message = pydantic.TypeAdapter(ChatCompletionMessageParam)
_openai_tool = pydantic.TypeAdapter(ChatCompletionToolParam)
_responses_item = pydantic.TypeAdapter(ResponseInputItemParam)
_responses_tool = pydantic.TypeAdapter(FunctionToolParam)
_anthropic_message = pydantic.TypeAdapter(MessageParam)
_anthropic_tool = pydantic.TypeAdapter(ToolParam)


def materialize(value: object) -> object:
    """Walk a validated TypedDict and consume every lazy ``Iterable`` field, so bad content raises.

    pydantic validates ``Iterable[...]`` fields lazily (a ``ValidatorIterator``):
    validation of the items happens only when they are iterated.
    """
    if isinstance(value, (str, bytes)):
        return value
    if isinstance(value, Mapping):
        return {k: materialize(v) for k, v in value.items()}
    if isinstance(value, Iterable):
        return [materialize(v) for v in value]
    return value


def _check(adapter: pydantic.TypeAdapter[Any], items: Iterable[object]) -> list[object]:
    return [materialize(adapter.validate_python(item)) for item in items]


def check_openai_messages(messages: Iterable[object]) -> list[object]:
    """Validate Chat Completions messages with the ``openai`` SDK's types (raises ``ValidationError``)."""
    return _check(_openai_message, messages)


def check_openai_tools(tools: Iterable[object]) -> list[object]:
    return _check(_openai_tool, tools)


def check_responses_items(items: Iterable[object]) -> list[object]:
    return _check(_responses_item, items)


def check_responses_tools(tools: Iterable[object]) -> list[object]:
    return _check(_responses_tool, tools)


def check_anthropic_messages(messages: Iterable[object]) -> list[object]:
    """Validate Messages API messages with the ``anthropic`` SDK's types (raises ``ValidationError``)."""
    return _check(_anthropic_message, messages)


def check_anthropic_tools(tools: Iterable[object]) -> list[object]:
    return _check(_anthropic_tool, tools)


# -- timed byte streams -------------------------------------------------------------------------


@attrs.define
class TimedStream(httpx.AsyncByteStream):
    """A response body whose chunks arrive at given offsets (seconds after iteration starts) on Trio's clock.

    An iterator class, not an async generator, so that a test that stops
    reading early leaves no generator for Trio to warn about.
    """

    chunks: Sequence[tuple[float, bytes]]
    started_at: float | None = None
    closed_at: float | None = None
    sent: int = 0

    def __aiter__(self) -> TimedStream:
        return self

    async def __anext__(self) -> bytes:
        if self.started_at is None:
            self.started_at = trio.current_time()
        if self.sent == len(self.chunks):
            raise StopAsyncIteration
        at, chunk = self.chunks[self.sent]
        await trio.sleep_until(self.started_at + at)
        self.sent += 1
        return chunk

    async def aclose(self) -> None:
        self.closed_at = trio.current_time()


def sse(data: object, *, event: str | None = None) -> bytes:
    """One server-sent event as bytes."""
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {event}\n" if event is not None else ""
    return f"{head}data: {text}\n\n".encode()


def sse_response(chunks: Sequence[tuple[float, bytes]]) -> tuple[httpx.Response, TimedStream]:
    stream = TimedStream(chunks)
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=stream), stream


# -- OpenAI Chat Completions wire format -------------------------------------------------------------

_BASE = {"id": "chatcmpl-7", "object": "chat.completion.chunk", "created": 1700000000, "model": "gpt-test"}


def openai_chunk(
    delta: Mapping[str, Any], *, finish_reason: str | None = None, usage: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    chunk: dict[str, Any] = {
        **_BASE,
        "system_fingerprint": "fp_1",
        "choices": [{"index": 0, "delta": dict(delta), "logprobs": None, "finish_reason": finish_reason}],
    }
    if usage is not None:
        chunk["usage"] = dict(usage)
    return chunk


def openai_usage_chunk(prompt: int, completion: int) -> dict[str, Any]:
    return {
        **_BASE,
        "choices": [],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
    }


def openai_call_start(index: int, call_id: str, name: str) -> dict[str, Any]:
    delta = {
        "tool_calls": [{"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}]
    }
    return openai_chunk(delta if index else {"role": "assistant", "content": None, **delta})


def openai_call_args(index: int, fragment: str) -> dict[str, Any]:
    return openai_chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})


def fragments(text: str, size: int = 7) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def openai_completion(message: Mapping[str, Any], *, finish_reason: str = "tool_calls") -> dict[str, Any]:
    return {
        "id": "chatcmpl-8",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-test",
        "choices": [{"index": 0, "message": dict(message), "logprobs": None, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


# -- Anthropic Messages wire format ------------------------------------------------------------------


def anthropic_event(data: Mapping[str, Any]) -> bytes:
    return sse(data, event=str(data["type"]))


def anthropic_message_start(input_tokens: int = 25) -> bytes:
    return anthropic_event(
        {
            "type": "message_start",
            "message": {
                "id": "msg_01",
                "type": "message",
                "role": "assistant",
                "content": [],
                "model": "claude-test",
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": input_tokens, "output_tokens": 1},
            },
        }
    )


def anthropic_tool_start(index: int, call_id: str, name: str) -> bytes:
    return anthropic_event(
        {
            "type": "content_block_start",
            "index": index,
            "content_block": {"type": "tool_use", "id": call_id, "name": name, "input": {}},
        }
    )


def anthropic_json_delta(index: int, fragment: str) -> bytes:
    return anthropic_event(
        {"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": fragment}}
    )


def anthropic_block_stop(index: int) -> bytes:
    return anthropic_event({"type": "content_block_stop", "index": index})


def anthropic_message_end(stop_reason: str = "tool_use", output_tokens: int = 80) -> list[bytes]:
    return [
        anthropic_event(
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": output_tokens},
            }
        ),
        anthropic_event({"type": "message_stop"}),
    ]


def anthropic_answer(text: str = "All fine.") -> list[tuple[float, bytes]]:
    """A streamed text answer: message_start, one text block, message_stop."""
    return [
        (0.0, anthropic_message_start(300)),
        (
            0.0,
            anthropic_event({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        (0.0, anthropic_event({"type": "ping"})),
        (
            0.0,
            anthropic_event({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}),
        ),
        (0.0, anthropic_block_stop(0)),
        *((0.0, b) for b in anthropic_message_end("end_turn", 7)),
    ]


def anthropic_message(content: Sequence[Mapping[str, Any]], *, stop_reason: str = "tool_use") -> dict[str, Any]:
    return {
        "id": "msg_02",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": [dict(b) for b in content],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 30, "output_tokens": 12},
    }


# -- servers --------------------------------------------------------------------------------------------


@attrs.define
class Seen:
    """A request the fake server received."""

    at: float
    body: dict[str, Any]
    headers: httpx.Headers


Reply = httpx.Response | Callable[[], Awaitable[httpx.Response]]


@attrs.define
class FakeServer:
    """An ``httpx.MockTransport`` handler that answers requests from a list, recording each."""

    replies: list[Reply]
    seen: list[Seen] = attrs.Factory(list)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else {}
        self.seen.append(Seen(at=trio.current_time(), body=body, headers=request.headers))
        reply = self.replies.pop(0)
        if isinstance(reply, httpx.Response):
            return reply
        return await reply()

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self), base_url="http://model.test")


def delayed(delay: float, response: httpx.Response) -> Callable[[], Awaitable[httpx.Response]]:
    async def reply() -> httpx.Response:
        await trio.sleep(delay)
        return response

    return reply


# -- tools ---------------------------------------------------------------------------------------------


def slow_registry(seconds: float = 2.0, log: list[tuple[str, str, float]] | None = None) -> Registry:
    """Read tools ``fetch`` (key ``item:{item}``) that take ``seconds`` each, and ``note`` (a keyless write)."""
    registry = Registry()
    events = log if log is not None else []

    @registry.tool(side_effect="read", key="item:{item}")
    async def fetch(item: str) -> dict[str, str]:
        """Fetch one item."""
        events.append(("start", item, trio.current_time()))
        try:
            await trio.sleep(seconds)
        finally:
            events.append(("end", item, trio.current_time()))
        return {"item": item, "status": "fine"}

    @registry.tool(side_effect="write")
    async def note(text: str) -> str:
        """Write a note."""
        await trio.sleep(seconds)
        return f"noted: {text}"

    return registry


# -- OpenAI Responses API wire format -------------------------------------------------------------------

_responses_event = pydantic.TypeAdapter(ResponseStreamEvent)


def check_responses_events(events: Iterable[Mapping[str, Any]]) -> list[object]:
    """Validate stream events with the ``openai`` SDK's ``ResponseStreamEvent`` union (raises ``ValidationError``)."""
    return [_responses_event.validate_python(dict(e)) for e in events]


def responses_object(
    output: Sequence[Mapping[str, Any]], *, status: str = "completed", usage: bool = True
) -> dict[str, Any]:
    """A Responses API ``response`` object, as the API sends it."""
    return {
        "id": "resp_1",
        "object": "response",
        "created_at": 1700000000,
        "status": status,
        "model": "gpt-test",
        "output": [dict(item) for item in output],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "metadata": {},
        "temperature": 1.0,
        "top_p": 1.0,
        "usage": {
            "input_tokens": 40,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": 25,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 65,
        }
        if usage
        else None,
    }


@attrs.define
class ResponsesWire:
    """Builds a Responses API event stream at given times, numbered and shaped as the API sends it."""

    events: list[tuple[float, dict[str, Any]]] = attrs.Factory(list)
    output: list[dict[str, Any]] = attrs.Factory(list)

    def _add(self, at: float, event: dict[str, Any]) -> None:
        self.events.append((at, {"type": event.pop("type"), "sequence_number": len(self.events), **event}))

    def created(self, at: float = 0.0) -> ResponsesWire:
        self._add(at, {"type": "response.created", "response": responses_object([], status="in_progress", usage=False)})
        self._add(
            at, {"type": "response.in_progress", "response": responses_object([], status="in_progress", usage=False)}
        )
        return self

    def call(
        self, start: float, done: float, call_id: str, name: str, arguments: str, *, size: int = 4
    ) -> ResponsesWire:
        """A function call added at ``start`` whose arguments stream until ``done``."""
        index = len(self.output)
        item = {
            "id": f"fc_{index}",
            "type": "function_call",
            "status": "in_progress",
            "arguments": "",
            "call_id": call_id,
            "name": name,
        }
        self.output.append(dict(item, arguments=arguments, status="completed"))
        self._add(start, {"type": "response.output_item.added", "output_index": index, "item": item})
        pieces = fragments(arguments, size)
        for k, piece in enumerate(pieces):
            at = start + (done - start) * k / len(pieces)
            delta = {
                "item_id": item["id"],
                "output_index": index,
                "delta": piece,
                "obfuscation": "x7Qa"[: 4 - len(piece) % 4],
            }
            self._add(at, {"type": "response.function_call_arguments.delta", **delta})
        self._add(
            done,
            {
                "type": "response.function_call_arguments.done",
                "item_id": item["id"],
                "output_index": index,
                "arguments": arguments,
            },
        )
        self._add(done, {"type": "response.output_item.done", "output_index": index, "item": self.output[-1]})
        return self

    def item(self, at: float, added: dict[str, Any], done: dict[str, Any]) -> ResponsesWire:
        """An output item of any type, added and done at ``at``."""
        index = len(self.output)
        self.output.append(done)
        self._add(at, {"type": "response.output_item.added", "output_index": index, "item": added})
        self._add(at, {"type": "response.output_item.done", "output_index": index, "item": done})
        return self

    def custom_call(self, start: float, done: float, call_id: str, name: str, text: str) -> ResponsesWire:
        """A custom tool call added at ``start`` whose input streams until ``done``."""
        index = len(self.output)
        item = {"id": f"ctc_{index}", "type": "custom_tool_call", "call_id": call_id, "name": name, "input": ""}
        self.output.append(dict(item, input=text))
        self._add(start, {"type": "response.output_item.added", "output_index": index, "item": item})
        where = {"item_id": item["id"], "output_index": index}
        pieces = fragments(text, 3)
        for k, piece in enumerate(pieces):
            at = start + (done - start) * k / len(pieces)
            self._add(at, {"type": "response.custom_tool_call_input.delta", **where, "delta": piece})
        self._add(done, {"type": "response.custom_tool_call_input.done", **where, "input": text})
        self._add(done, {"type": "response.output_item.done", "output_index": index, "item": self.output[-1]})
        return self

    def text(self, at: float, text: str) -> ResponsesWire:
        index = len(self.output)
        item_id = f"msg_{index}"
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        item = {"id": item_id, "type": "message", "role": "assistant", "status": "in_progress", "content": []}
        done = dict(item, status="completed", content=[dict(part, text=text)])
        self.output.append(done)
        where = {"item_id": item_id, "output_index": index, "content_index": 0}
        self._add(at, {"type": "response.output_item.added", "output_index": index, "item": item})
        self._add(at, {"type": "response.content_part.added", **where, "part": part})
        self._add(
            at, {"type": "response.output_text.delta", **where, "delta": text, "logprobs": [], "obfuscation": "ab"}
        )
        self._add(at, {"type": "response.output_text.done", **where, "text": text, "logprobs": []})
        self._add(at, {"type": "response.content_part.done", **where, "part": dict(part, text=text)})
        self._add(at, {"type": "response.output_item.done", "output_index": index, "item": done})
        return self

    def completed(self, at: float) -> ResponsesWire:
        self._add(at, {"type": "response.completed", "response": responses_object(self.output)})
        return self

    def sse(self) -> list[tuple[float, bytes]]:
        return [(at, sse(event, event=str(event["type"]))) for at, event in self.events]

    def data(self) -> list[dict[str, Any]]:
        return [event for _, event in self.events]
