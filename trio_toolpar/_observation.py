"""An outcome as the compact JSON observation a model reads."""

from __future__ import annotations

import json
from typing import Any

from ._convert import dumps, jsonable
from ._outcome import Outcome

__all__ = ["observation_dict", "render_observation"]

DEFAULT_MAX_CHARS = 16_000


def observation_dict(
    outcome: Outcome, *, max_chars: int = DEFAULT_MAX_CHARS, traceback: bool = False
) -> dict[str, Any]:
    """The observation as a dict: ``ok``, ``error_code``, ``latency_ms``, then ``result`` or ``error``.

    A result whose JSON is longer than ``max_chars`` becomes its first
    ``max_chars`` characters as a string, with ``"truncated": true`` and the
    full length in ``"result_chars"``, so the model knows it saw a prefix.
    Tracebacks are left out unless ``traceback`` is true.
    """
    data: dict[str, Any] = {"ok": outcome.ok}
    if outcome.error_code is not None:
        data["error_code"] = outcome.error_code.value
    data["latency_ms"] = round(outcome.latency_ms)
    if outcome.ok:
        text = dumps(jsonable(outcome.value))
        if len(text) > max_chars:
            data["result"] = text[:max_chars]
            data["truncated"] = True
            data["result_chars"] = len(text)
        else:
            data["result"] = json.loads(text)  # as JSON holds it: NaN, cycles, odd keys made safe
    else:
        message = outcome.error or outcome.status.value
        if len(message) > max_chars:
            message = message[:max_chars] + " [truncated]"
        data["error"] = message
        if traceback and outcome.traceback is not None:
            data["traceback"] = outcome.traceback[-max_chars:]
    return data


def render_observation(outcome: Outcome, *, max_chars: int = DEFAULT_MAX_CHARS, traceback: bool = False) -> str:
    """`observation_dict` as compact JSON text, ready to send to the model."""
    return dumps(observation_dict(outcome, max_chars=max_chars, traceback=traceback))
