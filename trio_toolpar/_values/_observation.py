"""An outcome as the compact JSON observation a model reads, never longer than asked.

The observation is ``ok``, then ``error_code`` (when there is one), then
``result`` (the value as JSON) or ``error`` (and ``traceback``, when asked
for). Nothing in it changes from run to run for the same outcome: timing
(``latency_ms``) enters only with ``include_timing=True``.

An observation longer than its ``max_chars`` is cut, and the cut says what
it dropped. The texts that can be cut (the result's JSON text, the error,
the traceback) keep as much of themselves as fits, a prefix (the
traceback: its end), and the observation gains ``"truncated": true``,
``"<field>_chars"`` (the whole text's length, for each text that was cut)
and ``"dropped_chars"`` (how many characters of those texts were left
out). A cut result becomes a string: the prefix of its JSON text. When even
that skeleton does not fit, the observation is only ``ok``, ``error_code``,
``truncated`` and ``dropped_chars``, and at the very least
``{"ok":false,"truncated":true}``: 29 characters, the smallest
``max_chars`` accepted (`MIN_OBSERVATION_CHARS`).
"""

from __future__ import annotations

import json
import math
from typing import Any, final

from ._convert import dumps, plain
from ._outcome import Outcome
from ._render import without_addresses
from ._validate import check_whole_number

__all__ = [
    "DEFAULT_MAX_CHARS",
    "MIN_OBSERVATION_CHARS",
    "Observation",
    "check_max_chars",
    "escaped_len",
    "render_observation",
]

DEFAULT_MAX_CHARS = 16_000

MIN_OBSERVATION_CHARS = len('{"ok":false,"truncated":true}')
"""The smallest ``max_chars``: the shortest cut observation, 29 characters."""


def check_max_chars(max_chars: object) -> int:
    """``max_chars`` if it is an ``int`` of at least `MIN_OBSERVATION_CHARS`.

    Raises:
        TypeError: it is not an ``int``.
        ValueError: it is less than `MIN_OBSERVATION_CHARS`.
    """
    return check_whole_number("max_chars", max_chars, minimum=MIN_OBSERVATION_CHARS)


def escaped_len(text: str) -> int:
    """How many characters ``text`` takes inside a JSON string (quotes and control characters escaped)."""
    return len(json.dumps(text, ensure_ascii=False)) - 2


@final
class Observation:
    """One outcome's observation, measured once and rendered to any size.

    Args:
        outcome: the outcome.
        traceback: include the traceback of a failed call (left out by default).
        include_timing: include ``latency_ms``, which differs from run to run.
    """

    def __init__(self, outcome: Outcome, *, traceback: bool = False, include_timing: bool = False) -> None:
        head: dict[str, Any] = {"ok": outcome.ok}
        if outcome.error_code is not None:
            head["error_code"] = outcome.error_code.value
        if include_timing:
            head["latency_ms"] = round(outcome.latency_ms) if math.isfinite(outcome.latency_ms) else None
        self._head = head
        self._value = outcome.value
        texts: dict[str, str] = {}
        if outcome.ok:
            texts["result"] = dumps(outcome.value)
        else:
            # A default repr's address in a message (``<Foo object at 0x...>``) would differ every run.
            texts["error"] = without_addresses(outcome.error or outcome.status.value)
            if traceback and outcome.traceback is not None:
                texts["traceback"] = outcome.traceback
        self._texts = texts
        self._whole: str | None = None

    def whole(self) -> str:
        """The observation with nothing cut."""
        if self._whole is None:
            data = {**self._head, **self._texts}
            if "result" in data:
                try:
                    data["result"] = json.loads(data["result"])  # as JSON holds it: NaN, cycles, odd keys made safe
                except RecursionError:
                    data["result"] = plain(self._value)
            self._whole = dumps(data)
        return self._whole

    def render(self, max_chars: int) -> str:
        """The observation in at most ``max_chars`` characters (at least `MIN_OBSERVATION_CHARS`)."""
        total = sum(len(text) for text in self._texts.values())
        # A text longer than the whole may be is not parsed again only to be cut (a 50 MB result).
        if total <= max_chars and len(self.whole()) <= max_chars:
            return self.whole()
        room = max_chars - len(self._cut(dict.fromkeys(self._texts, ""), total))
        if room >= 0:
            shown: dict[str, str] = {}
            for key, text in self._texts.items():  # the error before its traceback
                shown[key] = _fit(text, room, tail=key == "traceback")
                room -= escaped_len(shown[key])
            cut = self._cut(shown, total - sum(len(part) for part in shown.values()))
            if len(cut) <= max_chars:  # the skeleton was measured with the most digits it can have
                return cut
        brief: dict[str, Any] = {key: self._head[key] for key in ("ok", "error_code") if key in self._head}
        shortest: dict[str, Any] = {"ok": self._head["ok"], "truncated": True}
        for fallback in ({**brief, "truncated": True, "dropped_chars": total}, shortest):
            text = dumps(fallback)
            if len(text) <= max_chars:
                return text
        raise ValueError(f"max_chars={max_chars} is less than {MIN_OBSERVATION_CHARS}, the shortest observation")

    def _cut(self, shown: dict[str, str], dropped: int) -> str:
        data = {**self._head, **shown, "truncated": True}
        for key, text in self._texts.items():
            if len(shown[key]) < len(text):
                data[f"{key}_chars"] = len(text)
        data["dropped_chars"] = dropped
        return dumps(data)


def _fit(text: str, room: int, *, tail: bool = False) -> str:
    """The longest prefix of ``text`` (``tail``: suffix) that takes at most ``room`` characters in a JSON string.

    Escapes (quotes, control characters) make a JSON string longer than its
    text; the cap is on what the model receives.
    """
    low, high = 0, max(0, min(len(text), room))
    while low < high:
        mid = (low + high + 1) // 2
        if escaped_len(text[len(text) - mid :] if tail else text[:mid]) <= room:
            low = mid
        else:
            high = mid - 1
    return text[len(text) - low :] if tail else text[:low]


def render_observation(
    outcome: Outcome,
    *,
    max_chars: int = DEFAULT_MAX_CHARS,
    traceback: bool = False,
    include_timing: bool = False,
) -> str:
    """The outcome as compact JSON text for the model, at most ``max_chars`` characters long.

    ``ok``, ``error_code`` (when there is one), then ``result`` (the value as
    JSON) or ``error``. An observation that would be longer is cut: the
    result's JSON text (or the error) is shortened to a prefix and the
    observation says ``"truncated": true``, the whole length
    (``"result_chars"``, ``"error_chars"``) and ``"dropped_chars"``; a cut
    result is a string, the prefix of its JSON text. The same outcome
    renders to the same text in every run.

    Args:
        outcome: the outcome.
        max_chars: the longest the text may be, in characters (``len()``);
            at least 29, the length of the shortest cut observation,
            ``{"ok":false,"truncated":true}``.
        traceback: add the traceback of a failed call (its end, when cut).
        include_timing: add ``latency_ms``, the call's latency rounded to a
            millisecond. It differs from run to run, so it is left out by
            default: an observation that changes breaks a provider's prompt cache.

    Raises:
        TypeError: ``max_chars`` is not an ``int``.
        ValueError: ``max_chars`` is less than 29.
    """
    check_max_chars(max_chars)
    return Observation(outcome, traceback=traceback, include_timing=include_timing).render(max_chars)
