"""Hypothesis strategies that generate whole turns: DAGs, conflicts, latencies, failures, caps, budgets,
and on request races, approval gates and weights."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, final

import attrs
import trio

from .._journal._protocol import Journal
from .._planning._race_groups import RaceRules
from .._runtime._executor import Executor
from .._runtime._policy import BestEffort, FailFast, Policy
from .._runtime._settings import Schedule
from .._tools._registry import Approval, Approver, Registry, SideEffect, Tool
from .._tools._retry import Retry
from .._values._outcome import ToolCall
from ._fakes import add_fake_tool
from ._hypothesis import st
from ._recorder import Recorder

__all__ = ["CallSpec", "TurnSpec", "turns"]


@final
@attrs.frozen(kw_only=True)
class CallSpec:
    """One generated call: which fake tool, how long, how it fails, what it references."""

    id: str
    side_effect: SideEffect
    resource: str | None
    key: str | None
    """``None``: a keyless tool (a keyless write conflicts with every call to its tool)."""
    latency: float
    fails: int
    """How many attempts fail; ``0`` never, a large number always."""
    refs: tuple[str, ...]
    priority: int = 0
    race: str | None = None
    """The race group it is a member of, if any."""
    weight: int = 1
    """Units of its resource's cap (and of ``max_concurrency``) it takes."""
    approval: float | None = None
    """``None``: its tool is not gated; else seconds its approver takes to answer."""
    approved: bool = True
    """What its approver answers (a refusal ends it ``rejected``, ``not_approved``)."""

    @property
    def tool(self) -> str:
        """The fake tool's name, one per (side effect, resource, keyed, weight, gated)."""
        name = f"{self.side_effect}_{self.resource or 'local'}_{'keyed' if self.key is not None else 'keyless'}"
        if self.weight > 1:
            name += f"_w{self.weight}"
        return name + "_gated" if self.approval is not None else name

    def arguments(self) -> dict[str, Any]:
        """The call's arguments: its script, its key, and its references."""
        arguments: dict[str, Any] = {"latency": self.latency}
        if self.fails:
            arguments["fails"] = self.fails
        if self.key is not None:
            arguments["key"] = self.key
        if self.refs:
            arguments["inputs"] = [f"${ref}.call" for ref in self.refs]
        return arguments


@final
@attrs.frozen(kw_only=True)
class TurnSpec:
    """A generated turn and the executor settings to run it under."""

    calls: tuple[CallSpec, ...]
    limits: Mapping[str, int]
    max_concurrency: int | None
    budget: float | None
    fail_fast: bool
    schedule: Schedule
    retry: Retry | None = None
    # Not factory=dict: the reference would show dict's own docstring as this field's.
    races: Mapping[str, RaceRules] = attrs.field(factory=lambda: {})
    """The rules of its race groups: pass ``races=turn.races`` to `Executor.run`."""
    admit: int | None = None
    """The most calls the turn admits (the executor's ``max_calls_per_turn``); ``None``: no limit."""

    def tool_calls(self) -> list[ToolCall]:
        """The calls, as a model would send them."""
        return [
            ToolCall(id=c.id, tool=c.tool, arguments=c.arguments(), priority=c.priority, race=c.race)
            for c in self.calls
        ]

    def registry(self, recorder: Recorder) -> Registry:
        """A registry with the fake tools these calls use, recording into ``recorder``."""
        registry = Registry()
        for c in self.calls:
            if c.tool not in registry:
                add_fake_tool(
                    registry,
                    recorder,
                    c.tool,
                    side_effect=c.side_effect,
                    resource=c.resource,
                    keyed=c.key is not None,
                    weight=c.weight,
                    approval=c.approval is not None,
                )
        return registry

    def approver(self) -> Approver:
        """The executor's approver for gated calls: each answers after its ``approval`` seconds, as scripted."""
        by_id = self.by_id()

        async def approve(call: ToolCall, tool: Tool) -> Approval:
            spec = by_id[call.id]
            await trio.sleep(spec.approval or 0.0)
            return Approval(approved=spec.approved, reason=None if spec.approved else f"scripted refusal of {call.id}")

        return approve

    def executor(
        self,
        recorder: Recorder,
        *,
        schedule: Schedule | None = None,
        seed: int = 0,
        deterministic: bool = True,
        policy: Policy | None = None,
        journal: Journal | None = None,
    ) -> Executor:
        """An executor for this turn's settings (``schedule``, ``policy``: over the generated ones), on ``journal``.

        It is ``deterministic`` (see `Executor`) unless told otherwise: these turns run on a MockClock.
        """
        if policy is None:
            policy = FailFast(retry=self.retry) if self.fail_fast else BestEffort(retry=self.retry)
        return Executor(
            self.registry(recorder),
            limits=self.limits,
            max_concurrency=self.max_concurrency,
            policy=policy,
            budget=self.budget,
            schedule=schedule or self.schedule,
            seed=seed,
            deterministic=deterministic,
            approve=self.approver() if any(c.approval is not None for c in self.calls) else None,
            journal=journal,
            max_calls_per_turn=self.admit,
        )

    def by_id(self) -> dict[str, CallSpec]:
        """The calls by id."""
        return {c.id: c for c in self.calls}


