"""What a turn is given: its calls, read from `ToolCall`s or mappings, and its options, checked."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast, final

from .._values._convert import converter
from .._values._outcome import ToolCall
from .._values._render import safe_str
from .._values._validate import check_number, check_whole_number

__all__ = ["USE_EXECUTOR_DEFAULT", "UseExecutorDefault", "as_calls", "check_admit", "check_budget"]


@final
class UseExecutorDefault:
    """The type of `USE_EXECUTOR_DEFAULT`: a turn option left to the executor's own setting."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "USE_EXECUTOR_DEFAULT"


USE_EXECUTOR_DEFAULT = UseExecutorDefault()
"""The default of a turn's ``budget=`` and ``admit=``: the executor's own setting (unlike ``None``: no limit).

Pass it to forward "whatever the executor says" explicitly, as httpx's
``USE_CLIENT_DEFAULT`` does for a request's options.
"""


def check_budget(budget: object) -> float | None:
    seconds = check_number("budget", budget, minimum=0, unit="seconds", allow_none=True)
    return float(seconds) if seconds is not None else None


def check_admit(name: str, admit: object) -> int | None:
    return check_whole_number(name, admit, allow_none=True)


def as_calls(calls: Iterable[ToolCall | Mapping[str, Any]]) -> list[ToolCall]:
    """The calls, with mappings (``{"id": ..., "tool": ..., "arguments": ...}``) read as `ToolCall`s."""
    given = list(calls)
    if set(map(type, given)) <= {ToolCall}:  # the usual case, in one pass at C speed (ToolCall is final)
        return cast("list[ToolCall]", given)
    out: list[ToolCall] = []
    for position, call in enumerate(given):
        if isinstance(call, ToolCall):
            out.append(call)
        elif isinstance(call, Mapping):
            try:
                out.append(converter.structure(call, ToolCall))
            except Exception as exc:
                raise TypeError(
                    f"call {position} is a mapping that is not a tool call ({safe_str(exc)}); "
                    "give 'id', 'tool' and optionally 'arguments', 'priority' and 'race'"
                ) from None
        else:
            raise TypeError(
                f"call {position} is a {type(call).__name__}; pass ToolCall(id=..., tool=..., arguments=...) "
                "or a mapping with those keys (provider messages: trio_toolpar.openai / trio_toolpar.anthropic)"
            )
    return out
