"""Text for any value or exception, by one rule that cannot raise.

A tool may return, and raise, anything: a 5,000-digit integer, an object
whose ``__str__`` and ``__repr__`` raise, a string with lone surrogates.
Everything the library writes about such a value (an outcome's error, a
traceback, an observation, an idempotency key) goes through these
functions, so that no value can cost a turn its outcomes.
"""

from __future__ import annotations

import re
import sys
import traceback

__all__ = ["clean_text", "exception_text", "format_traceback", "safe_str", "type_name", "without_addresses"]

_SURROGATE = re.compile("[\ud800-\udfff]")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+(?=>)")
# Decimal conversion of larger ints is refused by Python (sys.get_int_max_str_digits) because
# it is quadratic; 3.32 bits a digit, with a margin.
_MAX_PRINTABLE_BITS = int((sys.get_int_max_str_digits() or 4300) * 3.3)


def clean_text(text: str) -> str:
    """``text`` with lone surrogates (which UTF-8 cannot encode) replaced by U+FFFD."""
    return text if text.isascii() else _SURROGATE.sub("\ufffd", text)


def without_addresses(text: str) -> str:
    """``text`` without the memory addresses of default reprs (``<Foo object at 0x7f...>`` becomes ``<Foo object>``).

    An address differs from run to run; what a model reads must not.
    """
    return _ADDRESS.sub("", text) if " at 0x" in text else text


def type_name(value: object) -> str:
    """The name of ``value``'s type."""
    try:
        return str(type(value).__qualname__)
    except Exception:  # a metaclass with a hostile __qualname__
        return "object"


def huge_int_text(value: int) -> str | None:
    """A stand-in for an int too large to print in decimal, or ``None`` if it prints."""
    bits = value.bit_length()
    return f"<int of {bits} bits>" if bits > _MAX_PRINTABLE_BITS else None


def safe_str(value: object) -> str:
    """``str(value)``, else ``repr(value)``, else ``<TypeName>``; never raises."""
    if type(value) is str:
        return clean_text(value)
    if isinstance(value, int) and not isinstance(value, bool):
        stand_in = huge_int_text(value)
        if stand_in is not None:
            return stand_in
    for render in (str, repr):
        try:
            text = render(value)
        except Exception:  # the value's own code failed: try the next way to show it
            continue
        if isinstance(text, str):
            return clean_text(text)
    return f"<{type_name(value)}>"


def exception_text(exc: BaseException) -> str:
    """``"TypeName: message"`` (or just the type name when the message is empty); never raises."""
    message = safe_str(exc)
    return f"{type_name(exc)}: {message}" if message else type_name(exc)


def format_traceback(exc: BaseException) -> str:
    """The formatted traceback of ``exc``; never raises."""
    try:
        text = "".join(traceback.format_exception(exc))
    except Exception:  # formatting runs the exception's own code
        text = f"{exception_text(exc)}\n(the traceback could not be formatted)\n"
    return clean_text(text)
