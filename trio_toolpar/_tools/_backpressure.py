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

    Header names are matched in any case, in any mapping (a plain ``dict``
    with ``"Retry-After"`` as much as ``httpx.Headers``). An HTTP date is
    measured against ``now`` (the wall clock: the server's date is wall-clock
    time); a date in the past means no wait. A string of digits too long for a
    float is ``inf``: how long to wait at most is the caller's choice
    (`RateLimited` cuts it to `RateLimited.MAX_RETRY_AFTER`). A value that is
    neither a number nor a date (``"soon"``, ``"inf"``, ``"nan"``) is no answer.
    """
    millis = _seconds(_header(headers, "retry-after-ms"))
    if millis is not None and millis >= 0:  # else fall back to Retry-After
        return millis / 1000.0
    value = _header(headers, "retry-after")
    if not value:
        return None
    seconds = _seconds(value)
    if seconds is None:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        seconds = when.timestamp() - now()
    return max(seconds, 0.0)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """The value of header ``name`` (lower case) in ``headers``, whatever the case of its key."""
    value = headers.get(name)  # a case-insensitive mapping (httpx.Headers) answers here
    if value is None:
        value = next((v for k, v in headers.items() if isinstance(k, str) and k.lower() == name), None)
    return None if value is None else str(value).strip()


def _seconds(text: str | None) -> float | None:
    """A header's number (digits too many for a float are ``inf``), or None if it holds none."""
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        return None
    if math.isinf(seconds) and text.isdigit():
        return seconds  # a real, absurdly long wait
    return seconds if math.isfinite(seconds) else None


def raise_for_rate_limit(response: _Response, *, now: Callable[[], float] = time.time) -> None:
    """Raise `RateLimited` (with the server's ``Retry-After``) if ``response`` is a 429 or 503.

    Raises:
        RateLimited: the server refused the request for now.
    """
    if response.status_code in _RATE_LIMIT_STATUSES:
        wait = retry_after(response.headers, now=now)
        raise RateLimited(f"HTTP {response.status_code} from the server", retry_after=wait)
