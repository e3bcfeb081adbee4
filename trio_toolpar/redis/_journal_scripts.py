"""The Lua scripts that keep a Redis journal's turns: each a check and its writes, atomic.

Data of one turn (``{namespace}:journal:{turn id}:...``, both names escaped
as `escaped` does):

- ``calls``: list; the format's first element (`FORMAT`), then each call as
  ASCII JSON, in the turn's order. Its existence is the turn's.
- ``ids``: set of the turn's call ids, so a write naming another call is refused.
- ``log``: list of the runtime's records and the decisions, as ASCII JSON, in write order.
- ``claim``: the holder's token, with the claim's time to live.

A script checks before it writes anything: Redis does not undo the writes a
script made before an error, so a refused append leaves no half of itself.
"""

from __future__ import annotations

from typing import Final

from ._scripts import escaped

__all__ = ["APPEND", "BEGIN", "CLAIM", "FORMAT", "KEY_NAMES", "LOAD", "RELEASE", "RENEW", "keys_of"]

FORMAT: Final = "trio_toolpar journal 1"
"""The first element of a turn's ``calls``: the layout's version, so that a later one can migrate it."""

KEY_NAMES: Final = ("calls", "ids", "log", "claim")


def keys_of(namespace: str, turn_id: str) -> list[bytes]:
    """The keys of ``turn_id`` under ``namespace``, in `KEY_NAMES` order (bytes: a turn id may hold any text)."""
    prefix = f"{escaped(namespace)}:journal:{escaped(turn_id)}:"
    return [(prefix + name).encode("utf-8", "surrogatepass") for name in KEY_NAMES]


BEGIN: Final = """
-- KEYS: calls, ids; ARGV: format, n, n calls, n call ids. 1 if begun, 0 if the turn exists.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local n = tonumber(ARGV[2])
redis.call('RPUSH', KEYS[1], ARGV[1])
for i = 1, n do
  redis.call('RPUSH', KEYS[1], ARGV[2 + i])
  redis.call('SADD', KEYS[2], ARGV[2 + n + i])
end
return 1
"""

APPEND: Final = """
-- KEYS: calls, ids, log; ARGV: n, n entries, n call ids.
-- 0 if appended; -1 if the turn does not exist; i if the i-th entry names no call of the turn.
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local n = tonumber(ARGV[1])
for i = 1, n do
  if redis.call('SISMEMBER', KEYS[2], ARGV[1 + n + i]) == 0 then return i end
end
for i = 1, n do redis.call('RPUSH', KEYS[3], ARGV[1 + i]) end
return 0
"""

LOAD: Final = """
-- KEYS: calls, log. {calls, log}, one snapshot of both.
return {redis.call('LRANGE', KEYS[1], 0, -1), redis.call('LRANGE', KEYS[2], 0, -1)}
"""

CLAIM: Final = """
-- KEYS: claim; ARGV: token, time to live (ms). 1 if taken, 0 if another holds it.
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
"""

RENEW: Final = """
-- KEYS: claim; ARGV: token, time to live (ms). 1 if still held and renewed, 0 if lost.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

RELEASE: Final = """
-- KEYS: claim; ARGV: token. 1 if it was held and is released, 0 if it had been lost.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""
