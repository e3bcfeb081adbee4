"""The peers a user would otherwise pick to run the tool calls of one model turn.

Each peer is a timing function ``(n, delay=0.0, cap=None) -> seconds``: the
wall-clock time of one whole run of one turn of ``n`` tool calls, each tool
sleeping ``delay`` seconds (none at 0), at most ``cap`` running at once where
the peer has a way to say so. Tools are defined and calls built before the
clock starts; the clock covers the whole event loop run (``trio.run`` or
``asyncio.run``), start-up and results included, exactly as
``cases.toolpar_bench`` times trio_toolpar. Every peer checks that it really
ran ``n`` calls, so a peer that silently drops work fails instead of winning.

The two agent frameworks are timed over a whole agent run (a scripted model
answers with ``n`` tool calls, the tools run, the model answers with its final
text); nothing is subtracted, and `MODEL_OVERHEAD_N0` names them so that
``run.py`` also times their run with no tool call, for scale. No network is
used: the models are scripted in-process and tracing is off.

A peer needs packages from the ``bench`` extra (``pip install -e '.[bench]'``);
`available` sorts the peers into those that can run here and those skipped,
each skipped one with a note that says what is missing.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import os
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

import attrs
import trio

BenchFn = Callable[..., float]
"""A timing function: ``(n, delay=0.0, cap=None) -> seconds`` for one whole run."""


CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}
"""What a timing function can measure: wall-clock time, or this process's CPU time.

CPU time leaves out the time the machine gave other processes, so on a
shared machine it is the steadier figure for runs that never sleep or wait
on I/O (the no-op scenarios); anything that sleeps must be timed on the wall.
"""
_clock: list[Callable[[], float]] = [time.perf_counter]


def use_clock(name: str) -> None:
    """Time every later run on clock ``name`` of `CLOCKS` (``"wall"`` until told otherwise)."""
    _clock[0] = CLOCKS[name]


def now() -> float:
    """The chosen clock's reading, in seconds."""
    return _clock[0]()


def _timed_trio(main: Callable[[], Awaitable[object]]) -> float:
    start = now()
    trio.run(main)
    return now() - start


def _timed_asyncio(main: Callable[[], Coroutine[Any, Any, Any]]) -> tuple[float, Any]:
    start = now()
    value = asyncio.run(main())
    return now() - start, value


def _expect(condition: bool, peer: str, what: str) -> None:
    if not condition:
        raise AssertionError(f"{peer} did not do the work it was timed for: {what}")


# -- plain concurrency primitives -------------------------------------------------------------


def asyncio_gather(n: int, delay: float = 0.0, cap: int | None = None) -> float:
    """``asyncio.gather`` over one coroutine per call, an ``asyncio.Semaphore`` for the cap."""

    async def tool(i: int) -> int:
        if delay:
            await asyncio.sleep(delay)
        return i

    async def main() -> list[int]:
        if cap is None:
            return list(await asyncio.gather(*(tool(i) for i in range(n))))
        semaphore = asyncio.Semaphore(cap)

        async def capped(i: int) -> int:
            async with semaphore:
                return await tool(i)

        return list(await asyncio.gather(*(capped(i) for i in range(n))))

    elapsed, values = _timed_asyncio(main)
    _expect(values == list(range(n)), "asyncio.gather", f"{n} results in order")
    return elapsed


def trio_nursery(n: int, delay: float = 0.0, cap: int | None = None) -> float:
    """The floor of any Trio executor: one task per call in a nursery, a ``trio.CapacityLimiter`` for the cap."""
    values: list[int | None] = [None] * n

    async def tool(i: int, limiter: trio.CapacityLimiter | None) -> None:
        if limiter is None:
            if delay:
                await trio.sleep(delay)
        else:
            async with limiter:
                if delay:
                    await trio.sleep(delay)
        values[i] = i

    async def main() -> None:
        limiter = trio.CapacityLimiter(cap) if cap else None
        async with trio.open_nursery() as nursery:
            for i in range(n):
                nursery.start_soon(tool, i, limiter)

    elapsed = _timed_trio(main)
    _expect(values == list(range(n)), "trio.nursery", f"{n} results")
    return elapsed


