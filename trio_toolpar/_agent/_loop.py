"""The agent loop: ask the model, run its tool calls, show it the observations, repeat.

::

    run_agent(model, executor, prompt)
    └─ per turn, until an answer, max_turns, or the deadline (start + budget):
       executor.open_turn(budget=time left)        dispatch="stream"
       ├─ move_on_at(deadline)
       │  └─ model.complete(on_call=turn.submit)   each call starts when the stream completes it
       └─ (block exit)                             waits for the turn's calls
       messages += reply.messages, model.tool_results(turn.result)

The loop owns no state between runs and starts no task of its own: the
open turn's nursery runs the tools, and everything ends before
`run_agent` returns or raises.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, Protocol, final

import attrs
import trio

from .. import openai as _openai
from .._runtime._executor import Executor
from .._runtime._result import TurnResult
from .._runtime._turn import Turn
from .._tools._registry import Registry
from .._values._outcome import ToolCall
from .._values._validate import check_choice, check_number, check_whole_number

__all__ = [
    "AgentResult",
    "Dispatch",
    "Message",
    "ModelClient",
    "ModelReply",
    "StopReason",
    "Usage",
    "run_agent",
]

Message = Mapping[str, Any]
"""One message of the conversation, in the model client's provider format."""

Dispatch = Literal["stream", "batch"]
"""How `run_agent` runs a reply's calls: each as the stream completes it, or all once the reply ends."""


@final
@attrs.frozen(kw_only=True)
class Usage:
    """Tokens a model reported; replies add up with ``+``."""

    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Input and output tokens together."""
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
        )


@final
@attrs.frozen(kw_only=True)
class ModelReply:
    """One response of the model.

    Args:
        messages: what to keep in the conversation, in the provider's format,
            with call ids as they ran: the one assistant message of Chat
            Completions (see `trio_toolpar.openai.assistant_message`) or
            Messages, or the output items of the Responses API (see
            `trio_toolpar.openai.response_items`).
        calls: its tool calls, in the model's order.
        text: its text, if any.
        stop_reason: the provider's ``finish_reason`` / ``stop_reason``, as sent.
        usage: the tokens it reported, if it did.
        model: the model that answered, if the response said.
    """

    messages: tuple[Message, ...]
    calls: tuple[ToolCall, ...] = ()
    text: str | None = None
    stop_reason: str | None = None
    usage: Usage | None = None
    model: str | None = None


class ModelClient(Protocol):
    """What `run_agent` needs from a model: one request, and the provider's message formats.

    `trio_toolpar.agent.OpenAIChat`, `trio_toolpar.agent.OpenAIResponses`,
    `trio_toolpar.agent.AnthropicMessages` and `trio_toolpar.agent.ScriptedModel`
    implement it.
    """

    def tool_definitions(self, registry: Registry) -> list[dict[str, Any]]:
        """The registry's tools in the provider's ``tools`` format."""
        ...

    def user_message(self, text: str) -> dict[str, Any]:
        """A user message holding ``text``."""
        ...

    def tool_results(self, result: TurnResult) -> list[dict[str, Any]]:
        """The messages that answer a turn's calls, one outcome per call, in order."""
        ...

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[Mapping[str, Any]],
        on_call: Callable[[ToolCall], object] | None = None,
    ) -> ModelReply:
        """Ask the model for its next message.

        A streaming client calls ``on_call`` with each tool call as soon as it
        is complete in the stream, in the model's order; the loop submits it
        to the running turn at once. A client may call it for a prefix of
        ``reply.calls``, or not at all: the loop submits the rest when
        ``complete`` returns.
        """
        ...


class StopReason(enum.StrEnum):
    """Why `run_agent` stopped."""

    ANSWERED = "answered"
    """The model answered without tool calls."""
    MAX_TURNS = "max_turns"
    """The model still asked for tools after ``max_turns`` requests."""
    BUDGET_EXCEEDED = "budget_exceeded"
    """The run's total time budget ran out."""


