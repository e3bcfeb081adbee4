"""Reading a vendor's "slow down": ``Retry-After`` and HTTP 429/503, as `RateLimited`.

A tool that calls an HTTP API passes the response to `raise_for_rate_limit`;
the executor then pauses new starts on the tool's resource for as long as
the server asked, and retries the call within its retry budget.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from .._values._exceptions import RateLimited

__all__ = ["raise_for_rate_limit", "retry_after"]

_RATE_LIMIT_STATUSES = frozenset({429, 503})


class _Response(Protocol):
    """What `raise_for_rate_limit` reads of a response (an ``httpx.Response`` has it)."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...


def retry_after(headers: Mapping[str, str], *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms``, then ``Retry-After``), if it did.

    An HTTP date is measured against ``now`` (the wall clock: the server's
    date is wall-clock time); a date in the past means no wait.
    """
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            seconds = float(millis) / 1000.0
        except ValueError:
            seconds = math.nan
        if seconds >= 0 and math.isfinite(seconds):
            return seconds
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - now()
    if not math.isfinite(seconds):
        return None
    return max(seconds, 0.0)


def raise_for_rate_limit(response: _Response, *, now: Callable[[], float] = time.time) -> None:
    """Raise `RateLimited` (with the server's ``Retry-After``) if ``response`` is a 429 or 503.

    Raises:
        RateLimited: the server refused the request for now.
    """
    if response.status_code in _RATE_LIMIT_STATUSES:
        wait = retry_after(response.headers, now=now)
        raise RateLimited(f"HTTP {response.status_code} from the server", retry_after=wait)