def aiometer_trio(n: int, delay: float = 0.0, cap: int | None = None) -> float:
    """``aiometer.run_all`` on Trio, ``max_at_once`` for the cap."""
    import aiometer

    async def tool(i: int) -> int:
        if delay:
            await trio.sleep(delay)
        return i

    jobs = [functools.partial(tool, i) for i in range(n)]
    values: list[list[int]] = []

    async def main() -> None:
        values.append(await aiometer.run_all(jobs, max_at_once=cap))

    elapsed = _timed_trio(main)
    _expect(values == [list(range(n))], "aiometer(trio)", f"{n} results in order")
    return elapsed


# -- agent frameworks -------------------------------------------------------------------------------


def langgraph_toolnode(n: int, delay: float = 0.0, cap: int | None = None) -> float:
    """LangGraph's prebuilt ``ToolNode`` in a one-node graph, fed one AI message of ``n`` tool calls.

    ``cap`` goes to the run's ``max_concurrency`` config, the knob LangGraph offers;
    it does not bound the tool calls inside one ``ToolNode``, which the capped
    scenario shows as a makespan below its lower bound.
    """
    from langchain_core.messages import AIMessage
    from langchain_core.tools import tool as as_tool
    from langgraph.graph import END, START, MessagesState, StateGraph
    from langgraph.prebuilt import ToolNode

    @as_tool
    async def echo(i: int) -> int:
        """Return i."""
        if delay:
            await asyncio.sleep(delay)
        return i

    graph = StateGraph(MessagesState)
    graph.add_node("tools", ToolNode([echo]))
    graph.add_edge(START, "tools")
    graph.add_edge("tools", END)
    app = graph.compile()
    message = AIMessage(content="", tool_calls=[{"name": "echo", "args": {"i": i}, "id": f"c{i}"} for i in range(n)])
    config: dict[str, Any] = {"max_concurrency": cap} if cap else {}

    async def main() -> Any:
        return await app.ainvoke({"messages": [message]}, config=config)  # type: ignore[arg-type]

    elapsed, state = _timed_asyncio(main)
    _expect(len(state["messages"]) == n + 1, "langgraph.ToolNode", f"{n} tool messages")
    return elapsed


