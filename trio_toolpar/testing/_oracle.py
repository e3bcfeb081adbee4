"""What a generated turn should do, computed from its spec alone (not from the planner)."""

from __future__ import annotations

from typing import final

from ._strategies import CallSpec, TurnSpec

__all__ = ["Oracle"]


@final
class Oracle:
    """Independent expectations for a `TurnSpec`: edges, conflicts, critical path, waves.

    It restates the semantics in the plainest possible way (pairwise checks,
    quadratic loops) so that tests compare the planner and the executor
    against something that shares none of their code.
    """

    def __init__(self, turn: TurnSpec) -> None:
        self.turn = turn
        self.calls = turn.calls
        self.index = {c.id: i for i, c in enumerate(self.calls)}

    @staticmethod
    def conflict(a: CallSpec, b: CallSpec) -> bool:
        """Whether two calls touch the same key and at least one writes."""
        if a.side_effect == "none" or b.side_effect == "none":
            return False
        if a.side_effect != "write" and b.side_effect != "write":
            return False
        if a.key is None or b.key is None:
            return a.key is None and b.key is None and a.tool == b.tool
        return a.key == b.key

    def conflicts(self) -> list[tuple[str, str]]:
        """Every conflicting pair ``(earlier, later)`` in emission order."""
        return [(a.id, b.id) for i, a in enumerate(self.calls) for b in self.calls[i + 1 :] if self.conflict(a, b)]

    def predecessors(self, call_id: str) -> set[str]:
        """The calls that must finish before ``call_id`` starts."""
        i = self.index[call_id]
        call = self.calls[i]
        before = {a.id for a in self.calls[:i] if self.conflict(a, call)}
        return before | set(call.refs)

    def admitted(self, limit: int) -> set[str]:
        """The calls a turn that admits at most ``limit`` runs; the others end ``deferred``.

        In plan order (larger priority first, then emission order), each call
        is admitted with everything it waits for, transitively, and the other
        members of its race, if they all fit and none was refused already.
        """
        admitted: set[str] = set()
        refused: set[str] = set()
        order = sorted(range(len(self.calls)), key=lambda i: (-self.calls[i].priority, i))
        for call in (self.calls[i] for i in order):
            if call.id in admitted or call.id in refused:
                continue
            group = self._with_everything_it_waits_for(call.id)
            if group & refused or len(admitted | group) > limit:
                refused.add(call.id)
            else:
                admitted |= group
        return admitted

    def _with_everything_it_waits_for(self, call_id: str) -> set[str]:
        group = {call_id}
        grew = True
        while grew:
            mates = {
                c.id
                for c in self.calls
                for m in group
                if c.race is not None and c.race == self.calls[self.index[m]].race
            }
            more = set().union(*(self.predecessors(m) for m in group)) | mates
            grew = not more <= group
            group |= more
        return group

    def attempts_allowed(self, call: CallSpec) -> int:
        """How many attempts a call gets: the policy's retries, but never for a write
        (the fake tools do not declare writes idempotent)."""
        if self.turn.retry is None or call.side_effect == "write":
            return 1
        return self.turn.retry.attempts

    def fails(self, call: CallSpec) -> bool:
        """Whether the call's own script makes it fail (all its attempts fail)."""
        return call.fails >= self.attempts_allowed(call)

    def expected_ok(self) -> dict[str, bool]:
        """Under best effort, no budget: which calls end ``ok`` (the rest fail or are skipped)."""
        ok: dict[str, bool] = {}
        for call in self.calls:  # references point to earlier calls only
            ok[call.id] = not self.fails(call) and all(ok[r] for r in call.refs)
        return ok

    def duration(self, call: CallSpec) -> float:
        """Virtual seconds a call takes from its start to its end (retries included)."""
        attempts = min(call.fails + 1, self.attempts_allowed(call))
        retry = self.turn.retry
        waits = 0.0
        if retry is not None:
            waits = sum(retry.delay(k, 0.0) for k in range(1, attempts))
        return call.latency * attempts + waits

    def finish_times_eager(self) -> dict[str, float]:
        """Each call's finish time with unlimited capacity, starting each call when its predecessors end."""
        finish: dict[str, float] = {}
        for call in self._topological():
            start = max((finish[p] for p in self.predecessors(call.id)), default=0.0)
            finish[call.id] = start + self.duration(call)
        return finish

    def critical_path(self) -> float:
        """The longest chain of durations through the dependency and conflict edges."""
        return max(self.finish_times_eager().values(), default=0.0)

    def generations(self) -> dict[str, int]:
        """Topological generation of each call: 0 for sources, else 1 + the latest predecessor's."""
        generation: dict[str, int] = {}
        for call in self._topological():
            preds = self.predecessors(call.id)
            generation[call.id] = max((generation[p] + 1 for p in preds), default=0)
        return generation

    def waves_makespan(self) -> float:
        """The sum over generations of each generation's slowest call."""
        generation = self.generations()
        slowest: dict[int, float] = {}
        for call in self.calls:
            g = generation[call.id]
            slowest[g] = max(slowest.get(g, 0.0), self.duration(call))
        return sum(slowest.values())

    def _topological(self) -> list[CallSpec]:
        # Every edge points from an earlier call to a later one (references go to
        # earlier calls, conflicts are ordered by emission), so emission order is one.
        return list(self.calls)
