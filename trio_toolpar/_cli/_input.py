"""What the ``trio-toolpar`` command reads: a tools module, and a calls file in one of four formats.

A calls file holds one of:

- ``plain``: a list of ``{"id", "tool", "arguments", "priority"}`` objects;
- ``openai``: a Chat Completions assistant message (or a whole completion,
  whose first choice is read) with ``tool_calls``, or the bare
  ``tool_calls`` list;
- ``openai-responses``: a Responses API response with an ``output`` list,
  or the bare list of its items (``function_call`` items become calls);
- ``anthropic``: a Messages API message with ``tool_use`` content blocks, or
  the bare content list.

`detect_format` tells them apart by their shape; the provider formats are
read by `trio_toolpar.openai` and `trio_toolpar.anthropic`, which refuse
entries they do not know unless asked to skip them (``--skip-unknown``).
Every problem is a `UsageError` whose message is one line naming the file
and what is wrong.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any, Literal

import cattrs
from cattrs.v import format_exception

from .. import anthropic, openai
from .._tools._registry import Registry
from .._values._convert import converter
from .._values._exceptions import FormatError
from .._values._outcome import ToolCall

__all__ = ["FORMATS", "CallsFormat", "UsageError", "detect_format", "load_calls", "load_registry"]

CallsFormat = Literal["plain", "openai", "openai-responses", "anthropic"]
Unknown = Literal["error", "ignore"]
"""What a provider format's reader does with an entry it does not know (its ``unknown=`` argument)."""
FORMATS: tuple[CallsFormat, ...] = ("plain", "openai", "openai-responses", "anthropic")

_PLAIN_SHAPE = '[{"id", "tool", "arguments"}, ...]'
_MESSAGE_KEYS: tuple[tuple[str, CallsFormat], ...] = (
    ("choices", "openai"),
    ("tool_calls", "openai"),
    ("output", "openai-responses"),
    ("content", "anthropic"),
)
"""The key that tells a provider message (or response) apart, in the order they are looked for."""


class UsageError(Exception):
    """Bad input from the command line; becomes one line on stderr and exit code 2."""


# -- the tools -------------------------------------------------------------------


def load_registry(spec: str, *, app_dir: str) -> Registry:
    """The `Registry` that ``spec`` (``package.module:attribute``) names, imported with ``app_dir`` first on sys.path.

    Raises:
        UsageError: ``spec`` is malformed, the module cannot be imported, or
            the attribute is missing or not a `Registry`.
    """
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise UsageError(f"--tools must look like 'package.module:registry', not {spec!r}")
    path = os.path.abspath(app_dir)
    if path not in sys.path:
        sys.path.insert(0, path)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (module_name + ".").startswith(exc.name + "."):
            raise UsageError(f"cannot find module {module_name!r} (looked in {app_dir!r} and sys.path)") from None
        raise UsageError(f"importing module {module_name!r} failed: {type(exc).__name__}: {exc}") from None
    except Exception as exc:  # the module's own code failed; report it instead of a traceback
        raise UsageError(f"importing module {module_name!r} failed: {type(exc).__name__}: {exc}") from None
    found: Any = module
    for part in attribute.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise UsageError(f"module {module_name!r} has no attribute {attribute!r}") from None
    if not isinstance(found, Registry):
        raise UsageError(f"{spec!r} is {_a(type(found).__name__)}, not a trio_toolpar.Registry")
    return found


# -- the calls -------------------------------------------------------------------


def load_calls(
    path: str, *, format: CallsFormat | None = None, skip_unknown: bool = False
) -> tuple[CallsFormat, list[ToolCall]]:
    """The calls in the file at ``path``, and the format they were read as.

    Args:
        path: the calls file.
        format: read the file as this format (``None``: `detect_format`).
        skip_unknown: skip the entries of a provider format that are not
            calls and that its reader does not know, instead of refusing the file.

    Raises:
        UsageError: the file cannot be read, is not JSON, or does not hold
            calls in the format.
    """
    data = _read_json(path)
    chosen = format if format is not None else detect_format(data)
    if chosen is None:
        raise UsageError(
            f"calls file {path!r} must hold a JSON list of {_PLAIN_SHAPE} objects, or an OpenAI or Anthropic "
            f"message with tool calls, not {_shape(data)} (see --format)"
        )
    try:
        return chosen, _READERS[chosen](data, "ignore" if skip_unknown else "error")
    except FormatError as exc:
        # The readers advise their Python option; say the command line's.
        advice = str(exc).replace("pass unknown='ignore'", "pass --skip-unknown")
        raise UsageError(f"calls file {path!r} is not a valid {chosen} payload: {advice}") from None


