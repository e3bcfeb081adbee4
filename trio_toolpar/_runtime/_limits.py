"""Limits a user configures besides caps: `Rate`, and `SharedLimits` held outside the process."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol, final, runtime_checkable

import attrs

from .._values._validate import attrs_validator, check_positive_number, check_whole_number

__all__ = ["Rate", "SharedLimits"]


@final
@attrs.frozen(kw_only=True)
class Rate:
    """A token bucket: at most ``burst`` starts at once, refilled at ``per_second``.

    ``Rate(per_second=2, burst=2)`` lets two calls start at once, then one
    every 0.5 s. A call of weight ``w`` takes ``w`` tokens.

    Args:
        per_second: tokens added per second (the sustained rate).
        burst: the bucket's size (the most tokens held; it starts full).
    """

    per_second: float = attrs.field(validator=attrs_validator(check_positive_number, finite=True))
    burst: int = attrs.field(default=1, validator=attrs_validator(check_whole_number))


@runtime_checkable
class SharedLimits(Protocol):
    """Limits shared with other processes (for example `trio_toolpar.redis.RedisLimits`).

    The executor asks `governs` which resources these limits cover. A call
    on such a resource enters `hold` after it was granted its local
    capacity, around each attempt, and leaves it when the attempt ends (so
    it holds nothing during a retry's backoff).
    """

    def governs(self, resource: str) -> bool:
        """Whether calls on ``resource`` must `hold` a shared slot."""
        ...

    def hold(self, resource: str, *, weight: int, call_id: str) -> AbstractAsyncContextManager[None]:
        """Wait for ``weight`` units of ``resource``; hold them until the block exits.

        Raises:
            LimitUnavailable: the store cannot be reached and the limits fail closed.
        """
        ...
