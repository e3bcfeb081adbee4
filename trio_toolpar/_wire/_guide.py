"""What the model is told about running its calls: which ones overlap, and how to chain them.

Generated from the registry, the one source of truth for side effects and
keys, so that what the model reads is what the executor does:

* `parallel_note` — one sentence per tool, from its side effect and keys;
* `REFERENCE_HINT` — one sentence on passing one call's result to another;
* `describe` — a tool's description with both appended;
* `reference_note` — all of it for a whole registry, for a system prompt.
"""

from __future__ import annotations

from .._tools._registry import Registry, Tool

__all__ = ["REFERENCE_HINT", "describe", "parallel_note", "reference_note"]

REFERENCE_HINT = (
    'Any argument may be "$#N" or "$#N.path" to use the result of the N-th call you emit in this turn '
    '(from 1), or a part of it; inside a longer text, "$#N.path" is replaced by that value as text. '
    'Start a literal text that begins with "$" with "$$", and write a literal "$#1" in a text as "$$#1".'
)
"""The sentence appended to every tool's description (with ``notes=True``)."""


def parallel_note(tool: Tool) -> str:
    """One sentence telling the model how calls to ``tool`` are scheduled, from its side effect and keys.

    Models are trained to emit several calls per turn only when told it is
    safe; this says which calls overlap and which run in emission order. A
    tool registered without a side effect is a write (the risky case), and
    reads the same here.
    """
    keys = ", ".join(tool.keys)
    if tool.side_effect == "none":
        return "Parallel-safe: no side effects; call it alongside other tools in the same turn."
    if tool.side_effect == "read":
        if keys:
            return (
                f"Parallel-safe: read-only; it waits only for writes to the same {keys} requested "
                "earlier in the same turn."
            )
        return "Parallel-safe: read-only; call it alongside other tools in the same turn."
    if keys:
        return (
            f"Writes {keys}: calls touching the same key run one at a time, in the order you emit them; "
            "other calls run in parallel."
        )
    return "Writes: calls to this tool run one at a time, in the order you emit them; other tools run in parallel."


def describe(tool: Tool, *, notes: bool) -> str:
    """The tool's description, with its `parallel_note` and `REFERENCE_HINT` appended when ``notes`` is true."""
    if not notes:
        return tool.description
    note = f"{parallel_note(tool)} {REFERENCE_HINT}"
    return f"{tool.description}\n\n{note}" if tool.description else note


def reference_note(registry: Registry) -> str:
    """Instructions for the model (a system prompt, say) on calling ``registry``'s tools together.

    Which tools may run in parallel, which are ordered, and how one call's
    result is passed to another of the same turn. Tool definitions built
    with ``notes=True`` carry the same facts per tool.
    """
    lines = [
        "You may emit several tool calls in one turn; they run at the same time unless one must wait",
        "(a tool not marked Parallel-safe is treated as one that writes):",
        *(f"- {tool.name}: {parallel_note(tool)}" for tool in registry),
        "",
        "To pass the result of one call into another call of the same turn, write the whole argument as",
        '"$#N" (the result of the N-th call you emit in this turn, counting from 1) or "$#N.path"',
        '(a part of it: dot-separated keys and list indices, e.g. "$#1.items.0.id"). The call then waits',
        "for call N and receives the value itself (a number stays a number); if call N fails, it is skipped.",
        'Inside a longer text, each "$#N.path" is replaced by the value as text (a string as it is, anything',
        'else as JSON), e.g. "Total: $#1.total EUR" or "$#1.a - $#2.b"; a path there ends at the first',
        'character that is not a letter, a digit, "_", or "-" between them.',
        'A literal text that starts with "$" is written with "$$" instead (e.g. "$$5.00" for "$5.00"),',
        'and a literal "$#1" inside a text as "$$#1".',
    ]
    return "\n".join(lines)
