"""A turn's claim in Redis: a token with a time to live, renewed while the run holds it.

A holder that dies stops renewing, and its claim expires one time to live
after the last renewal: until then a resume gets `TurnBusy`. A holder that
cannot confirm a renewal in time (Redis stalled or unreachable) cancels its
own run one round trip before the claim could expire, so that no other
process resumes the turn while this one still runs it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import trio

from ._errors import JournalUnavailable
from ._lease import beside

__all__ = ["Renewal", "keeping"]

logger = logging.getLogger("trio_toolpar.redis")

Renewal = Callable[[], Awaitable[bool]]
"""Extend the claim by its time to live; False if it was already lost."""


@asynccontextmanager
async def keeping(
    renew: Renewal, *, turn_id: str, ttl: float, timeout: float, valid_until: float
) -> AsyncIterator[None]:
    """Run the block while the claim is renewed every third of ``ttl``, beside it.

    Raises:
        JournalUnavailable: the claim was lost (or could not be confirmed in
            time) while the block ran; the block was cancelled.
    """
    body = trio.CancelScope()
    lost: list[str] = []

    def on_lost(reason: str) -> None:
        lost.append(reason)
        body.cancel()

    async with beside(functools.partial(_renew, renew, ttl, timeout, valid_until, on_lost), body):
        yield
    if body.cancelled_caught:
        raise JournalUnavailable(
            f"the claim of turn {turn_id!r} was lost while it ran ({lost[0]}), so the run was cancelled "
            "before another process could resume the turn; resume it once Redis answers again"
        )


async def _renew(
    renew: Renewal,
    ttl: float,
    timeout: float,
    valid_until: float,
    on_lost: Callable[[str], None],
    scope: trio.CancelScope,
) -> None:
    """Renew every third of ``ttl`` until cancelled; tell ``on_lost`` once, ``timeout`` before the claim could lapse.

    The claim is sure until ``ttl`` after the last renewal that Redis
    confirmed was *sent*. After a failed renewal the next is tried every ``timeout``.
    """
    every = ttl / 3
    failure: JournalUnavailable | None = None
    pause = every
    with scope:
        while True:
            with trio.move_on_at(valid_until - timeout):
                await trio.sleep(pause)
                sent = trio.current_time()
                try:
                    kept = await renew()
                except JournalUnavailable as exc:
                    failure, pause = exc, min(every, timeout)
                    logger.warning("could not renew a turn's claim (%s); trying again in %.2g s", exc, pause)
                    continue
                if kept:
                    valid_until, pause, failure = sent + ttl, every, None
                    continue
                on_lost("it had expired before it was renewed")
                return
            if scope.cancel_called:
                return  # the run ended just as its claim ran short: nothing was lost
            on_lost(f"no renewal was confirmed in time: {failure or 'no answer yet'}")
            return
