"""A worker process for the journal tests: hold a claim, decide, append, or run a turn, against one store.

Usage::

    python journal_worker.py (--sqlite PATH | --redis PORT [--namespace NS] [--ttl S]) COMMAND ...

Commands (each prints a marker line to stdout, flushed, when it gets there):

* ``hold TURN``: claim TURN, print ``held``, sleep until killed.
* ``decide TURN CALL yes|no``: record a decision, print ``decided``.
* ``append TURN N``: begin TURN with one call ``c1``, claim it, append
  ``Started(c1, attempt=k)`` for k = 1..N, printing ``appended k`` after each
  returns (so a test that kills the worker after line k knows k is durable).
* ``run TURN [--freeze-at K] --effects LOG``: run one turn of `TURN_CALLS`
  with ``Executor(registry, journal=journal)`` (again while the turn is
  busy, as a killed holder's Redis claim is until it expires); every event
  (a tool entered, its side effect written to LOG, a journal write returned)
  prints ``event K <what>``. At event ``--freeze-at`` the process prints
  ``frozen`` and blocks its Trio thread, for the test to SIGKILL it by pid
  there. At the end it prints ``outcome {json}`` per call, in order, and ``done``.

``python journal_worker.py zygote`` is the fork server of ``journal_processes.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
import traceback
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import trio

from trio_toolpar import CallContext, Executor, Registry, ToolCall
from trio_toolpar.abc import Journal
from trio_toolpar.journal import Decision, JournalCall, Record, SqliteJournal, Started, TurnBusy, TurnLog
from trio_toolpar.redis import RedisJournal


def marker(line: str) -> None:
    """Tell the test where this process is: one flushed line."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


@asynccontextmanager
async def open_store(options: argparse.Namespace) -> AsyncIterator[Journal]:
    """The store the command line names, open for this process's run."""
    if options.sqlite is not None:
        async with SqliteJournal(options.sqlite) as journal:
            yield journal
        return
    import coredis

    client: coredis.Redis[bytes] = coredis.Redis(host="127.0.0.1", port=options.redis)
    async with client:
        yield RedisJournal(client, namespace=options.namespace, claim_ttl=options.ttl, timeout=options.timeout)


# -- the crash harness: one turn whose tools leave a line in a side-effect log each time they run ----------

TURN_CALLS: list[dict[str, Any]] = [
    {"id": "r1", "tool": "read", "arguments": {"key": "a"}},
    {"id": "r2", "tool": "read", "arguments": {"key": "b"}},
    {"id": "p1", "tool": "put", "arguments": {"key": "a", "value": "$r1"}},
    {"id": "n1", "tool": "charge", "arguments": {"account": "$r2", "amount": 5}},
    {"id": "n2", "tool": "charge", "arguments": {"account": "acct-x", "amount": 7}},
    {"id": "p2", "tool": "put", "arguments": {"key": "c", "value": "$n1"}},
    {"id": "r3", "tool": "read", "arguments": {"key": "c"}},
    {"id": "n3", "tool": "charge", "arguments": {"account": "$p1", "amount": 1}},
    {"id": "r4", "tool": "read", "arguments": {"key": "d"}},
    {"id": "n4", "tool": "charge", "arguments": {"account": "$r4", "amount": 2}},
]
"""Reads, idempotent writes (``put``), non-idempotent writes (``charge``), and references between them."""


class Events:
    """Numbers each event, prints it, and freezes the process at the chosen one."""

    def __init__(self, freeze_at: int | None) -> None:
        self.count = 0
        self._freeze_at = freeze_at

    def __call__(self, what: str) -> None:
        self.count += 1
        marker(f"event {self.count} {what}")
        if self.count == self._freeze_at:
            marker("frozen")
            time.sleep(3600)  # blocks the Trio thread: nothing else of this run moves until the kill


class MarkedJournal:
    """A journal that reports every write that returned as an event (a kill point after a commit)."""

    def __init__(self, inner: Journal, events: Events) -> None:
        self._inner = inner
        self._events = events

    def claim(self, turn_id: str) -> AbstractAsyncContextManager[None]:
        return self._inner.claim(turn_id)

    async def load(self, turn_id: str) -> TurnLog | None:
        return await self._inner.load(turn_id)

    async def begin(self, turn_id: str, calls: Sequence[JournalCall]) -> None:
        await self._inner.begin(turn_id, calls)
        self._events(f"journal begin {len(calls)}")

    async def append(self, turn_id: str, records: Sequence[Record]) -> None:
        await self._inner.append(turn_id, records)
        self._events("journal append " + " ".join(f"{type(r).__name__}:{r.call_id}" for r in records))

    async def decide(self, turn_id: str, decision: Decision) -> None:
        await self._inner.decide(turn_id, decision)
        self._events(f"journal decide {decision.call_id}")


