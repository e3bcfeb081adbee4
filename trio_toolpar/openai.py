"""OpenAI formats in and out: Chat Completions and the Responses API.

Pure functions over plain JSON data; the official ``openai`` SDK's objects
are accepted too (through their ``model_dump()``), but the SDK is never
imported. A turn with Chat Completions:

```python
message = completion["choices"][0]["message"]
result = await executor.run(openai.calls_from_message(message))
messages += [openai.assistant_message(message), *openai.tool_messages(result)]
```

and with the Responses API:

```python
result = await executor.run(openai.calls_from_response(response))
outputs = openai.function_call_outputs(result, response=response)
input_items += [*openai.response_items(response), *outputs]
```

`ChatStream` and `ResponseStream` assemble the two APIs' streams, handing
out each call as soon as it is complete.

In a module that also uses the ``openai`` SDK, import this one under a name
of its own, ``from trio_toolpar import openai as toolpar_openai``: both are
called ``openai``, and the later import hides the other. The name stays
that of the API it speaks (see "Beside the official SDKs" in the providers
guide).

Malformed payloads never lose a call: a call without an id gets
``missing_id_<n>`` (``n``: its index in ``tool_calls`` or ``output``, which is
also its index in a stream), arguments that are not JSON are passed on as
the raw text (the planner rejects them with ``invalid_arguments``), a
missing tool name becomes ``""`` (rejected as ``unknown_tool``). What cannot
be read at all raises `FormatError`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._runtime._result import TurnResult
from ._tools._registry import Registry
from ._values._budget import render_observations
from ._values._exceptions import FormatError
from ._values._observation import DEFAULT_MAX_CHARS
from ._values._outcome import Outcome, ToolCall
from ._wire._chat_stream import ChatStream, chat_assistant_message
from ._wire._guide import describe, parallel_note, reference_note
from ._wire._payloads import (
    Unknown,
    call_arguments,
    call_id,
    check_unknown,
    mapping,
    outcomes_of,
    tool_name,
)
from ._wire._response_stream import ResponseStream
from ._wire._responses import calls_from_response, function_call_outputs, response_items
from ._wire._tool_schema import model_parameters

__all__ = [
    "ChatStream",
    "ResponseStream",
    "assistant_message",
    "calls_from_message",
    "calls_from_response",
    "function_call_outputs",
    "parallel_note",
    "reference_note",
    "response_items",
    "response_tools",
    "tool_messages",
    "tools",
]

# -- tool definitions ----------------------------------------------------------------


def tools(
    registry: Registry, *, notes: bool = True, references: bool = True, strict: bool = False
) -> list[dict[str, Any]]:
    """The registry's tools in Chat Completions' ``tools`` format.

    Args:
        registry: the tools.
        notes: append `parallel_note` and the reference syntax to each
            description, so the model knows which calls it may emit together
            and how to chain them.
        references: widen each parameter's schema so that a reference string
            (``"$#1.total"``) is valid wherever a value is expected.
        strict: send ``strict: true`` with each schema in OpenAI's strict form
            (every object closed, every property required; see "Strict
            mode" in docs/providers.md).

    Raises:
        SchemaError: ``strict`` and a tool whose schema has no strict form.
    """
    definitions: list[dict[str, Any]] = []
    for tool in registry:
        function: dict[str, Any] = {
            "name": tool.name,
            "description": describe(tool, notes=notes),
            "parameters": model_parameters(tool, references=references, strict=strict),
        }
        if strict:
            function["strict"] = True
        definitions.append({"type": "function", "function": function})
    return definitions


def response_tools(
    registry: Registry, *, notes: bool = True, references: bool = True, strict: bool = False
) -> list[dict[str, Any]]:
    """The registry's tools in the Responses API's ``tools`` format; the arguments as `tools`.

    ``strict`` is always sent: the Responses API defaults it to true, which
    needs the strict form of every schema.
    """
    return [
        {
            "type": "function",
            "name": tool.name,
            "description": describe(tool, notes=notes),
            "parameters": model_parameters(tool, references=references, strict=strict),
            "strict": strict,
        }
        for tool in registry
    ]


# -- Chat Completions ------------------------------------------------------------------


def calls_from_message(message: object, *, unknown: Unknown = "error") -> list[ToolCall]:
    """The tool calls of a Chat Completions assistant message, in the model's order.

    Args:
        message: ``choices[0].message`` of a completion, as a dict or an SDK object.
        unknown: what to do with a ``tool_calls`` entry whose ``type`` is not
            ``"function"``: ``"error"`` raises `FormatError`, ``"ignore"``
            skips it (and `assistant_message` drops it, so the conversation
            stays consistent).

    Raises:
        FormatError: the message is not an object, ``tool_calls`` is not a
            list, an entry is not an object, or an entry has an unknown type.
    """
    data = mapping(message, "an assistant message")
    entries = data.get("tool_calls")
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise FormatError(f"tool_calls must be a list, got {type(entries).__name__}", payload=message)
    calls: list[ToolCall] = []
    for n, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise FormatError(f"tool_calls[{n}] must be an object, got {type(entry).__name__}", payload=message)
        kind = entry.get("type") or "function"
        if kind != "function":
            check_unknown(unknown, f"tool_calls[{n}] has type {kind!r}, not 'function'", entry)
            continue
        function = entry.get("function")
        fields: dict[str, Any] = function if isinstance(function, dict) else {}
        calls.append(
            ToolCall(
                id=call_id(entry.get("id"), n),
                tool=tool_name(fields.get("name")),
                arguments=call_arguments(fields.get("arguments")),
            )
        )
    return calls


def assistant_message(message: object, *, unknown: Unknown = "error") -> dict[str, Any]:
    """The model's message as it should stay in the conversation.

    Only ``role``, ``content``, ``refusal`` and ``tool_calls`` are kept (SDK
    objects carry ``annotations``, ``audio`` and more that other servers
    refuse), and each tool call is written back with the id it runs under
    (``missing_id_<n>`` if it had none) and its arguments as JSON text, so
    that every ``role: "tool"`` message answers a call of this message.

    Raises:
        FormatError: as `calls_from_message`.
    """
    data = mapping(message, "an assistant message")
    content = data.get("content")
    refusal = data.get("refusal")
    return chat_assistant_message(
        content if isinstance(content, (str, list)) else None,
        calls_from_message(data, unknown=unknown),
        refusal=refusal if isinstance(refusal, str) else None,
    )


def tool_messages(
    outcomes: TurnResult | Iterable[Outcome],
    *,
    max_chars: int = DEFAULT_MAX_CHARS,
    budget: int | None = None,
    include_timing: bool = False,
) -> list[dict[str, Any]]:
    """One ``role: "tool"`` message per outcome, in the calls' order.

    The content is the outcome's observation (see `render_observation`):
    compact JSON with ``ok``, ``error_code`` and ``result`` or ``error``;
    Chat Completions has no error flag, so failures say so in it. Equal
    outcomes give equal messages, byte for byte, in every run.

    Args:
        outcomes: the turn's outcomes.
        max_chars: the longest content of one message.
        budget: the most characters all the messages' contents may have
            together (the sum of their ``len()``), split fairly among them;
            an observation cut to its share says what it dropped. ``None``:
            no budget. See docs/howto/observation-budget.md.
        include_timing: add each call's ``latency_ms``, which differs from run to run.

    Raises:
        ValueError: ``budget`` cannot hold each observation whole or in the
            29 characters of the shortest cut one; ``max_chars`` is less than 29.
    """
    chosen = outcomes_of(outcomes)
    contents = render_observations(chosen, max_chars=max_chars, budget=budget, include_timing=include_timing)
    return [
        {"role": "tool", "tool_call_id": o.call_id, "content": content}
        for o, content in zip(chosen, contents, strict=True)
    ]
