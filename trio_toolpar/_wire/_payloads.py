"""What the provider edges (`trio_toolpar.openai`, `trio_toolpar.anthropic`) share.

Reading payloads that are either plain JSON data or SDK objects, and
naming calls that arrived without an id. What the model is told about the
tools is `trio_toolpar._guide` and `trio_toolpar._tool_schema`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from .._runtime._result import TurnResult
from .._values._convert import dumps
from .._values._exceptions import FormatError
from .._values._jsonvalue import MAX_DEPTH
from .._values._outcome import Outcome

__all__ = [
    "MAX_PAYLOAD_DEPTH",
    "MISSING_ID_PREFIX",
    "Unknown",
    "arguments_text",
    "as_data",
    "call_arguments",
    "call_id",
    "check_unknown",
    "loads",
    "mapping",
    "outcomes_of",
    "tool_name",
]

Unknown = Literal["error", "ignore"]
"""What to do with a block or item of a type that is not a call and not known to be harmless."""

MISSING_ID_PREFIX = "missing_id_"


MAX_PAYLOAD_DEPTH = MAX_DEPTH + 20
"""How deeply a provider payload may nest: the arguments' limit plus the message's own levels."""


def as_data(value: object, _depth: int = 0) -> Any:
    """``value`` as plain JSON-like data.

    Mappings become dicts and lists or tuples become lists, recursively;
    anything with a ``model_dump()`` method (the official SDKs' pydantic
    models) is dumped first, so the SDKs are never imported.

    Raises:
        FormatError: the payload nests deeper than ``MAX_PAYLOAD_DEPTH`` levels.
    """
    if _depth > MAX_PAYLOAD_DEPTH:
        raise FormatError(f"the payload nests deeper than {MAX_PAYLOAD_DEPTH} levels")
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, (Mapping, type)):
        value = dump()
    if isinstance(value, Mapping):
        return {str(k): as_data(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_data(v, _depth + 1) for v in value]
    return value


def mapping(value: object, what: str) -> dict[str, Any]:
    """``value`` as a dict, or a `FormatError` that names ``what`` it should have been."""
    data = as_data(value)
    if not isinstance(data, dict):
        raise FormatError(f"{what} must be a JSON object, got {type(data).__name__}: {_short(data)}", payload=value)
    return data


def loads(text: str, what: str) -> Any:
    """Parse JSON text from a provider, or raise a `FormatError` naming ``what`` it was."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise FormatError(f"{what} is not valid JSON ({exc}): {_short(text)}", payload=text) from None


def call_id(raw: object, position: int) -> str:
    """The call's id, or ``missing_id_<position>`` when the provider sent none.

    ``position`` is the call's 0-based place among the tool calls of its
    message, so the synthesized id is stable: the same message always gets
    the same ids, and the assistant message kept in the conversation carries
    them too.
    """
    if isinstance(raw, str) and raw:
        return raw
    return f"{MISSING_ID_PREFIX}{position}"


def call_arguments(raw: object) -> Mapping[str, Any] | str:
    """A call's arguments for `ToolCall`: raw JSON text as is (the planner parses it), an object as a dict.

    Missing arguments are ``{}``; anything else (a list, a number) is passed on
    as its JSON text, which the planner rejects as ``invalid_arguments``.
    """
    if isinstance(raw, str):
        return raw
    if isinstance(raw, Mapping):
        return dict(raw)
    if raw is None:
        return {}
    return dumps(raw)


def tool_name(raw: object) -> str:
    """The tool's name as sent; ``""`` (which the planner rejects as ``unknown_tool``) if missing."""
    return raw if isinstance(raw, str) else ""


def check_unknown(policy: Unknown, message: str, payload: object) -> None:
    """Raise `FormatError` for an unknown block or item, unless ``policy`` is ``"ignore"``."""
    if policy != "ignore":
        raise FormatError(f"{message}; pass unknown='ignore' to skip such entries", payload=payload)


def outcomes_of(outcomes: TurnResult | Iterable[Outcome]) -> list[Outcome]:
    """The outcomes of a turn, in order."""
    return list(outcomes.outcomes if isinstance(outcomes, TurnResult) else outcomes)


def arguments_text(arguments: Mapping[str, Any] | str) -> str:
    """Arguments as the JSON text a provider expects: raw text unchanged, a mapping serialized."""
    return arguments if isinstance(arguments, str) else dumps(dict(arguments))


def _short(value: object, limit: int = 200) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