def registry(effects: Path, events: Events) -> Registry:
    """The turn's tools; each appends ``tool call_id attempt key`` to ``effects`` when it takes effect."""
    tools = Registry()

    def effect(ctx: CallContext) -> None:
        events(f"enter {ctx.call_id}")
        with effects.open("a", encoding="utf-8") as log:
            log.write(f"{ctx.tool} {ctx.call_id} {ctx.attempt} {ctx.idempotency_key}\n")
        events(f"effect {ctx.call_id}")

    @tools.tool(side_effect="read", key="k:{key}")
    async def read(key: str, ctx: CallContext) -> str:
        """Read a key."""
        await trio.lowlevel.checkpoint()
        effect(ctx)
        return f"value-of-{key}"

    @tools.tool(side_effect="write", key="k:{key}", idempotent=True)
    async def put(key: str, value: str, ctx: CallContext) -> str:
        """Set a key (running it twice is harmless)."""
        await trio.lowlevel.checkpoint()
        effect(ctx)
        return f"{key}={value}"

    @tools.tool(side_effect="write")
    async def charge(account: str, amount: int, ctx: CallContext) -> str:
        """Charge an account (running it twice charges twice)."""
        await trio.lowlevel.checkpoint()
        effect(ctx)
        return f"charged {amount} to {account}"

    return tools


async def run_turn(journal: Journal, options: argparse.Namespace) -> None:
    events = Events(options.freeze_at)
    executor = Executor(registry(options.effects, events), journal=MarkedJournal(journal, events))
    calls = [ToolCall(id=c["id"], tool=c["tool"], arguments=c["arguments"]) for c in TURN_CALLS]
    with trio.fail_after(20):
        while True:
            try:
                result = await executor.run(calls, turn_id=options.turn)
                break
            except TurnBusy:  # a killed run's Redis claim lives out its time to live
                marker("busy")
                await trio.sleep(0.05)
    for outcome in result:
        fields = {"call_id": outcome.call_id, "status": outcome.status, "value": outcome.value}
        marker("outcome " + json.dumps(fields | {"error_code": outcome.error_code}, default=str))
    marker("done")


# -- the store commands ----------------------------------------------------------------------------------


async def main(options: argparse.Namespace) -> None:
    async with open_store(options) as journal:
        if options.command == "hold":
            async with journal.claim(options.turn):
                marker("held")
                await trio.sleep_forever()
        elif options.command == "decide":
            await journal.decide(options.turn, Decision(call_id=options.call, approved=options.answer == "yes"))
            marker("decided")
        elif options.command == "append":
            async with journal.claim(options.turn):
                await journal.begin(options.turn, [JournalCall(call_id="c1", tool="t", arguments="{}")])
                for attempt in range(1, options.count + 1):
                    await journal.append(options.turn, [Started(call_id="c1", attempt=attempt, idempotency_key=None)])
                    marker(f"appended {attempt}")
        else:
            await run_turn(journal, options)


def options(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    store = parser.add_mutually_exclusive_group(required=True)
    store.add_argument("--sqlite", type=Path)
    store.add_argument("--redis", type=int, metavar="PORT")
    parser.add_argument("--namespace", default="journal-test")
    parser.add_argument("--ttl", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=0.25)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("hold").add_argument("turn")
    decide = commands.add_parser("decide")
    decide.add_argument("turn")
    decide.add_argument("call")
    decide.add_argument("answer", choices=("yes", "no"))
    append = commands.add_parser("append")
    append.add_argument("turn")
    append.add_argument("count", type=int)
    run = commands.add_parser("run")
    run.add_argument("turn")
    run.add_argument("--freeze-at", type=int)
    run.add_argument("--effects", type=Path, required=True)
    return parser.parse_args(argv)


def zygote() -> None:
    """Fork a worker per line of stdin (``[argv, fifo]`` as JSON), its stdout the FIFO; print its pid.

    Everything is imported once, here, before any fork; no thread and no Trio
    run exist in this process, so each child starts clean.
    """
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    for line in sys.stdin:
        argv, fifo = json.loads(line)
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            out = os.open(fifo, os.O_WRONLY)
            os.dup2(out, 1)
            os.close(out)
            code = 1
            try:
                trio.run(main, options(argv))
                code = 0
            except Exception:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                os._exit(code)
        sys.stdout.write(f"{pid}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    if sys.argv[1:] == ["zygote"]:
        import coredis

        zygote()
    else:
        trio.run(main, options(sys.argv[1:]))
