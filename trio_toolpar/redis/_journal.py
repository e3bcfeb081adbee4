"""`RedisJournal`: durable turns in Redis, for worker processes on several machines."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, final

import coredis
import trio

from .._journal._codec import decode_call, decode_entry, encode_call, encode_entry
from .._journal._fold import Entry, turn_log
from .._journal._records import Decision, JournalCall, Record, TurnBusy, TurnLog
from .._values._validate import check_name, check_positive_number, check_type
from . import _journal_scripts as scripts
from ._claim import keeping
from ._errors import JournalUnavailable
from ._store import Misconfigured, Unreachable, bounded, misconfigured

__all__ = ["RedisJournal"]

logger = logging.getLogger("trio_toolpar.redis")

_CALLS, _IDS, _LOG, _CLAIM = range(4)  # positions in scripts.keys_of


def _text(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")


def _diagnose(exc: coredis.exceptions.RedisError) -> str | None:
    return misconfigured(exc, user="RedisJournal", commands="EVAL, EVALSHA and SCRIPT")


@final
class RedisJournal:
    """A `trio_toolpar.abc.Journal` in Redis, shared by every process that points at one Redis and namespace.

    Each write is one Lua script, so its records land together or not at all.
    A write returns once Redis has applied it in memory: whether it survives
    Redis itself dying is Redis's persistence setting. Only with
    ``appendonly yes`` and ``appendfsync always`` does a returned write
    survive a crash of the Redis host; ``appendfsync everysec`` may lose the
    last second, and a Redis without persistence loses everything when it
    restarts. A lost `Started` record lets a resume run a started call again,
    so give a journal's Redis ``appendfsync always`` (or accept that risk).

    A claim is a key with a time to live (``claim_ttl``), renewed every third
    of it while the run holds it and deleted when the run ends. A holder that
    dies keeps the turn claimed until the time to live runs out: a resume
    before then raises `trio_toolpar.journal.TurnBusy`.

    Examples:
        ```python
        client = coredis.Redis(host="127.0.0.1", port=6379)
        async with client:
            journal = RedisJournal(client, namespace="billing-agent")
            executor = Executor(registry, journal=journal)
        ```

    Args:
        client: a coredis client, entered (``async with client:``) by a task that outlives the runs.
        namespace: prefix of every key (``{namespace}:journal:{turn id}:...``).
        claim_ttl: seconds a claim lasts without renewal: how long a crashed
            holder keeps its turn from being resumed.
        timeout: seconds one Redis round trip may take before the journal
            raises `JournalUnavailable` (default: the smaller of 1 s and a
            quarter of ``claim_ttl``). It bounds big writes and loads too: a
            turn whose records run to megabytes needs a timeout they fit in.

    Raises:
        ValueError: an option is out of range.
        TypeError: a client that cannot run scripts.
    """

    def __init__(
        self,
        client: coredis.Redis[Any],
        *,
        namespace: str = "trio_toolpar",
        claim_ttl: float = 10.0,
        timeout: float | None = None,
    ) -> None:
        if not callable(getattr(client, "register_script", None)):
            raise TypeError(f"client must be a coredis.Redis client, not {client!r}")
        self._namespace = check_name("namespace", namespace)
        self._ttl = check_positive_number("claim_ttl", claim_ttl, finite=True, unit="seconds")
        self._timeout = (
            min(1.0, self._ttl / 4)
            if timeout is None
            else check_positive_number("timeout", timeout, finite=True, unit="seconds")
        )
        if self._timeout >= self._ttl / 2:
            raise ValueError(
                f"timeout ({self._timeout:g} s) must be under half of claim_ttl ({self._ttl:g} s), "
                "or a slow renewal could outlive the claim; lower timeout or raise claim_ttl"
            )
        self._begin = client.register_script(scripts.BEGIN)
        self._append = client.register_script(scripts.APPEND)
        self._load = client.register_script(scripts.LOAD)
        self._claim = client.register_script(scripts.CLAIM)
        self._renew = client.register_script(scripts.RENEW)
        self._release = client.register_script(scripts.RELEASE)

    def __repr__(self) -> str:
        return f"<RedisJournal namespace={self._namespace!r} claim_ttl={self._ttl:g}s timeout={self._timeout:g}s>"

    @property
    def namespace(self) -> str:
        """The prefix of every key."""
        return self._namespace

    @asynccontextmanager
    async def claim(self, turn_id: str) -> AsyncIterator[None]:
        """Hold ``turn_id`` while the block runs (see `trio_toolpar.abc.Journal.claim`).

        Raises:
            TurnBusy: another run holds the turn, or held it and died less than ``claim_ttl`` ago.
            JournalUnavailable: Redis did not answer; or the claim was lost while
                the block ran, and the block was cancelled.
        """
        key = self._keys(turn_id)[_CLAIM]
        token = secrets.token_hex(16)
        ttl_ms = round(self._ttl * 1000)
        sent = trio.current_time()
        try:
            taken = await self._run(self._claim, [key], [token, ttl_ms])
        except JournalUnavailable:
            await self._let_go(key, token)  # the claim may have been taken as the answer was lost
            raise
        if taken != 1:
            raise TurnBusy(
                f"turn {turn_id!r} is claimed by another run (in this process or another); a run that died "
                f"keeps its claim until claim_ttl ({self._ttl:g} s) runs out: resume after it, or use another turn id"
            )

        async def renew() -> bool:
            kept: object = await self._run(self._renew, [key], [token, ttl_ms])
            return kept == 1

        try:
            async with keeping(
                renew, turn_id=turn_id, ttl=self._ttl, timeout=self._timeout, valid_until=sent + self._ttl
            ):
                yield
        finally:
            await self._let_go(key, token)

    async def load(self, turn_id: str) -> TurnLog | None:
        """All Redis holds of ``turn_id``; ``None`` if it has never begun."""
        keys = self._keys(turn_id)
        reply = await self._run(self._load, [keys[_CALLS], keys[_LOG]], [])
        if not (isinstance(reply, list) and len(reply) == 2):
            raise JournalUnavailable(f"unexpected reply from the journal's load script: {reply!r:.200}")
        calls, log = reply
        if not calls:
            return None
        header = calls[0].decode() if isinstance(calls[0], bytes) else str(calls[0])
        if header != scripts.FORMAT:
            raise ValueError(
                f"turn {turn_id!r} in namespace {self._namespace!r} was written as {header!r:.80}, "
                f"which this trio_toolpar does not read (it reads {scripts.FORMAT!r}): upgrade trio_toolpar"
            )
        return turn_log(turn_id, [decode_call(c) for c in calls[1:]], [decode_entry(e) for e in log])

    async def begin(self, turn_id: str, calls: Sequence[JournalCall]) -> None:
        """Record a new turn and its calls, in one script.

        Raises:
            ValueError: Redis already holds ``turn_id``.
        """
        keys = self._keys(turn_id)
        args: list[str | bytes | int] = [scripts.FORMAT, len(calls)]
        args += [encode_call(call) for call in calls]
        args += [_text(call.call_id) for call in calls]
        if await self._run(self._begin, keys[:2], args) != 1:
            raise ValueError(f"the journal already holds turn {turn_id!r}: load it to resume it, or use a new turn id")

    async def append(self, turn_id: str, records: Sequence[Record]) -> None:
        """Append ``records``, in order, in one script.

        Raises:
            KeyError: Redis holds no such turn, or the turn no such call.
        """
        await self._write(turn_id, tuple(records))

    async def decide(self, turn_id: str, decision: Decision) -> None:
        """Record a decision for a call of ``turn_id``; any process may, holding no claim.

        Raises:
            KeyError: Redis holds no such turn, or the turn no such call.
        """
        check_type("decision", decision, Decision)
        await self._write(turn_id, (decision,))

    async def _write(self, turn_id: str, entries: tuple[Entry, ...]) -> None:
        keys = self._keys(turn_id)
        args: list[str | bytes | int] = [len(entries)]
        args += [encode_entry(entry) for entry in entries]
        args += [_text(entry.call_id) for entry in entries]
        refused = await self._run(self._append, [keys[_CALLS], keys[_IDS], keys[_LOG]], args)
        if refused == -1:
            raise KeyError(f"the journal holds no turn {turn_id!r}")
        if isinstance(refused, int) and refused > 0:
            raise KeyError(f"turn {turn_id!r} has no call {entries[refused - 1].call_id!r}")

    def _keys(self, turn_id: str) -> list[bytes]:
        return scripts.keys_of(self._namespace, check_type("turn_id", turn_id, str))

    async def _run(self, script: Any, keys: list[bytes], args: list[str | bytes | int]) -> Any:
        """One script, bounded by ``timeout``; every failure a `JournalUnavailable` that says what happened."""
        try:
            return await bounded(script(keys=keys, args=args), self._timeout, _diagnose)
        except Misconfigured as exc:
            raise JournalUnavailable(f"Redis is set up wrong for the journal: {exc}") from exc
        except Unreachable as exc:
            made = "it may or may not have been made" if exc.in_doubt else "it was not made"
            raise JournalUnavailable(
                f"the journal's Redis gave no usable answer ({exc}); if this was a write, {made}. "
                "Check that Redis is up and reachable, then resume the turn"
            ) from exc

    async def _let_go(self, key: bytes, token: str) -> None:
        """Release the claim: shielded, bounded, never raising; if Redis cannot be told, it expires by itself."""
        with trio.CancelScope(shield=True), trio.move_on_after(2 * self._timeout):
            try:
                await self._run(self._release, [key], [token])
            except JournalUnavailable as exc:
                logger.warning("could not release a turn's claim (%s); it expires within %g s", exc, self._ttl)
