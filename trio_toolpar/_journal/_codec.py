"""A journal's calls and entries as ASCII JSON text, for stores that keep strings (SQLite, Redis, files).

A call's arguments and an outcome are JSON data already (`_outcomes`): they
are nested in the text as they are, not as text within text.

``json.dumps`` with ``ensure_ascii`` escapes every character that is not
printable ASCII, lone surrogates and NUL included, and ``json.loads`` gives
them back: any Python string a model or a tool produced round-trips, and the
stored text is valid UTF-8 whatever it holds.

One call or entry is one JSON object (`encode_call`, `encode_entry`: a
store that keeps a list of strings); many are one JSON array of them
(`encode_calls`, `encode_entries`: a store that keeps a turn's calls, or
one append's entries, as one value).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from ._fold import Entry
from ._records import Decision, Finished, JournalCall, Started, Waiting

__all__ = [
    "decode_call",
    "decode_calls",
    "decode_entries",
    "decode_entry",
    "encode_call",
    "encode_calls",
    "encode_entries",
    "encode_entry",
]


_dumps = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode
"""One encoder for every line: ``json.dumps`` with options builds a new one per call."""


def _call_data(call: JournalCall) -> dict[str, Any]:
    return {"id": call.call_id, "tool": call.tool, "args": call.arguments}


def _call(fields: dict[str, Any]) -> JournalCall:
    return JournalCall(call_id=fields["id"], tool=fields["tool"], arguments=fields["args"])


def _entry_data(entry: Entry) -> dict[str, Any]:
    """``entry`` as a JSON object, its kind first."""
    if isinstance(entry, Started):
        return {"kind": "started", "id": entry.call_id, "attempt": entry.attempt, "key": entry.idempotency_key}
    if isinstance(entry, Finished):
        return {"kind": "finished", "id": entry.call_id, "outcome": entry.outcome}
    if isinstance(entry, Waiting):
        return {"kind": "waiting", "id": entry.call_id}
    return {"kind": "decision", "id": entry.call_id, "approved": entry.approved, "reason": entry.reason}


def _entry(fields: dict[str, Any]) -> Entry:
    kind, call_id = fields["kind"], fields["id"]
    if kind == "started":
        return Started(call_id=call_id, attempt=fields["attempt"], idempotency_key=fields["key"])
    if kind == "finished":
        return Finished(call_id=call_id, outcome=fields["outcome"])
    if kind == "waiting":
        return Waiting(call_id=call_id)
    if kind == "decision":
        return Decision(call_id=call_id, approved=fields["approved"], reason=fields["reason"])
    raise ValueError(f"a journal entry of unknown kind {kind!r}: {fields!r:.200}")


def encode_call(call: JournalCall) -> str:
    """``call`` as one line of ASCII JSON."""
    return _dumps(_call_data(call))


def decode_call(text: str | bytes) -> JournalCall:
    """The call `encode_call` wrote."""
    return _call(json.loads(text))


def encode_calls(calls: Iterable[JournalCall]) -> str:
    """``calls``, in order, as one line of ASCII JSON."""
    return _dumps([_call_data(call) for call in calls])


def decode_calls(text: str | bytes) -> list[JournalCall]:
    """The calls `encode_calls` wrote, in order."""
    return [_call(fields) for fields in json.loads(text)]


def encode_entry(entry: Entry) -> str:
    """``entry`` as one line of ASCII JSON, its kind first."""
    return _dumps(_entry_data(entry))


def decode_entry(text: str | bytes) -> Entry:
    """The entry `encode_entry` wrote."""
    return _entry(json.loads(text))


def encode_entries(entries: Iterable[Entry]) -> str:
    """``entries``, in order, as one line of ASCII JSON."""
    return _dumps([_entry_data(entry) for entry in entries])


def decode_entries(text: str | bytes) -> list[Entry]:
    """The entries `encode_entries` wrote, in order."""
    return [_entry(fields) for fields in json.loads(text)]
