"""An MCP server's tools, called in parallel by a scripted model: offline, no key.

It starts ``examples/mcp_server.py`` as a subprocess over stdio, registers its
tools, and lets a `ScriptedModel` ask for three reads and a delete in one turn:
the reads (read-only by their annotations) run at once, the delete (a write)
waits for them, one read fails with the server's own message, and the model
answers from the observations::

    python examples/mcp_parallel.py
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import trio
from mcp import ClientSession, StdioServerParameters, stdio_client

from trio_toolpar import Executor, Registry, ToolCall
from trio_toolpar.agent import Message, ScriptedModel, ScriptedReply, run_agent
from trio_toolpar.mcp import register_session

SERVER = StdioServerParameters(command=sys.executable, args=[str(Path(__file__).with_name("mcp_server.py"))])


def _read(call_id: str, name: str) -> ToolCall:
    return ToolCall(id=call_id, tool="notes_read_note", arguments={"name": name})


def _answer(messages: Sequence[Message]) -> ScriptedReply:
    results = [json.loads(m["content"]) for m in messages if m["role"] == "tool"]
    ok = sum(1 for r in results if r["ok"])
    return ScriptedReply(text=f"{ok} of {len(results)} tool calls succeeded.")


async def main() -> None:
    async with stdio_client(SERVER) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        registry = Registry()
        for tool in await register_session(registry, session, resource="notes", prefix="notes_"):
            print(f"registered {tool.name:<18} {tool.tool.side_effect:<5} (read-only hint: {tool.hints.read_only})")
        model = ScriptedModel(
            [
                ScriptedReply(
                    calls=(
                        _read("c1", "todo"),
                        _read("c2", "ideas"),
                        _read("c3", "missing"),
                        ToolCall(id="c4", tool="notes_delete_note", arguments={"name": "old"}),
                    )
                ),
                _answer,
            ]
        )
        executor = Executor(registry, limits={"notes": 4})
        t0 = trio.current_time()
        result = await run_agent(model, executor, "Read my notes, then delete the old one.", dispatch="batch")
        for outcome in result.turns[0]:
            start = (outcome.started_at or t0) - t0
            end = (outcome.finished_at or t0) - t0
            shown = outcome.value if outcome.ok else outcome.error
            print(f"{outcome.call_id} {outcome.tool:<18} {outcome.status.value:<6} {start:4.2f}-{end:4.2f} s  {shown}")
        print(result.text)


if __name__ == "__main__":
    trio.run(main)
