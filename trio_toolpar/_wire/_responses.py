"""The OpenAI Responses API: ``function_call`` items in, ``function_call_output`` items out, and its stream.

A response's ``output`` is a list of items (reasoning, messages, function
calls, the server's own tool calls); the next request's ``input`` is the
conversation so far, these items included, followed by one
``function_call_output`` per call. A stream sends them as typed events::

    response.created                         {response: {model, ...}}
    response.output_item.added               {output_index, item: {type: "function_call", id, call_id, name}}
    response.function_call_arguments.delta   {item_id, output_index, delta, obfuscation}
    response.function_call_arguments.done    {item_id, output_index, arguments}
    response.output_item.done                {output_index, item: {... "arguments", "status": "completed"}}
    response.output_text.delta               {item_id, output_index, content_index, delta}
    response.completed                       {response: {output, usage, status}}

and no ``[DONE]`` sentinel: ``response.completed`` (or ``.incomplete``)
ends it; ``error`` and ``response.failed`` report a failure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, final

from .._runtime._result import TurnResult
from .._values._exceptions import FormatError
from .._values._observation import DEFAULT_MAX_CHARS, render_observation
from .._values._outcome import Outcome, ToolCall
from ._payloads import Unknown, arguments_text, as_data, call_arguments, call_id, check_unknown, mapping, outcomes_of

__all__ = ["ResponseStream", "calls_from_response", "failure", "function_call_outputs", "response_items"]

# Output items that need no answer from the client: text, reasoning, the server's
# own tools and their results. Anything else that is not a function call is
# "unknown" (see the ``unknown`` argument).
_ITEMS_TO_SKIP = frozenset(
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
_ENDS = frozenset({"response.completed", "response.incomplete"})


def _output(response: object) -> list[Any]:
    data = as_data(response)
    if isinstance(data, dict):
        if not isinstance(data.get("output"), list):
            raise FormatError("a Responses API response must have an 'output' list", payload=response)
        return list(data["output"])
    if isinstance(data, list):
        return data
    raise FormatError(f"expected a response or a list of output items, got {type(data).__name__}", payload=response)


def _kind(item: object, n: int, unknown: Unknown, payload: object) -> str | None:
    """``"function_call"``, ``"skip"`` (no answer needed), or ``None`` (an unknown item, ignored)."""
    if not isinstance(item, dict):
        raise FormatError(f"output[{n}] must be an object, got {type(item).__name__}", payload=payload)
    kind = item.get("type")
    if kind == "function_call":
        return "function_call"
    if (isinstance(kind, str) and kind in _ITEMS_TO_SKIP) or (kind is None and "role" in item):
        return "skip"  # an input list's messages have a role and no type
    check_unknown(unknown, f"output[{n}] has type {kind!r}, which is not a function call", item)
    return None


def _call(item: Mapping[str, Any], n: int) -> ToolCall:
    name = item.get("name")
    return ToolCall(
        id=call_id(item.get("call_id"), n),
        tool=name if isinstance(name, str) else "",
        arguments=call_arguments(item.get("arguments")),
    )


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
    items = _output(response)
    return [_call(item, n) for n, item in enumerate(items) if _kind(item, n, unknown, response) == "function_call"]


def response_items(response: object, *, unknown: Unknown = "error") -> list[dict[str, Any]]:
    """The output items to keep in the next request's ``input``, in order.

    Each ``function_call`` is written back under the id it runs with
    (``missing_id_<n>`` if it had none) and with its arguments as JSON text,
    so that every ``function_call_output`` answers one of them; ``null``
    fields are dropped, and so are unknown items with ``unknown="ignore"``.

    Raises:
        FormatError: as `calls_from_response`.
    """
    kept: list[dict[str, Any]] = []
    for n, item in enumerate(_output(response)):
        kind = _kind(item, n, unknown, response)
        if kind is None:
            continue
        clean = {k: v for k, v in item.items() if v is not None}
        if kind == "function_call":
            call = _call(item, n)
            clean.update(call_id=call.id, name=call.tool, arguments=arguments_text(call.arguments))
        kept.append(clean)
    return kept


def function_call_outputs(
    outcomes: TurnResult | Iterable[Outcome], *, max_chars: int = DEFAULT_MAX_CHARS
) -> list[dict[str, Any]]:
    """One ``function_call_output`` input item per outcome, in the calls' order."""
    return [
        {"type": "function_call_output", "call_id": o.call_id, "output": render_observation(o, max_chars=max_chars)}
        for o in outcomes_of(outcomes)
    ]


