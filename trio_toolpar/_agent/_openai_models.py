"""Model clients for OpenAI's two APIs: Chat Completions (any compatible server) and Responses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Required, TypeVar, Unpack, final

from .. import openai as _openai
from .._runtime._result import TurnResult
from .._tools._registry import Registry
from .._values._exceptions import FormatError, ModelError
from .._wire._payloads import mapping
from .._wire._responses import custom_call_ids, failure, outputs
from ._loop import ChatCompletionsMessages, Message, ModelReply, Usage
from ._model_http import Assembler, HTTPModel, HTTPOptions, number

if TYPE_CHECKING:
    import httpx

__all__ = ["OpenAIChat", "OpenAIOptions", "OpenAIResponses"]

S = TypeVar("S", bound=Assembler)


def _bearer(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


class OpenAIOptions(HTTPOptions, total=False):
    """The options of both OpenAI clients (see `OpenAIChat`)."""

    model: Required[str]
    base_url: str
    api_key: str | None
    strict: bool


class _OpenAIModel(HTTPModel[S]):
    """What both OpenAI clients share: the API root, the bearer token, strict tools."""

    _path: ClassVar[str]

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        model: str,
        base_url: str = "https://api.openai.com/v1",
        api_key: str | None = None,
        strict: bool = False,
        **options: Unpack[HTTPOptions],
    ) -> None:
        url = base_url.rstrip("/") + self._path
        super().__init__(http, model=model, url=url, wire_headers=_bearer(api_key), **options)
        self.strict = strict


@final
class OpenAIChat(ChatCompletionsMessages, _OpenAIModel[_openai.ChatStream]):
    """A `ModelClient` for any OpenAI-compatible Chat Completions endpoint.

    OpenAI, vLLM, Ollama, llama.cpp's server, OpenRouter: anything that
    serves ``POST {base_url}/chat/completions``. With ``stream=True`` (the
    default) the response is read as server-sent events and each tool call
    is handed to the loop as soon as its arguments are complete, also when
    the server interleaves the fragments of several calls.

    Args:
        http: the client to send with; you own it (``async with httpx.AsyncClient(timeout=...) as http``).
        model: the model name.
        base_url: the API root, e.g. ``http://localhost:11434/v1`` for Ollama.
        api_key: sent as ``Authorization: Bearer ...`` (``None``: no header).
        include_usage: ask a stream for token usage (``stream_options``).
        strict: send the tools in strict mode (see `trio_toolpar.openai.tools`).
        **options: ``stream``, ``system`` (sent as a first system message),
            ``notes``, ``max_chars``, ``observation_budget``, ``unknown``, ``extra_body``,
            ``headers``, ``retry``: see `trio_toolpar.agent.HTTPModel`.
    """

    _path = "/chat/completions"

    def __init__(
        self, http: httpx.AsyncClient, *, include_usage: bool = True, **options: Unpack[OpenAIOptions]
    ) -> None:
        super().__init__(http, **options)
        self.include_usage = include_usage

    def payload(self, messages: Sequence[Message]) -> dict[str, Any]:
        """The model and the messages, the system message first; ``stream_options`` when streaming."""
        system = [{"role": "system", "content": self.system}] if self.system is not None else []
        body: dict[str, Any] = {"model": self.model, "messages": [*system, *(dict(m) for m in messages)]}
        if self.stream and self.include_usage:
            body["stream_options"] = {"include_usage": True}
        return body

    def read_response(self, data: dict[str, Any]) -> ModelReply:
        """The reply in a chat completion."""
        if data.get("error"):
            raise ModelError(f"{self.url} reported an error: {data['error']}")
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices:
            raise FormatError("a chat completion must have a non-empty 'choices' list", payload=data)
        choice = mapping(choices[0], "choices[0]")
        message = mapping(choice.get("message"), "choices[0].message")
        kept = _openai.assistant_message(message, unknown=self.unknown)
        return _chat_reply(
            kept, _str(message.get("content")), choice.get("finish_reason"), data.get("usage"), data.get("model")
        )

    def assembler(self) -> _openai.ChatStream:
        """A new `trio_toolpar.openai.ChatStream`."""
        return _openai.ChatStream(unknown=self.unknown)

    def stream_failure(self, data: object) -> str | None:
        """A chunk's ``error``, if it has one."""
        return str(data["error"]) if isinstance(data, dict) and data.get("error") else None

    def stream_done(self, stream: _openai.ChatStream) -> bool:
        """Never before ``[DONE]``: usage may follow the ``finish_reason``."""
        return False

    def stream_reply(self, stream: _openai.ChatStream) -> ModelReply:
        """The reply the chunks assembled."""
        return _chat_reply(stream.message(), stream.text, stream.finish_reason, stream.usage, stream.model)


