"""What the Redis edge raises besides `trio_toolpar.LimitUnavailable`: `LimitMisconfigured`, `JournalUnavailable`."""

from __future__ import annotations

from typing import final

from .._values._exceptions import LimitUnavailable, ToolparError

__all__ = ["JournalUnavailable", "LimitMisconfigured", "misconfigured_text"]


@final
class LimitMisconfigured(LimitUnavailable):
    """Redis answered, and the answer says the shared limits are set up wrong.

    Wrong credentials, a user without the scripting commands, a Redis that
    runs no scripts, a key of another kind under the namespace, or processes
    that give one resource different caps or rates. Unlike an outage this does
    not pass by itself, so it is raised whatever ``on_unavailable`` says: a
    call never falls back to local limits because of it. It is a
    `LimitUnavailable`, so the call ends ``error`` with code
    ``limit_unavailable`` and this message.
    """


def misconfigured_text(reason: object, resource: str) -> str:
    """The message of a `LimitMisconfigured` for ``resource``, given what Redis said to fix."""
    return (
        f"{reason}. For the shared limits of {resource!r} this is a configuration error, not an outage: "
        "the call did not start, whatever on_unavailable says"
    )


@final
class JournalUnavailable(ToolparError, ConnectionError):
    """A `RedisJournal` got no usable answer from Redis, or lost a turn's claim.

    Raised within the journal's ``timeout`` (a bounded wait, never a hang).
    A write that raised it may or may not have been made: the run that made
    it stops, and a resume reads what Redis holds. The message says whether
    Redis is unreachable (which may pass) or set up wrong (which will not).
    """
