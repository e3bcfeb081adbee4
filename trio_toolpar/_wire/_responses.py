"""The OpenAI Responses API's items: the calls in a response, what to keep of it, and the answers.

A response's ``output`` is a list of items (reasoning, messages, calls, the
server's own tool calls); the next request's ``input`` is the conversation
so far, these items included, with an answer to every call the client was
asked to make. Here each kind of item is one of:

* a call trio_toolpar runs: ``function_call`` (its ``arguments``), and
  ``custom_tool_call``, whose one text ``input`` is passed to the registered
  tool of its name as the argument ``input``; answered once the calls ran
  (`function_call_outputs`);
* a call trio_toolpar does not run (``apply_patch_call``, ``shell_call``,
  ``local_shell_call``, ``mcp_approval_request``): answered at once, in the
  items to keep, with its own ``*_output`` item saying that it was not run
  (`answer_of`), so that the model reads why and the conversation stays one
  the API accepts;
* an item that needs no answer (text, reasoning, the server's own tools and
  their results, the answers themselves): kept as it is;
* anything else, ``computer_call`` included (its output holds only a
  screenshot): "unknown", for the ``unknown`` policy.

The stream of such a response is `trio_toolpar._wire._response_stream`.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Mapping
from typing import Any, Literal

from .._runtime._result import TurnResult
from .._values._budget import render_observations
from .._values._exceptions import FormatError
from .._values._observation import DEFAULT_MAX_CHARS, render_observation
from .._values._outcome import ErrorCode, Outcome, Status, ToolCall
from ._payloads import Unknown, arguments_text, as_data, call_arguments, call_id, check_unknown, outcomes_of

__all__ = [
    "CUSTOM_INPUT",
    "ItemKind",
    "answer_of",
    "call_of",
    "calls_from_response",
    "custom_call_ids",
    "failure",
    "function_call_outputs",
    "item_kind",
    "output_of",
    "outputs",
    "response_items",
]

CUSTOM_INPUT = "input"
"""The argument a custom tool call's text is passed as: register the tool with one ``input: str`` parameter."""

ItemKind = Literal["call", "answer", "skip"]
"""What an item is to the client: a call it runs, a call it answers without running it, or neither."""

_CALLS = frozenset({"function_call", "custom_tool_call"})
# Items that need no answer from the client: text, reasoning, the server's own tools and their results,
# and the answers in an input list. Anything else that is not a call is "unknown" (see ``unknown``).
_ITEMS_TO_SKIP = frozenset(
    {
        "message",
        "reasoning",
        "web_search_call",
        "file_search_call",
        "image_generation_call",
        "code_interpreter_call",
        "mcp_call",
        "mcp_list_tools",
        "tool_search_call",
        "compaction",
        "function_call_output",
        "custom_tool_call_output",
        "apply_patch_call_output",
        "shell_call_output",
        "local_shell_call_output",
        "computer_call_output",
        "mcp_approval_response",
    }
)


def _not_run(kind: str, n: int) -> str:
    """The observation a call trio_toolpar does not run is answered with."""
    outcome = Outcome(
        call_id=f"output[{n}]",
        tool=kind,
        status=Status.REJECTED,
        error_code=ErrorCode.UNKNOWN_TOOL,
        error=f"not run: this client runs function tools (and custom tools it has registered), not "
        f"{kind} items, so nothing was done; use one of the function tools instead",
    )
    return render_observation(outcome)


def _answer_patch(item: Mapping[str, Any], n: int) -> dict[str, Any]:
    return {
        "type": "apply_patch_call_output",
        "call_id": item["call_id"],
        "status": "failed",
        "output": _not_run(item["type"], n),
    }


def _answer_shell(item: Mapping[str, Any], n: int) -> dict[str, Any]:
    failed = {"stdout": "", "stderr": _not_run(item["type"], n), "outcome": {"type": "exit", "exit_code": 1}}
    return {"type": "shell_call_output", "call_id": item["call_id"], "output": [failed]}


def _answer_local_shell(item: Mapping[str, Any], n: int) -> dict[str, Any]:
    return {"type": "local_shell_call_output", "id": item["call_id"], "output": _not_run(item["type"], n)}


def _answer_approval(item: Mapping[str, Any], n: int) -> dict[str, Any]:
    server = item.get("server_label")
    reason = (
        f"not approved: this client does not approve MCP tool calls on its user's behalf "
        f"(server {server!r}, tool {item.get('name')!r}); ask the user, or use one of the function tools"
    )
    return {"type": "mcp_approval_response", "approval_request_id": item["id"], "approve": False, "reason": reason}


