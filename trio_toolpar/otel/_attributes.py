"""Attribute names and values: the GenAI semantic conventions' and the library's own."""

from __future__ import annotations

from typing import Any

from .._values._convert import dumps
from .._values._outcome import Outcome, Status

__all__ = [
    "CANCEL_CAUSE",
    "DURATION_BUCKETS",
    "ERROR_TYPE",
    "QUEUE_WAIT",
    "REPLAYED",
    "arguments_attribute",
    "call_attributes",
    "clipped_json",
    "clipped_text",
    "error_type",
    "failure_attributes",
    "progress_attributes",
    "result_attribute",
]

OPERATION = "gen_ai.operation.name"
TOOL_NAME = "gen_ai.tool.name"
TOOL_CALL_ID = "gen_ai.tool.call.id"
TOOL_TYPE = "gen_ai.tool.type"
ERROR_TYPE = "error.type"
ARGUMENTS = "gen_ai.tool.call.arguments"
RESULT = "gen_ai.tool.call.result"

QUEUE_WAIT = "trio_toolpar.queue_wait_s"
CANCEL_CAUSE = "trio_toolpar.cancel_cause"
REPLAYED = "trio_toolpar.replayed"

DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
"""Seconds; the boundaries the GenAI conventions advise for their duration histograms."""


def call_attributes(tool: str, call_id: str | None = None) -> dict[str, Any]:
    """What a tool execution's span (with ``call_id``) or its duration metric (without) is labelled with."""
    attributes: dict[str, Any] = {OPERATION: "execute_tool", TOOL_NAME: tool, TOOL_TYPE: "function"}
    if call_id is not None:
        attributes[TOOL_CALL_ID] = call_id
    return attributes


def error_type(outcome: Outcome) -> str:
    """``error.type`` of a failed call: the exception's qualified class, else the error code (``timeout``...)."""
    exc = outcome.exception
    if exc is not None:
        cls = type(exc)
        return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    return str(outcome.error_code or outcome.status)


def failure_attributes(outcome: Outcome) -> dict[str, Any]:
    """What a call span that did not end ``ok`` adds: the error type, its status and code, and a cancellation's
    cause."""
    code = str(outcome.error_code or outcome.status)
    attributes: dict[str, Any] = {
        ERROR_TYPE: error_type(outcome),
        "trio_toolpar.status": str(outcome.status),
        "trio_toolpar.error_code": code,
    }
    if outcome.status is Status.CANCELLED:
        attributes[CANCEL_CAUSE] = code
    return attributes


def clipped_json(value: object, max_chars: int) -> str:
    """``value`` as JSON text (whatever it is), cut to ``max_chars`` with an explicit marker."""
    return clipped_text(dumps(value), max_chars)


def clipped_text(text: str, max_chars: int) -> str:
    """``text``, cut to ``max_chars`` with an explicit marker."""
    if len(text) <= max_chars:
        return text
    return f"{text[:max_chars]}...<{len(text) - max_chars} more characters>"


def arguments_attribute(arguments: object, max_chars: int) -> dict[str, Any]:
    """The opt-in ``gen_ai.tool.call.arguments``."""
    return {ARGUMENTS: clipped_json(arguments, max_chars)}


def result_attribute(value: object, max_chars: int) -> dict[str, Any]:
    """The opt-in ``gen_ai.tool.call.result``."""
    return {RESULT: clipped_json(value, max_chars)}


def progress_attributes(
    attempt: int, done: float, total: float | None, message: str | None, max_chars: int
) -> dict[str, Any]:
    """The ``trio_toolpar.progress`` event's: the attempt, ``done``, and ``total`` and ``message`` when given."""
    attributes: dict[str, Any] = {"trio_toolpar.attempt": attempt, "trio_toolpar.progress.done": done}
    if total is not None:
        attributes["trio_toolpar.progress.total"] = total
    if message is not None:
        attributes["trio_toolpar.progress.message"] = clipped_text(message, max_chars)
    return attributes
