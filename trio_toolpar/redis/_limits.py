"""`RedisLimits`: caps and rates shared by every process that points at one Redis."""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal, final

import attrs
import coredis

from .._runtime._limits import Rate
from .._values._exceptions import LimitUnavailable
from .._values._validate import check_choice, check_name, check_positive_number, check_type, check_whole_number
from . import _lease
from ._errors import LimitMisconfigured, misconfigured_text
from ._scripts import ResourceKeys, ScriptArgs
from ._statistics import RedisLimitStatistics, Tally
from ._store import Misconfigured, Store, Unreachable

__all__ = ["RedisLimits"]

_MODES = ("fail", "local")
_LOST = ("cancel", "finish")


def _positive_seconds(name: str, value: object) -> float:
    return float(check_positive_number(name, value, finite=True, unit="seconds"))


def _checked_caps(caps: object) -> dict[str, int]:
    given = check_type("caps", caps, Mapping, expected="a mapping of resource names to caps")
    for resource, cap in given.items():
        check_whole_number(f"caps[{check_name('a key of caps', resource)!r}]", cap)
    return dict(given)


def _checked_rates(rates: object) -> dict[str, Rate]:
    given = check_type("rates", rates, Mapping, expected="a mapping of resource names to Rate(...)")
    for resource, rate in given.items():
        check_type(f"rates[{check_name('a key of rates', resource)!r}]", rate, Rate, expected="a trio_toolpar.Rate")
    return dict(given)


def _settings(cap: int | None, rate: Rate | None) -> str:
    """A resource's cap and rate as text (``cap 3, no rate``): what every process sharing it must agree on."""
    capped = "no cap" if cap is None else f"cap {cap}"
    rated = "no rate" if rate is None else f"rate {float(rate.per_second)!r}/s burst {rate.burst}"
    return f"{capped}, {rated}"


