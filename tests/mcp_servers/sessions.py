"""Sessions with the test server: a subprocess over stdio or streamable HTTP, or in this process."""

from __future__ import annotations

import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import trio
from mcp import Client, ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from .toolbox import build_server

TOOLBOX = Path(__file__).with_name("toolbox.py")


@asynccontextmanager
async def stdio_session(*, errlog_path: Path | None = None) -> AsyncIterator[ClientSession]:
    """The toolbox server as a subprocess over stdio, initialized."""
    params = StdioServerParameters(command=sys.executable, args=[str(TOOLBOX), "stdio"])
    with open(errlog_path or Path("/dev/null"), "w", encoding="utf-8") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
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
        process = await nursery.start(
            lambda task_status=trio.TASK_STATUS_IGNORED: trio.run_process(
                [sys.executable, str(TOOLBOX), "http", str(port)],
                stdout=trio.DEVNULL,
                stderr=trio.DEVNULL,
                check=False,
                task_status=task_status,
            )
        )
        try:
            await _until_listening(port)
            url = f"http://127.0.0.1:{port}/mcp"
            async with streamable_http_client(url) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                yield session
        finally:
            process.kill()


async def _until_listening(port: int) -> None:
    with trio.fail_after(30):
        while True:
            try:
                stream = await trio.open_tcp_stream("127.0.0.1", port)
            except OSError:
                await trio.sleep(0.05)
            else:
                await stream.aclose()
                return
