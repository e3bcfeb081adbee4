"""One call's hold on a shared resource: wait your turn, keep the lease alive, give it back.

The life of a hold reads as a chain: `hold` → `_acquire` (queue, wait for a
wake or a computed time, take) → `_keeping` and `_renew` (in the hold's own
nursery while the call runs; a lease lost cancels the call or is only
counted, as ``on_lease_lost`` says) → `_leave` (shielded and bounded,
whatever happened).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Literal, final

import attrs
import trio

from .._values._exceptions import LimitUnavailable
from ._errors import LimitMisconfigured, misconfigured_text
from ._scripts import ResourceKeys, ScriptArgs
from ._statistics import Tally
from ._store import Misconfigured, Store, StoreError, Unreachable

__all__ = ["Request", "beside", "hold"]

logger = logging.getLogger("trio_toolpar.redis")

_HOLDS_LEASE = 1  # the ACQUIRE script's states; 2 = took tokens only, nothing to hold


@final
@attrs.frozen(kw_only=True)
class Request:
    """What one hold asks of the store, and how to behave when it cannot ask or loses its lease.

    Args:
        resource: the resource's name (for messages).
        keys: the resource's keys.
        args: the scripts' arguments (token, weight, cap, lease, rate).
        lease: seconds a lease lasts without renewal.
        on_unavailable: ``"fail"`` raises `LimitUnavailable`; ``"local"`` runs without the shared limit.
        on_lease_lost: ``"cancel"`` cancels the call before its lease could
            expire unrenewed; ``"finish"`` lets it run on, counted and logged.
    """

    resource: str
    keys: ResourceKeys
    args: ScriptArgs
    lease: float
    on_unavailable: Literal["fail", "local"]
    on_lease_lost: Literal["cancel", "finish"]


@asynccontextmanager
async def hold(store: Store, request: Request, tally: Tally) -> AsyncIterator[None]:
    """Hold ``request.args.weight`` units of the resource for the body of the block.

    Raises:
        LimitMisconfigured: Redis answered that it is set up wrong for us (whatever ``on_unavailable`` says).
        LimitUnavailable: Redis is unreachable and ``on_unavailable="fail"``; or the
            lease was lost while the body ran and ``on_lease_lost="cancel"`` (the body was cancelled).
    """
    try:
        state, valid_until = await _acquire(store, request)
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
    lost = _Lost(request, tally)
    try:
        async with _keeping(store, request, valid_until, lost):
            yield
    finally:
        if not await _leave(store, request, held=True):
            lost.found("it had expired before the call ended", running=False)


@final
class _Lost:
    """Whether, and why, one held lease was lost; counted and logged once."""

    __slots__ = ("_request", "_tally", "reason")

    def __init__(self, request: Request, tally: Tally) -> None:
        self._request = request
        self._tally = tally
        self.reason: str | None = None

    def found(self, reason: str, *, running: bool = True) -> bool:
        """Record that the lease is lost (or may be) for ``reason``; False if it was already."""
        if self.reason is not None:
            return False
        self.reason = reason
        self._tally.leases_lost += 1
        if not running:
            what = "the shared cap may have been exceeded before the call ended"
        elif self._request.on_lease_lost == "cancel":
            what = "the call is cancelled (on_lease_lost='cancel')"
        else:
            what = "the call goes on (on_lease_lost='finish'), so the shared cap may be exceeded until it ends"
        logger.warning("lost the shared lease of %r: %s; %s", self._request.resource, reason, what)
        return True


@asynccontextmanager
async def _keeping(store: Store, request: Request, valid_until: float, lost: _Lost) -> AsyncIterator[None]:
    """Renew the lease beside the block; the body's exception comes out as itself.

    With ``on_lease_lost="cancel"`` the body runs in a scope that the renewal
    cancels when the lease is lost; the block then raises `LimitUnavailable`.
    """
    body = trio.CancelScope()

    def on_lost(reason: str) -> None:
        if lost.found(reason) and request.on_lease_lost == "cancel":
            body.cancel()

    async with beside(functools.partial(_renew, store, request, valid_until, on_lost), body):
        yield
    if body.cancelled_caught:
        raise LimitUnavailable(
            f"the shared lease of {request.resource!r} was lost while the call ran ({lost.reason}), "
            "so the call was cancelled before another process could take its units (on_lease_lost='cancel'); "
            "pass on_lease_lost='finish' to RedisLimits to let such calls run on"
        )


@asynccontextmanager
async def beside(keeper: Callable[[trio.CancelScope], Awaitable[None]], body: trio.CancelScope) -> AsyncIterator[None]:
    """Run the block in ``body`` with ``keeper(scope)`` beside it, in this block's own nursery.

    ``keeper`` runs in ``scope``, which is cancelled when the block ends, and
    never raises; it may cancel ``body``. The block's own exception comes out
    as itself, not wrapped in the nursery's group.
    """
    scope = trio.CancelScope()
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(keeper, scope)
            try:
                with body:
                    yield
            finally:
                scope.cancel()
    except BaseExceptionGroup as group:  # the nursery's wrapping; the keeper never raises
        found = _sole(group)
        if found is None:
            raise
    else:
        found = None
    if found is not None:
        raise found  # outside the handler, so that it is not chained to the group


def _sole(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    """The body's own exception inside a nursery's group, or None if the group holds several."""
    others = [exc for exc in group.exceptions if not isinstance(exc, trio.Cancelled)]
    if len(others) == 1:
        return others[0]
    return None if others else group.exceptions[0]


async def _acquire(store: Store, request: Request) -> tuple[int, float]:
    """Queue for the units and wait until this call's turn: the ACQUIRE state, and until when a lease is sure.

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
            sent = trio.current_time()
            try:
                state, wait_ms = await store.acquire(request.keys, request.args)
            except StoreError as exc:
                placed = placed_before or (isinstance(exc, Unreachable) and exc.in_doubt)
                raise
            if state:
                taken = True
                return state, sent + request.lease  # Redis set the lease after we sent: it runs at least this long
            seconds = min(abs(wait_ms) / 1000, request.lease / 2)
            if wait_ms < 0:
                await store.wait_wake(request.keys.wake(request.args.token), seconds)
            else:
                await trio.sleep(seconds)
    finally:
        if placed and not taken:
            await _leave(store, request, held=False)


