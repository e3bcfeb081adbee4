"""Worker processes for the journal tests: where a journal lives, and a fork server to start workers fast.

Starting Python and importing trio_toolpar and coredis takes about a second
on a busy machine; the crash test starts two processes per kill point. So
`Zygote` starts one ``journal_worker.py zygote`` process, which imports
everything once and forks a child per command: each child is a real process
of its own (its own pid, killed with SIGKILL, its locks dropped by the kernel
when it dies), started in milliseconds. A child's stdout is a FIFO the test
reads marker lines from; the FIFO's end (EOF) means the child has exited.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO

import pytest
import trio
from redis_server import RedisServer, open_client

from trio_toolpar.abc import Journal
from trio_toolpar.journal import SqliteJournal
from trio_toolpar.redis import RedisJournal

WORKER = Path(__file__).with_name("journal_worker.py")


class Place:
    """Where one journal lives: enough for this process and a worker process to open the same one.

    Args:
        folder: where the SQLite file goes.
        server: the Redis server, or ``None`` for SQLite.
        ttl: the Redis claims' time to live: a killed holder's turn is free this long after.
        timeout: the Redis round trip's bound.
    """

    def __init__(self, folder: Path, server: RedisServer | None, *, ttl: float = 1.0, timeout: float = 0.25) -> None:
        self.kind = "sqlite" if server is None else "redis"
        self._path = folder / "journal.db"
        self._server = server
        self._namespace = f"journal-{uuid.uuid4().hex}"
        self._ttl = ttl
        self._timeout = timeout

    @asynccontextmanager
    async def open(self) -> AsyncIterator[Journal]:
        """A journal on this place, open for the block (each opening has its own connection)."""
        if self._server is None:
            async with SqliteJournal(self._path) as journal:
                yield journal
            return
        async with open_client(self._server.port) as client:
            yield RedisJournal(client, namespace=self._namespace, claim_ttl=self._ttl, timeout=self._timeout)

    def worker_options(self) -> list[str]:
        """`journal_worker.py`'s options that open this place."""
        if self._server is None:
            return ["--sqlite", str(self._path)]
        redis = ["--redis", str(self._server.port), "--namespace", self._namespace]
        return [*redis, "--ttl", str(self._ttl), "--timeout", str(self._timeout)]

    @property
    def released_after_kill(self) -> float:
        """Seconds a killed holder may keep its claim: none for a lock the kernel drops."""
        return 0.0 if self._server is None else self._ttl


class Child:
    """One worker process forked by the `Zygote`: read its marker lines, kill it by pid."""

    def __init__(self, pid: int, stream: IO[str]) -> None:
        self.pid = pid
        self._stream = stream
        self.lines: list[str] = []

    async def _line(self) -> str:
        line: str = await trio.to_thread.run_sync(self._stream.readline, abandon_on_cancel=True)
        if line:
            self.lines.append(line.rstrip("\n"))
        return line

    async def reaches(self, marker: str, *, seconds: float = 20.0) -> None:
        """Read lines until ``marker``; fail if the process ends or ``seconds`` pass first."""
        with trio.fail_after(seconds):
            while True:
                line = await self._line()
                if not line:
                    pytest.fail(f"the worker ended before printing {marker!r}; it printed {self.lines[-5:]}")
                if line.rstrip("\n") == marker:
                    return

    async def freezes(self, *, seconds: float = 20.0) -> bool:
        """Read lines until the process prints ``frozen`` (True) or ends first (False)."""
        with trio.fail_after(seconds):
            while line := await self._line():
                if line.rstrip("\n") == "frozen":
                    return True
        self._stream.close()
        return False

    async def ends(self, *, seconds: float = 20.0) -> list[str]:
        """Read every line until the process exits (its FIFO's end); all it printed."""
        with trio.fail_after(seconds):
            while await self._line():
                pass
        self._stream.close()
        return self.lines

    async def kill(self) -> None:
        """SIGKILL the process by pid, and wait until it is gone (its FIFO ends)."""
        os.kill(self.pid, signal.SIGKILL)
        await self.ends()


class Zygote:
    """A ``journal_worker.py zygote`` process that forks a ready worker per command."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._count = 0
        self._process = subprocess.Popen(
            [sys.executable, str(WORKER), "zygote"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    async def spawn(self, *argv: str) -> Child:
        """Fork a worker running ``journal_worker.py ARGV``."""
        assert self._process.stdin is not None and self._process.stdout is not None
        self._count += 1
        fifo = self._folder / f"worker-{self._count}.fifo"
        os.mkfifo(fifo)
        self._process.stdin.write(json.dumps([list(argv), str(fifo)]) + "\n")
        self._process.stdin.flush()
        with trio.fail_after(20):
            pid = int(await trio.to_thread.run_sync(self._process.stdout.readline, abandon_on_cancel=True))
            # Opening a FIFO to read waits for its writer: the child, as it starts.
            stream = await trio.to_thread.run_sync(_open_fifo, fifo, abandon_on_cancel=True)
        return Child(pid, stream)

    def close(self) -> None:
        """Stop the fork server (its children are killed by the tests that spawned them)."""
        self._process.kill()
        self._process.wait(timeout=10)
        for pipe in (self._process.stdin, self._process.stdout):
            if pipe is not None:
                pipe.close()


def _open_fifo(path: Path) -> IO[str]:
    return path.open(encoding="utf-8")


def zygote_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zygote]:
    """A test module's ``zygote``: ``zygote = pytest.fixture(zygote_fixture, name="zygote", scope="module")``."""
    zygote = Zygote(tmp_path_factory.mktemp("fifos"))
    try:
        yield zygote
    finally:
        zygote.close()
