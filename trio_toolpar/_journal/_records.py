"""What a journal holds of one turn: its calls, and for each call its start, its end, and a person's decision.

A store keeps these records and nothing else; it never reads an outcome.
A call's arguments and a recorded outcome are JSON data made by the runtime
(dicts with string keys, lists, strings, finite numbers, booleans and
``None``, owned by the record), so every store, SQLite, Redis or the user's
own, keeps them as JSON and gives back equal data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .._values._exceptions import ToolparError

__all__ = [
    "Decision",
    "Finished",
    "JournalCall",
    "Record",
    "Started",
    "TurnBusy",
    "TurnLog",
    "TurnMismatch",
    "Waiting",
]


@attrs.frozen(kw_only=True)
class JournalCall:
    """One call of a journaled turn, as the model sent it: a resumed turn must send the same calls."""

    call_id: str
    tool: str
    arguments: Any
    """The call's arguments as JSON data, or its raw text (a string) if it was not JSON; a resume compares
    them as canonical JSON text (sorted keys)."""


@attrs.frozen(kw_only=True)
class Started:
    """An attempt of a call is about to start: written before the tool starts if the call is not retry-safe.

    A retry-safe call without an idempotency key has none: a resume runs it again whether it started or not.
    """

    call_id: str
    attempt: int
    idempotency_key: str | None


@attrs.frozen(kw_only=True)
class Finished:
    """A call's one outcome, written before it is reported."""

    call_id: str
    outcome: Any
    """The `Outcome` as JSON data, encoded by the runtime; a store gives it back equal, never reads it."""


@attrs.frozen(kw_only=True)
class Waiting:
    """A gated call whose approver deferred: it waits for a `Decision`."""

    call_id: str


@attrs.frozen(kw_only=True)
class Decision:
    """A person's answer for a waiting call, recorded from any process."""

    call_id: str
    approved: bool
    reason: str | None = None


Record = Started | Finished | Waiting
"""What a turn's run appends to its journal."""


@attrs.frozen(kw_only=True)
class TurnLog:
    """Everything a journal holds of one turn, as loaded to resume it.

    ``started`` holds each call's latest started attempt; ``waiting`` the
    calls that wait for a decision and have none yet.
    """

    turn_id: str
    calls: tuple[JournalCall, ...]
    # Not factory=dict: the reference would show dict's own docstring as these fields'.
    started: Mapping[str, Started] = attrs.field(factory=lambda: {})
    finished: Mapping[str, Finished] = attrs.field(factory=lambda: {})
    waiting: frozenset[str] = frozenset()
    decisions: Mapping[str, Decision] = attrs.field(factory=lambda: {})


class TurnBusy(ToolparError, RuntimeError):
    """Another run holds this turn (in this process or another): only one runs a turn at a time."""


class TurnMismatch(ToolparError, ValueError):
    """A turn id the journal holds was run with other calls than the ones it recorded."""
