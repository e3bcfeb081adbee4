"""Reading a call's arguments: JSON text or a mapping, by JSON's own rules.

JSON has no ``NaN`` or ``Infinity`` (Python's parser accepts them), and an
integer literal is a number however long it is (Python's ``int`` refuses to
parse more than ``sys.get_int_max_str_digits()`` digits; here a literal of
up to `MAX_INT_DIGITS` digits becomes an ``int``, and a longer one is a
clear error, not a crash).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

__all__ = ["MAX_INT_DIGITS", "ArgumentsText", "parse_arguments"]

MAX_INT_DIGITS = 100_000
"""The longest integer literal argument text may hold (a bound on the work of converting it)."""


class ArgumentsText(ValueError):
    """Argument text that is not one JSON object; the message says why and what to send."""


def _parse_int(literal: str) -> int:
    digits = len(literal.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise ArgumentsText(f"an integer literal of {digits} digits is longer than {MAX_INT_DIGITS} digits")
    try:
        return int(literal)
    except ValueError:  # more digits than int() parses from text; Decimal has no such limit
        return int(Decimal(literal))


def _refuse_constant(name: str) -> Any:
    raise ArgumentsText(f"{name} is not a JSON value (JSON numbers are finite); send a number or a string")


def _loads(text: str) -> Any:
    return json.loads(text, parse_int=_parse_int, parse_constant=_refuse_constant)


def parse_arguments(raw: Mapping[str, Any] | str) -> Mapping[str, Any]:
    """The arguments as a mapping: parsed if ``raw`` is JSON text (empty text is ``{}``).

    Raises:
        ArgumentsText: the text is not valid JSON, or not an object.
    """
    if type(raw) is dict:
        return raw
    if isinstance(raw, str):
        try:
            parsed = _loads(raw) if raw.strip() else {}
        except ArgumentsText as exc:
            raise ArgumentsText(f"arguments are not valid JSON ({exc}); send one JSON object") from None
        except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
            reason = "they nest too deeply" if isinstance(exc, RecursionError) else str(exc)
            raise ArgumentsText(f"arguments are not valid JSON ({reason}); send one JSON object") from None
    else:
        parsed = raw
    if not isinstance(parsed, Mapping):
        raise ArgumentsText(f"arguments must be a JSON object, got {type(parsed).__name__}")
    return parsed
