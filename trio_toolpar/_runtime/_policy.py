"""Policies: what one call's failure means for its siblings, and retries."""

from __future__ import annotations

from typing import Protocol, final, runtime_checkable

import attrs

from .._tools._retry import Retry
from .._values._outcome import Outcome, Status
from .._values._validate import attrs_validator, check_type
from ._retry_grants import check_retry_cap

__all__ = ["BestEffort", "FailFast", "Policy"]

_FAILURES = frozenset({Status.ERROR, Status.TIMEOUT, Status.REJECTED})


_retry = attrs_validator(check_type, kind=Retry, expected="a Retry(...)", allow_none=True)


def _retry_cap(instance: object, attribute: attrs.Attribute[int | None], value: int | None) -> None:
    check_retry_cap(value)


@runtime_checkable
class Policy(Protocol):
    """Decides whether a failed call cancels the rest of its turn.

    ``retry`` applies to tools that have no retry settings of their own;
    ``max_retries_per_turn`` caps the retries of all calls of one turn
    together (``None``: no cap).
    """

    @property
    def retry(self) -> Retry | None: ...

    @property
    def max_retries_per_turn(self) -> int | None: ...

    def cancels_turn(self, outcome: Outcome) -> bool:
        """Whether this final outcome of a call cancels the turn."""
        ...


@final
@attrs.frozen(kw_only=True)
class FailFast:
    """Cancel the turn at the first failure (``error``, ``timeout`` or ``rejected``).

    Running siblings become ``cancelled`` and unstarted ones ``skipped``, both
    with ``sibling_failed``. A call rejected at planning stops the turn before
    anything starts, unless it is a race member whose group can still win (a
    group fails when its last member has). Use it for tightly coupled steps.
    """

    retry: Retry | None = attrs.field(default=None, validator=_retry)
    max_retries_per_turn: int | None = attrs.field(default=None, validator=_retry_cap)

    def cancels_turn(self, outcome: Outcome) -> bool:
        return outcome.status in _FAILURES


@final
@attrs.frozen(kw_only=True)
class BestEffort:
    """Let every call run to its own end; failures only skip their dependents."""

    retry: Retry | None = attrs.field(default=None, validator=_retry)
    max_retries_per_turn: int | None = attrs.field(default=None, validator=_retry_cap)

    def cancels_turn(self, outcome: Outcome) -> bool:
        return False
