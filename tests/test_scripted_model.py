"""ScriptedModel: deterministic replies on Trio's clock, and the loop's own rules shown with it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence

import pytest
import trio
import trio.testing
from provider_fakes import check_openai_messages, check_openai_tools, slow_registry

from trio_toolpar import ErrorCode, Executor, FailFast, Status, ToolCall
from trio_toolpar.agent import (
    Message,
    ModelError,
    ModelReply,
    ScriptedModel,
    ScriptedReply,
    StopReason,
    Usage,
    run_agent,
)


def _fetch(call_id: str, item: str) -> ToolCall:
    return ToolCall(id=call_id, tool="fetch", arguments={"item": item})


def _summary(messages: Sequence[Message]) -> ScriptedReply:
    results = [json.loads(m["content"]) for m in messages if m["role"] == "tool"]
    return ScriptedReply(text=f"{len(results)} results, all ok: {all(r['ok'] for r in results)}")


async def test_streamed_script_dispatches_each_call_at_its_time(autojump_clock: trio.testing.MockClock) -> None:
    model = ScriptedModel(
        [
            ScriptedReply(
                text="Looking.",
                calls=(_fetch("c1", "a"), _fetch("c2", "b"), _fetch("c3", "c")),
                call_times=(1.0, 2.0, 3.0),
                duration=4.0,
                usage=Usage(input_tokens=10, output_tokens=3),
            ),
            _summary,
        ]
    )
    t0 = trio.current_time()
    result = await run_agent(model, Executor(slow_registry(2.0)), "go")
    assert [(o.started_at - t0, o.finished_at - t0) for o in result.turns[0] if o.started_at and o.finished_at] == [
        (1.0, 3.0),
        (2.0, 4.0),
        (3.0, 5.0),
    ]
    assert result.text == "3 results, all ok: True"
    assert result.stop is StopReason.ANSWERED
    assert result.elapsed == 5.0
    assert result.usage == Usage(input_tokens=10, output_tokens=3)
    assert result.usage.total_tokens == 13
    assert len(model.requests) == 2
    assert model.requests[1][1]["tool_calls"][0]["function"]["arguments"] == '{"item":"a"}'
    check_openai_messages(result.messages)
    check_openai_tools(model.tools[0])


async def test_unstreamed_script_hands_calls_over_at_the_end(autojump_clock: trio.testing.MockClock) -> None:
    model = ScriptedModel(
        [ScriptedReply(calls=(_fetch("c1", "a"), _fetch("c2", "b")), call_times=(1.0, 2.0), duration=4.0), _summary],
        stream=False,
    )
    t0 = trio.current_time()
    result = await run_agent(model, Executor(slow_registry(2.0)), "go")
    assert [o.started_at - t0 for o in result.turns[0] if o.started_at is not None] == [4.0, 4.0]
    assert result.elapsed == 6.0


async def test_an_exhausted_script_is_a_model_error(autojump_clock: trio.testing.MockClock) -> None:
    model = ScriptedModel([ScriptedReply(calls=(_fetch("c1", "a"),))])
    with pytest.raises(ModelError, match="has 1 replies; request 2 has none left"):
        await run_agent(model, Executor(slow_registry()), "go")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"calls": (_fetch("c1", "a"),), "call_times": (1.0, 2.0)}, "2 times for 1 calls"),
        ({"calls": (_fetch("c1", "a"), _fetch("c2", "b")), "call_times": (2.0, 1.0)}, "non-decreasing"),
        ({"calls": (_fetch("c1", "a"),), "call_times": (-1.0,)}, "non-negative"),
        ({"calls": (_fetch("c1", "a"),), "call_times": (3.0,), "duration": 2.0}, "not before the last call"),
    ],
)
def test_scripted_reply_checks_its_times(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ScriptedReply(**kwargs)  # type: ignore[arg-type]


def test_scripted_reply_end() -> None:
    assert ScriptedReply().end == 0.0
    assert ScriptedReply(calls=(_fetch("c", "a"),), call_times=(1.5,)).end == 1.5
    assert ScriptedReply(duration=2.0).end == 2.0


async def test_stream_dispatch_plans_incrementally_and_references_wait(autojump_clock: trio.testing.MockClock) -> None:
    """A call may refer to an earlier call's result; under streaming it waits for that call, not for the stream."""
    registry = slow_registry(2.0)
    reference = ToolCall(id="c2", tool="note", arguments={"text": "$c1.status"})
    model = ScriptedModel(
        [ScriptedReply(calls=(_fetch("c1", "a"), reference), call_times=(0.0, 1.0), duration=5.0), _summary]
    )
    t0 = trio.current_time()
    result = await run_agent(model, Executor(registry), "go")
    c1, c2 = result.turns[0]
    assert (c1.started_at, c2.started_at) == (t0 + 0.0, t0 + 2.0)
    assert c2.value == "noted: fine"


async def test_executor_policy_and_budget_apply_per_turn(autojump_clock: trio.testing.MockClock) -> None:
    registry = slow_registry(2.0)

    @registry.tool
    async def boom() -> None:
        """Fails after a second."""
        await trio.sleep(1)
        raise RuntimeError("boom")

    model = ScriptedModel([ScriptedReply(calls=(_fetch("c1", "a"), ToolCall(id="c2", tool="boom"))), _summary])
    result = await run_agent(model, Executor(registry, policy=FailFast()), "go")
    assert [(o.status, o.error_code) for o in result.turns[0]] == [
        (Status.CANCELLED, ErrorCode.SIBLING_FAILED),
        (Status.ERROR, ErrorCode.TOOL_ERROR),
    ]
    model = ScriptedModel([ScriptedReply(calls=(_fetch("c1", "a"),)), _summary])
    result = await run_agent(model, Executor(registry, budget=1.0), "go")
    assert (result.turns[0][0].status, result.turns[0][0].error_code) == (Status.CANCELLED, ErrorCode.BUDGET_EXCEEDED)
    assert result.stop is StopReason.ANSWERED  # the turn's budget is not the run's


async def test_a_client_that_never_calls_on_call(autojump_clock: trio.testing.MockClock) -> None:
    """The loop submits whatever calls the reply holds that the client did not hand over."""

    class Quiet:
        def __init__(self) -> None:
            self.inner = ScriptedModel([ScriptedReply(calls=(_fetch("c1", "a"),), duration=1.0), _summary])
            self.tool_definitions = self.inner.tool_definitions
            self.user_message = self.inner.user_message
            self.tool_results = self.inner.tool_results

        async def complete(self, messages: Sequence[Message], *, tools: object, on_call: object = None) -> ModelReply:
            return await self.inner.complete(messages, tools=())

    result = await run_agent(Quiet(), Executor(slow_registry(2.0)), "go")
    assert [o.status for o in result.turns[0]] == [Status.OK]
    assert result.text == "1 results, all ok: True"


def test_importing_the_edges_needs_no_sdk_and_no_httpx() -> None:
    code = (
        "import sys, trio_toolpar, trio_toolpar.openai, trio_toolpar.anthropic, trio_toolpar.agent\n"
        "bad = sorted(m for m in ('httpx', 'openai', 'anthropic', 'pydantic') if m in sys.modules)\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
    core_only = "import sys, trio_toolpar; print(sorted(m for m in sys.modules if m.startswith('trio_toolpar.')))"
    out = subprocess.run([sys.executable, "-c", core_only], capture_output=True, text=True, check=True)
    for edge in ("trio_toolpar.openai", "trio_toolpar.anthropic", "trio_toolpar.agent"):
        assert edge not in out.stdout  # the core never imports an edge
