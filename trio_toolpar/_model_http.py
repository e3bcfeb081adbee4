"""Model clients over ``httpx.AsyncClient``: OpenAI-compatible Chat Completions and Anthropic Messages.

httpx is imported when a request is made, not when this module is, so
that `trio_toolpar.agent` (and its `ScriptedModel`) work without it.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, final

import attrs
import trio

from . import anthropic as _anthropic
from . import openai as _openai
from ._agent import ChatCompletionsMessages, Message, ModelError, ModelReply, Usage
from ._exceptions import FormatError
from ._observation import DEFAULT_MAX_CHARS
from ._outcome import ToolCall
from ._registry import Registry
from ._result import TurnResult
from ._sse import ServerSentEvent, aiter_sse_bytes
from ._wire import Unknown, loads, mapping

if TYPE_CHECKING:
    import httpx

__all__ = ["AnthropicMessages", "OpenAIChat", "RequestRetry", "retry_after"]

_BODY_LIMIT = 4000
_DRAIN_SECONDS = 1.0


@final
@attrs.frozen(kw_only=True)
class RequestRetry:
    """When to repeat a model request that failed before its response began.

    A response with status 408, 409, 429 or 5xx (or ``x-should-retry:
    true``), or a connection that failed, is tried again, up to
    ``attempts`` requests in all. The wait is what the server asked for in
    ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date), else
    ``backoff * multiplier ** (k - 1)`` after the ``k``-th failure, at most
    ``max_backoff``. All waits are ``trio.sleep`` on Trio's clock. A server
    asking for more than ``max_retry_after`` seconds is not waited for: the
    request fails at once. A stream that breaks after it began is never
    repeated, since its calls may already be running.

    Args:
        attempts: the most requests in all, the first included.
        backoff: the first wait when the server names none, in seconds.
        multiplier: how much each such wait grows.
        max_backoff: the longest such wait.
        max_retry_after: the longest wait the server may ask for.
    """

    attempts: int = attrs.field(default=4, validator=attrs.validators.ge(1))
    backoff: float = attrs.field(default=1.0, validator=attrs.validators.ge(0))
    multiplier: float = attrs.field(default=2.0, validator=attrs.validators.ge(1))
    max_backoff: float = attrs.field(default=30.0, validator=attrs.validators.ge(0))
    max_retry_after: float = attrs.field(default=120.0, validator=attrs.validators.ge(0))

    def delay(self, failures: int) -> float:
        """The wait after the ``failures``-th failed request, when the server named none."""
        return min(self.max_backoff, self.backoff * self.multiplier ** (failures - 1))


def retry_after(headers: Mapping[str, str], *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms``, then ``Retry-After``), if it did.

    An HTTP date is measured against ``now`` (the wall clock: the server's
    date is wall-clock time); a date in the past means no wait.
    """
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            seconds = float(millis) / 1000.0
        except ValueError:
            seconds = math.nan
        if seconds >= 0 and math.isfinite(seconds):
            return seconds
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - now()
    if not math.isfinite(seconds):
        return None
    return max(seconds, 0.0)


def _retryable(response: httpx.Response) -> bool:
    should: str | None = response.headers.get("x-should-retry")
    if should in ("true", "false"):
        return should == "true"
    code = response.status_code
    return code in (408, 409, 429) or code >= 500


def _error_text(response: httpx.Response) -> str:
    text = response.text
    try:
        data = loads(text, "the error body")
    except FormatError:
        return text[:500]
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    if isinstance(error, str):
        return error
    return text[:500]


async def _send(
    http: httpx.AsyncClient, url: str, *, body: Mapping[str, Any], headers: Mapping[str, str], retry: RequestRetry
) -> httpx.Response:
    """POST until a 2xx response begins; return it open (streamed). The caller closes it."""
    import httpx

    failures = 0
    while True:
        request = http.build_request("POST", url, json=body, headers=dict(headers))
        try:
            response = await http.send(request, stream=True)
        except httpx.TransportError as exc:
            failures += 1
            if failures >= retry.attempts:
                raise ModelError(
                    f"could not reach {url} ({type(exc).__name__}: {exc}) after {failures} attempt(s)",
                    attempts=failures,
                ) from exc
            await trio.sleep(retry.delay(failures))
            continue
        if response.is_success:
            return response
        try:
            await response.aread()
        finally:
            await response.aclose()
        failures += 1
        wait = retry_after(response.headers)
        reason = f"{url} answered {response.status_code} {response.reason_phrase}: {_error_text(response)}"
        if not _retryable(response) or failures >= retry.attempts:
            tries = f" (after {failures} attempts)" if failures > 1 else ""
            raise ModelError(
                reason + tries, status_code=response.status_code, body=response.text[:_BODY_LIMIT], attempts=failures
            )
        if wait is not None and wait > retry.max_retry_after:
            raise ModelError(
                f"{reason}; it asked to retry after {wait:g} s, more than max_retry_after={retry.max_retry_after:g} s",
                status_code=response.status_code,
                body=response.text[:_BODY_LIMIT],
                attempts=failures,
            )
        await trio.sleep(wait if wait is not None else retry.delay(failures))


