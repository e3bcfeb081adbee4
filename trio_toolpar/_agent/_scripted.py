"""A model that follows a script: deterministic replies on Trio's clock, for tests and demos."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, final

import attrs
import trio

from .. import openai as _openai
from .._values._exceptions import ModelError
from .._values._observation import DEFAULT_MAX_CHARS
from .._values._outcome import ToolCall
from .._values._validate import check_whole_number
from .._wire._payloads import arguments_text
from ._loop import ChatCompletionsMessages, Message, ModelReply, Usage

__all__ = ["ScriptedModel", "ScriptedReply"]


@final
@attrs.frozen(kw_only=True)
class ScriptedReply:
    """One reply of a `ScriptedModel`.

    Times are seconds after the request starts, on Trio's clock: call ``i``
    is complete in the "stream" at ``call_times[i]`` and the reply ends at
    ``duration``. Without ``call_times`` every call completes at the end.

    Args:
        text: the reply's text.
        calls: its tool calls, in order.
        call_times: when each call is complete (non-decreasing, one per call).
        duration: when the reply ends (default: the last call time, or 0).
        usage: the tokens to report.

    Raises:
        ValueError: times that are negative, out of order, after
            ``duration``, or not one per call.
    """

    text: str | None = None
    calls: tuple[ToolCall, ...] = ()
    call_times: tuple[float, ...] | None = None
    duration: float | None = None
    usage: Usage | None = None

    def __attrs_post_init__(self) -> None:
        times = self.call_times
        if times is not None:
            if len(times) != len(self.calls):
                raise ValueError(f"call_times has {len(times)} times for {len(self.calls)} calls; give one per call")
            if any(t < 0 for t in times) or any(b < a for a, b in itertools.pairwise(times)):
                raise ValueError(f"call_times must be non-negative and non-decreasing, not {times!r}")
        if self.duration is not None and (self.duration < 0 or (times and self.duration < max(times))):
            raise ValueError(f"duration {self.duration!r} must be non-negative and not before the last call time")

    @property
    def end(self) -> float:
        """When the reply ends, in seconds after the request starts."""
        if self.duration is not None:
            return self.duration
        return max(self.call_times) if self.call_times else 0.0


ScriptEntry = ScriptedReply | Callable[[Sequence[Message]], ScriptedReply]


@final
class ScriptedModel(ChatCompletionsMessages):
    """A `ModelClient` that answers from a script, with OpenAI Chat Completions messages.

    Each request takes the next entry: a `ScriptedReply`, or a function of
    the conversation so far that returns one (to answer from the tools'
    results). With ``stream=True`` each call is handed to the loop at its
    ``call_times`` entry, as a streaming client would; with ``stream=False``
    all of them at the reply's end. Every request's messages and tools are
    kept in `requests` and `tools`.

    Args:
        script: the replies, in order.
        stream: hand out calls at their times (``True``) or at the end.
        notes: append `trio_toolpar.openai.parallel_note` to tool descriptions.
        max_chars: the longest observation per call.
        observation_budget: the most characters of one turn's observations
            together (see `trio_toolpar.openai.tool_messages`).
    """

    def __init__(
        self,
        script: Iterable[ScriptEntry],
        *,
        stream: bool = True,
        notes: bool = True,
        max_chars: int = DEFAULT_MAX_CHARS,
        observation_budget: int | None = None,
    ) -> None:
        self.script: tuple[ScriptEntry, ...] = tuple(script)
        self.stream = stream
        self.notes = notes
        self.strict = False
        self.max_chars = max_chars
        self.observation_budget = check_whole_number(
            "observation_budget", observation_budget, minimum=0, allow_none=True
        )
        self.requests: list[tuple[Message, ...]] = []
        """The messages of each request so far."""
        self.tools: list[tuple[Mapping[str, Any], ...]] = []
        """The tool definitions of each request so far."""

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[Mapping[str, Any]],
        on_call: Callable[[ToolCall], object] | None = None,
    ) -> ModelReply:
        """The script's next reply, played out on Trio's clock.

        Raises:
            ModelError: the script has no reply left.
        """
        start = trio.current_time()
        n = len(self.requests)
        self.requests.append(tuple(messages))
        self.tools.append(tuple(tools))
        if n >= len(self.script):
            await trio.lowlevel.checkpoint()
            raise ModelError(f"the scripted model has {len(self.script)} replies; request {n + 1} has none left")
        entry = self.script[n]
        reply = entry if isinstance(entry, ScriptedReply) else entry(tuple(messages))
        times = reply.call_times if reply.call_times is not None else (reply.end,) * len(reply.calls)
        if self.stream:
            for call, at in zip(reply.calls, times, strict=True):
                await trio.sleep_until(start + at)
                if on_call is not None:
                    on_call(call)
        await trio.sleep_until(start + reply.end)
        if not self.stream and on_call is not None:
            for call in reply.calls:
                on_call(call)
        message = _openai.assistant_message(
            {
                "role": "assistant",
                "content": reply.text,
                "tool_calls": [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.tool, "arguments": arguments_text(call.arguments)},
                    }
                    for call in reply.calls
                ],
            }
        )
        return ModelReply(
            messages=(message,),
            calls=reply.calls,
            text=reply.text,
            stop_reason="tool_calls" if reply.calls else "stop",
            usage=reply.usage,
            model="scripted",
        )
