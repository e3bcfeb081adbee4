"""Conflict edges: calls that touch one resource key, at least one of them writing, run in emission order.

Each key remembers its last write and the reads since; a new access waits
for what it conflicts with. Calls whose key is only known at run time touch
every key (the wildcard); keyless reads and writes touch a per-tool key no
template can produce. Conflict edges only order: they never propagate
failure.
"""

from __future__ import annotations

from collections import defaultdict

import attrs

from ._drafts import Draft

__all__ = ["Conflicts"]


@attrs.define
class _History:
    """Per resource key: the last write and the reads since."""

    last_write: int | None = None
    reads: list[int] = attrs.Factory(list)


class Conflicts:
    """Adds conflict edges to drafts, which must be added in emission order."""

    def __init__(self) -> None:
        self._histories: dict[object, _History] = defaultdict(_History)
        self._wildcard = _History()

    def add(self, d: Draft) -> None:
        """Record ``d``'s accesses and set ``d.after`` to the earlier calls it conflicts with."""
        tool = d.tool
        if d.verdict is not None or tool is None or tool.side_effect == "none":
            return
        i = d.index
        writes = tool.side_effect == "write"
        after: set[int] = set()
        if d.keys is None:
            touched = [h for k, h in self._histories.items() if not isinstance(k, tuple)]
            _access(self._wildcard, i, writes, after, [*touched, self._wildcard])
            if writes:
                for h in touched:
                    h.last_write, h.reads = i, []
        else:
            names: list[object] = list(d.keys) if tool.keys else [("tool", tool.name)]
            for name in names:
                history = self._histories[name]
                seen = [history] if isinstance(name, tuple) else [history, self._wildcard]
                _access(history, i, writes, after, seen)
        after.discard(i)
        if after:
            d.after = after


def _access(history: _History, index: int, writes: bool, after: set[int], seen: list[_History]) -> None:
    """Record an access to one key and add the conflict edges it implies."""
    for h in seen:
        if h.last_write is not None:
            after.add(h.last_write)
        if writes:
            after.update(h.reads)
    if writes:
        history.last_write, history.reads = index, []
    else:
        history.reads.append(index)