class ChatCompletionsMessages:
    """The Chat Completions message shapes, for model clients that speak them.

    Needs ``notes`` (tell the model what runs in parallel and how to chain
    calls), ``strict`` (send the tools in strict mode), ``max_chars`` (the
    longest observation per call) and ``observation_budget`` (the most
    characters of one turn's observations) on the instance.
    """

    notes: bool
    strict: bool
    max_chars: int
    observation_budget: int | None

    def tool_definitions(self, registry: Registry) -> list[dict[str, Any]]:
        """The registry's tools in Chat Completions' format."""
        return _openai.tools(registry, notes=self.notes, strict=self.strict)

    def user_message(self, text: str) -> dict[str, Any]:
        """``{"role": "user", "content": text}``."""
        return {"role": "user", "content": text}

    def tool_results(self, result: TurnResult) -> list[dict[str, Any]]:
        """One ``role: "tool"`` message per call (see `trio_toolpar.openai.tool_messages`)."""
        return _openai.tool_messages(result, max_chars=self.max_chars, budget=self.observation_budget)


@final
@attrs.frozen(kw_only=True)
class AgentResult:
    """What a run of the agent loop produced.

    ``messages`` is the whole conversation, the prompt first; it always ends
    in a state the provider accepts as the next request's history: every
    assistant message that asked for tools is followed by the answers to
    all of its calls (when the budget cut a turn short, those answers are
    the ``cancelled``/``skipped`` outcomes). ``turns`` has one `TurnResult`
    per reply that asked for tools, and one more if the budget ran out while
    the model was still streaming calls that had already started.
    """

    text: str | None
    """The last reply's text: the answer, when ``stop`` is ``answered``."""
    stop: StopReason
    messages: tuple[Message, ...]
    replies: tuple[ModelReply, ...]
    turns: tuple[TurnResult, ...]
    usage: Usage | None
    """The sum over replies that reported usage (``None``: none did)."""
    started_at: float
    finished_at: float

    @property
    def elapsed(self) -> float:
        """Seconds on Trio's clock from start to end."""
        return self.finished_at - self.started_at


@attrs.define
class _Progress:
    """The run so far; the reply and turn in progress are recorded even when the budget cuts them short."""

    messages: list[Message]
    replies: list[ModelReply] = attrs.Factory(list)
    turns: list[TurnResult] = attrs.Factory(list)
    reply: ModelReply | None = None
    turn: Turn | None = None

    def begin(self) -> None:
        self.reply = None
        self.turn = None

    def commit(self, model: ModelClient) -> None:
        """Record the current reply and its turn (possibly cut short)."""
        reply, turn = self.reply, self.turn
        self.reply = self.turn = None
        result = turn.result if turn is not None and turn.done else None
        if reply is not None:
            self.replies.append(reply)
            self.messages.extend(reply.messages)
            if reply.calls and result is not None:
                self.messages.extend(model.tool_results(result))
        if result is not None and len(result):
            self.turns.append(result)


