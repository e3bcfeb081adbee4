"""Nurseries wrap what their tasks raise in exception groups; callers of a turn expect the exception itself."""

from __future__ import annotations

import trio

__all__ = ["collapse", "leaves"]


def leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    """The exceptions inside ``group`` and the groups nested in it, depth first, in the order they were raised."""
    found: list[BaseException] = []
    stack: list[BaseException] = [group]
    while stack:
        exc = stack.pop()
        if isinstance(exc, BaseExceptionGroup):
            stack.extend(reversed(exc.exceptions))
        else:
            found.append(exc)
    return found


def collapse(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The one exception that matters in a nursery's group, or the group itself.

    Nurseries wrap whatever their tasks raise. Callers of `Turn.run` expect
    ``Cancelled`` (or a tool's ``KeyboardInterrupt``) as itself, so a group
    whose leaves are all ``Cancelled`` collapses to one of them, and a group
    with exactly one other leaf collapses to that leaf.
    """
    found = leaves(group)
    others = [e for e in found if not isinstance(e, trio.Cancelled)]
    if len(others) == 1:
        return others[0]
    if not others and found:
        return found[0]
    return group
