"""An approver's answer: `Approval`."""

from __future__ import annotations

from typing import final

import attrs

from .._values._validate import attrs_validator, check_type

__all__ = ["Approval"]


@final
@attrs.frozen(kw_only=True)
class Approval:
    """An approver's answer, with the reason a refusal gives the model.

    Args:
        approved: whether the call may run.
        reason: why (shown to the model in a refusal's message).
        deferred: nobody can answer now (use `Approval.defer`): with a
            journal, the turn suspends and the call waits for a decision
            recorded by `Executor.decide`; without one, the call is refused.
    """

    approved: bool = attrs.field(validator=attrs_validator(check_type, kind=bool))
    reason: str | None = attrs.field(default=None, validator=attrs_validator(check_type, kind=str, allow_none=True))
    deferred: bool = attrs.field(default=False, validator=attrs_validator(check_type, kind=bool))

    @classmethod
    def defer(cls, reason: str | None = None) -> Approval:
        """The answer "a person decides later": the call waits for `Executor.decide` (see docs/durable.md)."""
        return cls(approved=False, reason=reason, deferred=True)
