"""Assembling a streamed Chat Completions response into tool calls, each handed out once it is complete.

A server streams ``choices[0].delta.tool_calls[{index, id, function:
{name, arguments}}]`` with the arguments in fragments. Most send one call
after another, but some interleave: one delta may carry fragments of two
calls, and fragments of call 0 may follow the start of call 1. So a call
is handed out only when it is provably complete:

* its arguments so far parse as a whole JSON object (a prefix of an object
  never does, and nothing but whitespace may follow one) **and** a later
  call has started, or
* the choice's ``finish_reason`` arrived, or the stream ended.

Calls are handed out in the order they started, never twice and never as a
prefix: the executor numbers them in that order (``"$#1"`` is the first),
so a call that is complete waits for an earlier one that is not.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, final

import attrs

from .._values._exceptions import FormatError
from .._values._outcome import ToolCall
from ._payloads import Unknown, arguments_text, call_arguments, call_id, check_unknown, mapping

__all__ = ["ChatStream", "chat_assistant_message"]


def chat_assistant_message(
    content: str | list[Any] | None, calls: Iterable[ToolCall], *, refusal: str | None = None
) -> dict[str, Any]:
    """A Chat Completions assistant message holding ``calls`` (under the ids they run with)."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if refusal is not None:
        message["refusal"] = refusal
    tool_calls = [
        {
            "id": call.id,
            "type": "function",
            "function": {"name": call.tool, "arguments": arguments_text(call.arguments)},
        }
        for call in calls
    ]
    if tool_calls:
        message["tool_calls"] = tool_calls
    elif content is None:
        message["content"] = ""
    return message


@attrs.define
class _Partial:
    index: int
    id: str = ""
    name: str = ""
    arguments: list[str] = attrs.Factory(list)
    checked: int = 0  # how many fragments the last (failed) completeness check saw
    call: ToolCall | None = None  # set once handed out

    def is_whole_object(self) -> bool:
        """Whether the arguments so far are a complete JSON object (parsed once per new fragment)."""
        if self.checked == len(self.arguments):
            return False
        self.checked = len(self.arguments)
        text = "".join(self.arguments).strip()
        if not text.endswith("}"):
            return False
        try:
            return isinstance(json.loads(text), dict)
        except (ValueError, RecursionError):
            return False


