"""A token bucket on Trio's clock, and the pause a rate-limited resource takes."""

from __future__ import annotations

import math

from ._limits import Rate

__all__ = ["Bucket"]


class Bucket:
    """Tokens for starting calls on one resource: ``burst`` at most, refilled at ``rate.per_second``.

    The bucket also carries the resource's backpressure: `pause` stops every
    start until a time (a ``Retry-After``), and each pause in a row halves the
    refill rate, down to a sixteenth, while each call that then succeeds
    speeds it up again by a quarter. Without a configured `Rate` the
    bucket never runs out, but it still pauses.
    """

    def __init__(self, rate: Rate | None, now: float) -> None:
        self.rate = rate
        self._tokens = float(rate.burst) if rate is not None else math.inf
        self._stamp = now
        self.paused_until = -math.inf
        self.slowdown = 1.0
        """The factor the refill rate is divided by while the vendor keeps refusing (1: full speed)."""

    def _refill(self, now: float) -> None:
        if self.rate is not None and now > self._stamp:
            per_second = self.rate.per_second / self.slowdown
            self._tokens = min(float(self.rate.burst), self._tokens + (now - self._stamp) * per_second)
        self._stamp = max(self._stamp, now)

    def tokens(self, now: float) -> float:
        """The tokens available at ``now``."""
        self._refill(now)
        return self._tokens

    def ready_at(self, weight: int, now: float) -> float:
        """The earliest time at which ``weight`` tokens are there and no pause holds (``now`` if they are)."""
        self._refill(now)
        at = max(now, self.paused_until)
        if self._tokens >= weight or self.rate is None:
            return at
        per_second = self.rate.per_second / self.slowdown
        return max(at, now + (weight - self._tokens) / per_second)

    def take(self, weight: int, now: float) -> None:
        """Spend ``weight`` tokens (which `ready_at` said are there)."""
        self._refill(now)
        self._tokens -= weight

    def pause(self, until: float, now: float) -> None:
        """Start nothing before ``until``, and slow the refill down (the vendor refused a call)."""
        self._refill(now)
        self.paused_until = max(self.paused_until, until)
        self.slowdown = min(16.0, self.slowdown * 2)

    def recovered(self, now: float) -> None:
        """A call succeeded: speed the refill back up by a quarter."""
        if self.slowdown > 1.0:
            self._refill(now)
            self.slowdown = max(1.0, self.slowdown * 0.75)
