"""Sending a model request until its response begins: which failures to repeat, and how long to wait.

httpx is imported when a request is sent, not when this module is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, final

import attrs
import trio

from .._tools._backpressure import retry_after
from .._values._exceptions import FormatError, ModelError
from .._values._validate import attrs_validator, check_choice, check_number, check_type, check_whole_number
from .._wire._payloads import loads

if TYPE_CHECKING:
    import httpx

__all__ = ["Jitter", "RequestRetry", "retry_after", "send"]

BODY_LIMIT = 4000
"""The most characters of an error response's body kept on `ModelError.body`."""

Jitter = Literal["equal", "full", "none"]
_seconds = attrs_validator(check_number, minimum=0, unit="seconds")


@final
@attrs.frozen(kw_only=True)
class RequestRetry:
    """When to repeat a model request that failed before its response began.

    A response with status 408, 409, 429 or 5xx (or ``x-should-retry:
    true``), or a connection that failed, is tried again, up to
    ``attempts`` requests in all. The wait is what the server asked for in
    ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date), taken
    as it is. When the server names none, the backoff after the ``k``-th
    failure is ``b = min(max_backoff, backoff * multiplier ** (k - 1))``,
    spread by ``jitter`` so that clients that failed together do not all
    come back at the same instant:

    * ``"equal"`` (the default): a uniform wait in ``[b / 2, b)``;
    * ``"full"``: a uniform wait in ``[0, b)``;
    * ``"none"``: exactly ``b``.

    The draws come from a generator seeded with ``seed`` (``None``: from the
    operating system), one per model client, so a seeded run waits the same
    every time. All waits are ``trio.sleep`` on Trio's clock. A server
    asking for more than ``max_retry_after`` seconds is not waited for: the
    request fails at once. A stream that breaks after it began is never
    repeated, since its calls may already be running.

    Args:
        attempts: the most requests in all, the first included.
        backoff: the first backoff when the server names no wait, in seconds.
        multiplier: how much each backoff grows.
        max_backoff: the longest backoff.
        max_retry_after: the longest wait the server may ask for.
        jitter: ``"equal"``, ``"full"`` or ``"none"``, as above.
        seed: seeds the jitter's draws.
    """

    attempts: int = attrs.field(default=4, validator=attrs_validator(check_whole_number))
    backoff: float = attrs.field(default=1.0, validator=_seconds)
    multiplier: float = attrs.field(default=2.0, validator=attrs_validator(check_number, minimum=1, finite=True))
    max_backoff: float = attrs.field(default=30.0, validator=_seconds)
    max_retry_after: float = attrs.field(default=120.0, validator=_seconds)
    jitter: Jitter = attrs.field(
        default="equal", validator=attrs_validator(check_choice, choices=("equal", "full", "none"))
    )
    seed: int | str | None = attrs.field(
        default=None,
        validator=attrs_validator(check_type, kind=(int, str), expected="an int or a str", allow_none=True),
    )

    def delay(self, failures: int, draw: float) -> float:
        """The wait after the ``failures``-th failed request when the server named none; ``draw`` is in ``[0, 1)``."""
        base = min(self.max_backoff, self.backoff * self.multiplier ** (failures - 1))
        if self.jitter == "full":
            return base * draw
        if self.jitter == "equal":
            return base / 2 + base / 2 * draw
        return base


def _retryable(response: httpx.Response) -> bool:
    should: str | None = response.headers.get("x-should-retry")
    if should in ("true", "false"):
        return should == "true"
    code = response.status_code
    return code in (408, 409, 429) or code >= 500


def _error_text(response: httpx.Response) -> str:
    text = response.text
    try:
        data = loads(text, "the error body")
    except FormatError:
        return text[:500]
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    if isinstance(error, str):
        return error
    return text[:500]


async def send(
    http: httpx.AsyncClient,
    url: str,
    *,
    body: Mapping[str, Any],
    headers: Mapping[str, str],
    retry: RequestRetry,
    draw: Callable[[], float],
) -> httpx.Response:
    """POST until a 2xx response begins; return it open (streamed). The caller closes it.

    Args:
        draw: uniform numbers in ``[0, 1)`` for the jitter of each backoff.

    Raises:
        ModelError: a status that is not retried, too many failures, or a
            server asking for too long a wait.
        ImportError: httpx is not installed (the ``http`` extra).
    """
    try:
        import httpx
    except ImportError as exc:  # the first request is where the missing extra shows: name it
        raise ImportError(
            "the HTTP model clients need httpx: pip install 'trio_toolpar[http]' (or pip install httpx)"
        ) from exc

    failures = 0
    while True:
        request = http.build_request("POST", url, json=body, headers=dict(headers))
        try:
            response = await http.send(request, stream=True)
        except httpx.TransportError as exc:
            failures += 1
            if failures >= retry.attempts:
                raise ModelError(
                    f"could not reach {url} ({type(exc).__name__}: {exc}) after {failures} attempt(s)",
                    attempts=failures,
                ) from exc
            await trio.sleep(retry.delay(failures, draw()))
            continue
        if response.is_success:
            return response
        try:
            await response.aread()
        finally:
            await response.aclose()
        failures += 1
        wait = retry_after(response.headers)
        reason = f"{url} answered {response.status_code} {response.reason_phrase}: {_error_text(response)}"
        if not _retryable(response) or failures >= retry.attempts:
            tries = f" (after {failures} attempts)" if failures > 1 else ""
            raise ModelError(
                reason + tries, status_code=response.status_code, body=response.text[:BODY_LIMIT], attempts=failures
            )
        if wait is not None and wait > retry.max_retry_after:
            raise ModelError(
                f"{reason}; it asked to retry after {wait:g} s, more than max_retry_after={retry.max_retry_after:g} s",
                status_code=response.status_code,
                body=response.text[:BODY_LIMIT],
                attempts=failures,
            )
        await trio.sleep(wait if wait is not None else retry.delay(failures, draw()))
