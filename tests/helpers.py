"""Small tools shared by the example tests."""

from __future__ import annotations

from typing import Any

import trio

from trio_toolpar import BestEffort, Executor, FailFast, Registry, Retry, SideEffect
from trio_toolpar.abc import Instrument
from trio_toolpar.testing import Recorder, TurnSpec


class Log:
    """Records (event, call, virtual time) for tools written in tests."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, float]] = []

    def add(self, event: str, name: str) -> None:
        self.events.append((event, name, trio.current_time()))

    def times(self, event: str) -> dict[str, float]:
        return {name: t for e, name, t in self.events if e == event}


def sleeper(
    registry: Registry,
    log: Log,
    name: str,
    *,
    side_effect: SideEffect = "read",
    resource: str | None = None,
    key: str | None = None,
    timeout: float | None = None,
    retry: Retry | None = None,
    idempotent: bool | None = None,
) -> None:
    """A tool ``name(tag, seconds, fail=False, value=None)`` that logs start/finally/end."""

    async def tool(tag: str, seconds: float, fail: bool = False, value: Any = None, k: str = "") -> Any:
        log.add("start", tag)
        try:
            await trio.sleep(seconds)
            if fail:
                raise RuntimeError(f"{tag} failed")
            log.add("end", tag)
            return {"tag": tag, "value": value}
        finally:
            log.add("finally", tag)

    registry.add(
        tool,
        name=name,
        side_effect=side_effect,
        resource=resource,
        key=key,
        timeout=timeout,
        retry=retry,
        idempotent=idempotent,
    )


def instrumented(turn: TurnSpec, *instruments: Instrument) -> Executor:
    """``turn``'s executor (as `TurnSpec.executor` builds it, deterministic, seed 0) with ``instruments``."""
    policy = FailFast(retry=turn.retry) if turn.fail_fast else BestEffort(retry=turn.retry)
    return Executor(
        turn.registry(Recorder()),
        limits=turn.limits,
        max_concurrency=turn.max_concurrency,
        policy=policy,
        budget=turn.budget,
        schedule=turn.schedule,
        seed=0,
        deterministic=True,
        instruments=instruments,
    )
