"""OpenAI formats in and out: Chat Completions and the Responses API.

Pure functions over plain JSON data; the official ``openai`` SDK's objects
are accepted too (through their ``model_dump()``), but the SDK is never
imported. A turn with Chat Completions::

    message = completion["choices"][0]["message"]
    result = await executor.run(openai.calls_from_message(message))
    messages += [openai.assistant_message(message), *openai.tool_messages(result)]

and with the Responses API::

    result = await executor.run(openai.calls_from_response(response))
    input_items += [*response["output"], *openai.function_call_outputs(result)]

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

from ._chat_stream import ChatStream, chat_assistant_message
from ._exceptions import FormatError
from ._guide import describe, parallel_note, reference_note
from ._observation import DEFAULT_MAX_CHARS, render_observation
from ._outcome import Outcome, ToolCall, TurnResult
from ._registry import Registry
from ._tool_schema import model_parameters
from ._wire import (
    Unknown,
    as_data,
    call_arguments,
    call_id,
    check_unknown,
    mapping,
    outcomes_of,
    tool_name,
)

__all__ = [
    "ChatStream",
    "assistant_message",
    "calls_from_message",
    "calls_from_response",
    "function_call_outputs",
    "parallel_note",
    "reference_note",
    "response_tools",
    "tool_messages",
    "tools",
]

# Responses API output items that need no answer from the client: text, reasoning,
# the server's own tools and their results. Anything else that is not a function
# call is "unknown" (see the ``unknown`` argument).
_RESPONSE_ITEMS_TO_SKIP = frozenset(
    {
        "message",
        "reasoning",
        "web_search_call",
        "file_search_call",
        "image_generation_call",
        "code_interpreter_call",
        "mcp_call",
        "mcp_list_tools",
        "tool_search_call",
        "compaction",
        "function_call_output",
    }
)


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
            (every object closed, every property required; see
            `trio_toolpar._tool_schema.strict_schema`).

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
    outcomes: TurnResult | Iterable[Outcome], *, max_chars: int = DEFAULT_MAX_CHARS
) -> list[dict[str, Any]]:
    """One ``role: "tool"`` message per outcome, in the calls' order.

    The content is the outcome's observation (see `render_observation`):
    compact JSON with ``ok``, ``error_code``, ``latency_ms`` and ``result``
    or ``error``; Chat Completions has no error flag, so failures say so in it.
    """
    return [
        {"role": "tool", "tool_call_id": o.call_id, "content": render_observation(o, max_chars=max_chars)}
        for o in outcomes_of(outcomes)
    ]


# -- Responses API ------------------------------------------------------------------------


def calls_from_response(response: object, *, unknown: Unknown = "error") -> list[ToolCall]:
    """The ``function_call`` items of a Responses API response, in order; ids are their ``call_id``.

    Args:
        response: a response (its ``output`` is read) or a list of output
            items, as dicts or SDK objects.
        unknown: what to do with an item that is neither a function call nor
            one that needs no answer (text, reasoning, the server's own tool
            calls): ``"error"`` raises `FormatError`, ``"ignore"`` skips it.
            Calls of other client-side tool kinds (``custom_tool_call``,
            ``computer_call``, ``shell_call`` ...) are unknown here, since
            trio_toolpar only runs function tools.

    Raises:
        FormatError: no ``output`` list, an item that is not an object, or an
            unknown item type.
    """
    data = as_data(response)
    if isinstance(data, dict):
        if not isinstance(data.get("output"), list):
            raise FormatError("a Responses API response must have an 'output' list", payload=response)
        items: list[Any] = data["output"]
    elif isinstance(data, list):
        items = data
    else:
        raise FormatError(f"expected a response or a list of output items, got {type(data).__name__}", payload=response)
    calls: list[ToolCall] = []
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            raise FormatError(f"output[{n}] must be an object, got {type(item).__name__}", payload=response)
        kind = item.get("type")
        if kind == "function_call":
            calls.append(
                ToolCall(
                    id=call_id(item.get("call_id"), n),
                    tool=tool_name(item.get("name")),
                    arguments=call_arguments(item.get("arguments")),
                )
            )
        elif (isinstance(kind, str) and kind in _RESPONSE_ITEMS_TO_SKIP) or (kind is None and "role" in item):
            continue  # no answer needed (an input list's messages have a role and no type)
        else:
            check_unknown(unknown, f"output[{n}] has type {kind!r}, which is not a function call", item)
    return calls


def function_call_outputs(
    outcomes: TurnResult | Iterable[Outcome], *, max_chars: int = DEFAULT_MAX_CHARS
) -> list[dict[str, Any]]:
    """One ``function_call_output`` input item per outcome, in the calls' order."""
    return [
        {"type": "function_call_output", "call_id": o.call_id, "output": render_observation(o, max_chars=max_chars)}
        for o in outcomes_of(outcomes)
    ]
