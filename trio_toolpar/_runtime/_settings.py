"""What every turn of an executor shares: `Settings`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, final

import attrs

from .._tools._registry import Approver, Registry
from ._instrument import Delivery
from ._limits import SharedLimits
from ._policy import Policy, stops_single_calls

__all__ = ["Schedule", "Settings"]

Schedule = Literal["waves", "eager"]


@final
@attrs.frozen(kw_only=True)
class Settings:
    """An executor's options, as its turns read them (see `Executor` for each)."""

    registry: Registry
    policy: Policy
    schedule: Schedule
    redact: Callable[[str], str] | None
    seed: int | str
    deterministic: bool
    shared_limits: SharedLimits | None
    instruments: Delivery | None = None
    approve: Approver | None = None
    calls_alone: bool = attrs.field(
        init=False, default=attrs.Factory(lambda self: stops_single_calls(self.policy), takes_self=True)
    )
    """Whether each call runs in a cancel scope of its own, to be stopped alone (`stops_single_calls`)."""
