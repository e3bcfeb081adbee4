"""The Responses API's stream: each call handed out once its arguments (or a custom call's input) are done.

A stream sends a response as typed events::

    response.created                         {response: {model, ...}}
    response.output_item.added               {output_index, item: {type: "function_call", id, call_id, name}}
    response.function_call_arguments.delta   {item_id, output_index, delta, obfuscation}
    response.function_call_arguments.done    {item_id, output_index, arguments}
    response.custom_tool_call_input.delta    {item_id, output_index, delta}
    response.custom_tool_call_input.done     {item_id, output_index, input}
    response.output_item.done                {output_index, item: {... "arguments", "status": "completed"}}
    response.output_text.delta               {item_id, output_index, content_index, delta}
    response.completed                       {response: {output, usage, status}}

and no ``[DONE]`` sentinel: ``response.completed`` (or ``.incomplete``)
ends it; ``error`` and ``response.failed`` report a failure. What each item
is to the client is `trio_toolpar._wire._responses`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, final

from .._values._exceptions import FormatError
from .._values._outcome import ToolCall
from ._payloads import Unknown, arguments_text, mapping
from ._responses import CUSTOM_INPUT, call_of, failure, item_kind, response_items

__all__ = ["ResponseStream"]

_ENDS = frozenset({"response.completed", "response.incomplete"})
_TEXT_DONE = frozenset({"response.function_call_arguments.done", "response.custom_tool_call_input.done"})
_TEXT_DELTA = frozenset({"response.function_call_arguments.delta", "response.custom_tool_call_input.delta"})


@final
class ResponseStream:
    """Assembles a streamed Responses API response, handing out each call once its arguments are done.

    Feed it the JSON of every event's ``data:`` (see the module docstring
    for the events); `feed` returns the calls that event completed. A call
    is complete at ``response.function_call_arguments.done`` (a custom
    call's at ``response.custom_tool_call_input.done``) or
    ``response.output_item.done``, whichever comes first (or when another
    item is added under its ``output_index``, which some routes reuse);
    calls are handed out in output order, so one that completes early waits
    for an earlier one. Events of other types are skipped.

    Examples:
        ```python
        stream = ResponseStream()
        async for event in aiter_sse_bytes(chunks):
            for call in stream.feed(json.loads(event.data)):
                turn.submit(call)
            if stream.done:
                break
        for call in stream.finish():
            turn.submit(call)
        input_items += stream.items()
        ```

    Args:
        unknown: what to do with an output item of an unknown type (see
            `calls_from_response`).
    """

    def __init__(self, *, unknown: Unknown = "error") -> None:
        self._unknown: Unknown = unknown
        # Items by their place in the output (a slot): a route may add two items under one output_index.
        self._items: dict[int, dict[str, Any]] = {}
        self._texts: dict[int, list[str]] = {}  # a call's arguments, or a custom call's input, so far
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
        elif kind in _TEXT_DELTA:
            slot = self._slot(data, event)
            if slot in self._texts and slot not in self._complete:
                self._texts[slot].append(str(data.get("delta", "")))
        elif kind in _TEXT_DONE:
            slot = self._slot(data, event)
            return self._done(slot, data.get(_field(self._items[slot])) if slot is not None else None, None)
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
        self._complete.update(self._texts)
        return self._release()

    def items(self) -> list[dict[str, Any]]:
        """The output items to keep in the next request's ``input`` (see `response_items`)."""
        output = [dict(self._items[i], **self._final_arguments(i)) for i in sorted(self._items)]
        return response_items(output, unknown="ignore")

    def _final_arguments(self, slot: int) -> dict[str, Any]:
        call = self._calls.get(slot)
        if call is None:
            return {}
        if isinstance(call.arguments, Mapping) and _field(self._items[slot]) == CUSTOM_INPUT:
            return {"call_id": call.id, CUSTOM_INPUT: call.arguments[CUSTOM_INPUT]}
        return {"call_id": call.id, "arguments": arguments_text(call.arguments)}

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
        if previous is not None and previous in self._texts:
            self._complete.add(previous)
        self._ignored.discard(index)
        kind = item_kind(item, len(self._items), self._unknown, event)
        if kind is None:
            self._ignored.add(index)
        else:
            slot = self._at[index] = len(self._items)
            self._items[slot] = dict(item)
            if kind == "call":
                text = item.get(_field(item))
                self._texts[slot] = [text] if isinstance(text, str) else []
        return self._release() if previous is not None else []

    def _done(self, slot: int | None, text: object, item: dict[str, Any] | None) -> list[ToolCall]:
        if slot is None:
            return []
        if item is not None:
            self._items[slot] = dict(item)
        if slot in self._texts and slot not in self._complete:
            final = text if isinstance(text, str) else item.get(_field(item)) if item else None
            if isinstance(final, str):
                self._texts[slot] = [final]  # the whole text, as the server has it
            self._complete.add(slot)
        return self._release()

    def _release(self) -> list[ToolCall]:
        ready: list[ToolCall] = []
        for slot in sorted(self._texts):
            if slot in self._calls:
                continue
            if slot not in self._complete:
                break
            item = self._items[slot]
            call = call_of({**item, _field(item): "".join(self._texts[slot])}, slot)
            self._calls[slot] = call
            ready.append(call)
        return ready


def _field(item: Mapping[str, Any]) -> str:
    """Where a call item holds its text: a custom call's ``input``, a function call's ``arguments``."""
    return CUSTOM_INPUT if item.get("type") == "custom_tool_call" else "arguments"