@final
class ResponseStream:
    """Assembles a streamed Responses API response, handing out each function call once its arguments are done.

    Feed it the JSON of every event's ``data:`` (see the module docstring
    for the events); `feed` returns the calls that event completed. A call
    is complete at ``response.function_call_arguments.done`` or
    ``response.output_item.done``, whichever comes first (or when another
    item is added under its ``output_index``, which some routes reuse);
    calls are handed out in output order, so one that completes early waits
    for an earlier one. Events of other types are skipped. Usage::

        stream = ResponseStream()
        async for event in aiter_sse_bytes(chunks):
            for call in stream.feed(json.loads(event.data)):
                turn.submit(call)
            if stream.done:
                break
        for call in stream.finish():
            turn.submit(call)
        input_items += stream.items()

    Args:
        unknown: what to do with an output item of an unknown type (see
            `calls_from_response`).
    """

    def __init__(self, *, unknown: Unknown = "error") -> None:
        self._unknown: Unknown = unknown
        # Items by their place in the output (a slot): a route may add two items under one output_index.
        self._items: dict[int, dict[str, Any]] = {}
        self._arguments: dict[int, list[str]] = {}
        self._complete: set[int] = set()
        self._calls: dict[int, ToolCall] = {}
        self._at: dict[int, int] = {}  # each output_index's latest item
        self._ignored: set[int] = set()
        self._text: list[str] = []
        self.status: str | None = None
        """The response's final ``status`` (``"completed"``, ``"incomplete"`` ...), once it ends."""
        self.usage: dict[str, Any] | None = None
        """The ``usage`` of the final response, if it had one."""
        self.model: str | None = None
        """The ``model`` the response named."""
        self.done = False
        """Whether the final event (``response.completed`` or ``.incomplete``) arrived."""

    @property
    def text(self) -> str | None:
        """The output text so far (``None``: none)."""
        return "".join(self._text) if self._text else None

    @property
    def calls(self) -> list[ToolCall]:
        """The calls handed out so far, in output order."""
        return [call for _, call in sorted(self._calls.items())]

    def feed(self, event: object) -> list[ToolCall]:
        """Take one event; return the calls it completed, in order.

        Raises:
            FormatError: the event cannot be read, it reports a failure
                (``error``, ``response.failed``), it names an output item that
                was never added, or it adds an item of an unknown type.
        """
        data = mapping(event, "a Responses API stream event")
        kind = data.get("type")
        if kind in ("error", "response.failed"):
            raise FormatError(f"the stream reported a failure: {failure(data)}", payload=event)
        if kind == "response.created":
            self._response(data.get("response"))
        elif kind == "response.output_item.added":
            return self._added(data, event)
        elif kind == "response.function_call_arguments.delta":
            slot = self._slot(data, event)
            if slot in self._arguments and slot not in self._complete:
                self._arguments[slot].append(str(data.get("delta", "")))
        elif kind == "response.function_call_arguments.done":
            return self._done(self._slot(data, event), data.get("arguments"), None)
        elif kind == "response.output_item.done":
            item = data.get("item")
            return self._done(self._slot(data, event), None, item if isinstance(item, dict) else None)
        elif kind == "response.output_text.delta" and isinstance(data.get("delta"), str):
            self._text.append(data["delta"])
        elif kind in _ENDS:
            self._response(data.get("response"))
            self.done = True
            return self.finish()
        return []

    def finish(self) -> list[ToolCall]:
        """The stream ended: complete (and return) the calls not handed out yet, with what arrived."""
        self._complete.update(self._arguments)
        return self._release()

    def items(self) -> list[dict[str, Any]]:
        """The output items to keep in the next request's ``input`` (see `response_items`)."""
        output = [dict(self._items[i], **self._final_arguments(i)) for i in sorted(self._items)]
        return response_items(output, unknown="ignore")

    def _final_arguments(self, index: int) -> dict[str, Any]:
        call = self._calls.get(index)
        return {"call_id": call.id, "arguments": arguments_text(call.arguments)} if call is not None else {}

    def _response(self, response: object) -> None:
        if not isinstance(response, dict):
            return
        if isinstance(response.get("model"), str):
            self.model = response["model"]
        if isinstance(response.get("status"), str):
            self.status = response["status"]
        if isinstance(response.get("usage"), dict):
            self.usage = response["usage"]

    def _slot(self, data: Mapping[str, Any], event: object) -> int | None:
        """The slot of the item an event names by its ``output_index`` (``None``: an item of an unknown type)."""
        index = data.get("output_index")
        if not isinstance(index, int) or isinstance(index, bool):
            raise FormatError(f"{data.get('type')} needs an integer 'output_index', got {index!r}", payload=event)
        if index not in self._at and index not in self._ignored:
            raise FormatError(f"{data.get('type')} for output item {index}, which was never added", payload=event)
        return self._at.get(index)

    def _added(self, data: Mapping[str, Any], event: object) -> list[ToolCall]:
        """A new item; a call that held its output_index before is complete with what arrived."""
        index = data.get("output_index")
        item = data.get("item")
        if not isinstance(index, int) or isinstance(index, bool) or not isinstance(item, dict):
            raise FormatError("response.output_item.added needs an 'output_index' and an 'item'", payload=event)
        previous = self._at.pop(index, None)
        if previous is not None and previous in self._arguments:
            self._complete.add(previous)
        self._ignored.discard(index)
        if _kind(item, len(self._items), self._unknown, event) is None:
            self._ignored.add(index)
        else:
            slot = self._at[index] = len(self._items)
            self._items[slot] = dict(item)
            if item.get("type") == "function_call":
                self._arguments[slot] = [item["arguments"]] if isinstance(item.get("arguments"), str) else []
        return self._release() if previous is not None else []

    def _done(self, slot: int | None, arguments: object, item: dict[str, Any] | None) -> list[ToolCall]:
        if slot is None:
            return []
        if item is not None:
            self._items[slot] = dict(item)
        if slot in self._arguments and slot not in self._complete:
            final = arguments if isinstance(arguments, str) else item.get("arguments") if item else None
            if isinstance(final, str):
                self._arguments[slot] = [final]  # the whole text, as the server has it
            self._complete.add(slot)
        return self._release()

    def _release(self) -> list[ToolCall]:
        ready: list[ToolCall] = []
        for slot in sorted(self._arguments):
            if slot in self._calls:
                continue
            if slot not in self._complete:
                break
            item = self._items[slot]
            call = _call({**item, "arguments": "".join(self._arguments[slot])}, slot)
            self._calls[slot] = call
            ready.append(call)
        return ready


def failure(event: Mapping[str, Any]) -> str:
    """The message of an ``error`` or ``response.failed`` event."""
    error = event.get("error")
    if event.get("type") == "response.failed":
        response = event.get("response")
        error = response.get("error") if isinstance(response, dict) else None
    if isinstance(error, dict):
        code = f" ({error['code']})" if isinstance(error.get("code"), str) else ""
        return f"{error.get('message')}{code}"
    if event.get("type") == "error":
        code = f" ({event['code']})" if isinstance(event.get("code"), str) else ""
        return f"{event.get('message')}{code}"
    return str(error)