@final
class OpenAIResponses(_OpenAIModel[_openai.ResponseStream]):
    """A `ModelClient` for OpenAI's Responses API (``POST {base_url}/responses``).

    The conversation is the request's ``input`` list: the user's message,
    then each response's output items (see `trio_toolpar.openai.response_items`:
    calls trio_toolpar does not run are answered there) and one
    ``function_call_output`` per call (``custom_tool_call_output`` for a
    custom tool's). With ``stream=True`` (the default) each call is handed to
    the loop at the event that completes its arguments, while the model
    writes the next.

    Args:
        http: the client to send with; you own it.
        model: the model name.
        base_url: the API root.
        api_key: sent as ``Authorization: Bearer ...`` (``None``: no header).
        strict: send the tools in strict mode (see `trio_toolpar.openai.response_tools`).
        **options: ``stream``, ``system`` (sent as ``instructions``),
            ``notes``, ``max_chars``, ``observation_budget``, ``unknown``, ``extra_body`` (``store``,
            ``reasoning`` ...), ``headers``, ``retry``: see `trio_toolpar.agent.HTTPModel`.
    """

    _path = "/responses"

    def __init__(self, http: httpx.AsyncClient, **options: Unpack[OpenAIOptions]) -> None:
        super().__init__(http, **options)
        # The ids of custom tool calls in replies whose calls were not answered yet: one client may serve
        # several loops at once, so each reply's are kept until its answers are written.
        self._custom_calls: set[str] = set()

    def tool_definitions(self, registry: Registry) -> list[dict[str, Any]]:
        """The registry's tools in the Responses API's format."""
        return _openai.response_tools(registry, notes=self.notes, strict=self.strict)

    def user_message(self, text: str) -> dict[str, Any]:
        """``{"role": "user", "content": text}``, an input item."""
        return {"role": "user", "content": text}

    def tool_results(self, result: TurnResult) -> list[dict[str, Any]]:
        """One output item per call (see `trio_toolpar.openai.function_call_outputs`)."""
        custom = {o.call_id for o in result if o.call_id in self._custom_calls}
        self._custom_calls -= custom
        return outputs(result, custom=custom, max_chars=self.max_chars, budget=self.observation_budget)

    def payload(self, messages: Sequence[Message]) -> dict[str, Any]:
        """The model, ``messages`` as the ``input`` items, and the system prompt as ``instructions``."""
        body: dict[str, Any] = {"model": self.model, "input": [dict(m) for m in messages]}
        if self.system is not None:
            body["instructions"] = self.system
        return body

    def read_response(self, data: dict[str, Any]) -> ModelReply:
        """The reply in a response object."""
        if data.get("error") or data.get("status") == "failed":
            raise ModelError(f"{self.url} reported an error: {failure({'type': 'response.failed', 'response': data})}")
        items = _openai.response_items(data, unknown=self.unknown)
        self._custom_calls |= custom_call_ids(items)
        return _responses_reply(items, _output_text(items), data.get("status"), data.get("usage"), data.get("model"))

    def assembler(self) -> _openai.ResponseStream:
        """A new `trio_toolpar.openai.ResponseStream`."""
        return _openai.ResponseStream(unknown=self.unknown)

    def stream_failure(self, data: object) -> str | None:
        """The message of an ``error`` or ``response.failed`` event."""
        if isinstance(data, dict) and data.get("type") in ("error", "response.failed"):
            return failure(data)
        return None

    def stream_done(self, stream: _openai.ResponseStream) -> bool:
        """At ``response.completed`` (or ``.incomplete``): no ``[DONE]`` follows."""
        return stream.done

    def stream_reply(self, stream: _openai.ResponseStream) -> ModelReply:
        """The reply the events assembled."""
        items = stream.items()
        self._custom_calls |= custom_call_ids(items)
        return _responses_reply(items, stream.text, stream.status, stream.usage, stream.model)


def _chat_reply(message: dict[str, Any], text: str | None, stop: object, usage: object, model: object) -> ModelReply:
    """A reply from the assistant message kept in the conversation: its calls are the ones it holds."""
    return ModelReply(
        messages=(message,),
        calls=tuple(_openai.calls_from_message(message)),
        text=text,
        stop_reason=_str(stop),
        usage=_usage(usage, "prompt_tokens", "completion_tokens"),
        model=_str(model),
    )


def _responses_reply(
    items: list[dict[str, Any]], text: str | None, status: object, usage: object, model: object
) -> ModelReply:
    """A reply from the output items kept in the conversation: its calls are their function calls."""
    return ModelReply(
        messages=tuple(items),
        calls=tuple(_openai.calls_from_response(items)),
        text=text,
        stop_reason=_str(status),
        usage=_usage(usage, "input_tokens", "output_tokens"),
        model=_str(model),
    )


def _usage(usage: object, inputs: str, outputs: str) -> Usage | None:
    if not isinstance(usage, dict) or not usage:
        return None
    return Usage(input_tokens=number(usage.get(inputs)), output_tokens=number(usage.get(outputs)))


def _output_text(items: Sequence[Mapping[str, Any]]) -> str | None:
    parts = [
        part["text"]
        for item in items
        if item.get("type") == "message"
        for part in item.get("content") or ()
        if isinstance(part, dict) and part.get("type") == "output_text" and isinstance(part.get("text"), str)
    ]
    return "".join(parts) if parts else None