def pydantic_ai_agent(n: int, delay: float = 0.0, cap: int | None = None) -> float:
    """A pydantic-ai ``Agent`` on a ``FunctionModel`` that asks for ``n`` calls, then answers.

    pydantic-ai has no per-turn cap on tool concurrency, so ``cap`` is not
    applied: its capped makespan falls below the lower bound.
    """
    from pydantic_ai import Agent
    from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
    from pydantic_ai.models.function import AgentInfo, FunctionModel

    calls = [ToolCallPart(tool_name="echo", args={"i": i}, tool_call_id=f"c{i}") for i in range(n)]

    # Async, so that FunctionModel does not move the model to a worker thread.
    async def model(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        if len(messages) == 1 and calls:
            return ModelResponse(parts=list(calls))
        return ModelResponse(parts=[TextPart(content="done")])

    agent = Agent(FunctionModel(model))

    @agent.tool_plain
    async def echo(i: int) -> int:
        if delay:
            await asyncio.sleep(delay)
        return i

    async def main() -> Any:
        return await agent.run("go")

    elapsed, result = _timed_asyncio(main)
    returns = sum(1 for m in result.all_messages() for p in m.parts if getattr(p, "part_kind", "") == "tool-return")
    _expect(returns == n and result.output == "done", "pydantic_ai.Agent", f"{n} returns, then the answer")
    return elapsed


def openai_agents_runner(n: int, delay: float = 0.0, cap: int | None = None) -> float:
    """The OpenAI Agents SDK ``Runner`` on a scripted ``Model``: ``n`` function calls, then the answer.

    No client is created and tracing is off; ``cap`` is the run's
    ``max_function_tool_concurrency``.
    """
    os.environ.setdefault("OPENAI_AGENTS_DISABLE_TRACING", "1")
    from agents import Agent, RunConfig, Runner, function_tool, set_tracing_disabled
    from agents.items import ModelResponse
    from agents.models.interface import Model
    from agents.run_config import ToolExecutionConfig
    from agents.usage import Usage
    from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

    set_tracing_disabled(True)
    calls = [
        ResponseFunctionToolCall(
            id=f"c{i}", call_id=f"c{i}", type="function_call", name="echo", arguments=f'{{"i": {i}}}'
        )
        for i in range(n)
    ]
    answer = ResponseOutputMessage(
        id="answer",
        type="message",
        role="assistant",
        status="completed",
        content=[ResponseOutputText(text="done", type="output_text", annotations=[])],
    )

    class ScriptedModel(Model):
        def __init__(self) -> None:
            self.responses = 0

        async def get_response(self, *args: Any, **kwargs: Any) -> ModelResponse:
            self.responses += 1
            output: list[Any] = list(calls) if self.responses == 1 and calls else [answer]
            return ModelResponse(output=output, usage=Usage(), response_id=None)

        def stream_response(self, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError("the bench never streams")

    @function_tool
    async def echo(i: int) -> int:
        """Return i."""
        if delay:
            await asyncio.sleep(delay)
        return i

    agent = Agent(name="bench", model=ScriptedModel(), tools=[echo])
    config = RunConfig(
        tracing_disabled=True,
        tool_execution=ToolExecutionConfig(max_function_tool_concurrency=cap) if cap else None,
    )

    async def main() -> Any:
        return await Runner.run(agent, "go", run_config=config)

    elapsed, result = _timed_asyncio(main)
    outputs = sum(1 for item in result.new_items if item.type == "tool_call_output_item")
    _expect(outputs == n and result.final_output == "done", "openai_agents.Runner", f"{n} outputs, then the answer")
    return elapsed


# -- the table of peers ----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Peer:
    """One peer: its timing function and the modules it needs beyond Trio and the standard library."""

    name: str
    bench: BenchFn
    needs: tuple[str, ...] = ()
    whole_agent_run: bool = False


PEER_LIST: tuple[Peer, ...] = (
    Peer(name="asyncio.gather", bench=asyncio_gather),
    Peer(name="trio.nursery", bench=trio_nursery),
    Peer(name="aiometer(trio)", bench=aiometer_trio, needs=("aiometer",)),
    Peer(name="langgraph.ToolNode", bench=langgraph_toolnode, needs=("langgraph.prebuilt", "langchain_core")),
    Peer(name="pydantic_ai.Agent", bench=pydantic_ai_agent, needs=("pydantic_ai",), whole_agent_run=True),
    Peer(name="openai_agents.Runner", bench=openai_agents_runner, needs=("agents", "openai"), whole_agent_run=True),
)
PEERS: dict[str, BenchFn] = {peer.name: peer.bench for peer in PEER_LIST}
MODEL_OVERHEAD_N0: frozenset[str] = frozenset(peer.name for peer in PEER_LIST if peer.whole_agent_run)
"""Peers timed over a whole agent run: ``run.py`` also times them with no tool call."""


@attrs.frozen(kw_only=True)
class Availability:
    """Which peers can run in this interpreter, and a note for each one that cannot."""

    found: Mapping[str, BenchFn]
    skipped: Mapping[str, str]


def available(peers: tuple[Peer, ...] = PEER_LIST) -> Availability:
    """Sort ``peers`` into those whose modules import here and those skipped, with why."""
    found: dict[str, BenchFn] = {}
    skipped: dict[str, str] = {}
    for peer in peers:
        missing = _first_missing(peer.needs)
        if missing is None:
            found[peer.name] = peer.bench
        else:
            skipped[peer.name] = f"skipped peer {peer.name}: {missing}; pip install -e '.[bench]' has it"
    return Availability(found=found, skipped=skipped)


def _first_missing(modules: tuple[str, ...]) -> str | None:
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            return f"cannot import {module} ({exc})"
    return None


def best_of(fn: BenchFn, reps: int, *args: Any, **kwargs: Any) -> float:
    """The fastest of ``reps`` runs of ``fn(*args, **kwargs)``: the run least disturbed by the machine."""
    return min(fn(*args, **kwargs) for _ in range(reps))
