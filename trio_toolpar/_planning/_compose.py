"""Composing pipelines in code: `step`, `parallel`, `sequence`, `race`.

Each builds a `Pipeline`: the same `ToolCall` list a model would send, with
the ordering written into `ToolCall.after` and the race groups into
`ToolCall.race`, plus the `RaceRules` to pass along::

    p = sequence(
        race(step("search_a", {"q": "x"}, id="a"), step("search_b", {"q": "x"}, id="b"), name="search"),
        parallel(step("fetch", {"url": "$@search.url"}, id="f"), step("log", {"text": "found"}, id="l")),
    )
    result = await executor.run(p.calls, races=p.races)

Nothing here runs anything or knows the executor: a pipeline is plain data,
planned and run like any other turn.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, final

import attrs

from .._arguments._references import CALL_ID
from .._values._outcome import ToolCall
from ._race_groups import GROUP_NAME, RaceRules

__all__ = ["Pipeline", "parallel", "race", "sequence", "step"]


@final
@attrs.frozen(kw_only=True)
class Pipeline:
    """Calls composed in code; run them with ``executor.run(p.calls, races=p.races)``."""

    calls: tuple[ToolCall, ...]
    """The calls, in emission order."""
    # Not factory=dict: the reference would show dict's own docstring as this field's.
    races: Mapping[str, RaceRules] = attrs.field(factory=lambda: {})
    """The rules of the race groups it holds, by name."""
    entries: tuple[str, ...] = ()
    """Ids of the calls that start it: what a `sequence` makes wait for the step before."""
    exits: tuple[str, ...] = ()
    """What a `sequence` makes the next step wait for: call ids, or ``@group`` for a race."""

    def ref(self, path: str = "") -> str:
        """A reference to this pipeline's one result (``"$id.path"``, or ``"$@group.path"`` for a race).

        Raises:
            ValueError: it has several results (a `parallel` or a `sequence`
                ending in one); reference one of its steps instead.
        """
        if len(self.exits) != 1:
            raise ValueError(
                f"this pipeline ends in {len(self.exits)} results ({', '.join(self.exits)}); "
                "call .ref() on the step whose result you want"
            )
        return f"${self.exits[0]}" + (f".{path}" if path else "")


_CALL_ID = re.compile(CALL_ID)


def step(
    tool: str, arguments: Mapping[str, Any] | None = None, /, *, id: str | None = None, priority: int = 0
) -> Pipeline:
    """One call of ``tool``.

    Its id defaults to the tool's name, or to ``"_" + name`` when the name is
    not an id a reference can name (``"3d"`` gives ``"_3d"``), so that
    `Pipeline.ref` and `sequence` work for every tool.
    """
    if id is None:
        id = tool if _CALL_ID.fullmatch(tool) else f"_{tool}"
    call = ToolCall(id=id, tool=tool, arguments=dict(arguments or {}), priority=priority)
    return Pipeline(calls=(call,), entries=(call.id,), exits=(call.id,))


def parallel(*parts: Pipeline) -> Pipeline:
    """The parts side by side: none waits for another.

    Raises:
        ValueError: two calls share an id, or two races a name.
    """
    return _joined(parts, entries=_all(p.entries for p in parts), exits=_all(p.exits for p in parts))


def sequence(*parts: Pipeline) -> Pipeline:
    """Each part after the one before: its first calls wait for the previous part's results.

    A call whose predecessor did not end ``ok`` (a race without a winner) is
    skipped with ``dependency_failed``, as with a reference.

    Raises:
        ValueError: no parts; or two calls share an id, or two races a name.
    """
    if not parts:
        raise ValueError("sequence() needs at least one step")
    chained = [parts[0]]
    for before, part in itertools.pairwise(parts):
        starts = set(part.entries)
        calls = tuple(attrs.evolve(c, after=(*c.after, *before.exits)) if c.id in starts else c for c in part.calls)
        chained.append(attrs.evolve(part, calls=calls))
    return _joined(chained, entries=parts[0].entries, exits=parts[-1].exits)


def race(*members: Pipeline, name: str, accept: Callable[[Any], bool] | None = None, keep: int = 1) -> Pipeline:
    """Alternatives: the first member to succeed (and pass ``accept``) wins, the rest stop.

    Reference the winner with ``p.ref("path")`` (``"$@name.path"``).

    Raises:
        ValueError: a member is not a single `step`, or ``name`` is not a valid race name.
    """
    if not GROUP_NAME.fullmatch(name):
        raise ValueError(f"race name {name!r} must start with a letter or '_' and hold letters, digits, '_' or '-'")
    if not members or any(len(m.calls) != 1 for m in members):
        raise ValueError("race() takes single steps as members, e.g. race(step('a'), step('b'), name='search')")
    calls = tuple(attrs.evolve(m.calls[0], race=name) for m in members)
    rules = RaceRules(accept=accept, keep=keep)
    joined = _joined(members, entries=(), exits=())
    return attrs.evolve(
        joined,
        calls=calls,
        races={**joined.races, name: rules},
        entries=tuple(c.id for c in calls),
        exits=(f"@{name}",),
    )


def _all(groups: Iterable[Sequence[str]]) -> tuple[str, ...]:
    return tuple(item for group in groups for item in group)


def _joined(parts: Sequence[Pipeline], *, entries: tuple[str, ...], exits: tuple[str, ...]) -> Pipeline:
    calls = _all_calls(parts)
    seen: set[str] = set()
    for c in calls:
        if c.id in seen:
            raise ValueError(f"two steps have the id {c.id!r}; give each step(..., id=...) its own")
        seen.add(c.id)
    races: dict[str, RaceRules] = {}
    for p in parts:
        for group, rules in p.races.items():
            if group in races:
                raise ValueError(f"two races are named {group!r}; give each race(..., name=...) its own")
            races[group] = rules
    return Pipeline(calls=calls, races=races, entries=entries, exits=exits)


def _all_calls(parts: Sequence[Pipeline]) -> tuple[ToolCall, ...]:
    return tuple(c for p in parts for c in p.calls)
