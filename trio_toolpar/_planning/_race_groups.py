"""Race groups as planning sees them: their `RaceRules`, group names, and ``$@group`` links.

The semantics of races are described in `trio_toolpar._runtime._races`, which
keeps a turn's groups as its calls end. This module is pure: it checks the
names and references of a batch and makes each call that references a group
wait for every member.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, final

import attrs

from .._arguments._references import Reference
from .._values._outcome import ErrorCode, ToolCall
from .._values._validate import attrs_validator, check_callable, check_whole_number
from ._drafts import Draft

__all__ = ["ANY_RACE", "GROUP_NAME", "RaceRules", "check_races", "groups_of", "link_groups"]

GROUP_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
"""What a race group may be called: like a call id that can be referenced."""


@final
@attrs.frozen(kw_only=True)
class RaceRules:
    """The rules of one race group (pass them as ``races={"name": RaceRules(...)}`` to `Executor.run`).

    Args:
        accept: a predicate on a member's value; a member wins only if it
            returns ``True`` (default: any ``ok`` value wins).
        keep: how many members win; the group stops the rest once this many
            have (default 1).
    """

    accept: Callable[[Any], bool] | None = attrs.field(
        default=None, validator=attrs_validator(check_callable, expected="a predicate (value) -> bool", allow_none=True)
    )
    keep: int = attrs.field(default=1, validator=attrs_validator(check_whole_number))


ANY_RACE = RaceRules()
"""The rules of a group the turn was given none for: any ``ok`` value wins, one winner."""


def check_races(races: object) -> Mapping[str, RaceRules]:
    """``races`` as given to `Executor.run`, checked: a mapping of group names to `RaceRules`.

    Raises:
        TypeError: it is not a mapping of names to `RaceRules`.
    """
    if races is None:
        return {}
    if not isinstance(races, Mapping) or not all(
        isinstance(k, str) and isinstance(v, RaceRules) for k, v in races.items()
    ):
        raise TypeError(
            f"races must map race names to RaceRules(...), e.g. {{'search': RaceRules(keep=1)}}, not {races!r}"
        )
    return dict(races)


def link_groups(drafts: Sequence[Draft]) -> None:
    """Check race names and ``$@group`` references; make each referencing call wait for every member.

    The waits are ordering edges (``after``), not needs: a member that loses
    or fails does not doom the call; only a group with no winner does, which
    the turn decides when the call is ready.
    """
    members: dict[str, set[int]] = {}
    for d in drafts:
        race = d.call.race
        if race is None:
            continue
        if not isinstance(race, str) or not GROUP_NAME.fullmatch(race):
            d.reject(
                ErrorCode.INVALID_ARGUMENTS,
                f"race name {race!r} must start with a letter or '_' and hold letters, digits, '_' or '-'",
            )
            continue
        members.setdefault(race, set()).add(d.index)
    for d in drafts:
        for group in groups_of(d.call, d.references):
            found = members.get(group)
            if not found:
                d.reject(
                    ErrorCode.BAD_REFERENCE,
                    f"'$@{group}' refers to race {group!r}, which no call of this turn joins "
                    f"(races: {', '.join(sorted(members)) or 'none'})",
                )
            elif d.index in found:
                d.reject(ErrorCode.BAD_REFERENCE, f"a member of race {group!r} cannot reference its own race")
            else:
                d.after = set(d.after) | found


def groups_of(call: ToolCall, references: Iterable[Reference]) -> list[str]:
    """The races a call waits for: ``$@g`` in its arguments, ``@g`` in its `ToolCall.after`."""
    named = [ref.group for ref in references if ref.group is not None]
    return named + [entry[1:] for entry in call.after if entry.startswith("@")] if call.after else named
