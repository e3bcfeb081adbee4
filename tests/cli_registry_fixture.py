"""A tools module for the CLI tests: ``trio-toolpar run ... --tools cli_registry_fixture:registry``.

`gate` and `flaky` wait for something a test controls, not for time: a file
the test creates. The tests that run the command in a subprocess or a
terminal use them to hold a call in a state for as long as they look at it.
"""

from __future__ import annotations

from typing import Any

import trio

from trio_toolpar import Registry, Retry, Retryable

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


@registry.tool(side_effect="read", resource="api")
async def gate(name: str, gates: str) -> str:
    """Wait until the file ``name`` exists in the directory ``gates`` (the test makes it), and return its text.

    It makes the file ``name.waiting`` first, so that a test can see the call run.

    Args:
        name: the file to wait for.
        gates: the directory it appears in.
    """
    path = trio.Path(gates) / name
    await (trio.Path(gates) / f"{name}.waiting").touch()
    while not await path.exists():  # noqa: ASYNC110 - the test process makes the file: no trio.Event reaches it
        await trio.sleep(0.02)
    return await path.read_text(encoding="utf-8")


_flaky_attempts: dict[str, int] = {}


@registry.tool(side_effect="read", retry=Retry(attempts=2, backoff=600, max_backoff=600, jitter=0.0))
async def flaky(name: str, gates: str) -> str:
    """Fail the first attempt with a retryable error; the second, 600 s later, is `gate`.

    Args:
        name: the file the second attempt waits for.
        gates: the directory it appears in.
    """
    _flaky_attempts[name] = _flaky_attempts.get(name, 0) + 1
    if _flaky_attempts[name] == 1:
        raise Retryable(f"{name}: first attempt fails")
    return await gate(name, gates)


@registry.tool(side_effect="none")
async def stubborn(name: str, gates: str) -> str:
    """`gate`, shielded from cancellation: a tool that will not wind down when asked.

    Args:
        name: the file to wait for.
        gates: the directory it appears in.
    """
    with trio.CancelScope(shield=True):
        text = await gate(name, gates)
    return text


@registry.tool(side_effect="none")
async def opaque() -> complex:
    """Return a value JSON cannot hold."""
    await trio.sleep(0.25)
    return complex(1, 2)


answer = 42
"""Not a registry, for the error that says so (``is an int``)."""