def detect_format(data: object) -> CallsFormat | None:
    """Which format the parsed calls file ``data`` is in, by its shape; ``None`` if it is none of them.

    A list is read by its items: the first item of a telling type decides
    (``function`` entries are OpenAI ``tool_calls``, ``function_call`` items
    Responses output, ``tool_use`` blocks Anthropic content); a list of
    objects without a ``type`` or ``role`` is plain.
    """
    if isinstance(data, dict):
        for key, found in _MESSAGE_KEYS:
            if key in data:
                return found
        return None
    if not isinstance(data, list):
        return None
    items = [item for item in data if isinstance(item, dict)]
    for item in items:
        kind = item.get("type")
        if kind == "function" or "function" in item:
            return "openai"
        if kind == "tool_use":
            return "anthropic"
        if kind == "function_call":
            return "openai-responses"
    if not items or all("type" not in item and "role" not in item for item in items):
        return "plain"
    # No call at all: text or thinking blocks are Anthropic's, any other typed item the Responses API's.
    return "anthropic" if any(item.get("type") in ("text", "thinking") for item in items) else "openai-responses"


def _read_json(path: str) -> object:
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except OSError as exc:
        raise UsageError(f"cannot read calls file {path!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"calls file {path!r} is not UTF-8 text: {exc}") from None
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise UsageError(f"calls file {path!r} is not valid JSON: {exc}") from None


def _a(noun: str) -> str:
    """``a list``, ``an int``."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def _shape(data: object) -> str:
    if isinstance(data, dict):
        keys = sorted(data)
        return f"an object with keys {keys[:8]}{' ...' if len(keys) > 8 else ''}"
    return f"a JSON {type(data).__name__}"


def _plain(data: object, unknown: Unknown) -> list[ToolCall]:
    # ``unknown`` is for the provider formats: a plain call with a key it does not know is refused.
    if not isinstance(data, list):
        raise FormatError(f"a plain calls file is a list of {_PLAIN_SHAPE} objects, not {_shape(data)}")
    try:
        return converter.structure(data, list[ToolCall])
    except cattrs.BaseValidationError as exc:
        problems = cattrs.transform_error(exc, format_exception=_format_problem)
        raise FormatError("; ".join(problems)) from None


def _format_problem(exc: BaseException, type_: type | None) -> str:
    if isinstance(exc, KeyError):
        return f"missing key {exc.args[0]!r}"
    if isinstance(exc, (TypeError, cattrs.ForbiddenExtraKeysError)):
        return str(exc)
    return format_exception(exc, type_)


def _openai_chat(data: object, unknown: Unknown) -> list[ToolCall]:
    if isinstance(data, list):
        return openai.calls_from_message({"tool_calls": data}, unknown=unknown)
    if isinstance(data, Mapping) and "choices" in data:
        choices = data["choices"]
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
            raise FormatError("a completion's 'choices' must be a non-empty list of objects")
        return openai.calls_from_message(choices[0].get("message"), unknown=unknown)
    return openai.calls_from_message(data, unknown=unknown)


def _openai_responses(data: object, unknown: Unknown) -> list[ToolCall]:
    return openai.calls_from_response(data, unknown=unknown)


def _anthropic(data: object, unknown: Unknown) -> list[ToolCall]:
    return anthropic.calls_from_message(data, unknown=unknown)


_READERS: Mapping[CallsFormat, Callable[[object, Unknown], list[ToolCall]]] = {
    "plain": _plain,
    "openai": _openai_chat,
    "openai-responses": _openai_responses,
    "anthropic": _anthropic,
}
