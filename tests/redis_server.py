"""A real redis-server on 127.0.0.1 for the shared-limits tests: start, wait, pause, stop.

The binary comes from Debian's ``redis-server`` package. Without it the tests
skip locally and fail on CI (where ``CI`` is set), naming the install command.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, final

import coredis
import pytest
import trio

from trio_toolpar.redis import RedisLimits

__all__ = [
    "RedisServer",
    "client_fixture",
    "hold_until",
    "open_client",
    "running_server",
    "server_fixture",
    "wait_until",
]

INSTALL_HINT = "redis-server is not installed: apt-get install -y redis-server (Debian's package)"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


@final
class RedisServer:
    """One redis-server process on a free loopback port, with no persistence."""

    def __init__(self, binary: str, *options: str) -> None:
        self.port = _free_port()
        self._binary = binary
        self._options = options
        self._process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def pid(self) -> int:
        """The server process's id."""
        assert self._process is not None
        return self._process.pid

    def start(self) -> None:
        """Start (or restart) the server on its port and wait until it answers (PING, or asks for a password)."""
        self._process = subprocess.Popen(
            [
                self._binary,
                *("--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
                *self._options,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not _answers(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on 127.0.0.1:{self.port}")
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop the server (SIGKILL: no goodbye to clients) and wait for it to exit."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGCONT)
            self._process.kill()
            self._process.wait(timeout=10)

    def freeze(self) -> None:
        """SIGSTOP the server: connections stay open but nothing answers."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT a frozen server."""
        assert self._process is not None
        self._process.send_signal(signal.SIGCONT)


@contextmanager
def running_server(*options: str) -> Iterator[RedisServer]:
    """A fresh server for one test, with redis-server ``options``; skips (or fails on CI) without the binary."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail(INSTALL_HINT)
        pytest.skip(INSTALL_HINT)
    server = RedisServer(binary, *options)
    try:
        yield server
    finally:
        server.stop()


@asynccontextmanager
async def open_client(port: int, **options: Any) -> AsyncIterator[coredis.Redis[Any]]:
    """An entered coredis client for the server on ``port``, with coredis ``options`` (``password=...``)."""
    client: coredis.Redis[Any] = coredis.Redis(host="127.0.0.1", port=port, **options)
    async with client:
        yield client


def server_fixture() -> Iterator[RedisServer]:
    """A test module's ``server`` fixture: ``server = pytest.fixture(server_fixture, name="server")``."""
    with running_server() as server:
        yield server


async def client_fixture(server: RedisServer) -> AsyncIterator[coredis.Redis[Any]]:
    """A test module's ``client`` fixture, entered in the test's Trio run."""
    async with open_client(server.port) as client:
        yield client


async def wait_until(check: Callable[[], Awaitable[bool]], *, seconds: float = 5.0) -> None:
    """Poll ``check`` until it holds; fail the test after ``seconds`` instead of hanging.

    What is watched lives in Redis or another process, so no Trio event can signal it.
    """
    with trio.fail_after(seconds):
        while not await check():  # noqa: ASYNC110
            await trio.sleep(0.005)


async def hold_until(
    limits: RedisLimits,
    release: trio.Event,
    weight: int,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Hold ``weight`` units of ``"db"`` until ``release`` is set; start it with ``nursery.start``."""
    async with limits.hold("db", weight=weight, call_id="blocker"):
        task_status.started()
        await release.wait()
