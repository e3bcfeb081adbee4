"""The plan of a turn, a value: `Plan`.

Planning is pure, synchronous and does no I/O (see `_planner`): a plan can be
built, rendered and tested without running anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import final

import attrs

from .._tools._registry import Registry
from .._values._convert import dumps
from .._values._outcome import Status, ToolCall
from .._values._render import clean_text
from .._values._validate import check_whole_number
from ._admission import admit_batch
from ._batch_planner import plan_batch
from ._planned_call import PlannedCall

__all__ = ["Plan"]


@final
@attrs.frozen(kw_only=True)
class Plan:
    """The schedule of one turn. Build it with `Plan.build`."""

    calls: tuple[PlannedCall, ...]
    """Every call as planned, in emission order."""
    waves: tuple[tuple[int, ...], ...]
    """Per generation, the indices of its calls in plan order (priority, then emission)."""
    cycle: tuple[str, ...] | None
    """The call ids of a dependency cycle (first id repeated last), if the batch has one."""
    admit: int | None = None
    """The most calls the turn admits (``None``: no limit); the others are ``deferred``."""

    @property
    def rejected(self) -> bool:
        """Whether any call was rejected or skipped during planning (a ``deferred`` call is neither)."""
        return any(c.verdict is not None and c.verdict.status is not Status.DEFERRED for c in self.calls)

    @classmethod
    def build(cls, registry: Registry, calls: Iterable[ToolCall], *, admit: int | None = None) -> Plan:
        """Plan ``calls`` (in emission order) against ``registry``, admitting at most ``admit`` of them.

        Raises:
            TypeError: ``admit`` is not an ``int`` (or ``None``).
            ValueError: ``admit`` is less than 1.
        """
        admit = check_whole_number("admit", admit, allow_none=True)
        planned, waves, cycle = plan_batch(registry, list(calls))
        if admit is not None and cycle is None:
            planned, waves = admit_batch(planned, waves, admit)
        return cls(calls=planned, waves=waves, cycle=cycle, admit=admit)

    def render(self) -> str:
        """A text picture of the plan: the waves, each call's edges, the rejections."""
        lines = [f"plan: {len(self.calls)} calls, {len(self.waves)} waves"]
        if self.admit is not None:
            deferred = sum(pc.verdict is not None and pc.verdict.status is Status.DEFERRED for pc in self.calls)
            lines[0] += f"; admits at most {self.admit} calls, {deferred} deferred"
        for number, wave in enumerate(self.waves):
            for position, index in enumerate(wave):
                pc = self.calls[index]
                label = f"wave {number}:" if position == 0 else ""
                lines.append(f"  {label:<9}{_describe(pc, self.calls)}")
        not_run = [pc for pc in self.calls if pc.verdict is not None]
        if not_run:
            lines.append("  not run:")
            for pc in not_run:
                assert pc.verdict is not None
                lines.append(
                    f"    {pc.call.id} {pc.call.tool}: {pc.verdict.status} ({pc.verdict.code}) {pc.verdict.message}"
                )
        return clean_text("\n".join(lines))  # ids, tools and keys are the model's text


def _describe(pc: PlannedCall, calls: Sequence[PlannedCall]) -> str:
    args = ", ".join(f"{k}={dumps(v, compact=False)}" for k, v in (pc.arguments or {}).items())
    if len(args) > 60:
        args = args[:57] + "..."
    parts = [f"{pc.call.id} {pc.call.tool}({args})"]
    tool = pc.tool
    if tool is not None and tool.side_effect != "none":
        where = ",".join(pc.keys) if pc.keys is not None else "<key known at run time>"
        parts.append(
            f"[{tool.side_effect}{' ' + where if where else ''}{' @' + tool.resource if tool.resource else ''}]"
        )
    if pc.needs:
        parts.append("needs " + ",".join(calls[i].call.id for i in pc.needs))
    after = [i for i in pc.after if i not in pc.needs]
    if after:
        parts.append("after " + ",".join(calls[i].call.id for i in after))
    return " ".join(parts)
