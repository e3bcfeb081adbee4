"""Policies: what one call's failure reaches among its siblings, and retries."""

from __future__ import annotations

from typing import Literal, Protocol, final, get_args, runtime_checkable

import attrs

from .._tools._retry import Retry
from .._values._outcome import Outcome, Status
from .._values._validate import attrs_validator, check_choice, check_type
from ._retry_grants import check_retry_cap

__all__ = ["FAILURES", "BestEffort", "FailFast", "FailureScope", "Policy", "check_policy", "stops_single_calls"]

FailureScope = Literal["turn", "dependents", "resource"]
"""What a failure stops: the whole turn; the calls that wait for the failed one (transitively);
or those and the calls sharing its resource or one of its keys (with the calls that wait for them)."""

FAILURES = frozenset({Status.ERROR, Status.TIMEOUT, Status.REJECTED})
"""The final statuses a policy is asked about: a call that failed, not one that was stopped."""


_retry = attrs_validator(check_type, kind=Retry, expected="a Retry(...)", allow_none=True)
_scope = attrs_validator(check_choice, choices=get_args(FailureScope))


def _retry_cap(instance: object, attribute: attrs.Attribute[int | None], value: int | None) -> None:
    check_retry_cap(value)


@runtime_checkable
class Policy(Protocol):
    """Decides what a failed call stops among its siblings.

    ``retry`` applies to tools that have no retry settings of their own;
    ``max_retries_per_turn`` caps the retries of all calls of one turn
    together (``None``: no cap).
    """

    @property
    def retry(self) -> Retry | None: ...

    @property
    def max_retries_per_turn(self) -> int | None: ...

    def failure_scope(self, outcome: Outcome) -> FailureScope | None:
        """What this final failed outcome (``error``, ``timeout`` or ``rejected``) stops; ``None``: nothing.

        Asked only when a call has failed, once, at the instant it failed.
        """
        ...


@final
@attrs.frozen(kw_only=True)
class FailFast:
    """Stop the calls a failure (``error``, ``timeout`` or ``rejected``) reaches, at its instant.

    ``scope`` says which calls a failure reaches:

    * ``"turn"`` (default): every call of the turn; the turn ends at the failure.
    * ``"dependents"``: the calls that wait for the failed one (reference it,
      or are ordered after it by a shared key), transitively.
    * ``"resource"``: those, and the calls that share the failed call's
      resource or one of its resource keys, with the calls that wait for them.

    A reached call that runs becomes ``cancelled``, one that has not started
    ``skipped``, both with ``sibling_failed`` and a message naming the failed
    call. A call rejected at planning is a failure like any other (with
    ``"turn"``, nothing starts), unless it is a race member whose group can
    still win (a group fails when its last member has). Use it for tightly
    coupled steps.
    """

    scope: FailureScope = attrs.field(default="turn", validator=_scope)
    retry: Retry | None = attrs.field(default=None, validator=_retry)
    max_retries_per_turn: int | None = attrs.field(default=None, validator=_retry_cap)

    def failure_scope(self, outcome: Outcome) -> FailureScope | None:
        return self.scope if outcome.status in FAILURES else None


@final
@attrs.frozen(kw_only=True)
class BestEffort:
    """Let every call run to its own end; failures only skip their dependents."""

    retry: Retry | None = attrs.field(default=None, validator=_retry)
    max_retries_per_turn: int | None = attrs.field(default=None, validator=_retry_cap)

    def failure_scope(self, outcome: Outcome) -> FailureScope | None:
        return None


def check_policy(value: object) -> Policy | None:
    """``value`` if it is a `Policy` or ``None``; a policy written for ``cancels_turn`` is told how to move on.

    Raises:
        TypeError: it is not a policy.
    """
    if value is not None and not isinstance(value, Policy) and hasattr(value, "cancels_turn"):
        raise TypeError(
            f"policy {type(value).__name__} has cancels_turn(outcome), which is now failure_scope(outcome):"
            ' return "turn" where it returned True, and None where it returned False'
        )
    return check_type("policy", value, Policy, expected="a Policy such as BestEffort() or FailFast()", allow_none=True)


def stops_single_calls(policy: Policy) -> bool:
    """Whether a failure under ``policy`` may stop single calls, which then run in cancel scopes of their own.

    `BestEffort` and ``FailFast(scope="turn")`` never do, and their calls skip
    that cost; a policy of your own may answer any scope.
    """
    if isinstance(policy, BestEffort):
        return False
    if isinstance(policy, FailFast):
        return policy.scope != "turn"
    return True
