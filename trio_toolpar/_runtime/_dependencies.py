"""Which calls of a turn may start, given which have finished: pure bookkeeping, no Trio.

A call waits for its predecessors (the calls it references, and earlier
calls it conflicts with). When one finishes, `Dependencies.finish` says
which calls that made ready; a call whose *referenced* call did not end
``ok`` is doomed by it (conflict edges only order, they never doom).
Shared by batch turns and open turns.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

__all__ = ["Dependencies"]


class Dependencies:
    """Unmet predecessors, successors and doom, by call index."""

    def __init__(self) -> None:
        self._unmet: dict[int, int] = {}
        self._needs: dict[int, Collection[int]] = {}
        self._successors: dict[int, list[int]] = {}
        self._finished: dict[int, bool] = {}
        self._doomed_by: dict[int, int] = {}

    def add(self, index: int, *, needs: Collection[int], after: Iterable[int]) -> bool:
        """Register call ``index`` and what it waits for; return whether it is ready now."""
        if not needs and not after:  # most calls
            return not self._unmet.get(index)
        if needs:
            self._needs[index] = needs
        for pred in {*needs, *after}:
            self._wait(pred, index)
        return not self._unmet.get(index)

    def add_need(self, pred: int, index: int) -> None:
        """Make ``index`` also wait for, and need the result of, ``pred`` (a reference that arrived later)."""
        needs = self._needs.get(index)
        self._needs[index] = {*needs, pred} if needs else {pred}
        self._wait(pred, index)

    def hold(self, index: int, count: int = 1) -> None:
        """Keep ``index`` from being ready for ``count`` more reasons (ids not arrived yet)."""
        self._unmet[index] = self._unmet.get(index, 0) + count

    def release(self, index: int, count: int = 1) -> bool:
        """Drop ``count`` reasons of `hold` (or of waiting for a predecessor); return whether ``index`` is ready."""
        left = self._unmet.get(index, 0) - count
        assert left >= 0, "released more than was held"
        self._unmet[index] = left
        return left == 0

    def drop_edges(self, members: Collection[int]) -> list[int]:
        """Stop members of ``members`` from waiting for each other (a rejected cycle); return those now ready."""
        ready: list[int] = []
        for member in sorted(members):
            successors = self._successors.get(member, [])
            kept = [k for k in successors if k not in members]
            for k in successors:
                if k in members and self.release(k):
                    ready.append(k)
            self._successors[member] = kept
        return ready

    def finish(self, index: int, *, ok: bool, holds: bool = False) -> list[int]:
        """Record that ``index`` has its outcome; return the calls that became ready, in the order they waited.

        ``holds``: it waits for a person's decision, so every call after it waits too, by any edge.
        """
        self._finished[index] = ok
        ready: list[int] = []
        for k in self._successors.pop(index, ()):
            if holds or (not ok and index in self._needs.get(k, ())):
                self._doomed_by.setdefault(k, index)
            if self.release(k):
                ready.append(k)
        return ready

    def waiting_for(self, index: int) -> list[int]:
        """The calls that still wait for ``index`` (none once it has finished), in the order they began to."""
        return self._successors.get(index, [])

    def doomed_by(self, index: int) -> int | None:
        """The first referenced call of ``index`` that did not end ``ok``, if any."""
        return self._doomed_by.get(index)

    def ready(self, index: int) -> bool:
        """Whether ``index`` waits for nothing any more."""
        return not self._unmet.get(index)

    def ready_among(self, indices: Iterable[int]) -> list[int]:
        """Those of ``indices`` that wait for nothing any more, in their order."""
        unmet = self._unmet
        return [i for i in indices if not unmet.get(i)]

    def _wait(self, pred: int, index: int) -> None:
        done = self._finished.get(pred)
        if done is None:
            self._successors.setdefault(pred, []).append(index)
            self.hold(index)
        elif not done and pred in self._needs.get(index, ()):
            self._doomed_by.setdefault(index, pred)