@final
class ChatStream:
    """Assembles a streamed Chat Completions response, handing out each tool call once it is complete.

    Feed it every chunk (the JSON of each ``data:`` line but ``[DONE]``);
    `feed` returns the calls that chunk completed, in the order the calls
    started. Interleaved fragments of several calls are followed (see the
    module docstring for when a call is complete); `finish` completes
    whatever is left when the stream ends. Only choice 0 is read. Usage::

        stream = ChatStream()
        async for event in aiter_sse_lines(response.aiter_lines()):
            if event.data == "[DONE]":
                break
            for call in stream.feed(json.loads(event.data)):
                turn.submit(call)
        for call in stream.finish():
            turn.submit(call)
        messages.append(stream.message())

    Args:
        unknown: what to do with a tool call whose ``type`` is not
            ``"function"`` (see `trio_toolpar.openai.calls_from_message`).
    """

    def __init__(self, *, unknown: Unknown = "error") -> None:
        self._unknown: Unknown = unknown
        self._content: list[str] = []
        self._refusal: list[str] = []
        self._partials: dict[int, _Partial] = {}
        self._order: list[_Partial] = []
        self._handed_out = 0
        self._ignored: set[int] = set()
        self._last_index: int | None = None
        self.finish_reason: str | None = None
        """The choice's ``finish_reason`` (``"tool_calls"``, ``"stop"``, ``"length"`` ...), once sent."""
        self.usage: dict[str, Any] | None = None
        """The ``usage`` object, if the server sent one (``stream_options.include_usage``)."""
        self.model: str | None = None
        """The ``model`` the chunks named."""

    @property
    def text(self) -> str | None:
        """The text content so far (``None``: none)."""
        return "".join(self._content) if self._content else None

    @property
    def calls(self) -> list[ToolCall]:
        """The calls handed out so far, in the model's order."""
        return [p.call for p in self._order[: self._handed_out] if p.call is not None]

    def feed(self, chunk: object) -> list[ToolCall]:
        """Take one chunk; return the calls it completed, in order.

        Raises:
            FormatError: the chunk cannot be read, it carries an ``error``, or
                a call's arguments go on after they formed a complete JSON object.
        """
        data = mapping(chunk, "a chat completion chunk")
        if data.get("error"):
            raise FormatError(f"the stream reported an error: {data['error']}", payload=chunk)
        if isinstance(data.get("model"), str):
            self.model = data["model"]
        if isinstance(data.get("usage"), dict):
            self.usage = data["usage"]
        choices = data.get("choices") or []
        if not isinstance(choices, list):
            raise FormatError(f"choices must be a list, got {type(choices).__name__}", payload=chunk)
        finished = False
        for choice in choices:
            if not isinstance(choice, dict):
                raise FormatError(f"a choice must be an object, got {type(choice).__name__}", payload=chunk)
            if choice.get("index", 0) == 0:
                self._choice(choice, chunk)
                finished = finished or bool(choice.get("finish_reason"))
        return self._release(final=finished)

    def finish(self) -> list[ToolCall]:
        """The stream ended: complete (and return) the calls not handed out yet."""
        return self._release(final=True)

    def message(self) -> dict[str, Any]:
        """The assistant message to keep in the conversation (see `trio_toolpar.openai.assistant_message`)."""
        refusal = "".join(self._refusal) if self._refusal else None
        return chat_assistant_message(self.text, self.calls, refusal=refusal)

    def _choice(self, choice: dict[str, Any], chunk: object) -> None:
        delta = choice.get("delta") or {}
        if not isinstance(delta, dict):
            raise FormatError(f"delta must be an object, got {type(delta).__name__}", payload=chunk)
        if isinstance(delta.get("content"), str):
            self._content.append(delta["content"])
        if isinstance(delta.get("refusal"), str):
            self._refusal.append(delta["refusal"])
        entries = delta.get("tool_calls") or []
        if not isinstance(entries, list):
            raise FormatError(f"delta.tool_calls must be a list, got {type(entries).__name__}", payload=chunk)
        for entry in entries:
            self._tool_delta(entry, chunk)
        if choice.get("finish_reason"):
            self.finish_reason = str(choice["finish_reason"])

    def _tool_delta(self, entry: object, chunk: object) -> None:
        if not isinstance(entry, dict):
            raise FormatError(f"a tool call delta must be an object, got {type(entry).__name__}", payload=chunk)
        index = entry.get("index")
        if not isinstance(index, int) or isinstance(index, bool):
            index = self._guess_index(entry)
        if index in self._ignored:
            return
        kind = entry.get("type")
        if kind not in (None, "function"):
            check_unknown(self._unknown, f"tool call {index} has type {kind!r}, not 'function'", entry)
            self._ignored.add(index)
            return
        partial = self._partials.get(index)
        if partial is None:
            partial = self._partials[index] = _Partial(index=index)
            self._order.append(partial)
        self._last_index = index
        raw_id = entry.get("id")
        if isinstance(raw_id, str) and raw_id and not partial.id:
            partial.id = raw_id
        function = entry.get("function") or {}
        if not isinstance(function, dict):
            return
        name, fragment = function.get("name"), function.get("arguments")
        if partial.call is not None:
            if (isinstance(name, str) and name) or (fragment is not None and str(fragment).strip()):
                raise FormatError(
                    f"tool call {index} ({partial.call.tool}) received more data after its arguments formed "
                    "a complete JSON object",
                    payload=chunk,
                )
            return
        if isinstance(name, str):
            partial.name += name
        if isinstance(fragment, str):
            partial.arguments.append(fragment)
        elif fragment is not None:
            partial.arguments.append(arguments_text(call_arguments(fragment)))

    def _guess_index(self, entry: dict[str, Any]) -> int:
        """For servers that leave the index out: a new id or a second name starts a call, else it continues."""
        last = self._partials.get(self._last_index) if self._last_index is not None else None
        raw_id = entry.get("id")
        function = entry.get("function")
        named = isinstance(function, dict) and bool(function.get("name"))
        if last is None or (isinstance(raw_id, str) and raw_id and raw_id != last.id) or (named and last.name):
            return max([*self._partials, *self._ignored], default=-1) + 1
        return last.index

    def _release(self, *, final: bool) -> list[ToolCall]:
        """Hand out the longest run of complete calls after those already handed out."""
        ready: list[ToolCall] = []
        while self._handed_out < len(self._order):
            partial = self._order[self._handed_out]
            later_started = self._handed_out + 1 < len(self._order)
            if not final and not (later_started and partial.is_whole_object()):
                break
            partial.call = ToolCall(
                id=call_id(partial.id, partial.index), tool=partial.name, arguments="".join(partial.arguments)
            )
            ready.append(partial.call)
            self._handed_out += 1
        return ready
