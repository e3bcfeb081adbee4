"""Exceptions raised by trio_toolpar.

Problems with one call of a turn never raise: they become a `rejected`,
`error`, `timeout`, `cancelled` or `skipped` outcome. Exceptions are for the
programmer's mistakes and for payloads that cannot be read at all::

    ToolparError
    ├── RegistrationError (also TypeError)   a tool cannot be registered as given
    ├── SchemaError (also ValueError)        a JSON schema uses what we cannot check
    ├── ArgumentsError (also ValueError)     a call's arguments cannot become the declared types
    ├── FormatError (also ValueError)        a provider payload cannot be read
    ├── TurnStateError (also RuntimeError)   a turn used out of order
    ├── LimitUnavailable (also RuntimeError) shared limits cannot be reached (fail closed)
    ├── ModelError (also RuntimeError)       the model's API failed (`trio_toolpar.agent`)
    └── Retryable                            raised *by tools*: this failure may pass
        └── RateLimited                      ... after ``retry_after`` seconds

``Retryable`` and ``RateLimited`` are for tool authors: raise them (or set
``Retry(retry_on=...)``) to say an attempt may be tried again. ``ModelError``
is raised by the agent loop and its model clients; it is defined here, with
its siblings, and exported by `trio_toolpar.agent`, where its users are.

Mistakes in arguments raise the plain built-in exceptions: `TypeError` for a
wrong type, `ValueError` for a wrong value (see ``_validate``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, final

import trio

from ._validate import check_number

__all__ = [
    "cancelled_around",
    "ArgumentsError",
    "FormatError",
    "LimitUnavailable",
    "ModelError",
    "RateLimited",
    "RegistrationError",
    "Retryable",
    "SchemaError",
    "ToolparError",
    "TurnStateError",
]


class ToolparError(Exception):
    """Base class of every exception trio_toolpar defines."""


@final
class RegistrationError(ToolparError, TypeError):
    """A tool cannot be registered as given (bad name, settings or signature)."""

    def __init__(self, message: str, *, tool: str | None = None) -> None:
        super().__init__(message)
        self.tool = tool


@final
class SchemaError(ToolparError, ValueError):
    """A JSON schema uses a keyword or a shape the built-in validator cannot check."""

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(message)
        self.path = path


@final
class ArgumentsError(ToolparError, ValueError):
    """A call's arguments cannot be turned into the Python types its tool declares.

    Args:
        problems: one line per problem, each starting with the JSON path of
            the value at fault (``$.items[2].sku: expected a string, got 5``).
        tool: the tool whose arguments they are.
    """

    def __init__(self, problems: Sequence[str], *, tool: str | None = None) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)
        self.tool = tool


@final
class FormatError(ToolparError, ValueError):
    """A provider payload (message, content block, stream chunk) cannot be read."""

    def __init__(self, message: str, *, payload: object = None) -> None:
        super().__init__(message)
        self.payload = payload


@final
class TurnStateError(ToolparError, RuntimeError):
    """A turn was used out of order: run twice, read before it ran, fed after close."""


class LimitUnavailable(ToolparError, RuntimeError):
    """Shared limits (see `SharedLimits`) could not be reached, and they fail closed.

    The call it happens to ends ``error`` with code ``limit_unavailable``
    instead of running without the limit. Shared limits may raise a subclass
    that says why (`trio_toolpar.redis.LimitMisconfigured`).
    """


@final
class ModelError(ToolparError, RuntimeError):
    """The model's API failed: an error status (after retries), a broken connection, an error event.

    Args:
        message: what happened, with the server's own message when it sent one.
        status_code: the HTTP status, if there was a response.
        body: the response body (at most a few thousand characters), if any.
        attempts: how many requests were made.
    """

    def __init__(
        self, message: str, *, status_code: int | None = None, body: str | None = None, attempts: int = 1
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body
        self.attempts = attempts


class Retryable(ToolparError):
    """Raised by a tool: this attempt failed, but another attempt may succeed."""


@final
class RateLimited(Retryable):
    """Raised by a tool: the integration refused for now.

    ``retry_after`` is how long the tool's resource then starts nothing new,
    so it is kept within reason when the exception is made: a negative wait
    (a moment already past) is ``0``, and a wait past `MAX_RETRY_AFTER` (one
    hour; ``inf`` included) is `MAX_RETRY_AFTER`, after which the integration
    is asked again. NaN says no time at all and is refused.

    Args:
        message: what the integration said.
        retry_after: seconds the integration asked us to wait, if it said.

    Raises:
        TypeError: ``retry_after`` is not a number.
        ValueError: ``retry_after`` is NaN.
    """

    MAX_RETRY_AFTER: ClassVar[float] = 3600.0
    """The longest pause a `RateLimited` asks for, in seconds; longer waits are cut to it."""

    def __init__(self, message: str = "rate limited", *, retry_after: float | None = None) -> None:
        super().__init__(message)
        seconds = check_number("retry_after", retry_after, unit="seconds", allow_none=True)
        self._retry_after = None if seconds is None else min(max(float(seconds), 0.0), self.MAX_RETRY_AFTER)

    @property
    def retry_after(self) -> float | None:
        """Seconds to wait before the resource starts anything new, within ``[0, MAX_RETRY_AFTER]``; None if unsaid."""
        return self._retry_after


def cancelled_around() -> bool:
    """Whether a scope around the running task is cancelled, or its deadline is due.

    A ``Cancelled`` caught then is genuine; one caught otherwise was let out by
    the code below (kept past the scope that raised it), and nothing asked for it.
    """
    return trio.current_effective_deadline() <= trio.current_time()
