"""What `RedisLimits.statistics` reports, and the per-process tallies behind its last two fields."""

from __future__ import annotations

from typing import final

import attrs

__all__ = ["RedisLimitStatistics", "Tally"]


@final
@attrs.frozen(kw_only=True)
class RedisLimitStatistics:
    """One resource's shared limits as Redis holds them now, plus this process's tallies.

    Attributes:
        resource: the resource these figures are about.
        cap: the shared cap this process was configured with, or None.
        holders: leases held now, by every process.
        units_held: the units those leases take (the sum of their weights).
        waiters: calls waiting for their turn, by every process.
        tokens: tokens in the bucket now (None if the resource has no rate).
        paused_until: the Redis time (Unix seconds) until which no call starts,
            or None if the resource is not paused.
        fallbacks: calls this process ran on local limits only because Redis
            was unreachable (``on_unavailable="local"``).
        leases_lost: leases of this process lost while their call ran
            (a renewal found the lease gone, none was confirmed for about a
            lease, or it was gone when the call ended): with
            ``on_lease_lost="cancel"`` those calls were cancelled, with
            ``"finish"`` they ran on.
    """

    resource: str
    cap: int | None
    holders: int
    units_held: int
    waiters: int
    tokens: float | None
    paused_until: float | None
    fallbacks: int
    leases_lost: int


@final
@attrs.define
class Tally:
    """Counts of one resource's local events, kept by this process only."""

    fallbacks: int = 0
    leases_lost: int = 0