@final
class RedisLimits:
    """Caps and token buckets held in Redis, so many worker processes share them.

    A cap is a lease-based semaphore: a call takes ``weight`` units, all or
    nothing, for as long as it runs, and renews its lease while it does; a
    process that dies frees its units when the lease runs out. Waiters are
    served strictly in arrival order. A rate is a token bucket a call takes
    ``weight`` tokens from. Every script uses Redis's own clock.

    Examples:
        ```python
        client = coredis.Redis(host="127.0.0.1", port=6379)
        async with client:
            rates = {"datadog": Rate(per_second=5, burst=2)}
            limits = RedisLimits(client, caps={"datadog": 3}, rates=rates)
            executor = Executor(registry, shared_limits=limits)
        ```

    Args:
        client: a coredis client, entered (``async with client:``) by a task
            that outlives the calls. Leave its ``stream_timeout`` unset (or
            above half the lease): waiters block server-side for up to that long.
        namespace: prefix of every key (``{namespace}:sem:{resource}:...``);
            processes share limits exactly when they share Redis and namespace.
        caps: resource -> units shared by all processes. Every process must
            configure the same caps and rates.
        rates: resource -> `trio_toolpar.Rate` shared by all processes.
        lease: seconds a holder's lease lasts without renewal (renewed every
            third of it); a crashed holder's units are free after at most this.
        on_unavailable: when Redis cannot be reached, ``"fail"`` (the default,
            fail closed) makes `hold` raise `trio_toolpar.LimitUnavailable`;
            ``"local"`` runs the call on the executor's local limits only and
            counts it in `RedisLimitStatistics.fallbacks`. A misconfigured
            Redis (wrong password, say) raises `LimitMisconfigured` either way.
        on_lease_lost: when a running call's lease cannot be renewed (Redis
            stalled or unreachable for about a lease), ``"finish"`` (the
            default) lets the call run on, logged and counted in
            `RedisLimitStatistics.leases_lost`: the cap may then be exceeded by
            at most the calls whose leases were lost, until they end.
            ``"cancel"`` cancels the call ``timeout`` before its lease could
            expire, so that no other process takes its units while it runs;
            the call ends ``error``/``limit_unavailable``.
        timeout: seconds one Redis round trip may take before Redis counts as
            unreachable (default: the smaller of 1 s and a quarter of the lease).

    Raises:
        ValueError: an option is out of range, or nothing is governed.
        TypeError: an option of the wrong type (a rate that is not a
            `trio_toolpar.Rate`), or a client that cannot run scripts.
    """

    def __init__(
        self,
        client: coredis.Redis[Any],
        *,
        namespace: str = "trio_toolpar",
        caps: Mapping[str, int] | None = None,
        rates: Mapping[str, Rate] | None = None,
        lease: float = 10.0,
        on_unavailable: Literal["fail", "local"] = "fail",
        on_lease_lost: Literal["cancel", "finish"] = "finish",
        timeout: float | None = None,
    ) -> None:
        if not callable(getattr(client, "register_script", None)):
            raise TypeError(f"client must be a coredis.Redis client, not {client!r}")
        check_name("namespace", namespace)
        self._caps = _checked_caps(caps or {})
        self._rates = _checked_rates(rates or {})
        if not self._caps and not self._rates:
            raise ValueError("RedisLimits governs no resource: give caps={'name': n} and/or rates={'name': Rate(...)}")
        self._lease = _positive_seconds("lease", lease)
        check_choice("on_unavailable", on_unavailable, _MODES)
        self._on_unavailable: Literal["fail", "local"] = on_unavailable
        check_choice("on_lease_lost", on_lease_lost, _LOST)
        self._on_lease_lost: Literal["cancel", "finish"] = on_lease_lost
        self._timeout = min(1.0, self._lease / 4) if timeout is None else _positive_seconds("timeout", timeout)
        if self._timeout >= self._lease / 2:
            raise ValueError(
                f"timeout ({self._timeout:g} s) must be under half the lease ({self._lease:g} s), "
                "or a slow renewal could outlive the lease; lower timeout or raise lease"
            )
        self._namespace = namespace
        self._settings = {r: _settings(self._caps.get(r), self._rates.get(r)) for r in {*self._caps, *self._rates}}
        self._store = Store(client, timeout=self._timeout)
        self._tallies: dict[str, Tally] = {}

    @property
    def namespace(self) -> str:
        """The prefix of every key these limits use."""
        return self._namespace

    def governs(self, resource: str) -> bool:
        """Whether ``resource`` has a shared cap or rate here."""
        return resource in self._caps or resource in self._rates

    def hold(self, resource: str, *, weight: int = 1, call_id: str = "") -> AbstractAsyncContextManager[None]:
        """Wait for ``weight`` units (and tokens) of ``resource``; hold them until the block exits.

        Waiting is in arrival order across every process. Cancelling the wait
        removes the place in the queue; leaving the block releases the units
        (shielded, bounded by ``timeout``).

        Raises:
            LimitMisconfigured: Redis answered that it is set up wrong for these limits (wrong
                credentials, say): raised whatever ``on_unavailable`` says.
            LimitUnavailable: Redis is unreachable and ``on_unavailable="fail"``.
            ValueError: ``resource`` is not governed, or ``weight`` can never fit.
        """
        args = self._args(resource, weight, token=f"{call_id[:64]}#{secrets.token_hex(8)}")
        request = _lease.Request(
            resource=resource,
            keys=ResourceKeys.of(self._namespace, resource),
            args=args,
            lease=self._lease,
            on_unavailable=self._on_unavailable,
            on_lease_lost=self._on_lease_lost,
        )
        return _lease.hold(self._store, request, self._tally(resource))

    async def statistics(self, resource: str) -> RedisLimitStatistics:
        """The resource's holders, units, waiters, tokens and pause as Redis has them now.

        Raises:
            LimitMisconfigured: Redis answered that it is set up wrong for these limits.
            LimitUnavailable: Redis is unreachable (whatever ``on_unavailable`` says).
            ValueError: ``resource`` is not governed.
        """
        args = self._args(resource, 1, token="")
        try:
            holders, units, waiters, tokens, paused_ms = await self._store.statistics(
                ResourceKeys.of(self._namespace, resource), args
            )
        except Misconfigured as exc:
            raise LimitMisconfigured(misconfigured_text(exc, resource)) from exc
        except Unreachable as exc:
            raise LimitUnavailable(f"cannot read the shared limits of {resource!r}: {exc}") from exc
        tally = self._tally(resource)
        return RedisLimitStatistics(
            resource=resource,
            cap=self._caps.get(resource),
            holders=holders,
            units_held=units,
            waiters=waiters,
            tokens=tokens,
            paused_until=paused_ms / 1000 if paused_ms else None,
            fallbacks=tally.fallbacks,
            leases_lost=tally.leases_lost,
        )

    async def pause(self, resource: str, seconds: float) -> float:
        """Hold back every process's new starts on ``resource`` for ``seconds`` (for a 429's Retry-After).

        Calls already running go on; a shorter pause never cuts a longer one.

        Returns:
            The Redis time (Unix seconds) the pause ends.

        Raises:
            LimitMisconfigured: Redis answered that it is set up wrong for these limits.
            LimitUnavailable: Redis is unreachable.
            ValueError: ``resource`` is not governed, or ``seconds`` is not positive.
        """
        length = _positive_seconds("seconds", seconds)
        args = attrs.evolve(self._args(resource, 1, token=""), extra_ms=math.ceil(length * 1000))
        try:
            until_ms = await self._store.pause(ResourceKeys.of(self._namespace, resource), args)
        except Misconfigured as exc:
            raise LimitMisconfigured(misconfigured_text(exc, resource)) from exc
        except Unreachable as exc:
            raise LimitUnavailable(f"cannot pause the shared limits of {resource!r}: {exc}") from exc
        return until_ms / 1000

    def _args(self, resource: str, weight: int, *, token: str) -> ScriptArgs:
        if not self.governs(resource):
            governed = sorted(set(self._caps) | set(self._rates))
            raise ValueError(f"RedisLimits does not govern {resource!r}; it governs {governed}")
        check_whole_number("weight", weight)
        cap, rate = self._caps.get(resource), self._rates.get(resource)
        if cap is not None and weight > cap:
            raise ValueError(f"weight {weight} can never fit the shared cap {cap} of {resource!r}; raise the cap")
        if rate is not None and weight > rate.burst:
            raise ValueError(
                f"weight {weight} exceeds the burst {rate.burst} of the rate of {resource!r}; raise the burst"
            )
        return ScriptArgs(
            token=token,
            weight=weight,
            cap=cap,
            lease_ms=math.ceil(self._lease * 1000),
            per_ms=0.0 if rate is None else rate.per_second / 1000,
            burst=1 if rate is None else rate.burst,
            settings=self._settings[resource],
        )

    def _tally(self, resource: str) -> Tally:
        return self._tallies.setdefault(resource, Tally())
