"""All outcomes of one turn: `TurnResult`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, TypeVar, final, overload

import attrs

from .._planning._plan import Plan
from .._values._convert import converter
from .._values._outcome import ErrorCode, Outcome
from .._values._timeline import render_table, render_timeline

__all__ = ["TurnResult"]

T = TypeVar("T")


def _first_by_id(outcomes: tuple[Outcome, ...]) -> Mapping[str, Outcome]:
    return {o.call_id: o for o in reversed(outcomes)}


@final
@attrs.frozen(kw_only=True)
class TurnResult:
    """All outcomes of one turn, in the calls' input order.

    ``result[0]`` is the first call's `Outcome`; ``result["c1"]`` the outcome
    of the call with id ``c1`` — the first such call, if a turn repeated an id
    (the later ones are rejected) — and a `KeyError` if there is none.
    ``result.get("c1")`` is the same outcome, or ``None`` (like ``dict.get``).
    ``turn_id`` is the turn's id (given, or generated); ``resumed`` says that
    a journal held the turn already, and this run went on from it;
    ``replayed`` are the ids of the calls whose outcomes it returned as an
    earlier run recorded them, without running them again.
    """

    outcomes: tuple[Outcome, ...]
    started_at: float
    finished_at: float
    plan: Plan = attrs.field(eq=False, repr=False)
    turn_id: str = attrs.field(default="", eq=False)
    resumed: bool = attrs.field(default=False, eq=False)
    replayed: tuple[str, ...] = attrs.field(default=(), eq=False)
    _by_id: Mapping[str, Outcome] = attrs.field(
        init=False,
        eq=False,
        repr=False,
        default=attrs.Factory(lambda self: _first_by_id(self.outcomes), takes_self=True),
    )

    @property
    def ok(self) -> bool:
        """``True`` when every call ended ``ok``."""
        return all(o.ok for o in self.outcomes)

    @property
    def awaiting(self) -> tuple[str, ...]:
        """The ids of the calls that await a person's decision (see `Executor.decide`): the turn is suspended."""
        return tuple(o.call_id for o in self.outcomes if o.error_code is ErrorCode.AWAITING_APPROVAL)

    @property
    def elapsed(self) -> float:
        """Seconds on Trio's clock from the turn's start to its end."""
        return self.finished_at - self.started_at

    @overload
    def get(self, call_id: str) -> Outcome | None: ...

    @overload
    def get(self, call_id: str, default: T) -> Outcome | T: ...

    def get(self, call_id: str, default: object = None) -> object:
        """The outcome of the (first) call with this id, or ``default`` if there is none.

        Like ``dict.get``: an unknown id is not an error here. ``result[call_id]``
        is the strict form, which raises `KeyError` naming the ids there are.
        """
        return self._by_id.get(call_id, default)

    def __len__(self) -> int:
        return len(self.outcomes)

    def __iter__(self) -> Iterator[Outcome]:
        return iter(self.outcomes)

    @overload
    def __getitem__(self, key: int) -> Outcome: ...

    @overload
    def __getitem__(self, key: str) -> Outcome: ...

    def __getitem__(self, key: int | str) -> Outcome:
        """The outcome at position ``key`` (an int) or of the call with id ``key`` (a str).

        Raises:
            IndexError: ``key`` is a position past the end.
            KeyError: no call of the turn has the id ``key``.
        """
        if isinstance(key, str):
            try:
                return self._by_id[key]
            except KeyError:
                ids = list(dict.fromkeys(o.call_id for o in self.outcomes))  # in the calls' order
                known = ", ".join([repr(k) for k in ids[:10]] + ["..."] * (len(ids) > 10)) or "none"
                raise KeyError(f"no call of this turn has the id {key!r} (ids: {known})") from None
        return self.outcomes[key]

    def table(self) -> str:
        """A fixed-width text table of the outcomes, for terminals and logs (replayed calls marked)."""
        return render_table(self.outcomes, started_at=self.started_at, replayed=self.replayed)

    def timeline(self, *, width: int = 60) -> str:
        """A text Gantt chart of when each call waited for capacity (``╌``) and ran, on Trio's clock
        (a replayed call: ``↺``)."""
        return render_timeline(
            self.outcomes, started_at=self.started_at, elapsed=self.elapsed, width=width, replayed=self.replayed
        )


def _unstructure_result(result: TurnResult) -> dict[str, Any]:
    return {
        "turn_id": result.turn_id,
        "resumed": result.resumed,
        "replayed": list(result.replayed),
        "ok": result.ok,
        "started_at": result.started_at,
        "finished_at": result.finished_at,
        "outcomes": [converter.unstructure(o) for o in result.outcomes],
    }


converter.register_unstructure_hook(TurnResult, _unstructure_result)
