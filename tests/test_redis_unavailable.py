"""Redis unreachable: refused, stopped mid-turn, or frozen. Fail closed in bounded time, or run locally.

Every wait is inside ``trio.fail_after``: a hang fails the test instead of
stalling it, and the bound is the claim ("never a hang"), not a speed.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
from typing import Any

import coredis
import pytest
import trio
from redis_server import RedisServer, client_fixture, hold_until, open_client, server_fixture, wait_until

from trio_toolpar import LimitUnavailable
from trio_toolpar.redis import RedisLimits

server = pytest.fixture(server_fixture, name="server")
client = pytest.fixture(client_fixture, name="client")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # nothing listens there once the probe is closed


def _both(client: coredis.Redis[Any], **options: Any) -> tuple[RedisLimits, RedisLimits]:
    """The same limits failing closed and falling back to local limits."""
    return (
        RedisLimits(client, namespace="u", caps={"db": 2}, on_unavailable="fail", **options),
        RedisLimits(client, namespace="u", caps={"db": 2}, on_unavailable="local", **options),
    )


async def fails_closed_and_falls_back(failing: RedisLimits, local: RedisLimits, *, match: str | None = None) -> None:
    """``failing`` raises LimitUnavailable and ``local`` runs the call, each in bounded time."""
    with trio.fail_after(5), pytest.raises(LimitUnavailable, match=match):
        async with failing.hold("db", weight=1, call_id="new"):
            pytest.fail("the call must not start without its shared limit")
    started = False
    with trio.fail_after(5):
        async with local.hold("db", weight=1, call_id="new"):
            started = True
    assert started


async def test_refused_connections_fail_closed_or_run_locally(caplog: pytest.LogCaptureFixture) -> None:
    async with open_client(_closed_port()) as client:
        failing, local = _both(client)
        with caplog.at_level(logging.WARNING, logger="trio_toolpar.redis"):
            await fails_closed_and_falls_back(failing, local, match="on_unavailable='local'")
        assert "running on local limits only" in caplog.text
        with pytest.raises(LimitUnavailable, match="cannot read the shared limits of 'db'"):
            await local.statistics("db")


async def test_redis_stopped_mid_turn(server: RedisServer, client: coredis.Redis[Any]) -> None:
    failing, local = _both(client, lease=0.6, timeout=0.1)
    finished = False
    async with failing.hold("db", weight=1, call_id="running"):
        server.stop()
        await fails_closed_and_falls_back(failing, local)
        await trio.sleep(1.0)  # renewals fail for longer than a lease: the lease counts as lost
        finished = True  # ... and the running call was never cancelled
    assert finished
    server.start()
    failed_stats, local_stats = await failing.statistics("db"), await local.statistics("db")
    assert (failed_stats.leases_lost, failed_stats.fallbacks) == (1, 0)
    assert (local_stats.leases_lost, local_stats.fallbacks) == (0, 1)
    assert failed_stats.holders == 0  # a fresh server: the old lease is gone with it


async def test_a_frozen_redis_fails_a_waiter_in_bounded_time(server: RedisServer, client: coredis.Redis[Any]) -> None:
    failing, local = _both(client, lease=1.0, timeout=0.2)
    try:
        async with failing.hold("db", weight=2, call_id="blocker"):
            server.freeze()  # answers nothing, closes nothing
            await fails_closed_and_falls_back(failing, local, match="did not answer")
        # (leaving the block released the blocker in bounded time, though Redis never answered)
    finally:
        server.thaw()


async def test_a_waiter_already_queued_fails_when_redis_stops(server: RedisServer, client: coredis.Redis[Any]) -> None:
    failing, _ = _both(client, lease=1.0, timeout=0.2)
    async with trio.open_nursery() as nursery:
        await nursery.start(hold_until, failing, trio.Event(), 2)

        async def held() -> bool:
            return (await failing.statistics("db")).holders == 1

        await wait_until(held)
        outcome: list[str] = []

        async def waiter() -> None:
            try:
                async with failing.hold("db", weight=1, call_id="waiter"):
                    outcome.append("started")
            except LimitUnavailable:
                outcome.append("unavailable")

        nursery.start_soon(waiter)

        async def queued() -> bool:
            return (await failing.statistics("db")).waiters == 1

        await wait_until(queued)
        server.stop()

        async def decided() -> bool:
            return bool(outcome)

        await wait_until(decided)
        nursery.cancel_scope.cancel()
    assert outcome == ["unavailable"]


def test_importing_without_coredis_names_the_extra() -> None:
    probe = "import sys; sys.modules['coredis'] = None; import trio_toolpar.redis"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "pip install 'trio_toolpar[redis]'" in result.stderr


def test_the_core_never_imports_the_redis_edge() -> None:
    probe = "import sys, trio_toolpar; print(sorted(m for m in sys.modules if 'coredis' in m or m.endswith('.redis')))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"