async def _renew(
    store: Store, request: Request, valid_until: float, on_lost: Callable[[str], None], scope: trio.CancelScope
) -> None:
    """Renew the lease every third of it until cancelled; tell ``on_lost`` once if it is lost, and stop.

    A lease is sure until ``lease`` seconds after the last renewal that Redis
    confirmed was *sent* (Redis set the new expiry after that, on a clock that
    runs at the same rate). It counts as lost when a renewal finds it gone, or
    when that time comes without another confirmed renewal; with
    ``on_lease_lost="cancel"`` one round trip's ``timeout`` sooner, so that the
    call is cancelled before any other process can take its units. After a
    failed renewal the next is tried sooner, every ``timeout``.
    """
    margin = store.timeout if request.on_lease_lost == "cancel" else 0.0
    every = request.lease / 3
    failure: StoreError | None = None
    with scope:
        pause = every
        while True:
            with trio.move_on_at(valid_until - margin):
                await trio.sleep(pause)
                sent = trio.current_time()
                try:
                    kept = await store.renew(request.keys, request.args)
                except StoreError as exc:
                    failure, pause = exc, min(every, store.timeout)
                    continue
                if kept:
                    valid_until, pause, failure = sent + request.lease, every, None
                    continue
                on_lost("it had expired before it was renewed")
                return
            if scope.cancel_called:
                return  # the call ended just as its lease ran short: nothing was lost
            unconfirmed = trio.current_time() - (valid_until - request.lease)
            on_lost(f"no renewal was confirmed for {unconfirmed:.2g} s ({failure or 'no answer yet'})")
            return


async def _leave(store: Store, request: Request, *, held: bool) -> bool:
    """Give back the lease (``held``) or the place in the queue: shielded, bounded, never raising.

    If Redis cannot be told, either runs out by itself within one lease.

    Returns:
        False if Redis said a held lease was already gone (it had expired); True otherwise.
    """
    with trio.CancelScope(shield=True), trio.move_on_after(2 * store.timeout):
        try:
            return await store.leave(request.keys, request.args) or not held
        except StoreError as exc:
            if held:
                logger.warning(
                    "could not release the shared lease of %r (%s); it expires by itself", request.resource, exc
                )
            else:
                logger.debug("could not withdraw from the queue of %r (%s); the place expires", request.resource, exc)
    return True
