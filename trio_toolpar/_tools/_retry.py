"""When and how often to try a failed call again: `Retry`."""

from __future__ import annotations

from typing import Any, final

import attrs

from .._values._exceptions import Retryable
from .._values._validate import attrs_validator, check_number, check_type, check_whole_number

__all__ = ["Retry"]


def _exception_types(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, tuple) or not all(isinstance(t, type) and issubclass(t, Exception) for t in value):
        raise TypeError(f"Retry.retry_on must be a tuple of exception types, e.g. (Retryable,), not {value!r}")


@final
@attrs.frozen(kw_only=True)
class Retry:
    """When and how often to try a failed call again.

    Attempt ``k`` (1-based) that fails with a retryable error is followed,
    after ``min(max_backoff, backoff * multiplier ** (k - 1))`` seconds scaled
    down by up to ``jitter`` (a fraction, drawn from a seeded generator), by
    attempt ``k + 1``, up to ``attempts`` in all. A `RateLimited` error's
    ``retry_after`` is a floor on the wait.

    Args:
        attempts: the most attempts in all, the first included (``>= 1``).
        backoff: the first wait, in seconds.
        multiplier: how much each wait grows.
        max_backoff: the longest single wait.
        jitter: fraction in ``[0, 1]`` by which a wait may shrink at random.
        retry_on: exception types worth another attempt.
        retry_timeouts: whether an attempt that hit the tool's timeout is retried.
    """

    attempts: int = attrs.field(default=3, validator=attrs_validator(check_whole_number))
    backoff: float = attrs.field(default=0.5, validator=attrs_validator(check_number, minimum=0, unit="seconds"))
    multiplier: float = attrs.field(default=2.0, validator=attrs_validator(check_number, minimum=1, finite=True))
    max_backoff: float = attrs.field(default=30.0, validator=attrs_validator(check_number, minimum=0, unit="seconds"))
    jitter: float = attrs.field(default=0.5, validator=attrs_validator(check_number, minimum=0, maximum=1))
    retry_on: tuple[type[Exception], ...] = attrs.field(default=(Retryable,), validator=_exception_types)
    retry_timeouts: bool = attrs.field(default=True, validator=attrs_validator(check_type, kind=bool))

    def delay(self, attempt: int, draw: float) -> float:
        """The wait after failed attempt ``attempt``, given a uniform draw in ``[0, 1)``."""
        base = min(self.max_backoff, self.backoff * self.multiplier ** (attempt - 1))
        return base * (1.0 - self.jitter * draw)
