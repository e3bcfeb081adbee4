"""Races: calls that are alternatives of one group, where the first to succeed wins.

Calls with the same ``ToolCall.race`` name are members of one group. The
first member to end ``ok`` (and, if the group's `RaceRules` has an ``accept``
predicate, to return a value it accepts) wins; with ``keep=k``, the first
``k`` do. At that instant every other member stops: a running one ends
``cancelled`` and one that never started ``skipped``, both ``lost_race`` —
which is not a failure, so no policy cancels the turn for it. A member whose
value ``accept`` refuses ends ``error`` (``not_accepted``). Failures of
members do not count against the turn while the group can still win: a group
fails as a group, when its last member fails, and only then may a fail-fast
policy stop the turn.

A string argument ``"$@g"`` or ``"$@g.path"`` (or ``"@g"`` in `ToolCall.after`) references group ``g``: the call
waits until the group is decided and gets the winner's value (with
``keep > 1``, the list of the winners' values, in the order they won); if the
group had no winner, it is ``skipped`` with ``dependency_failed``. ``@`` is in
no call id, so the syntax cannot collide with ``$<id>`` or ``$#N``.

This module is bookkeeping only (no Trio): the turn tells `Races` how each
member ended, and it answers who lost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from .._planning._planned_call import PlannedCall
from .._planning._race_groups import ANY_RACE, RaceRules, groups_of
from .._values._outcome import ErrorCode, Outcome, Status, Verdict
from .._values._render import exception_text
from ._call_run import CallRun

__all__ = ["Races", "lost_reason", "lost_verdict", "no_winner_reason"]


def lost_reason(group: str, winners: Sequence[str], *, started: bool) -> Verdict:
    """A member stopped because ``winners`` won ``group`` first."""
    who = ", ".join(repr(w) for w in winners)
    if started:
        return Verdict(Status.CANCELLED, ErrorCode.LOST_RACE, f"stopped: {who} won race {group!r} first")
    return Verdict(Status.SKIPPED, ErrorCode.LOST_RACE, f"not started: {who} won race {group!r} first")


def lost_verdict(group: str, winners: Sequence[str]) -> Verdict:
    """For a member that joins (an open turn's call) after its group has won."""
    status, code, message = lost_reason(group, winners, started=False)
    return Verdict(status=status, code=code, message=message)


def no_winner_reason(group: str) -> Verdict:
    """A call that references a group none of whose members won."""
    return Verdict(
        Status.SKIPPED,
        ErrorCode.DEPENDENCY_FAILED,
        f"not run: it depends on race {group!r}, which no member won",
    )


class Races:
    """The race groups of one turn: members, winners, and who is still undecided."""

    __slots__ = ("_decide", "_group_of", "_losing", "_members", "_open", "_rules", "_runs", "_winners")

    def __init__(
        self,
        rules: Mapping[str, RaceRules],
        calls: Iterable[PlannedCall],
        *,
        runs: Sequence[CallRun],
        decide: Callable[[CallRun, Verdict], None],
    ) -> None:
        """Races under ``rules``, joined by the ``calls`` of a batch that name one.

        A call rejected at planning joins too: it is a member that failed
        (its group fails only when its last member has), not a failure of the
        turn. ``runs`` are the turn's calls by index, and ``decide`` gives one
        its outcome: how `stop_losers` stops the members of a race just won.
        """
        self._rules = rules
        self._runs = runs
        self._decide = decide
        self._losing: list[int] = []
        self._members: dict[str, list[int]] = {}
        self._group_of: dict[int, str] = {}
        self._open: dict[str, int] = {}
        self._winners: dict[str, dict[int, Outcome]] = {}
        """By group, the winners' outcomes by call index, in the order they won."""
        for planned in calls:
            if planned.call.race is not None:
                self.join(planned.index, planned.call.race)

    def __bool__(self) -> bool:
        return bool(self._group_of)

    def join(self, index: int, group: str) -> bool:
        """Make call ``index`` a member of ``group``; ``False`` if the group has already won."""
        if self.won(group):
            return False
        self._members.setdefault(group, []).append(index)
        self._group_of[index] = group
        self._open[group] = self._open.get(group, 0) + 1
        return True

    def late(self, index: int, group: str) -> Verdict | None:
        """Join an open turn's call that arrives now; if its group has already won, why it does not run."""
        if self.join(index, group):
            return None
        return lost_verdict(group, self._winner_ids(group))

    def _stop_losers(self) -> None:
        """Decide, now, the members of a race just won (deciding one may settle more)."""
        while self._losing:
            run = self._runs[self._losing.pop(0)]
            if run.outcome is None:
                self._decide(run, self._lose(run))

    def _lose(self, run: CallRun) -> Verdict:
        """Stop a losing member's work at once (`CallRun.halt`); return its reason."""
        run.halt()
        group = self._group_of[run.index]
        return lost_reason(group, self._winner_ids(group), started=run.started_at is not None)

    def _winner_ids(self, group: str) -> list[str]:
        return [w.call_id for w in self._winners[group].values()]

    def refuses(self, index: int, value: object) -> Verdict | None:
        """Why member ``index``'s ``value`` does not win (its group's ``accept`` says no, or raises)."""
        group = self._group_of.get(index)
        accept = self._rules.get(group, ANY_RACE).accept if group is not None else None
        if accept is None:
            return None
        try:
            accepted = accept(value)
        except Exception as exc:  # the user's predicate failed: this value does not win
            return Verdict(Status.ERROR, ErrorCode.NOT_ACCEPTED, f"race {group!r}: accept raised {exception_text(exc)}")
        if accepted is True:
            return None
        return Verdict(Status.ERROR, ErrorCode.NOT_ACCEPTED, f"race {group!r}: accept refused this call's value")

    def settle(self, index: int, outcome: Outcome) -> bool:
        """Record that call ``index`` has its ``outcome``; if that wins its race, stop the other members now.

        Returns:
            whether a failure of this call counts against the turn: always for
            a non-member; for a member, only when it was its race's last chance.
        """
        group = self._group_of.get(index)
        if group is None:
            return True
        if self.won(group):
            return False  # a loser being decided
        self._open[group] -= 1
        if outcome.ok:
            winners = self._winners.setdefault(group, {})
            winners[index] = outcome
            if self.won(group):
                self._losing.extend(m for m in self._members[group] if m not in winners)
                self._stop_losers()
                return False
        return self._open[group] == 0 and not self._winners.get(group)

    def won(self, group: str) -> bool:
        """Whether ``group`` has all the winners it keeps."""
        return len(self._winners.get(group, ())) >= self._rules.get(group, ANY_RACE).keep

    def winners_value(self, group: str) -> object:
        """What ``$@group`` resolves to: its winner's value (``keep=1``), else the list of its winners' values."""
        values = [w.value for w in self._winners.get(group, {}).values()]
        assert values, "a group with no winner dooms its dependents"
        return values[0] if self._rules.get(group, ANY_RACE).keep == 1 else values

    def failed_reference(self, planned: PlannedCall) -> Verdict | None:
        """Why ``planned`` must not run: it references a group that had no winner."""
        for group in groups_of(planned.call, planned.references):
            if not self._winners.get(group):
                return no_winner_reason(group)
        return None
