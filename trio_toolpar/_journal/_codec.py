"""A journal's calls and entries as ASCII JSON text, for stores that keep strings (Redis, files).

``json.dumps`` with ``ensure_ascii`` escapes every character that is not
printable ASCII, lone surrogates and NUL included, and ``json.loads`` gives
them back: any Python string a model or a tool produced round-trips, and the
stored text is valid UTF-8 whatever it holds.
"""

from __future__ import annotations

import json

from ._fold import Entry
from ._records import Decision, Finished, JournalCall, Started, Waiting

__all__ = ["decode_call", "decode_entry", "encode_call", "encode_entry"]


_dumps = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode
"""One encoder for every line: ``json.dumps`` with options builds a new one per call."""


def encode_call(call: JournalCall) -> str:
    """``call`` as one line of ASCII JSON."""
    return _dumps({"id": call.call_id, "tool": call.tool, "args": call.arguments})


def decode_call(text: str | bytes) -> JournalCall:
    """The call `encode_call` wrote."""
    fields = json.loads(text)
    return JournalCall(call_id=fields["id"], tool=fields["tool"], arguments=fields["args"])


def encode_entry(entry: Entry) -> str:
    """``entry`` as one line of ASCII JSON, its kind first."""
    if isinstance(entry, Started):
        return _dumps({"kind": "started", "id": entry.call_id, "attempt": entry.attempt, "key": entry.idempotency_key})
    if isinstance(entry, Finished):
        return _dumps({"kind": "finished", "id": entry.call_id, "outcome": entry.outcome})
    if isinstance(entry, Waiting):
        return _dumps({"kind": "waiting", "id": entry.call_id})
    return _dumps({"kind": "decision", "id": entry.call_id, "approved": entry.approved, "reason": entry.reason})


def decode_entry(text: str | bytes) -> Entry:
    """The entry `encode_entry` wrote."""
    fields = json.loads(text)
    kind, call_id = fields["kind"], fields["id"]
    if kind == "started":
        return Started(call_id=call_id, attempt=fields["attempt"], idempotency_key=fields["key"])
    if kind == "finished":
        return Finished(call_id=call_id, outcome=fields["outcome"])
    if kind == "waiting":
        return Waiting(call_id=call_id)
    if kind == "decision":
        return Decision(call_id=call_id, approved=fields["approved"], reason=fields["reason"])
    raise ValueError(f"a journal entry of unknown kind {kind!r}: {text!r:.200}")