@asynccontextmanager
async def _post(
    http: httpx.AsyncClient, url: str, *, body: Mapping[str, Any], headers: Mapping[str, str], retry: RequestRetry
) -> AsyncIterator[httpx.Response]:
    response = await _send(http, url, body=body, headers=headers, retry=retry)
    try:
        yield response
    finally:
        await response.aclose()


@asynccontextmanager
async def _reading(url: str) -> AsyncIterator[None]:
    """Turn a connection that breaks mid-response into a `ModelError` (never retried)."""
    import httpx

    try:
        yield
    except httpx.TransportError as exc:
        raise ModelError(f"the response from {url} broke off ({type(exc).__name__}: {exc})") from exc


@asynccontextmanager
async def _events(response: httpx.Response) -> AsyncIterator[AsyncGenerator[ServerSentEvent, None]]:
    """The server-sent events of a streamed response, with every iterator closed on the way out.

    httpx (0.28) reads a response through async generators nested several
    deep, down into httpcore; one left suspended is finalized only when
    collected, which Trio reports as a ``ResourceWarning`` (encode/httpx#3686).
    So: after the last event the caller wants ([DONE], message_stop), the
    body is read to its end, which a server sends right away (and which
    lets the connection go back to the pool); a server that does not is
    given `_DRAIN_SECONDS`. The layers above the transport are ours and
    are closed explicitly, which is why this reads ``response.stream`` rather
    than ``response.aiter_lines()``, and why the request asks for
    ``Accept-Encoding: identity`` (raw bytes are not decompressed). An
    error or a cancellation skips the drain: the transport's own generators
    are then left to the collector.
    """
    import httpx

    stream = response.stream
    if not isinstance(stream, httpx.AsyncByteStream):
        raise TypeError("the model client needs an httpx.AsyncClient (its responses have async streams)")
    chunks = aiter(stream)
    events = aiter_sse_bytes(chunks)
    try:
        yield events
        with trio.move_on_after(_DRAIN_SECONDS):
            async for _ in events:
                pass  # anything after the end of the message is not for us
    finally:
        await events.aclose()
        close = getattr(chunks, "aclose", None)
        if close is not None:
            await close()


def _accept(stream: bool) -> dict[str, str]:
    if stream:
        return {"Accept": "text/event-stream", "Accept-Encoding": "identity"}  # raw bytes: see _events
    return {"Accept": "application/json"}


