"""A model client for Anthropic's Messages API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Unpack, final

from .. import anthropic as _anthropic
from .._runtime._result import TurnResult
from .._tools._registry import Registry
from .._values._exceptions import ModelError
from ._loop import Message, ModelReply, Usage
from ._model_http import HTTPModel, HTTPOptions, number

if TYPE_CHECKING:
    import httpx

__all__ = ["AnthropicMessages"]


@final
class AnthropicMessages(HTTPModel[_anthropic.MessageStream]):
    """A `ModelClient` for Anthropic's Messages API (``POST {base_url}/v1/messages``).

    With ``stream=True`` (the default) each ``tool_use`` block is handed to
    the loop at its ``content_block_stop``, while the model writes the next.

    Args:
        http: the client to send with; you own it.
        model: the model name.
        api_key: sent as ``x-api-key`` (``None``: no header).
        base_url: the API root.
        max_tokens: the response's token limit (the API requires one).
        version: the ``anthropic-version`` header.
        **options: ``stream``, ``system`` (sent as ``system``), ``notes``,
            ``max_chars``, ``observation_budget``, ``unknown``, ``extra_body`` (``temperature``,
            ``thinking`` ...), ``headers`` (``anthropic-beta`` ...),
            ``retry``: see `trio_toolpar.agent.HTTPModel`.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        model: str,
        api_key: str | None = None,
        base_url: str = "https://api.anthropic.com",
        max_tokens: int = 4096,
        version: str = "2023-06-01",
        **options: Unpack[HTTPOptions],
    ) -> None:
        wire = {"anthropic-version": version, **({"x-api-key": api_key} if api_key else {})}
        super().__init__(http, model=model, url=base_url.rstrip("/") + "/v1/messages", wire_headers=wire, **options)
        self.max_tokens = max_tokens

    def tool_definitions(self, registry: Registry) -> list[dict[str, Any]]:
        """The registry's tools in the Messages API's format."""
        return _anthropic.tools(registry, notes=self.notes)

    def user_message(self, text: str) -> dict[str, Any]:
        """``{"role": "user", "content": text}``."""
        return {"role": "user", "content": text}

    def tool_results(self, result: TurnResult) -> list[dict[str, Any]]:
        """One user message of ``tool_result`` blocks (see `trio_toolpar.anthropic.tool_result_message`)."""
        if not len(result):
            return []
        return [_anthropic.tool_result_message(result, max_chars=self.max_chars, budget=self.observation_budget)]

    def payload(self, messages: Sequence[Message]) -> dict[str, Any]:
        """The model, ``max_tokens``, the messages and the ``system`` prompt."""
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "messages": [dict(m) for m in messages],
        }
        if self.system is not None:
            body["system"] = self.system
        return body

    def read_response(self, data: dict[str, Any]) -> ModelReply:
        """The reply in a message."""
        if data.get("type") == "error":
            raise ModelError(f"{self.url} reported an error: {data.get('error')}")
        message = _anthropic.assistant_message(data, unknown=self.unknown)
        stop = data.get("stop_reason")
        return ModelReply(
            messages=(message,),
            calls=tuple(_anthropic.calls_from_message(data, unknown=self.unknown)),
            text=_text_of(message),
            stop_reason=stop if isinstance(stop, str) else None,
            usage=_usage(data.get("usage")),
            model=data.get("model") if isinstance(data.get("model"), str) else None,
        )

    def assembler(self) -> _anthropic.MessageStream:
        """A new `trio_toolpar.anthropic.MessageStream`."""
        return _anthropic.MessageStream(unknown=self.unknown)

    def stream_failure(self, data: object) -> str | None:
        """The ``error`` of an ``error`` event."""
        return str(data.get("error")) if isinstance(data, dict) and data.get("type") == "error" else None

    def stream_done(self, stream: _anthropic.MessageStream) -> bool:
        """At ``message_stop``."""
        return stream.done

    def stream_reply(self, stream: _anthropic.MessageStream) -> ModelReply:
        """The reply the events assembled."""
        return ModelReply(
            messages=(stream.message(),),
            calls=tuple(stream.calls),
            text=stream.text,
            stop_reason=stream.stop_reason,
            usage=_usage(stream.usage),
            model=stream.model,
        )


def _usage(usage: object) -> Usage | None:
    if not isinstance(usage, dict) or not usage:
        return None
    return Usage(input_tokens=number(usage.get("input_tokens")), output_tokens=number(usage.get("output_tokens")))


def _text_of(message: Mapping[str, Any]) -> str | None:
    parts = [b["text"] for b in message["content"] if b.get("type") == "text" and isinstance(b.get("text"), str)]
    return "".join(parts) if parts else None
