"""Sessions with the test server: a subprocess over stdio or streamable HTTP, or in this process."""

from __future__ import annotations

import functools
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import trio
from mcp import Client, ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from trio_toolpar.mcp import CancelGrace

from .toolbox import build_server

TOOLBOX = Path(__file__).with_name("toolbox.py")


@asynccontextmanager
async def stdio_session(*, grace: float | None = None) -> AsyncIterator[ClientSession]:
    """The toolbox server as a subprocess over stdio, initialized; its log goes nowhere.

    With ``grace``, the session's writes go through `CancelGrace` with that many seconds.
    """
    params = StdioServerParameters(command=sys.executable, args=[str(TOOLBOX), "stdio"])
    with open(os.devnull, "w", encoding="utf-8") as errlog:  # noqa: ASYNC230 - the null device never blocks
        async with stdio_client(params, errlog=errlog) as (read, write):
            writes = write if grace is None else CancelGrace(write, seconds=grace)
            async with ClientSession(read, writes) as session:
                await session.initialize()
                yield session


@asynccontextmanager
async def memory_session() -> AsyncIterator[ClientSession]:
    """The toolbox server in this process (it runs on Trio's clock, so MockClock applies)."""
    async with Client(build_server()) as client:
        yield client.session


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def http_session() -> AsyncIterator[ClientSession]:
    """The toolbox server as a subprocess serving streamable HTTP on 127.0.0.1, initialized."""
    port = free_port()
    async with trio.open_nursery() as nursery:
        command = [sys.executable, str(TOOLBOX), "http", str(port)]
        run = functools.partial(
            trio.run_process, command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
        )
        process: trio.Process = await nursery.start(run)
        try:
            await _until_listening(process, port)
            url = f"http://127.0.0.1:{port}/mcp"
            async with streamable_http_client(url) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                yield session
        finally:
            process.kill()


async def _until_listening(process: trio.Process, port: int) -> None:
    with trio.fail_after(20):
        while True:
            if process.returncode is not None:
                raise RuntimeError(f"the test server exited with code {process.returncode} before it listened")
            try:
                stream = await trio.open_tcp_stream("127.0.0.1", port)
            except OSError:
                await trio.sleep(0.05)
            else:
                await stream.aclose()
                return
