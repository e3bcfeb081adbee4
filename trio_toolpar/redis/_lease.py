"""One call's hold on a shared resource: wait your turn, keep the lease alive, give it back.

The life of a hold reads as a chain: `hold` → `_acquire` (queue, wait for a
wake or a computed time, take) → `_renew` (in the hold's own nursery while
the call runs) → `_leave` (shielded and bounded, whatever happened).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal, final

import attrs
import trio

from .._values._exceptions import LimitUnavailable
from ._errors import LimitMisconfigured, misconfigured_text
from ._scripts import ResourceKeys, ScriptArgs
from ._statistics import Tally
from ._store import Misconfigured, Store, StoreError, Unreachable

__all__ = ["Request", "hold"]

logger = logging.getLogger("trio_toolpar.redis")

_HOLDS_LEASE = 1  # the ACQUIRE script's states; 2 = took tokens only, nothing to hold


@final
@attrs.frozen(kw_only=True)
class Request:
    """What one hold asks of the store, and how to behave when it cannot ask.

    Args:
        resource: the resource's name (for messages).
        keys: the resource's keys.
        args: the scripts' arguments (token, weight, cap, lease, rate).
        lease: seconds a lease lasts without renewal.
        on_unavailable: ``"fail"`` raises `LimitUnavailable`; ``"local"`` runs without the shared limit.
    """

    resource: str
    keys: ResourceKeys
    args: ScriptArgs
    lease: float
    on_unavailable: Literal["fail", "local"]


@asynccontextmanager
async def hold(store: Store, request: Request, tally: Tally) -> AsyncIterator[None]:
    """Hold ``request.args.weight`` units of the resource for the body of the block.

    Raises:
        LimitMisconfigured: Redis answered that it is set up wrong for us (whatever ``on_unavailable`` says).
        LimitUnavailable: Redis is unreachable and ``on_unavailable="fail"``.
    """
    try:
        state = await _acquire(store, request)
    except Misconfigured as exc:
        raise LimitMisconfigured(misconfigured_text(exc, request.resource)) from exc
    except Unreachable as exc:
        if request.on_unavailable == "fail":
            raise LimitUnavailable(
                f"shared limits for {request.resource!r} are unavailable ({exc}), so the call did not start; "
                "check that Redis is up and reachable, or pass on_unavailable='local' to RedisLimits "
                "to run on local limits while it is down"
            ) from exc
        tally.fallbacks += 1
        logger.warning("shared limits for %r unavailable (%s); running on local limits only", request.resource, exc)
        yield
        return
    if state != _HOLDS_LEASE:
        yield
        return
    try:
        async with _renewing(store, request, tally):
            yield
    finally:
        await _leave(store, request, held=True)


@asynccontextmanager
async def _renewing(store: Store, request: Request, tally: Tally) -> AsyncIterator[None]:
    """Renew the lease in this block's own nursery; the body's exception comes out as itself."""
    renewal = trio.CancelScope()
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_renew, store, request, tally, renewal)
            try:
                yield
            finally:
                renewal.cancel()
    except BaseExceptionGroup as group:  # the nursery's wrapping; the renewal task never raises
        sole = _sole(group)
        if sole is None:
            raise
    else:
        return
    raise sole


def _sole(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    """The body's own exception inside a nursery's group, or None if the group holds several."""
    others = [exc for exc in group.exceptions if not isinstance(exc, trio.Cancelled)]
    if len(others) == 1:
        return others[0]
    return None if others else group.exceptions[0]


async def _acquire(store: Store, request: Request) -> int:
    """Queue for the units and wait until this call's turn; the ACQUIRE state.

    Waiting blocks on the call's own wake list (pushed by whoever frees units)
    or sleeps the time the script computed (tokens, pause); either is capped at
    half a lease so the waiter's place stays alive and dead holders are noticed.
    A call that gives up withdraws only what Redis may keep for it: its place
    in the queue, or whatever a request that got no answer may still take.
    """
    placed = False  # Redis may keep a place (or units) for this token
    taken = False
    try:
        while True:
            placed_before, placed = placed, True  # a request on its way may run
            try:
                state, wait_ms = await store.acquire(request.keys, request.args)
            except StoreError as exc:
                placed = placed_before or (isinstance(exc, Unreachable) and exc.in_doubt)
                raise
            if state:
                taken = True
                return state
            seconds = min(abs(wait_ms) / 1000, request.lease / 2)
            if wait_ms < 0:
                await store.wait_wake(request.keys.wake(request.args.token), seconds)
            else:
                await trio.sleep(seconds)
    finally:
        if placed and not taken:
            await _leave(store, request, held=False)


async def _renew(store: Store, request: Request, tally: Tally, scope: trio.CancelScope) -> None:
    """Renew the lease every third of it until cancelled; a lost lease is tallied, never raised."""
    with scope:
        renewed_at = trio.current_time()
        while True:
            await trio.sleep(request.lease / 3)
            try:
                if await store.renew(request.keys, request.args):
                    renewed_at = trio.current_time()
                    continue
                reason = "it expired before it was renewed"
            except StoreError as exc:
                if trio.current_time() - renewed_at < request.lease:
                    continue
                reason = f"Redis was unreachable for a whole lease ({exc})"
            tally.leases_lost += 1
            logger.warning("lost the shared lease of %r: %s; the call goes on", request.resource, reason)
            return


async def _leave(store: Store, request: Request, *, held: bool) -> None:
    """Give back the lease (``held``) or the place in the queue: shielded, bounded, never raising.

    If Redis cannot be told, either runs out by itself within one lease.
    """
    with trio.CancelScope(shield=True), trio.move_on_after(2 * store.timeout):
        try:
            await store.leave(request.keys, request.args)
        except StoreError as exc:
            if held:
                logger.warning(
                    "could not release the shared lease of %r (%s); it expires by itself", request.resource, exc
                )
            else:
                logger.debug("could not withdraw from the queue of %r (%s); the place expires", request.resource, exc)