_ANSWERS: Mapping[str, tuple[str, Callable[[Mapping[str, Any], int], dict[str, Any]]]] = {
    "apply_patch_call": ("call_id", _answer_patch),
    "shell_call": ("call_id", _answer_shell),
    "local_shell_call": ("call_id", _answer_local_shell),
    "mcp_approval_request": ("id", _answer_approval),
}
"""Calls trio_toolpar answers without running them: the field that names the call, and the answer."""
_UNANSWERABLE = {
    "computer_call": "a computer_call_output holds only a screenshot, so the client cannot say it did not run it; "
    "run computer use yourself",
}


def output_of(response: object) -> list[Any]:
    """A response's ``output`` items (or the list of items it is)."""
    data = as_data(response)
    if isinstance(data, dict):
        if not isinstance(data.get("output"), list):
            raise FormatError("a Responses API response must have an 'output' list", payload=response)
        return list(data["output"])
    if isinstance(data, list):
        return data
    raise FormatError(f"expected a response or a list of output items, got {type(data).__name__}", payload=response)


def item_kind(item: object, n: int, unknown: Unknown, payload: object) -> ItemKind | None:
    """What ``item`` (``output[n]``) is (see `ItemKind`); ``None`` for an unknown item that ``unknown`` ignores.

    Raises:
        FormatError: the item is not an object, or it is unknown and ``unknown`` is ``"error"``.
    """
    if not isinstance(item, dict):
        raise FormatError(f"output[{n}] must be an object, got {type(item).__name__}", payload=payload)
    kind = item.get("type")
    name = kind if isinstance(kind, str) else ""  # a type that is a list or an object is unknown, and unhashable
    if name in _CALLS:
        return "call"
    if name in _ANSWERS:
        return "answer"
    if name in _ITEMS_TO_SKIP or (kind is None and "role" in item):
        return "skip"  # an input list's messages have a role and no type
    if name in _UNANSWERABLE:
        message = f"output[{n}] has type {kind!r}: {_UNANSWERABLE[name]}"
    else:
        message = f"output[{n}] has type {kind!r}, which is not a call trio_toolpar runs or answers"
    check_unknown(unknown, message, item)
    return None


def call_of(item: Mapping[str, Any], n: int) -> ToolCall:
    """The call a ``function_call`` or ``custom_tool_call`` item (``output[n]``) asks for; its id is the ``call_id``."""
    name = item.get("name")
    if item.get("type") == "custom_tool_call":
        text = item.get(CUSTOM_INPUT)  # not text: passed on for the schema to refuse, never dropped
        arguments: Mapping[str, Any] | str = {CUSTOM_INPUT: "" if text is None else text}
    else:
        arguments = call_arguments(item.get("arguments"))
    return ToolCall(id=call_id(item.get("call_id"), n), tool=name if isinstance(name, str) else "", arguments=arguments)


