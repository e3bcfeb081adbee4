"""Fake tools whose behaviour is scripted by their arguments."""

from __future__ import annotations

from typing import Any

import trio

from .._tools._context import CallContext
from .._tools._registry import Approver, Registry, SideEffect, Tool
from .._tools._retry import Retry
from .._values._exceptions import Retryable
from ._recorder import Recorder

__all__ = ["FAKE_PARAMETERS", "ScriptedFailure", "add_fake_tool"]

FAKE_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "latency": {"type": "number", "minimum": 0, "description": "seconds each attempt takes"},
        "fails": {"type": "integer", "minimum": 0, "description": "how many attempts fail (after their latency)"},
        "key": {"type": "string", "description": "the resource key it touches"},
        "result": {"description": "what it returns (default: an object naming the call)"},
        "inputs": {"description": "anything, typically references to other calls' results"},
    },
    "required": ["latency"],
    "additionalProperties": False,
}


class ScriptedFailure(Retryable):
    """What a fake tool raises on an attempt its script says fails."""


def add_fake_tool(
    registry: Registry,
    recorder: Recorder,
    name: str,
    *,
    side_effect: SideEffect = "read",
    resource: str | None = None,
    keyed: bool = True,
    timeout: float | None = None,
    retry: Retry | None = None,
    idempotent: bool | None = None,
    weight: int = 1,
    approval: Approver | bool = False,
) -> Tool:
    """Register a fake tool that sleeps on Trio's clock and records each attempt.

    Its arguments script it: ``latency`` seconds per attempt, the first
    ``fails`` attempts raise `ScriptedFailure` (a `Retryable`), then it returns
    ``result`` (default ``{"call": <call id>, "inputs": inputs}``). With
    ``keyed``, the ``key`` argument is its resource key. ``weight`` and
    ``approval`` are registered as given (see `Registry.add`).
    """

    async def fake(
        ctx: CallContext, latency: float, fails: int = 0, key: str = "", result: Any = None, inputs: Any = None
    ) -> Any:
        interval = recorder.begin(
            call_id=ctx.call_id,
            tool=name,
            resource=resource,
            keys=(key,) if keyed and key else (),
            writes=side_effect == "write",
        )
        ending: Any = "cancelled"
        try:
            await trio.sleep(latency)
            if ctx.attempt <= fails:
                ending = "raised"
                raise ScriptedFailure(f"scripted failure of {ctx.call_id}, attempt {ctx.attempt}")
            ending = "returned"
            return result if result is not None else {"call": ctx.call_id, "inputs": inputs}
        finally:
            recorder.end(interval, ending)

    fake.__name__ = name
    return registry.add(
        fake,
        name=name,
        description=f"fake {side_effect} tool",
        parameters=FAKE_PARAMETERS,
        side_effect=side_effect,
        resource=resource,
        key="{key}" if keyed else None,
        timeout=timeout,
        retry=retry,
        idempotent=idempotent,
        weight=weight,
        approval=approval,
    )
