"""What the Redis shared limits raise besides `trio_toolpar.LimitUnavailable`."""

from __future__ import annotations

from typing import final

from .._values._exceptions import LimitUnavailable

__all__ = ["LimitMisconfigured", "misconfigured_text"]


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