def answer_of(item: Mapping[str, Any], n: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A call trio_toolpar does not run, as kept (under the id it is answered by), and its answer."""
    field, answer = _ANSWERS[item["type"]]
    kept = {**item, field: call_id(item.get(field), n)}
    return kept, answer(kept, n)


def calls_from_response(response: object, *, unknown: Unknown = "error") -> list[ToolCall]:
    """The calls of a Responses API response that trio_toolpar runs, in order; ids are their ``call_id``.

    ``function_call`` items, and ``custom_tool_call`` items, whose text
    ``input`` goes to the tool of their name as the argument ``input``
    (register it with one ``input: str`` parameter; a custom call of a tool
    that is not registered is rejected as ``unknown_tool``, and answered).

    Args:
        response: a response (its ``output`` is read) or a list of output
            items, as dicts or SDK objects.
        unknown: what to do with an item that is neither a call trio_toolpar
            runs or answers nor one that needs no answer: ``"error"`` raises
            `FormatError`, ``"ignore"`` skips it. ``computer_call`` is one
            (its output holds only a screenshot).

    Raises:
        FormatError: no ``output`` list, an item that is not an object, or an
            unknown item type.
    """
    items = output_of(response)
    return [call_of(item, n) for n, item in enumerate(items) if item_kind(item, n, unknown, response) == "call"]


def response_items(response: object, *, unknown: Unknown = "error") -> list[dict[str, Any]]:
    """The items to keep in the next request's ``input``, in order, each call trio_toolpar does not run answered.

    Each call is written back under the id it runs with (``missing_id_<n>``
    if it had none), a ``function_call`` with its arguments as JSON text;
    right after each call trio_toolpar does not run comes its answer (an
    ``apply_patch_call_output`` with status ``failed``, a
    ``shell_call_output``, a ``local_shell_call_output``, an
    ``mcp_approval_response`` that does not approve), saying that it was not
    run, unless the items already hold one. ``null`` fields are dropped, and
    so are unknown items with ``unknown="ignore"``.

    Raises:
        FormatError: as `calls_from_response`.
    """
    items = output_of(response)
    answered = {str(i.get("call_id") or i.get("approval_request_id") or i.get("id")) for i in items if _is_answer(i)}
    kept: list[dict[str, Any]] = []
    for n, item in enumerate(items):
        kind = item_kind(item, n, unknown, response)
        if kind is None:
            continue
        clean = {k: v for k, v in item.items() if v is not None}
        if kind == "call":
            call = call_of(item, n)
            written = {"arguments": arguments_text(call.arguments)} if item.get("type") == "function_call" else {}
            clean.update(call_id=call.id, name=call.tool, **written)
        elif kind == "answer":
            clean, answer = answer_of(clean, n)
            kept.append(clean)
            if str(answer.get("call_id") or answer.get("approval_request_id") or answer.get("id")) not in answered:
                kept.append(answer)
            continue
        kept.append(clean)
    return kept


def _is_answer(item: object) -> bool:
    return (
        isinstance(item, dict) and isinstance(item.get("type"), str) and item["type"].endswith(("_output", "_response"))
    )


def custom_call_ids(response: object) -> set[str]:
    """The ids of the ``custom_tool_call`` items of a response (or list of items): answered as custom outputs."""
    return {
        call_of(item, n).id
        for n, item in enumerate(output_of(response))
        if isinstance(item, dict) and item.get("type") == "custom_tool_call"
    }


def function_call_outputs(
    outcomes: TurnResult | Iterable[Outcome],
    *,
    max_chars: int = DEFAULT_MAX_CHARS,
    budget: int | None = None,
    include_timing: bool = False,
    response: object = None,
) -> list[dict[str, Any]]:
    """One output item per outcome, in the calls' order: ``function_call_output``, or for a custom call
    ``custom_tool_call_output``. Equal outcomes give equal items, byte for byte, in every run.

    Args:
        outcomes: the turn's outcomes.
        max_chars: the longest observation per call.
        budget: the most characters of the items' ``output`` texts together
            (see `trio_toolpar.openai.tool_messages`).
        include_timing: add each call's ``latency_ms``.
        response: the response (or list of items) the calls came from: its
            ``custom_tool_call`` items are answered with
            ``custom_tool_call_output`` (without it, every answer is a
            ``function_call_output``).

    Raises:
        ValueError: as `trio_toolpar.openai.tool_messages`.
    """
    return outputs(
        outcomes,
        custom=custom_call_ids(response) if response is not None else frozenset(),
        max_chars=max_chars,
        budget=budget,
        include_timing=include_timing,
    )


def outputs(
    outcomes: TurnResult | Iterable[Outcome],
    *,
    custom: Container[str],
    max_chars: int,
    budget: int | None = None,
    include_timing: bool = False,
) -> list[dict[str, Any]]:
    """`function_call_outputs`, the custom calls named by their ids."""
    chosen = outcomes_of(outcomes)
    texts = render_observations(chosen, max_chars=max_chars, budget=budget, include_timing=include_timing)
    return [
        {
            "type": "custom_tool_call_output" if o.call_id in custom else "function_call_output",
            "call_id": o.call_id,
            "output": text,
        }
        for o, text in zip(chosen, texts, strict=True)
    ]


def failure(event: Mapping[str, Any]) -> str:
    """The message of an ``error`` or ``response.failed`` event."""
    error = event.get("error")
    if event.get("type") == "response.failed":
        response = event.get("response")
        error = response.get("error") if isinstance(response, dict) else None
    if isinstance(error, dict):
        code = f" ({error['code']})" if isinstance(error.get("code"), str) else ""
        return f"{error.get('message')}{code}"
    if event.get("type") == "error":
        code = f" ({event['code']})" if isinstance(event.get("code"), str) else ""
        return f"{event.get('message')}{code}"
    return str(error)
