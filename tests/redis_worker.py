"""A worker process for the shared-limits tests and bench: hold a Redis-shared cap, log when.

Usage: ``python redis_worker.py PORT OUT [--tasks N --rounds R --hold S --cap C --lease L --forever]``

Each of ``N`` Trio tasks enters ``RedisLimits.hold`` ``R`` times and holds for
``S`` seconds; every hold appends ``enter exit`` (``time.time()``) to ``OUT``
once it ends. With ``--forever`` one task acquires, writes ``held`` to ``OUT``
and sleeps until the process is killed.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import coredis
import trio

from trio_toolpar.redis import RedisLimits


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--tasks", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--hold", type=float, default=0.0)
    parser.add_argument("--cap", type=int, default=3)
    parser.add_argument("--lease", type=float, default=10.0)
    parser.add_argument("--namespace", default="test")
    parser.add_argument("--forever", action="store_true")
    return parser.parse_args()


async def _holder(limits: RedisLimits, options: argparse.Namespace, task: int, log: list[str]) -> None:
    for round_ in range(options.rounds):
        async with limits.hold("shared", weight=1, call_id=f"t{task}r{round_}"):
            entered = time.time()
            await trio.sleep(options.hold)
            log.append(f"{entered!r} {time.time()!r}\n")


async def main(options: argparse.Namespace) -> None:
    client: coredis.Redis[bytes] = coredis.Redis(host="127.0.0.1", port=options.port)
    async with client:
        limits = RedisLimits(client, namespace=options.namespace, caps={"shared": options.cap}, lease=options.lease)
        if options.forever:
            async with limits.hold("shared", weight=1, call_id="forever"):
                options.out.write_text("held\n")
                await trio.sleep_forever()
        log: list[str] = []
        async with trio.open_nursery() as nursery:
            for task in range(options.tasks):
                nursery.start_soon(_holder, limits, options, task, log)
        options.out.write_text("".join(log))


if __name__ == "__main__":
    trio.run(main, _options())
