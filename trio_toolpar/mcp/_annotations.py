"""MCP tool annotations, read with the spec's defaults, and what they mean for the registry.

The spec calls annotations *hints*: a server may be wrong or lie. So they only
choose defaults; `Override` (per tool) and ``trust_annotations=False`` (per
server) replace them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypedDict, final

import attrs
from mcp.types import ToolAnnotations

from trio_toolpar import RegistrationError, Retry, SideEffect

__all__ = ["Override", "ToolHints", "settings_from_hints"]

Order = Literal["server", "tool"]


@final
@attrs.frozen(kw_only=True)
class ToolHints:
    """The annotations of one MCP tool, with the spec's default for each hint left unsaid.

    Attributes:
        read_only: it does not modify its environment (default ``False``).
        destructive: it may destroy or overwrite, rather than only add
            (default ``True``; meaningful only when not read-only).
        idempotent: repeating a call with the same arguments has no further
            effect (default ``False``; meaningful only when not read-only).
        open_world: it reaches entities outside the server (default ``True``).
        declared: whether the server sent annotations at all.
    """

    read_only: bool = False
    destructive: bool = True
    idempotent: bool = False
    open_world: bool = True
    declared: bool = False

    @classmethod
    def from_annotations(cls, annotations: ToolAnnotations | None) -> ToolHints:
        """Read ``annotations`` (``None``: none sent), filling each missing hint with the spec's default."""
        if annotations is None:
            return cls()
        return cls(
            read_only=_given(annotations.read_only_hint, False),
            destructive=_given(annotations.destructive_hint, True),
            idempotent=_given(annotations.idempotent_hint, False),
            open_world=_given(annotations.open_world_hint, True),
            declared=True,
        )


def _given(hint: bool | None, default: bool) -> bool:
    return default if hint is None else hint


class Override(TypedDict, total=False):
    """Per-tool settings that replace what the annotations and the server-wide options chose.

    Every key is optional; each means what the `Registry.add` option of that
    name means, and ``progress_timeout`` what `register_session`'s does.
    """

    side_effect: SideEffect
    idempotent: bool
    timeout: float | None
    key: str | tuple[str, ...] | None
    retry: Retry | None
    description: str
    progress_timeout: float | None


OVERRIDE_KEYS = frozenset(Override.__annotations__)


def settings_from_hints(hints: ToolHints, *, trusted: bool) -> dict[str, Any]:
    """The `Registry.add` options the hints imply.

    A read-only tool is a ``"read"`` and safe to retry. Anything else is a
    ``"write"``, destructive or not (an additive write still changes what
    later calls see), and retry-safe only when it says it is idempotent. An
    untrusted server's hints are ignored: every tool is a non-idempotent write.
    """
    if trusted and hints.read_only:
        return {"side_effect": "read", "idempotent": True}
    return {"side_effect": "write", "idempotent": trusted and hints.idempotent}


def server_key(resource: str, order: Order) -> str | None:
    """The key template every tool of a server shares when its calls are ordered server-wide."""
    if order == "tool":
        return None
    return "mcp:" + resource.replace("{", "{{").replace("}", "}}")


def check_overrides(overrides: Mapping[str, Mapping[str, Any]]) -> None:
    """Raise `RegistrationError` for an override key that no tool option has."""
    for name, override in overrides.items():
        unknown = sorted(set(override) - OVERRIDE_KEYS)
        if unknown:
            raise RegistrationError(
                f"override for {name!r} has unknown option(s) {', '.join(map(repr, unknown))}; "
                f"the options are {', '.join(sorted(OVERRIDE_KEYS))}",
                tool=name,
            )
