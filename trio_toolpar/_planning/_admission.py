"""Turn admission: at most ``limit`` calls of a turn run; the others end ``deferred`` (pure: no Trio).

One turn of a model can fan out hundreds of calls. A limit on the calls a
turn admits bounds that: the calls past it never run, and their outcome
(``deferred``, code ``not_admitted``) tells the model to issue them again
in its next turn.

A batch is admitted in plan order (larger priority first, then emission
order), and a call only together with every call it waits for — the calls
it references and the earlier calls it conflicts with, transitively — and
the other members of its race: a call whose group does not fit in the slots
left, or holds a call already deferred, is deferred. So no admitted call
waits for a deferred one, and the next turn cannot run a deferred write
after a later access to its key that this turn ran. Calls refused by
planning take no slot. An open turn admits its calls in arrival order (see
`OpenAdmission`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from .._values._outcome import ErrorCode, Status, Verdict
from ._drafts import Draft
from ._planned_call import PlannedCall, Waves, unscheduled

__all__ = ["OpenAdmission", "admit_batch", "deferred_verdict"]


def deferred_verdict(limit: int, waits_for: str | None = None) -> Verdict:
    """For a call the turn did not admit; ``waits_for``: the id of a call it waits for that was not admitted."""
    calls = "1 call" if limit == 1 else f"{limit} calls"
    if waits_for is None:
        message = f"not run: this turn admits at most {calls}; issue this call again in your next turn"
    else:
        message = (
            f"not run: it waits for call {waits_for!r}, which this turn did not admit (at most {calls}); "
            "issue both again in your next turn"
        )
    return Verdict(Status.DEFERRED, ErrorCode.NOT_ADMITTED, message)


def admit_batch(planned: Sequence[PlannedCall], waves: Waves, limit: int) -> tuple[tuple[PlannedCall, ...], Waves]:
    """``planned`` and ``waves`` with the calls past ``limit`` deferred (see this module's docstring)."""
    runnable = [pc.index for pc in planned if pc.verdict is None]
    if len(runnable) <= limit:
        return tuple(planned), waves  # everything fits (the usual turn)
    races: dict[str, list[int]] = {}
    for i in runnable:
        race = planned[i].call.race
        if race is not None:
            races.setdefault(race, []).append(i)
    admitted: set[int] = set()
    refused: set[int] = set()
    for i in sorted(runnable, key=lambda i: (-planned[i].call.priority, i)):
        if i in admitted or i in refused:
            continue
        group = _group(i, planned, races, admitted, refused, room=limit - len(admitted))
        if group is None:
            refused.add(i)
        else:
            admitted |= group
    past_limit = deferred_verdict(limit)  # one value for the many calls deferred for the limit alone
    calls = tuple(
        pc
        if pc.verdict is not None or pc.index in admitted
        else unscheduled(pc, _why(pc, planned, admitted, limit, past_limit))
        for pc in planned
    )
    kept = (tuple(i for i in wave if i in admitted) for wave in waves)
    return calls, tuple(wave for wave in kept if wave)


def _group(
    start: int,
    planned: Sequence[PlannedCall],
    races: dict[str, list[int]],
    admitted: set[int],
    refused: set[int],
    *,
    room: int,
) -> set[int] | None:
    """The calls not admitted yet that ``start`` must be admitted with, or ``None`` if they cannot be.

    They cannot when there are more than ``room`` of them, or one was refused already.
    """
    group: set[int] = set()
    stack = [start]
    while stack:
        i = stack.pop()
        if i in group or i in admitted or planned[i].verdict is not None:
            continue  # an admitted call's own group is admitted; a refused call never runs
        if i in refused or len(group) == room:
            return None
        group.add(i)
        pc = planned[i]
        stack.extend(pc.predecessors)
        if pc.call.race is not None:
            stack.extend(races[pc.call.race])
    return group


def _why(
    pc: PlannedCall, planned: Sequence[PlannedCall], admitted: set[int], limit: int, past_limit: Verdict
) -> Verdict:
    """The verdict of a deferred call: it waits for a call deferred too (the first), or ``past_limit``."""
    if not pc.predecessors:
        return past_limit
    waits_for = _first_deferred(pc.predecessors, lambda i: planned[i].verdict is None and i not in admitted)
    if waits_for is None:
        return past_limit
    return deferred_verdict(limit, planned[waits_for].call.id)


def _first_deferred(predecessors: Iterable[int], deferred: Callable[[int], bool]) -> int | None:
    return next((i for i in sorted(predecessors) if deferred(i)), None)


class OpenAdmission:
    """An open turn's admission: calls are admitted in arrival order, up to the limit.

    A call that waits for a deferred call is deferred when it arrives. A call
    admitted while it waited for a call not arrived yet keeps its slot; if that
    call arrives deferred, it is deferred too (with every admitted call that
    waits for it), and the slot stays used: a slot is never given twice.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.admitted = 0
        self._deferred: set[int] = set()

    def arrive(self, d: Draft, drafts: Sequence[Draft]) -> None:
        """Admit or defer ``d``, which planning has not refused, just arrived (its known edges are set)."""
        waits_for = _first_deferred(d.predecessors(), self._deferred.__contains__)
        if waits_for is None and self.admitted < self.limit:
            self.admitted += 1
            return
        self._defer(d, drafts, waits_for)

    def resolved(self, target: int, waiters: Sequence[int], drafts: Sequence[Draft]) -> tuple[int, ...]:
        """Call ``target`` arrived and ``waiters`` now wait for it: if it was deferred, defer them.

        Returns every earlier call deferred now: the waiters and, transitively, the calls that wait for them.
        """
        if target not in self._deferred or not waiters:
            return ()
        found: list[int] = []
        for w in waiters:
            if drafts[w].verdict is None:
                self._defer(drafts[w], drafts, target)
                found.append(w)
        changed = True
        while changed:  # rare: a deferred call that admitted calls referenced before it arrived
            changed = False
            for d in drafts[:target]:
                waits_for = _first_deferred(d.predecessors(), self._deferred.__contains__)
                if d.verdict is None and waits_for is not None:
                    self._defer(d, drafts, waits_for)
                    found.append(d.index)
                    changed = True
        return tuple(sorted(found))

    def _defer(self, d: Draft, drafts: Sequence[Draft], waits_for: int | None) -> None:
        d.reject(
            ErrorCode.NOT_ADMITTED,
            deferred_verdict(self.limit, drafts[waits_for].call.id if waits_for is not None else None).message,
            Status.DEFERRED,
        )
        self._deferred.add(d.index)
