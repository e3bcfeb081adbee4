"""One resource-agnostic door to Redis: run a script or block on a wake list, bounded in time.

Every failure becomes a `StoreError`, so the layers above decide once what
each means: `Misconfigured` when Redis answered that it is set up wrong for
us (credentials, permissions, no scripting, a key of another kind), which
will not pass by itself; `Unreachable` for everything else (refused, reset,
no answer in time, another error reply), which may.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, final

import coredis
import trio
from coredis.exceptions import (
    AuthenticationError,
    AuthorizationError,
    RedisError,
    UnknownCommandError,
    WrongTypeError,
)

from . import _scripts
from ._scripts import ResourceKeys, ScriptArgs

__all__ = ["Misconfigured", "Store", "StoreError", "Unreachable", "bounded", "misconfigured"]

T = TypeVar("T")

# Redis times blocked clients out in its cron (10 times a second by default), so
# a BLPOP may return up to ~0.1 s late, later on a busy server: allow for it.
_BLOCK_SLACK = 0.5


class StoreError(Exception):
    """Redis gave no usable answer."""


class Unreachable(StoreError):
    """Redis gave no usable answer: refused, dropped, too slow, or an error reply.

    Args:
        message: what happened.
        in_doubt: the request got no answer in time, so Redis may still run
            it when it answers again; a refused or broken connection or an
            error reply ran nothing.
    """

    def __init__(self, message: str, *, in_doubt: bool = False) -> None:
        super().__init__(message)
        self.in_doubt = in_doubt


class Misconfigured(StoreError):
    """Redis answered that it is set up wrong for these limits; the message says what to fix."""


def misconfigured(exc: RedisError, *, user: str, commands: str) -> str | None:
    """What to fix, if ``exc`` says Redis is set up wrong for ``user`` (``RedisLimits``), which runs ``commands``."""
    said = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, AuthenticationError):
        return f"Redis refused the credentials ({said}); check the client's username and password"
    if isinstance(exc, AuthorizationError):
        return (
            f"Redis does not let this user run the commands of {user} ({said}); "
            f"grant its ACL {commands} on the namespace's keys"
        )
    if isinstance(exc, UnknownCommandError):
        return f"this Redis does not run the commands of {user} ({said}); {user} needs Lua scripting"
    if isinstance(exc, WrongTypeError):
        return (
            f"a key of {user} holds another kind of value ({said}); "
            f"something else writes under this namespace: give {user} a namespace of its own"
        )
    return None


def _limits_misconfigured(exc: RedisError, keys: ResourceKeys | None, args: ScriptArgs | None) -> str | None:
    """What to fix, if ``exc`` (to a script for ``keys`` and ``args``) says Redis is set up wrong for the limits."""
    if str(exc).startswith(_scripts.SETTINGS_DIFFER) and keys is not None and args is not None:
        agreed = str(exc)[len(_scripts.SETTINGS_DIFFER) :].strip()
        return (
            f"another process gives {keys.resource!r} {agreed}; this one gives it {args.settings}. "
            "Every process that shares a namespace must give a resource the same cap and rate: "
            "make them agree, or give this one a namespace of its own"
        )
    return misconfigured(exc, user="RedisLimits", commands="EVAL, EVALSHA, SCRIPT and BLPOP")


async def bounded(request: Awaitable[T], seconds: float, diagnose: Callable[[RedisError], str | None]) -> T:
    """``await request``, within ``seconds``; every failure as a `StoreError`.

    Raises:
        Misconfigured: Redis answered with an error that ``diagnose`` explains (what to fix).
        Unreachable: anything else: no answer in time (``in_doubt``), a refused or broken connection, an error reply.
    """
    try:
        with trio.fail_after(seconds):
            return await request
    except trio.TooSlowError as exc:
        raise Unreachable(f"Redis did not answer within {seconds:g} s", in_doubt=True) from exc
    except RedisError as exc:
        fix = diagnose(exc)
        if fix is not None:
            raise Misconfigured(fix) from exc
        raise Unreachable(f"{type(exc).__name__}: {exc}") from exc
    except OSError as exc:
        raise Unreachable(f"{type(exc).__name__}: {exc}") from exc


def _ints(reply: object, count: int) -> list[int]:
    if not isinstance(reply, list) or len(reply) < count:
        raise Unreachable(f"unexpected reply from a limits script: {reply!r:.200}")
    return [int(item) for item in reply[:count]]


def _text(item: object) -> str:
    return item.decode() if isinstance(item, bytes) else str(item)


@final
class Store:
    """The limits scripts, registered on one coredis client, each call bounded by ``timeout``.

    Args:
        client: an entered coredis client (``async with client:``).
        timeout: seconds one round trip may take before the store counts as unreachable.
    """

    def __init__(self, client: coredis.Redis[Any], *, timeout: float) -> None:
        self._client = client
        self._timeout = timeout
        self._acquire = client.register_script(_scripts.ACQUIRE)
        self._leave = client.register_script(_scripts.LEAVE)
        self._renew = client.register_script(_scripts.RENEW)
        self._statistics = client.register_script(_scripts.STATISTICS)
        self._pause = client.register_script(_scripts.PAUSE)

    @property
    def timeout(self) -> float:
        """Seconds one round trip may take."""
        return self._timeout

    async def acquire(self, keys: ResourceKeys, args: ScriptArgs) -> tuple[int, int]:
        """Try to take the units (and tokens); ``(state, wait_ms)`` as `_scripts.ACQUIRE` says."""
        state, wait_ms = _ints(await self._run(self._acquire, keys, args), 2)
        return state, wait_ms

    async def leave(self, keys: ResourceKeys, args: ScriptArgs) -> bool:
        """Release a lease or give up a place in the queue, and wake who fits; whether it held a lease."""
        return _ints([await self._run(self._leave, keys, args)], 1)[0] == 1

    async def renew(self, keys: ResourceKeys, args: ScriptArgs) -> bool:
        """Extend a lease by ``args.lease_ms``; False if it had already expired."""
        return _ints([await self._run(self._renew, keys, args)], 1)[0] == 1

    async def statistics(self, keys: ResourceKeys, args: ScriptArgs) -> tuple[int, int, int, float | None, float]:
        """``(holders, units held, waiters, tokens or None, paused until in ms or 0)``."""
        reply = await self._run(self._statistics, keys, args)
        holders, units, waiters = _ints(reply, 3)
        assert isinstance(reply, list)  # checked by _ints
        tokens = _text(reply[3])
        return holders, units, waiters, (float(tokens) if tokens else None), float(_text(reply[4]))

    async def pause(self, keys: ResourceKeys, args: ScriptArgs) -> float:
        """Hold back every start until ``args.extra_ms`` from now; the Redis time (ms) it ends."""
        return float(_text(await self._run(self._pause, keys, args)))

    async def wait_wake(self, key: str, seconds: float) -> None:
        """Block until ``key`` is pushed to or ``seconds`` pass (a server-side wait, not a poll)."""
        await self._bounded(self._client.blpop([key], round(seconds, 3)), seconds + self._timeout + _BLOCK_SLACK)

    async def _run(self, script: Any, keys: ResourceKeys, args: ScriptArgs) -> object:
        return await self._bounded(script(keys=keys.all(), args=args.argv(keys)), self._timeout, keys, args)

    async def _bounded(
        self, request: Any, seconds: float, keys: ResourceKeys | None = None, args: ScriptArgs | None = None
    ) -> object:
        reply: object = await bounded(request, seconds, lambda exc: _limits_misconfigured(exc, keys, args))
        return reply
