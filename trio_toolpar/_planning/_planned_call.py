"""What planning decides for one call: `PlannedCall` (with its `Verdict` when it will not run)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, final

import attrs

from .._arguments._references import Reference
from .._tools._registry import Tool
from .._values._construct import fast_constructor
from .._values._outcome import ToolCall, Verdict

__all__ = ["PlannedCall", "Waves", "by_generation", "in_plan_order", "make_planned_call", "unscheduled"]

Waves = tuple[tuple[int, ...], ...]


@final
@attrs.frozen(kw_only=True)
class PlannedCall:
    """One call as the planner sees it.

    ``needs`` are the calls whose results it references; ``after`` are the
    earlier calls it must wait for because they touch the same resource key
    and one of the two writes. Both hold indices into `Plan.calls`.
    """

    index: int
    call: ToolCall
    tool: Tool | None
    arguments: Mapping[str, Any] | None
    references: tuple[Reference, ...]
    has_escapes: bool
    needs: tuple[int, ...]
    after: tuple[int, ...]
    keys: tuple[str, ...] | None
    """The resource keys it touches; ``None`` when a key is only known at run time."""
    generation: int | None
    verdict: Verdict | None

    @property
    def runnable(self) -> bool:
        """Whether planning left this call to run."""
        return self.verdict is None

    @property
    def predecessors(self) -> tuple[int, ...]:
        """Every call that must finish before this one starts."""
        if not self.after:
            return self.needs
        return tuple(sorted(set(self.needs) | set(self.after)))


make_planned_call = fast_constructor(PlannedCall)
"""``PlannedCall(...)``, faster: planning builds one per call, and a turn may hold 100,000 (see `fast_constructor`)."""

_FIELDS = tuple(field.name for field in attrs.fields(PlannedCall))


def unscheduled(planned: PlannedCall, verdict: Verdict) -> PlannedCall:
    """``planned``, refused after all: with ``verdict`` and no generation.

    `attrs.evolve`, at a third of its cost: admission may refuse most of a turn of 100,000 calls.
    """
    fields = {name: getattr(planned, name) for name in _FIELDS}
    fields["generation"], fields["verdict"] = None, verdict
    return make_planned_call(**fields)


def by_generation(planned: Sequence[PlannedCall]) -> list[list[int]]:
    """Per generation, the indices of its calls in emission order; a call without one (not scheduled) is in none."""
    waves: dict[int, list[int]] = {}
    for pc in planned:
        if pc.generation is not None:
            waves.setdefault(pc.generation, []).append(pc.index)
    return [waves[g] for g in sorted(waves)]


def in_plan_order(waves: Sequence[Sequence[int]], planned: Sequence[PlannedCall]) -> Waves:
    """``waves`` (of indices into ``planned``), each in plan order: larger priority first, then emission order."""
    if len({pc.call.priority for pc in planned}) < 2:
        return tuple(map(tuple, waves))
    # A stable sort keeps equal priorities in emission order, also in reverse.
    priority = [pc.call.priority for pc in planned]
    return tuple(tuple(sorted(wave, key=priority.__getitem__, reverse=True)) for wave in waves)
