"""What every model client over ``httpx.AsyncClient`` shares: the request, its retries, reading the stream.

A provider's client (`trio_toolpar._openai_models`, `trio_toolpar._anthropic_model`)
subclasses `HTTPModel` and supplies only its wire format: the request body,
how a whole response reads, which stream assembler reads a streamed one,
and which stream events report a failure. httpx is imported when a request
is made, not when this module is, so that `trio_toolpar.agent` (and its
`ScriptedModel`) work without it.
"""

from __future__ import annotations

import random
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypedDict, TypeVar

import trio

from .._values._exceptions import ModelError
from .._values._observation import DEFAULT_MAX_CHARS
from .._values._outcome import ToolCall
from .._values._validate import check_whole_number
from .._wire._payloads import Unknown, loads, mapping
from .._wire._sse import ServerSentEvent, aiter_sse_bytes
from ._loop import Message, ModelReply
from ._model_retry import RequestRetry, send

if TYPE_CHECKING:
    import httpx

__all__ = ["Assembler", "HTTPModel", "HTTPOptions", "OnCall", "number"]

_DRAIN_SECONDS = 1.0

OnCall = Callable[[ToolCall], object] | None


class Assembler(Protocol):
    """A provider's stream assembler (`ChatStream`, `ResponseStream`, `MessageStream`), as the client uses it."""

    def feed(self, event: object, /) -> list[ToolCall]:
        """Take one event's JSON; return the calls it completed."""
        ...

    def finish(self) -> list[ToolCall]:
        """The stream ended: return the calls not handed out yet."""
        ...


S = TypeVar("S", bound=Assembler)


class HTTPOptions(TypedDict, total=False):
    """The options every HTTP model client takes (see `HTTPModel`)."""

    stream: bool
    system: str | None
    notes: bool
    max_chars: int
    observation_budget: int | None
    unknown: Unknown
    extra_body: Mapping[str, Any] | None
    headers: Mapping[str, str] | None
    retry: RequestRetry | None


def number(value: object) -> int:
    """A token count as the server sent it, or 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


class HTTPModel(Generic[S]):
    """The request/retry/stream-reading core of a `ModelClient` over HTTP; subclasses add the wire format.

    Args:
        http: the client to send with; you own it (``async with httpx.AsyncClient(timeout=...) as http``).
        model: the model name.
        url: where to ``POST``.
        wire_headers: the provider's own headers (auth, version).
        stream: stream the response (and dispatch calls as they complete).
        system: the system prompt, sent with every request and not stored in
            the conversation (how it is sent is the provider's).
        notes: tell the model, in each tool's description, what runs in
            parallel and how to pass one call's result to another.
        max_chars: the longest observation sent back per call.
        observation_budget: the most characters the observations of one
            turn may have together, split fairly among them (see
            `trio_toolpar.openai.tool_messages`); ``None``: no budget.
        unknown: what to do with calls, blocks or items of an unknown type.
        extra_body: more request fields (``temperature`` ...).
        headers: more request headers.
        retry: when to repeat a failed request (default: `RequestRetry()`).
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        model: str,
        url: str,
        wire_headers: Mapping[str, str],
        stream: bool = True,
        system: str | None = None,
        notes: bool = True,
        max_chars: int = DEFAULT_MAX_CHARS,
        observation_budget: int | None = None,
        unknown: Unknown = "error",
        extra_body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        retry: RequestRetry | None = None,
    ) -> None:
        self.http = http
        self.model = model
        self.url = url
        self.stream = stream
        self.system = system
        self.notes = notes
        self.max_chars = max_chars
        self.observation_budget = check_whole_number(
            "observation_budget", observation_budget, minimum=0, allow_none=True
        )
        self.unknown: Unknown = unknown
        self.extra_body = dict(extra_body or {})
        self.retry = retry if retry is not None else RequestRetry()
        self._random = random.Random(self.retry.seed)
        accept = {"Accept": "text/event-stream", "Accept-Encoding": "identity"} if stream else {}  # see _events
        self.headers = {"Accept": "application/json", **accept, **wire_headers, **(headers or {})}

    def request_body(self, messages: Sequence[Message], *, tools: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """The JSON body of the request for ``messages``: the provider's `payload`, the tools, ``extra_body``."""
        body = self.payload(messages)
        if tools:
            body["tools"] = list(tools)
        if self.stream:
            body["stream"] = True
        body.update(self.extra_body)
        return body

    async def complete(
        self, messages: Sequence[Message], *, tools: Sequence[Mapping[str, Any]], on_call: OnCall = None
    ) -> ModelReply:
        """One request; with streaming, ``on_call`` gets each call as soon as the stream completes it.

        Raises:
            ModelError: an error status (after retries), a broken connection,
                or an error reported in the response or its stream.
            FormatError: a response that cannot be read.
        """
        body = self.request_body(messages, tools=tools)
        response = await send(
            self.http, self.url, body=body, headers=self.headers, retry=self.retry, draw=self._random.random
        )
        try:
            async with _reading(self.url):
                if self.stream:
                    return await self._read_stream(response, on_call)
                text = (await response.aread()).decode("utf-8", errors="replace")
        finally:
            await response.aclose()
        reply = self.read_response(mapping(loads(text, "the response body"), "the response body"))
        for call in reply.calls:
            if on_call is not None:
                on_call(call)
        return reply

    # -- the wire format: one provider's --------------------------------------------------------

    def payload(self, messages: Sequence[Message]) -> dict[str, Any]:
        """The request's own fields: the model, the conversation, the system prompt, stream options."""
        raise NotImplementedError

    def read_response(self, data: dict[str, Any]) -> ModelReply:
        """The reply in a whole (not streamed) response body."""
        raise NotImplementedError

    def assembler(self) -> S:
        """A new stream assembler."""
        raise NotImplementedError

    def stream_failure(self, data: object) -> str | None:
        """What went wrong, if this stream event reports a failure."""
        raise NotImplementedError

    def stream_done(self, stream: S) -> bool:
        """Whether the stream's last event for us has arrived (before the body ends)."""
        raise NotImplementedError

    def stream_reply(self, stream: S) -> ModelReply:
        """The reply a finished stream assembled."""
        raise NotImplementedError

    # ------------------------------------------------------------------------------------------

    async def _read_stream(self, response: httpx.Response, on_call: OnCall) -> ModelReply:
        stream = self.assembler()
        async with _events(response) as events:
            async for event in events:
                text = event.data.strip()
                if not text:
                    continue  # some servers send empty keep-alive events
                if text == "[DONE]":
                    break  # Chat Completions' end; no other API sends it
                data = loads(event.data, "a stream event")
                failure = self.stream_failure(data)
                if failure is not None:
                    raise ModelError(f"{self.url} reported an error in the stream: {failure}")
                for call in stream.feed(data):
                    if on_call is not None:
                        on_call(call)
                if self.stream_done(stream):
                    break
        for call in stream.finish():
            if on_call is not None:
                on_call(call)
        return self.stream_reply(stream)


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
    So: after the last event the caller wants ([DONE], message_stop,
    response.completed), the body is read to its end, which a server sends
    right away (and which lets the connection go back to the pool); a server
    that does not is given `_DRAIN_SECONDS`. The layers above the transport
    are ours and are closed explicitly, which is why this reads
    ``response.stream`` rather than ``response.aiter_lines()``, and why the
    request asks for ``Accept-Encoding: identity`` (raw bytes are not
    decompressed). An error or a cancellation skips the drain: the
    transport's own generators are then left to the collector.
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
