"""A tools module for the CLI tests: ``trio-toolpar run ... --tools cli_registry_fixture:registry``."""

from __future__ import annotations

from typing import Any

import trio

from trio_toolpar import Registry

registry = Registry()
not_a_registry = {"tools": "no"}
events: list[tuple[str, str]] = []
"""(event, key) pairs recorded by `lookup`, so tests can see its ``finally`` ran."""


@registry.tool(side_effect="read", resource="kv", key="kv:{key}")
async def lookup(key: str, seconds: float = 1.0) -> dict[str, Any]:
    """Read a key after ``seconds`` on Trio's clock.

    Args:
        key: the key.
        seconds: how long the read takes.
    """
    events.append(("start", key))
    try:
        await trio.sleep(seconds)
        return {"key": key, "value": f"value-of-{key}"}
    finally:
        events.append(("finally", key))


@registry.tool(side_effect="write", resource="kv", key="kv:{key}")
async def store(key: str, value: str) -> dict[str, Any]:
    """Write a key; takes one second.

    Args:
        key: the key.
        value: what to store.
    """
    await trio.sleep(1.0)
    return {"stored": key, "value": value}


@registry.tool(side_effect="none")
async def explode(message: str) -> None:
    """Fail with ``ValueError(message)``.

    Args:
        message: the error message.
    """
    await trio.sleep(0.5)
    raise ValueError(message)


@registry.tool(side_effect="none")
async def interrupt() -> None:
    """Raise ``KeyboardInterrupt`` after half a second, as if Ctrl-C landed in the tool."""
    await trio.sleep(0.5)
    raise KeyboardInterrupt


@registry.tool(side_effect="none")
async def opaque() -> complex:
    """Return a value JSON cannot hold."""
    await trio.sleep(0.25)
    return complex(1, 2)


answer = 42
"""Not a registry, for the error that says so (``is an int``)."""