_LATENCIES = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0)


@st.composite
def _turn(
    draw: st.DrawFn,
    *,
    max_calls: int,
    resources: Sequence[str],
    keys: Sequence[str],
    failures: bool,
    policies: Sequence[Literal["best-effort", "fail-fast"]],
    schedules: Sequence[Schedule],
    budgets: bool,
    retries: bool,
    races: bool,
    gates: bool,
    weights: bool,
    admission: bool,
) -> TurnSpec:
    n = draw(st.integers(min_value=1, max_value=max_calls))
    calls: list[CallSpec] = []
    for i in range(n):
        earlier = [c.id for c in calls]
        refs = draw(st.lists(st.sampled_from(earlier), max_size=3, unique=True)) if earlier else []
        resource = draw(st.sampled_from((None, *resources)))
        gated = gates and draw(st.sampled_from((False, False, True)))
        calls.append(
            CallSpec(
                id=f"c{i}",
                side_effect=draw(st.sampled_from(("none", "read", "read", "write"))),
                resource=resource,
                key=draw(st.one_of(st.none(), st.sampled_from(tuple(keys)))) if keys else None,
                latency=draw(st.sampled_from(_LATENCIES)),
                fails=draw(st.sampled_from((0, 0, 0, 0, 1, 99))) if failures else 0,
                refs=tuple(refs),
                priority=draw(st.sampled_from((0, 0, 0, 1))),
                race=draw(st.sampled_from((None, None, "g0", "g1"))) if races else None,
                weight=draw(st.sampled_from((1, 1, 2))) if weights and resource is not None else 1,
                approval=draw(st.sampled_from((0.0, 0.5, 1.0))) if gated else None,
                approved=draw(st.sampled_from((True, True, False))) if gated else True,
            )
        )
    # A cap below a call's weight would refuse the executor: every cap takes the heaviest call it serves.
    heaviest = {r: max((c.weight for c in calls if c.resource == r), default=1) for r in resources}
    limits = {r: draw(st.integers(min_value=heaviest[r], max_value=4)) for r in resources if draw(st.booleans())}
    groups = sorted({c.race for c in calls if c.race is not None})
    return TurnSpec(
        calls=tuple(calls),
        limits=limits,
        max_concurrency=draw(st.one_of(st.none(), st.integers(min_value=max(c.weight for c in calls), max_value=6))),
        budget=draw(st.one_of(st.none(), st.sampled_from((0.5, 1.0, 2.0, 3.5, 6.0)))) if budgets else None,
        fail_fast=draw(st.sampled_from(tuple(policies))) == "fail-fast",
        schedule=draw(st.sampled_from(tuple(schedules))),
        retry=Retry(attempts=2, backoff=0.25, jitter=0.0) if retries and draw(st.booleans()) else None,
        races={g: RaceRules(keep=draw(st.sampled_from((1, 1, 2)))) for g in groups},
        admit=draw(st.one_of(st.none(), st.integers(min_value=1, max_value=n))) if admission else None,
    )


def turns(
    *,
    max_calls: int = 10,
    resources: Sequence[str] = ("alpha", "beta"),
    keys: Sequence[str] = ("k1", "k2", "k3"),
    failures: bool = True,
    policies: Sequence[Literal["best-effort", "fail-fast"]] = ("best-effort", "fail-fast"),
    schedules: Sequence[Schedule] = ("waves", "eager"),
    budgets: bool = True,
    retries: bool = True,
    races: bool = False,
    gates: bool = False,
    weights: bool = False,
    admission: bool = False,
) -> st.SearchStrategy[TurnSpec]:
    """Generate `TurnSpec`s: random DAGs of references (to earlier calls, so acyclic),
    conflicts on a few shared keys, latencies on a quarter-second grid (so virtual
    times add up exactly), scripted failures, caps, budgets, policies and schedules.

    On request, also ``races`` (calls joining groups ``g0``/``g1``, with
    `RaceRules` in `TurnSpec.races`), ``gates`` (gated tools whose approver,
    `TurnSpec.approver`, answers as scripted after a delay) and ``weights``
    (calls taking two units of their resource's cap; caps are drawn no lower
    than the heaviest call). They are off by default: `Oracle` knows nothing
    of them. ``admission`` draws a limit on the calls the turn admits
    (`TurnSpec.admit`), which `Oracle.admitted` predicts.

    Examples:
        ```python
        @given(turn=turns(max_calls=8))
        async def test_mine(turn, autojump_clock):
            recorder = Recorder()
            result = await turn.executor(recorder).run(turn.tool_calls())
            assert len(result) == len(turn.calls)
        ```
    """
    return _turn(
        max_calls=max_calls,
        resources=resources,
        keys=keys,
        failures=failures,
        policies=policies,
        schedules=schedules,
        budgets=budgets,
        retries=retries,
        races=races,
        gates=gates,
        weights=weights,
        admission=admission,
    )
