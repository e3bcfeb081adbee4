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

An index does not always name one call: Ollama 0.20, some gateways and some
Bedrock and OCI routes stream parallel calls under one index, OpenRouter
sometimes under one index and one id. So a delta starts another call at its
index when what it carries says so (`_Partial.starts_another`): a new id, a
name other than the call's (a name is never a fragment of one), or a new
object (``{``) after the call's arguments formed a whole one. A call whose
id an earlier call of the stream had runs as ``<id>_<n>`` (``n`` its place
among the calls), so that each gets its own answer. Nothing is dropped: text
that arrives for a call already handed out (it may be running) becomes a
call of its own, which the planner rejects with a message the model can act
on. (A call whose arguments are empty, followed at the same index by the
same id and name, cannot be told from one call whose name is sent again: it
is read as one.)
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
    """One call being assembled: what its deltas said so far."""

    index: int
    """The ``index`` its deltas carry (another call may carry it too)."""
    position: int
    """Its place among the stream's calls, in the order they started."""
    id: str = ""
    name: str = ""
    arguments: list[str] = attrs.Factory(list)
    checked: int = -1  # how many fragments the last completeness check saw
    complete: bool = False  # what it found
    call: ToolCall | None = None  # set once handed out

    def is_whole_object(self) -> bool:
        """Whether the arguments so far are a complete JSON object (parsed at most once per new fragment)."""
        if self.checked != len(self.arguments):
            self.checked = len(self.arguments)
            self.complete = _whole_object("".join(self.arguments))
        return self.complete

    def starts_another(self, new_id: str, name: str, fragment: str | None) -> bool:
        """Whether a delta at this call's index is the start of another call, by what it carries.

        A new id, or a name other than this call's, is another call (a name is
        never a fragment of one). So is a new object (``{``) after this call's
        arguments formed a whole one, or after it was handed out: Ollama and
        some gateways send parallel calls under one index, OpenRouter even
        under one id. Anything else continues this call.
        """
        if self.is_new(new_id, name):
            return True
        opens = fragment is not None and fragment.lstrip().startswith("{")
        return opens and (self.call is not None or self.is_whole_object())

    def is_new(self, new_id: str, name: str) -> bool:
        """Whether an id or a name is not this call's."""
        return bool(new_id and self.id and new_id != self.id) or bool(name and self.name and name != self.name)


def _whole_object(text: str) -> bool:
    text = text.strip()
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
    started. Interleaved fragments of several calls, and several calls under
    one index, are followed (see the module docstring for when a call is
    complete); `finish` completes whatever is left when the stream ends.
    Only choice 0 is read.

    Examples:
        ```python
        stream = ChatStream()
        async for event in aiter_sse_lines(response.aiter_lines()):
            if event.data == "[DONE]":
                break
            for call in stream.feed(json.loads(event.data)):
                turn.submit(call)
        for call in stream.finish():
            turn.submit(call)
        messages.append(stream.message())
        ```

    Args:
        unknown: what to do with a tool call whose ``type`` is not
            ``"function"`` (see `trio_toolpar.openai.calls_from_message`).
    """

    def __init__(self, *, unknown: Unknown = "error") -> None:
        self._unknown: Unknown = unknown
        self._content: list[str] = []
        self._refusal: list[str] = []
        self._partials: dict[int, _Partial] = {}  # each index's latest call
        self._order: list[_Partial] = []
        self._handed_out = 0
        self._ids: set[str] = set()  # the ids handed out
        self._ignored: dict[int, str] = {}  # an index whose latest call is of an unknown type, and its id
        self._last_index = 0
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
            FormatError: the chunk cannot be read, or it carries an ``error``.
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
            index = self._last_index  # servers that leave the index out send one call after another
        self._last_index = index
        raw_id = entry.get("id")
        new_id = raw_id if isinstance(raw_id, str) else ""
        function = entry.get("function")
        fields: dict[str, Any] = function if isinstance(function, dict) else {}
        name = fields["name"] if isinstance(fields.get("name"), str) else ""
        raw = fields.get("arguments")
        fragment = raw if isinstance(raw, str) or raw is None else arguments_text(call_arguments(raw))
        kind = entry.get("type")
        if kind not in (None, "function"):
            check_unknown(self._unknown, f"tool call {index} has type {kind!r}, not 'function'", entry)
            self._partials.pop(index, None)
            self._ignored[index] = new_id
            return
        if index in self._ignored:
            if not name and (not new_id or new_id == self._ignored[index]):
                return  # more of the call of an unknown type
            del self._ignored[index]
        partial = self._partials.get(index)
        if partial is None:
            partial = self._start(index)
        elif partial.starts_another(new_id, name, fragment):
            if partial.is_new(new_id, name):
                partial = self._start(index)
            else:  # a new object under the same index, id and name: the same tool again (OpenRouter)
                partial = self._start(index, name=partial.name, call_id=partial.id)
        elif partial.call is not None and fragment is not None and fragment.strip():
            # More text for a call already handed out (it may be running): it cannot join it. It becomes a
            # call of its own, whose arguments the planner refuses with a message the model can act on.
            partial = self._start(index, name=partial.name, call_id=partial.id)
        partial.id = partial.id or new_id
        partial.name = partial.name or name
        if fragment is not None and partial.call is None:
            partial.arguments.append(fragment)

    def _start(self, index: int, *, name: str = "", call_id: str = "") -> _Partial:
        partial = self._partials[index] = _Partial(index=index, position=len(self._order), id=call_id, name=name)
        self._order.append(partial)
        return partial

    def _call(self, partial: _Partial) -> ToolCall:
        """The call ``partial`` holds, under an id no earlier call of the stream has."""
        identifier = call_id(partial.id, partial.position)
        if identifier in self._ids:  # a reused id (OpenRouter): each call needs its own answer
            identifier = f"{identifier}_{partial.position}"
            while identifier in self._ids:
                identifier += "_"
        self._ids.add(identifier)
        return ToolCall(id=identifier, tool=partial.name, arguments="".join(partial.arguments))

    def _release(self, *, final: bool) -> list[ToolCall]:
        """Hand out the longest run of complete calls after those already handed out."""
        ready: list[ToolCall] = []
        while self._handed_out < len(self._order):
            partial = self._order[self._handed_out]
            later_started = self._handed_out + 1 < len(self._order)
            if not final and not (later_started and partial.is_whole_object()):
                break
            partial.call = self._call(partial)
            ready.append(partial.call)
            self._handed_out += 1
        return ready
