"""Hedged reads: when an attempt is slow, start a duplicate, and take the first result.

A read tool registered with ``hedge=Hedge(after=s)`` runs each attempt as a
small race of copies of the same call: the first copy starts at once; if no
copy has returned after ``after`` seconds, another starts (up to ``copies``
more, ``after`` seconds apart). The first copy to return is the attempt's
result, and the others are cancelled at that instant. The attempt fails only
when every copy started has failed, with the first copy's error: the copy
that started first, not the one that failed first, so the same failures give
the same error whatever their timing. A copy that lets out a ``Cancelled``
nothing around it asked for (see `cancelled_around`) has failed like one
that raised; a genuine ``Cancelled`` (a copy won, or the call was stopped)
ends the copy as usual. The tool's ``timeout`` bounds the whole
attempt, copies included. Writes are never hedged: running one twice is
exactly what the library must not do.

The copies share the call's grant of capacity: caps count calls, not copies.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, final

import attrs
import trio

from .._values._exceptions import cancelled_around
from .._values._validate import attrs_validator, check_positive_number, check_whole_number

__all__ = ["Hedge", "hedged"]


@final
@attrs.frozen(kw_only=True)
class Hedge:
    """When to start a duplicate of a slow read (``Registry.add(..., hedge=Hedge(after=0.5))``).

    Args:
        after: seconds without a result before the next copy starts.
        copies: how many duplicates at most, besides the first copy.
    """

    after: float = attrs.field(validator=attrs_validator(check_positive_number, finite=True, unit="seconds"))
    copies: int = attrs.field(default=1, validator=attrs_validator(check_whole_number))


@final
class _Copies:
    """What the copies of one attempt have done so far."""

    __slots__ = ("errors", "has_value", "started", "value")

    def __init__(self) -> None:
        self.started = 0
        self.errors: dict[int, Exception | trio.Cancelled] = {}  # by the copy's number, from 0; see `hedged`
        self.has_value = False
        self.value: Any = None


async def hedged(start: Callable[[], Awaitable[Any]], *, hedge: Hedge) -> Any:
    """One attempt of a hedged call: copies of ``start()``, the first to return wins.

    Raises:
        Exception: the first copy's error (by start, not by failure), when every copy started failed.
        trio.Cancelled: the first copy's, when it leaked one (its caller reads it as the tool's error).
    """
    copies = _Copies()
    async with trio.open_nursery() as nursery:

        def failed(number: int, error: Exception | trio.Cancelled) -> None:
            copies.errors[number] = error
            if len(copies.errors) == copies.started:
                nursery.cancel_scope.cancel()

        async def copy(number: int) -> None:
            try:
                value = await start()
            except trio.Cancelled as cancelled:
                if cancelled_around():
                    raise  # genuine: another copy won, or the call is stopped
                failed(number, cancelled)  # leaked by the tool: this copy's failure, not the attempt's end
                return
            except Exception as exc:  # one copy's failure; the attempt fails only if all of them do
                failed(number, exc)
                return
            if not copies.has_value:
                copies.has_value, copies.value = True, value
                nursery.cancel_scope.cancel()  # the others lose at this instant

        copies.started = 1
        nursery.start_soon(copy, 0)
        for number in range(1, hedge.copies + 1):
            await trio.sleep(hedge.after)
            copies.started += 1
            nursery.start_soon(copy, number)
    if copies.has_value:
        return copies.value
    raise copies.errors[min(copies.errors)]