async def run_agent(
    model: ModelClient,
    executor: Executor,
    prompt: str | Sequence[Message],
    *,
    max_turns: int = 10,
    budget: float | None = None,
    dispatch: Dispatch = "stream",
) -> AgentResult:
    """Run the agent loop until the model answers without tool calls, or a limit is hit.

    Each turn asks the model for a message, runs its tool calls with
    ``executor``, and appends the message and the observations to the
    conversation. With ``dispatch="stream"`` (the default) the turn is an
    open turn (`Executor.open_turn`) and each call starts the moment the
    model's stream completes it, while the model is still writing the next
    one; ``dispatch="batch"`` waits for the whole message and runs the calls
    as one planned batch (`Executor.run`, with the executor's schedule).

    If the caller's scope is cancelled, ``trio.Cancelled`` propagates as
    itself: the HTTP request in flight and the running tools see it, and
    nothing is left running.

    Args:
        model: the model client.
        executor: runs the tools; its registry is what the model is offered.
        prompt: the user's request, or the conversation so far (in the
            client's format).
        max_turns: the most model requests.
        budget: seconds for the whole run, on Trio's clock (``None``: no
            limit). A turn's budget is the executor's, capped by what is
            left; with streaming dispatch a turn starts with its model
            request, so the model's streaming time counts against it.
        dispatch: ``"stream"`` or ``"batch"``, as above.

    Raises:
        ModelError: the model's API failed.
        FormatError: the model's response could not be read.
        ValueError: ``max_turns``, ``budget`` or ``dispatch`` out of range.
        TypeError: one of them of the wrong type, or ``prompt`` a single
            message rather than a list.
    """
    check_whole_number("max_turns", max_turns)
    check_number("budget", budget, minimum=0, unit="seconds", allow_none=True)
    if isinstance(prompt, Mapping):
        raise TypeError("prompt is a text or a list of messages; wrap a single message in a list")
    check_choice("dispatch", dispatch, ("stream", "batch"))
    started = trio.current_time()
    deadline = started + budget if budget is not None else math.inf
    progress = _Progress(messages=[model.user_message(prompt)] if isinstance(prompt, str) else list(prompt))
    tools = model.tool_definitions(executor.registry)
    stop = StopReason.MAX_TURNS
    await trio.lowlevel.checkpoint()
    for _ in range(max_turns):
        if trio.current_time() >= deadline:
            stop = StopReason.BUDGET_EXCEEDED
            break
        step = await _turn(model, executor, progress, tools=tools, dispatch=dispatch, deadline=deadline)
        if step is not _Step.TOOLS:
            stop = StopReason.ANSWERED if step is _Step.ANSWERED else StopReason.BUDGET_EXCEEDED
            break
    usages = [r.usage for r in progress.replies if r.usage is not None]
    return AgentResult(
        text=progress.replies[-1].text if progress.replies else None,
        stop=stop,
        messages=tuple(progress.messages),
        replies=tuple(progress.replies),
        turns=tuple(progress.turns),
        usage=sum(usages[1:], usages[0]) if usages else None,
        started_at=started,
        finished_at=trio.current_time(),
    )


class _Step(enum.Enum):
    ANSWERED = 0  # the model asked for no tools
    TOOLS = 1  # its calls ran (or were cut short by the budget)
    CUT = 2  # the budget ran out during the model's request


async def _turn(
    model: ModelClient,
    executor: Executor,
    progress: _Progress,
    *,
    tools: Sequence[Mapping[str, Any]],
    dispatch: Dispatch,
    deadline: float,
) -> _Step:
    """One model request and its tool calls.

    Each wait is bounded by the run's deadline on its own (the request by a
    scope, the tools by the turn's budget) rather than by one scope around
    the loop, so that calls the deadline stops are told ``budget_exceeded``.
    """
    progress.begin()
    if dispatch == "stream":
        async with executor.open_turn(budget=_budget(executor, deadline)) as turn:
            progress.turn = turn
            submitted = 0

            def on_call(call: ToolCall) -> None:
                nonlocal submitted
                submitted += 1
                turn.submit(call)

            with trio.move_on_at(deadline):
                progress.reply = await model.complete(progress.messages, tools=tools, on_call=on_call)
                for call in progress.reply.calls[submitted:]:
                    turn.submit(call)
    else:
        with trio.move_on_at(deadline):
            progress.reply = await model.complete(progress.messages, tools=tools)
        if progress.reply is not None and progress.reply.calls:
            progress.turn = executor.turn(progress.reply.calls, budget=_budget(executor, deadline))
            await progress.turn.run()
    reply = progress.reply
    progress.commit(model)
    if reply is None:
        return _Step.CUT
    return _Step.TOOLS if reply.calls else _Step.ANSWERED


def _budget(executor: Executor, deadline: float) -> float | None:
    """The executor's turn budget, capped by what is left of the run's."""
    if math.isinf(deadline):
        return executor.budget
    left = max(deadline - trio.current_time(), 0.0)
    return left if executor.budget is None else min(executor.budget, left)
