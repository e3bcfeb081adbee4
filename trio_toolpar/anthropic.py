"""Anthropic Messages formats in and out.

Pure functions over plain JSON data; the official ``anthropic`` SDK's
objects are accepted too (through their ``model_dump()``), but the SDK is
never imported. A turn:

```python
result = await executor.run(anthropic.calls_from_message(message))
messages += [anthropic.assistant_message(message), anthropic.tool_result_message(result)]
```

``tool_use`` blocks become calls; the outcomes go back as one user message
of ``tool_result`` blocks, one per call in the model's order, with
``is_error: true`` on every outcome that is not ``ok``.

In a module that also uses the ``anthropic`` SDK, import this one under a
name of its own, ``from trio_toolpar import anthropic as toolpar_anthropic``:
both are called ``anthropic``, and the later import hides the other. The
name stays that of the API it speaks (see "Beside the official SDKs" in the
providers guide).

Malformed payloads never lose a call: a ``tool_use`` block without an id
gets ``missing_id_<n>`` (``n``: its index in ``content``, which is also its
index in a stream), an ``input`` that is not an object is passed on so that
the planner rejects it with ``invalid_arguments``, a missing name becomes
``""`` (rejected as ``unknown_tool``). Text, thinking and the server's own
tool blocks need no answer and are skipped; a block of any other type is
"unknown" (see the ``unknown`` arguments). What cannot be read at all raises
`FormatError`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, final

from ._runtime._result import TurnResult
from ._tools._registry import Registry
from ._values._budget import render_observations
from ._values._exceptions import FormatError
from ._values._observation import DEFAULT_MAX_CHARS
from ._values._outcome import Outcome, ToolCall
from ._wire._guide import describe, parallel_note, reference_note
from ._wire._payloads import (
    Unknown,
    as_data,
    call_arguments,
    call_id,
    check_unknown,
    mapping,
    outcomes_of,
    tool_name,
)
from ._wire._tool_schema import model_parameters

__all__ = [
    "MessageStream",
    "assistant_message",
    "calls_from_message",
    "parallel_note",
    "reference_note",
    "tool_result_message",
    "tools",
]

# Content blocks that need no answer from the client; so does every "*_tool_result" block.
_BLOCKS_TO_SKIP = frozenset(
    {"text", "thinking", "redacted_thinking", "server_tool_use", "mcp_tool_use", "container_upload"}
)
# Blocks whose input streams as input_json_delta fragments.
_INPUT_BLOCKS = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})


def _skipped(kind: object) -> bool:
    return isinstance(kind, str) and (kind in _BLOCKS_TO_SKIP or kind.endswith("_tool_result"))


def tools(registry: Registry, *, notes: bool = True, references: bool = True) -> list[dict[str, Any]]:
    """The registry's tools in the Messages API's ``tools`` format (``name``, ``description``, ``input_schema``).

    Args:
        registry: the tools.
        notes: append `parallel_note` and the reference syntax to each
            description, so the model knows which calls it may emit together
            and how to chain them.
        references: widen each parameter's schema so that a reference string
            (``"$#1.total"``) is valid wherever a value is expected.
    """
    return [
        {
            "name": tool.name,
            "description": describe(tool, notes=notes),
            "input_schema": model_parameters(tool, references=references, strict=False),
        }
        for tool in registry
    ]


def _content(message: object) -> list[Any]:
    data = as_data(message)
    if isinstance(data, list):
        return data
    if not isinstance(data, dict):
        raise FormatError(f"expected a message or a list of content blocks, got {type(data).__name__}", payload=message)
    content = data.get("content")
    if isinstance(content, str):
        return []  # a plain-text message holds no calls
    if not isinstance(content, list):
        raise FormatError("a message must have a 'content' list", payload=message)
    return content


def _call(block: Mapping[str, Any], n: int) -> ToolCall:
    return ToolCall(
        id=call_id(block.get("id"), n),
        tool=tool_name(block.get("name")),
        arguments=call_arguments(block.get("input")),
    )


def calls_from_message(message: object, *, unknown: Unknown = "error") -> list[ToolCall]:
    """The ``tool_use`` blocks of an assistant message as calls, in the model's order.

    Args:
        message: a Messages API response or assistant message (dict or SDK
            object), or its list of content blocks.
        unknown: what to do with a block of a type that is neither
            ``tool_use`` nor known to need no answer: ``"error"`` raises
            `FormatError`, ``"ignore"`` skips it (and `assistant_message`
            drops it).

    Raises:
        FormatError: no content list, a block that is not an object, or an
            unknown block type.
    """
    calls: list[ToolCall] = []
    for n, block in enumerate(_content(message)):
        if not isinstance(block, dict):
            raise FormatError(f"content[{n}] must be an object, got {type(block).__name__}", payload=message)
        kind = block.get("type")
        if kind == "tool_use":
            calls.append(_call(block, n))
        elif not _skipped(kind):
            check_unknown(unknown, f"content[{n}] has type {kind!r}, which is not a tool_use block", block)
    return calls


def assistant_message(message: object, *, unknown: Unknown = "error") -> dict[str, Any]:
    """The model's message as it should stay in the conversation.

    Every block is kept in order (thinking blocks must go back unchanged
    when the model uses tools while thinking), without the ``null`` fields
    SDK objects carry; each ``tool_use`` block is written back with the id it
    runs under (``missing_id_<n>`` if it had none) and an object ``input``
    (``{}`` if what the model sent was not one).

    Raises:
        FormatError: as `calls_from_message`.
    """
    blocks: list[dict[str, Any]] = []
    for n, block in enumerate(_content(message)):
        if not isinstance(block, dict):
            raise FormatError(f"content[{n}] must be an object, got {type(block).__name__}", payload=message)
        kind = block.get("type")
        if kind == "tool_use":
            call = _call(block, n)
            blocks.append(
                {"type": "tool_use", "id": call.id, "name": call.tool, "input": _input_object(call.arguments)}
            )
        elif _skipped(kind):
            blocks.append({k: v for k, v in block.items() if v is not None})
        else:
            check_unknown(unknown, f"content[{n}] has type {kind!r}, which is not a tool_use block", block)
    return {"role": "assistant", "content": blocks}


def _input_object(arguments: Mapping[str, Any] | str) -> dict[str, Any]:
    if isinstance(arguments, Mapping):
        return dict(arguments)
    try:
        parsed = json.loads(arguments) if arguments.strip() else {}
    except (json.JSONDecodeError, RecursionError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def tool_result_message(
    outcomes: TurnResult | Iterable[Outcome],
    *,
    max_chars: int = DEFAULT_MAX_CHARS,
    budget: int | None = None,
    include_timing: bool = False,
) -> dict[str, Any]:
    """One user message of ``tool_result`` blocks, one per outcome in the calls' order.

    The content of each is the outcome's observation (see
    `render_observation`); outcomes that are not ``ok`` carry ``is_error: true``.
    Equal outcomes give equal messages, byte for byte, in every run.

    ``max_chars`` caps one block's content; ``budget`` caps the sum of the
    ``len()`` of all the blocks' contents, split fairly among them;
    ``include_timing`` adds each call's ``latency_ms``: see
    `trio_toolpar.openai.tool_messages`, which takes the same arguments and
    raises the same errors.
    """
    chosen = outcomes_of(outcomes)
    contents = render_observations(chosen, max_chars=max_chars, budget=budget, include_timing=include_timing)
    blocks: list[dict[str, Any]] = []
    for o, content in zip(chosen, contents, strict=True):
        block: dict[str, Any] = {"type": "tool_result", "tool_use_id": o.call_id, "content": content}
        if not o.ok:
            block["is_error"] = True
        blocks.append(block)
    return {"role": "user", "content": blocks}


@final
class MessageStream:
    """Assembles a streamed Messages response, handing out each tool call at its ``content_block_stop``.

    Feed it the JSON of every event's ``data:``; `feed` returns the calls
    that event completed. ``ping`` and event types it does not know are
    skipped, as Anthropic asks of clients. A block started under an index
    that another block held is a block of its own (some routes reuse an
    index): the earlier one is complete at that start if it never stopped.

    Examples:
        ```python
        stream = MessageStream()
        async for event in aiter_sse_lines(response.aiter_lines()):
            for call in stream.feed(json.loads(event.data)):
                turn.submit(call)
        for call in stream.finish():
            turn.submit(call)
        messages.append(stream.message())
        ```

    Args:
        unknown: what to do with a content block of an unknown type (see
            `calls_from_message`).
    """

    def __init__(self, *, unknown: Unknown = "error") -> None:
        self._unknown: Unknown = unknown
        # Blocks by their place in the message (a slot): a server may start two blocks under one index.
        self._blocks: dict[int, dict[str, Any]] = {}
        self._json: dict[int, list[str]] = {}
        self._calls: dict[int, ToolCall] = {}
        self._at: dict[int, int] = {}  # each index's latest block
        self._ignored: set[int] = set()
        self.stop_reason: str | None = None
        """The message's ``stop_reason`` (``"tool_use"``, ``"end_turn"``, ``"max_tokens"`` ...), once sent."""
        self.usage: dict[str, Any] = {}
        """The ``usage`` fields of ``message_start`` and ``message_delta``, merged."""
        self.model: str | None = None
        """The ``model`` of ``message_start``."""
        self.done = False
        """Whether ``message_stop`` arrived."""

    @property
    def text(self) -> str | None:
        """The text of the message's text blocks so far (``None``: none)."""
        parts = [b.get("text", "") for _, b in sorted(self._blocks.items()) if b.get("type") == "text"]
        return "".join(parts) if parts else None

    @property
    def calls(self) -> list[ToolCall]:
        """The calls completed so far, in the model's order."""
        return [call for _, call in sorted(self._calls.items())]

    def feed(self, event: object) -> list[ToolCall]:
        """Take one event; return the calls it completed.

        Raises:
            FormatError: the event cannot be read, it is an ``error`` event,
                it names a block that never started, or it starts a block of
                an unknown type.
        """
        data = mapping(event, "a stream event")
        kind = data.get("type")
        if kind == "message_start":
            message = data.get("message")
            if isinstance(message, dict):
                if isinstance(message.get("model"), str):
                    self.model = message["model"]
                self._merge_usage(message.get("usage"))
        elif kind == "content_block_start":
            return self._start(data, event)
        elif kind == "content_block_delta":
            self._delta(data, event)
        elif kind == "content_block_stop":
            index = self._index(data, event)
            call = self._stop(self._at[index]) if index in self._at else None
            return [call] if call is not None else []
        elif kind == "message_delta":
            delta = data.get("delta")
            if isinstance(delta, dict) and isinstance(delta.get("stop_reason"), str):
                self.stop_reason = delta["stop_reason"]
            self._merge_usage(data.get("usage"))
        elif kind == "message_stop":
            self.done = True
            return self.finish()
        elif kind == "error":
            raise FormatError(f"the stream reported an error: {data.get('error')}", payload=event)
        return []

    def finish(self) -> list[ToolCall]:
        """The stream ended: complete (and return) the tool calls whose block never stopped."""
        return [call for slot in sorted(self._blocks) if (call := self._stop(slot)) is not None]

    def message(self) -> dict[str, Any]:
        """The assistant message to keep in the conversation (see `assistant_message`)."""
        return assistant_message([self._blocks[i] for i in sorted(self._blocks)], unknown="ignore")

    def _index(self, data: Mapping[str, Any], event: object) -> int:
        index = data.get("index")
        if not isinstance(index, int) or isinstance(index, bool):
            raise FormatError(f"{data.get('type')} needs an integer 'index', got {index!r}", payload=event)
        return index

    def _start(self, data: Mapping[str, Any], event: object) -> list[ToolCall]:
        """A new block; one that held its index before and never stopped is complete (and returned)."""
        index = self._index(data, event)
        block = data.get("content_block")
        if not isinstance(block, dict):
            raise FormatError("content_block_start needs a 'content_block' object", payload=event)
        previous = self._at.pop(index, None)
        done = self._stop(previous) if previous is not None else None
        self._ignored.discard(index)
        kind = block.get("type")
        if kind != "tool_use" and not _skipped(kind):
            message = f"content block {index} has type {kind!r}, which is not a tool_use block"
            check_unknown(self._unknown, message, block)
            self._ignored.add(index)
        else:
            slot = self._at[index] = len(self._blocks)
            self._blocks[slot] = dict(block)
            if isinstance(kind, str) and kind in _INPUT_BLOCKS:
                self._json[slot] = []
        return [done] if done is not None else []

    def _delta(self, data: Mapping[str, Any], event: object) -> None:
        index = self._index(data, event)
        if index in self._ignored:
            return
        slot = self._at.get(index)
        if slot is None:
            raise FormatError(f"content_block_delta for block {index}, which never started", payload=event)
        block = self._blocks[slot]
        delta = data.get("delta")
        if not isinstance(delta, dict):
            raise FormatError("content_block_delta needs a 'delta' object", payload=event)
        kind = delta.get("type")
        if kind == "input_json_delta" and slot in self._json:
            self._json[slot].append(str(delta.get("partial_json", "")))
        elif kind == "text_delta":
            block["text"] = str(block.get("text") or "") + str(delta.get("text", ""))
        elif kind == "thinking_delta":
            block["thinking"] = str(block.get("thinking") or "") + str(delta.get("thinking", ""))
        elif kind == "signature_delta":
            block["signature"] = str(block.get("signature") or "") + str(delta.get("signature", ""))
        elif kind == "citations_delta" and "citation" in delta:
            block["citations"] = [*(block.get("citations") or []), delta["citation"]]

    def _stop(self, slot: int) -> ToolCall | None:
        block = self._blocks.get(slot)
        if block is None or slot in self._calls:
            return None
        parts = self._json.pop(slot, None)
        text = "".join(parts) if parts else ""
        if not isinstance(block.get("type"), str) or block.get("type") not in _INPUT_BLOCKS:
            return None
        arguments: Mapping[str, Any] | str = text if text else call_arguments(block.get("input"))
        block["input"] = _input_object(arguments)
        if block.get("type") != "tool_use":
            return None
        call = ToolCall(id=call_id(block.get("id"), slot), tool=tool_name(block.get("name")), arguments=arguments)
        self._calls[slot] = call
        return call

    def _merge_usage(self, usage: object) -> None:
        if isinstance(usage, dict):
            self.usage.update({k: v for k, v in usage.items() if v is not None})
