"""An outcome as the compact JSON observation a model reads."""

from __future__ import annotations

import json
from typing import Any

from ._convert import dumps, jsonable
from ._outcome import Outcome
from ._validate import check_whole_number

__all__ = ["observation_dict", "render_observation"]

DEFAULT_MAX_CHARS = 16_000


def observation_dict(
    outcome: Outcome, *, max_chars: int = DEFAULT_MAX_CHARS, traceback: bool = False
) -> dict[str, Any]:
    """The observation as a dict: ``ok``, ``error_code``, ``latency_ms``, then ``result`` or ``error``.

    A result whose JSON is longer than ``max_chars`` becomes a prefix of that
    JSON as a string, at most ``max_chars`` long once escaped, with ``"truncated": true`` and the
    full length in ``"result_chars"``, so the model knows it saw a prefix.
    Tracebacks are left out unless ``traceback`` is true.

    Raises:
        TypeError: ``max_chars`` is not an ``int``.
        ValueError: ``max_chars`` is less than 1.
    """
    check_whole_number("max_chars", max_chars)
    data: dict[str, Any] = {"ok": outcome.ok}
    if outcome.error_code is not None:
        data["error_code"] = outcome.error_code.value
    data["latency_ms"] = round(outcome.latency_ms)
    if outcome.ok:
        text = dumps(jsonable(outcome.value))
        if len(text) > max_chars:
            data["result"] = _fit(text, max_chars)
            data["truncated"] = True
            data["result_chars"] = len(text)
        else:
            data["result"] = json.loads(text)  # as JSON holds it: NaN, cycles, odd keys made safe
    else:
        message = outcome.error or outcome.status.value
        if len(json.dumps(message, ensure_ascii=False)) > max_chars + 2:
            message = _fit(message, max_chars) + " [truncated]"
        data["error"] = message
        if traceback and outcome.traceback is not None:
            data["traceback"] = outcome.traceback[-max_chars:]
    return data


def _fit(text: str, max_chars: int) -> str:
    """The longest prefix of ``text`` whose JSON string form is at most ``max_chars`` (+ quotes).

    Escapes (quotes, control characters) make a JSON string longer than its
    text; the cap is on what the model receives.
    """
    low, high = 0, min(len(text), max_chars)
    while low < high:
        mid = (low + high + 1) // 2
        if len(json.dumps(text[:mid], ensure_ascii=False)) <= max_chars + 2:
            low = mid
        else:
            high = mid - 1
    return text[:low]


def render_observation(outcome: Outcome, *, max_chars: int = DEFAULT_MAX_CHARS, traceback: bool = False) -> str:
    """`observation_dict` as compact JSON text, ready to send to the model."""
    return dumps(observation_dict(outcome, max_chars=max_chars, traceback=traceback))