def _number(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


@final
class OpenAIChat(ChatCompletionsMessages):
    """A `ModelClient` for any OpenAI-compatible Chat Completions endpoint.

    OpenAI, vLLM, Ollama, llama.cpp's server, OpenRouter: anything that
    serves ``POST {base_url}/chat/completions``. With ``stream=True`` (the
    default) the response is read as server-sent events and each tool call
    is handed to the loop as soon as its arguments are complete.

    Args:
        http: the client to send with; you own it (``async with httpx.AsyncClient(timeout=...) as http``).
        model: the model name.
        base_url: the API root, e.g. ``http://localhost:11434/v1`` for Ollama.
        api_key: sent as ``Authorization: Bearer ...`` (``None``: no header).
        stream: stream the response (and dispatch calls as they complete).
        system: a system message sent first with every request (not stored
            in the conversation).
        include_usage: ask a stream for token usage (``stream_options``).
        notes: append `trio_toolpar.openai.parallel_note` to tool descriptions.
        max_chars: the longest observation sent back per call.
        unknown: what to do with tool calls of an unknown type (see
            `trio_toolpar.openai.calls_from_message`).
        extra_body: more request fields (``temperature``, ``parallel_tool_calls`` ...).
        headers: more request headers.
        retry: when to repeat a failed request (default: `RequestRetry()`).
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        model: str,
        base_url: str = "https://api.openai.com/v1",
        api_key: str | None = None,
        stream: bool = True,
        system: str | None = None,
        include_usage: bool = True,
        notes: bool = True,
        max_chars: int = DEFAULT_MAX_CHARS,
        unknown: Unknown = "error",
        extra_body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        retry: RequestRetry | None = None,
    ) -> None:
        self.http = http
        self.model = model
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.stream = stream
        self.system = system
        self.include_usage = include_usage
        self.notes = notes
        self.max_chars = max_chars
        self.unknown: Unknown = unknown
        self.extra_body = dict(extra_body or {})
        self.retry = retry if retry is not None else RequestRetry()
        self.headers = {**_accept(stream), **(headers or {})}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"

    def request_body(self, messages: Sequence[Message], *, tools: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """The JSON body of the request for ``messages``."""
        body: dict[str, Any] = {"model": self.model, "messages": []}
        if self.system is not None:
            body["messages"].append({"role": "system", "content": self.system})
        body["messages"].extend(dict(m) for m in messages)
        if tools:
            body["tools"] = list(tools)
        if self.stream:
            body["stream"] = True
            if self.include_usage:
                body["stream_options"] = {"include_usage": True}
        body.update(self.extra_body)
        return body

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[Mapping[str, Any]],
        on_call: Callable[[ToolCall], object] | None = None,
    ) -> ModelReply:
        """One request; with streaming, ``on_call`` gets each call as soon as it is complete.

        Raises:
            ModelError: an error status (after retries), a broken connection,
                or an error in the stream.
            FormatError: a response that cannot be read.
        """
        body = self.request_body(messages, tools=tools)
        async with (
            _post(self.http, self.url, body=body, headers=self.headers, retry=self.retry) as response,
            _reading(self.url),
        ):
            if self.stream:
                return await self._read_stream(response, on_call)
            text = (await response.aread()).decode("utf-8", errors="replace")
        return self._read_completion(loads(text, "the chat completion"), on_call)

    def _read_completion(self, payload: object, on_call: Callable[[ToolCall], object] | None) -> ModelReply:
        data = mapping(payload, "a chat completion")
        if data.get("error"):
            raise ModelError(f"{self.url} reported an error: {data['error']}")
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices:
            raise FormatError("a chat completion must have a non-empty 'choices' list", payload=payload)
        choice = mapping(choices[0], "choices[0]")
        message = mapping(choice.get("message"), "choices[0].message")
        calls = _openai.calls_from_message(message, unknown=self.unknown)
        reply = ModelReply(
            message=_openai.assistant_message(message, unknown=self.unknown),
            calls=tuple(calls),
            text=message.get("content") if isinstance(message.get("content"), str) else None,
            stop_reason=choice.get("finish_reason") if isinstance(choice.get("finish_reason"), str) else None,
            usage=_openai_usage(data.get("usage")),
            model=data.get("model") if isinstance(data.get("model"), str) else None,
        )
        if on_call is not None:
            for call in calls:
                on_call(call)
        return reply

    async def _read_stream(self, response: httpx.Response, on_call: Callable[[ToolCall], object] | None) -> ModelReply:
        stream = _openai.ChatStream(unknown=self.unknown)
        async with _events(response) as events:
            async for event in events:
                if not event.data.strip():
                    continue  # some servers send empty keep-alive events
                if event.data.strip() == "[DONE]":
                    break
                chunk = loads(event.data, "a stream chunk")
                if isinstance(chunk, dict) and chunk.get("error"):
                    raise ModelError(f"{self.url} reported an error in the stream: {chunk['error']}")
                for call in stream.feed(chunk):
                    if on_call is not None:
                        on_call(call)
        for call in stream.finish():
            if on_call is not None:
                on_call(call)
        return ModelReply(
            message=stream.message(),
            calls=tuple(stream.calls),
            text=stream.text,
            stop_reason=stream.finish_reason,
            usage=_openai_usage(stream.usage),
            model=stream.model,
        )


def _openai_usage(usage: object) -> Usage | None:
    if not isinstance(usage, dict):
        return None
    return Usage(
        input_tokens=_number(usage.get("prompt_tokens")), output_tokens=_number(usage.get("completion_tokens"))
    )


def _anthropic_usage(usage: object) -> Usage | None:
    if not isinstance(usage, dict) or not usage:
        return None
    return Usage(input_tokens=_number(usage.get("input_tokens")), output_tokens=_number(usage.get("output_tokens")))


@final
class AnthropicMessages:
    """A `ModelClient` for Anthropic's Messages API (``POST {base_url}/v1/messages``).

    With ``stream=True`` (the default) each ``tool_use`` block is handed to
    the loop at its ``content_block_stop``, while the model writes the next.

    Args:
        http: the client to send with; you own it.
        model: the model name.
        api_key: sent as ``x-api-key`` (``None``: no header).
        base_url: the API root.
        max_tokens: the response's token limit (the API requires one).
        stream: stream the response (and dispatch calls as they complete).
        system: the ``system`` prompt.
        version: the ``anthropic-version`` header.
        notes: append `trio_toolpar.anthropic.parallel_note` to tool descriptions.
        max_chars: the longest observation sent back per call.
        unknown: what to do with content blocks of an unknown type (see
            `trio_toolpar.anthropic.calls_from_message`).
        extra_body: more request fields (``temperature``, ``thinking`` ...).
        headers: more request headers (``anthropic-beta`` ...).
        retry: when to repeat a failed request (default: `RequestRetry()`).
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        model: str,
        api_key: str | None = None,
        base_url: str = "https://api.anthropic.com",
        max_tokens: int = 4096,
        stream: bool = True,
        system: str | None = None,
        version: str = "2023-06-01",
        notes: bool = True,
        max_chars: int = DEFAULT_MAX_CHARS,
        unknown: Unknown = "error",
        extra_body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        retry: RequestRetry | None = None,
    ) -> None:
        self.http = http
        self.model = model
        self.url = base_url.rstrip("/") + "/v1/messages"
        self.max_tokens = max_tokens
        self.stream = stream
        self.system = system
        self.notes = notes
        self.max_chars = max_chars
        self.unknown: Unknown = unknown
        self.extra_body = dict(extra_body or {})
        self.retry = retry if retry is not None else RequestRetry()
        self.headers = {"anthropic-version": version, **_accept(stream), **(headers or {})}
        if api_key:
            self.headers["x-api-key"] = api_key

    def tool_definitions(self, registry: Registry) -> list[dict[str, Any]]:
        """The registry's tools in the Messages API's format."""
        return _anthropic.tools(registry, notes=self.notes)

    def user_message(self, text: str) -> dict[str, Any]:
        """``{"role": "user", "content": text}``."""
        return {"role": "user", "content": text}

    def tool_results(self, result: TurnResult) -> list[dict[str, Any]]:
        """One user message of ``tool_result`` blocks (see `trio_toolpar.anthropic.tool_result_message`)."""
        return [_anthropic.tool_result_message(result, max_chars=self.max_chars)] if len(result) else []

    def request_body(self, messages: Sequence[Message], *, tools: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """The JSON body of the request for ``messages``."""
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "messages": [dict(m) for m in messages],
        }
        if self.system is not None:
            body["system"] = self.system
        if tools:
            body["tools"] = list(tools)
        if self.stream:
            body["stream"] = True
        body.update(self.extra_body)
        return body

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[Mapping[str, Any]],
        on_call: Callable[[ToolCall], object] | None = None,
    ) -> ModelReply:
        """One request; with streaming, ``on_call`` gets each call at its ``content_block_stop``.

        Raises:
            ModelError: an error status (after retries), a broken connection,
                or an ``error`` event in the stream.
            FormatError: a response that cannot be read.
        """
        body = self.request_body(messages, tools=tools)
        async with (
            _post(self.http, self.url, body=body, headers=self.headers, retry=self.retry) as response,
            _reading(self.url),
        ):
            if self.stream:
                return await self._read_stream(response, on_call)
            text = (await response.aread()).decode("utf-8", errors="replace")
        return self._read_message(loads(text, "the message"), on_call)

    def _read_message(self, payload: object, on_call: Callable[[ToolCall], object] | None) -> ModelReply:
        data = mapping(payload, "a message")
        if data.get("type") == "error":
            raise ModelError(f"{self.url} reported an error: {data.get('error')}")
        calls = _anthropic.calls_from_message(data, unknown=self.unknown)
        message = _anthropic.assistant_message(data, unknown=self.unknown)
        reply = ModelReply(
            message=message,
            calls=tuple(calls),
            text=_text_of(message),
            stop_reason=data.get("stop_reason") if isinstance(data.get("stop_reason"), str) else None,
            usage=_anthropic_usage(data.get("usage")),
            model=data.get("model") if isinstance(data.get("model"), str) else None,
        )
        if on_call is not None:
            for call in calls:
                on_call(call)
        return reply

    async def _read_stream(self, response: httpx.Response, on_call: Callable[[ToolCall], object] | None) -> ModelReply:
        stream = _anthropic.MessageStream(unknown=self.unknown)
        async with _events(response) as events:
            async for event in events:
                if not event.data.strip():
                    continue
                data = loads(event.data, "a stream event")
                if isinstance(data, dict) and data.get("type") == "error":
                    raise ModelError(f"{self.url} reported an error in the stream: {data.get('error')}")
                for call in stream.feed(data):
                    if on_call is not None:
                        on_call(call)
                if stream.done:
                    break
        for call in stream.finish():
            if on_call is not None:
                on_call(call)
        return ModelReply(
            message=stream.message(),
            calls=tuple(stream.calls),
            text=stream.text,
            stop_reason=stream.stop_reason,
            usage=_anthropic_usage(stream.usage),
            model=stream.model,
        )


def _text_of(message: Mapping[str, Any]) -> str | None:
    parts = [b["text"] for b in message["content"] if b.get("type") == "text" and isinstance(b.get("text"), str)]
    return "".join(parts) if parts else None
