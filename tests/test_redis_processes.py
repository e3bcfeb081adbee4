"""Several OS processes share one Redis cap; a killed holder's lease runs out by itself.

Real time, because Redis's clock is real: the bounds are generous and only
say "not before the lease ran out" and "not long after".
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import coredis
import pytest
import trio
from redis_server import RedisServer, client_fixture, server_fixture, wait_until

from trio_toolpar.redis import RedisLimits

WORKER = Path(__file__).with_name("redis_worker.py")


server = pytest.fixture(server_fixture, name="server")
client = pytest.fixture(client_fixture, name="client")


def _worker(port: int, out: Path, *options: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, str(WORKER), str(port), str(out), *options])


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    """The most intervals open at one instant (an exit at the same instant as an entry closes first)."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    most = running = 0
    for _, step in events:
        running += step
        most = max(most, running)
    return most


def test_max_overlap_counts_nested_and_touching_intervals() -> None:
    assert max_overlap([(0, 3), (1, 2), (1.5, 4), (4, 5)]) == 3
    assert max_overlap([(0, 1), (1, 2)]) == 1


async def test_processes_together_never_exceed_the_shared_cap(server: RedisServer, tmp_path: Path) -> None:
    outs = [tmp_path / f"worker{n}.log" for n in range(4)]
    options = ("--tasks", "2", "--rounds", "4", "--hold", "0.1", "--cap", "3")
    workers = [_worker(server.port, out, *options) for out in outs]
    try:
        codes = [await trio.to_thread.run_sync(worker.wait, 30) for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
    assert codes == [0, 0, 0, 0]
    intervals = [tuple(map(float, line.split())) for out in outs for line in out.read_text().splitlines()]
    assert len(intervals) == 4 * 2 * 4
    # Recorded inside each hold, so each interval lies within its lease: a sound bound.
    assert max_overlap([(start, end) for start, end in intervals]) == 3


async def test_a_killed_holder_frees_its_units_when_its_lease_expires(
    server: RedisServer, client: coredis.Redis[Any], tmp_path: Path
) -> None:
    lease = 1.0
    out = tmp_path / "holder.log"
    holder = _worker(server.port, out, "--forever", "--cap", "1", "--lease", str(lease))
    try:

        async def held() -> bool:
            return out.exists()

        await wait_until(held, seconds=20)
        holder.send_signal(signal.SIGKILL)
        await trio.to_thread.run_sync(holder.wait, 10)
        killed = time.time()
    finally:
        holder.kill()
    ((_, expiry_ms),) = await client.zrange("test:sem:shared:holders", 0, -1, withscores=True)
    expires = float(expiry_ms) / 1000
    limits = RedisLimits(client, namespace="test", caps={"shared": 1}, lease=lease)
    async with limits.hold("shared", weight=1, call_id="next"):
        acquired = time.time()
    # Renewed every third of a lease, so the dead lease had at least two thirds left.
    assert expires - killed > lease / 3
    assert expires - 0.01 <= acquired <= expires + 1.0
