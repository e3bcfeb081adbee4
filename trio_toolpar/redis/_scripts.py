"""The Lua scripts that keep one resource's shared limits atomic, on Redis's own clock.

Every script gets the same keys and arguments (see `ResourceKeys` and
`ScriptArgs`), so the Python side builds them in one place. All of them start
with `_PRELUDE`: read the time with ``redis.call('TIME')`` (never a client's
clock), drop expired holders and dead waiters, and wake the head of the
queue if it now fits. Waiters are served strictly in arrival order: only the
head may take units, and each taker wakes the next head. Lua numbers returned
to Redis are truncated to integers, so fractional values travel back as
strings.

Data of one resource (``{namespace}:sem:{resource}:...``):

- ``holders``: sorted set, token -> lease expiry (ms, Redis time)
- ``queue``: sorted set, token -> arrival number (from ``seq``): FIFO rank
- ``alive``: sorted set, waiting token -> expiry (a waiter that stops
  re-checking is dropped after one lease)
- ``weights``: hash, token -> units (holders and waiters)
- ``seq``: counter of arrivals
- ``bucket``: hash with ``tokens`` and ``at`` (ms) of the token bucket
- ``pause``: the Redis time (ms) until which nobody may start
- ``settings``: the cap and rate every process must give the resource, as
  text (``cap 3, no rate``): set by the first script, kept while anyone
  uses the resource (at least one lease after the last script), and
  compared by every script, which refuses to run for other settings
- ``wake:{token}``: a one-element list a waiter blocks on with ``BLPOP``
"""

from __future__ import annotations

from typing import Final, final

import attrs

__all__ = [
    "ACQUIRE",
    "LEAVE",
    "PAUSE",
    "RENEW",
    "SETTINGS_DIFFER",
    "STATISTICS",
    "ResourceKeys",
    "ScriptArgs",
    "escaped",
]

KEY_NAMES: Final = ("holders", "queue", "alive", "weights", "seq", "bucket", "pause", "settings")

SETTINGS_DIFFER: Final = "TOOLPAR_SETTINGS"
"""The start of the error a script answers with when the resource's settings are not the caller's."""


def escaped(name: str) -> str:
    """``name`` with ``\\`` and ``:`` escaped, so that a key's parts can be told apart again."""
    return name.replace("\\", "\\\\").replace(":", "\\:")


@final
@attrs.frozen(kw_only=True)
class ResourceKeys:
    """The Redis keys of one resource's limits, all under ``{namespace}:sem:{resource}:``.

    Both names are escaped (``\\`` as ``\\\\``, ``:`` as ``\\:``): the first two
    unescaped colons of a key end its namespace and ``sem``, so distinct
    (namespace, resource) pairs never share a key (``app`` with ``x:sem:y`` and
    ``app:sem:x`` with ``y`` once did). Names without either character are
    their own keys, as before.
    """

    resource: str
    """The resource's name, for messages."""
    prefix: str

    @classmethod
    def of(cls, namespace: str, resource: str) -> ResourceKeys:
        """The keys of ``resource`` in ``namespace``."""
        return cls(resource=resource, prefix=f"{escaped(namespace)}:sem:{escaped(resource)}:")

    def all(self) -> list[str]:
        """The keys every script takes, in the order the prelude names them."""
        return [self.prefix + name for name in KEY_NAMES]

    def wake(self, token: str) -> str:
        """The list a waiting ``token`` blocks on."""
        return f"{self.prefix}wake:{token}"


@final
@attrs.frozen(kw_only=True)
class ScriptArgs:
    """What a script needs to know of the caller's limits for one resource.

    Args:
        token: the holder or waiter the script acts for.
        weight: units of the cap (and tokens of the bucket) it takes.
        cap: the shared cap, or None for no cap.
        lease_ms: how long a lease or a waiter's place lasts without renewal.
        per_ms: tokens added per millisecond, or 0 for no bucket.
        burst: the bucket's size.
        settings: the cap and rate as text, which every process must agree on.
        extra_ms: the pause script's length; unused by the others.
    """

    token: str
    weight: int
    cap: int | None
    lease_ms: int
    per_ms: float
    burst: int
    settings: str
    extra_ms: int = 0

    def argv(self, keys: ResourceKeys) -> list[str | int | float]:
        """The ``ARGV`` of every script, in the order the prelude reads it."""
        return [
            keys.prefix + "wake:",
            self.token,
            self.weight,
            -1 if self.cap is None else self.cap,
            self.lease_ms,
            repr(self.per_ms),
            self.burst,
            self.extra_ms,
            self.settings,
        ]


_PRELUDE = (
    """
local holders, queue, alive, weights, seq, bucket, pause, settings = unpack(KEYS)
local wake_prefix, token = ARGV[1], ARGV[2]
local weight, cap, lease = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local per_ms, burst, extra = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])

-- Every process must give the resource the same cap and rate: the first
-- comer's stand while anyone uses it; other settings change nothing here.
local agreed = redis.call('GET', settings)
if agreed and agreed ~= ARGV[9] then return redis.error_reply('"""
    + SETTINGS_DIFFER
    + """ ' .. agreed) end
if not agreed or redis.call('PTTL', settings) < lease then redis.call('SET', settings, ARGV[9], 'PX', lease) end

local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + tonumber(clock[2]) / 1000

local function weight_of(t)
  return tonumber(redis.call('HGET', weights, t) or 1)
end

-- Forget a holder or a waiter; true if it held a lease.
local function drop(t)
  redis.call('HDEL', weights, t)
  if redis.call('ZREM', holders, t) == 1 then return true end
  redis.call('ZREM', queue, t)
  redis.call('ZREM', alive, t)
  redis.call('DEL', wake_prefix .. t)
  return false
end

local function units_held()
  local sum = 0
  for _, t in ipairs(redis.call('ZRANGE', holders, 0, -1)) do sum = sum + weight_of(t) end
  return sum
end

-- Wake the head of the queue if its weight fits (it wakes the next when it takes its units).
local function notify()
  local head = redis.call('ZRANGE', queue, 0, 0)[1]
  if not head then return end
  if cap >= 0 and units_held() + weight_of(head) > cap then return end
  local key = wake_prefix .. head
  redis.call('LPUSH', key, 1)
  redis.call('LTRIM', key, 0, 0)
  redis.call('PEXPIRE', key, lease)
end

-- Drop holders whose lease ran out and waiters that stopped re-checking.
local function expire()
  local gone = redis.call('ZRANGEBYSCORE', holders, '-inf', now)
  for _, t in ipairs(redis.call('ZRANGEBYSCORE', alive, '-inf', now)) do table.insert(gone, t) end
  for _, t in ipairs(gone) do drop(t) end
  if #gone > 0 then notify() end
end

local function bucket_tokens()
  local state = redis.call('HMGET', bucket, 'tokens', 'at')
  local tokens, at = tonumber(state[1]), tonumber(state[2])
  if tokens == nil then return burst end
  return math.min(burst, tokens + math.max(0, now - at) * per_ms)
end

local function paused_until()
  local until_ms = tonumber(redis.call('GET', pause) or 0)
  if until_ms > now then return until_ms end
  return 0
end

expire()
"""
)

ACQUIRE: Final = (
    _PRELUDE
    + """
-- Returns {state, wait_ms}: state 1 = holds a lease, 2 = took tokens only (no
-- cap), 0 = must wait: wait_ms > 0 sleep that long; wait_ms < 0 block on the
-- wake list for at most -wait_ms.
if redis.call('ZSCORE', holders, token) then
  redis.call('ZADD', holders, now + lease, token)
  return {1, 0}
end

-- Strict FIFO: only the head may take. With nobody queued, a newcomer takes
-- at once without queueing (the uncontended path: no queue writes at all).
local queued = redis.call('ZSCORE', queue, token)
local first
if queued then
  first = redis.call('ZRANGE', queue, 0, 0)[1] == token
else
  first = redis.call('ZCARD', queue) == 0
end

local wait, tokens = 0, 0
if not first then
  wait = -math.ceil(lease / 2)
elseif paused_until() > 0 then
  wait = math.ceil(paused_until() - now)
elseif cap >= 0 and units_held() + weight > cap then
  wait = lease / 2
  local soonest = redis.call('ZRANGE', holders, 0, 0, 'WITHSCORES')
  if #soonest > 0 then wait = math.min(wait, tonumber(soonest[2]) - now) end
  wait = -math.max(1, math.ceil(wait))
elseif per_ms > 0 then
  tokens = bucket_tokens()
  if tokens + 1e-9 < weight then wait = math.max(1, math.ceil((weight - tokens) / per_ms)) end
end

if wait ~= 0 then
  if not queued then
    redis.call('ZADD', queue, redis.call('INCR', seq), token)
    redis.call('HSET', weights, token, weight)
  end
  redis.call('ZADD', alive, now + lease, token)
  return {0, wait}
end

if per_ms > 0 then
  redis.call('HSET', bucket, 'tokens', tostring(tokens - weight), 'at', tostring(now))
  redis.call('PEXPIRE', bucket, math.ceil(burst / per_ms) + 1000)
end
local state = 2
if cap >= 0 then
  redis.call('HSET', weights, token, weight)
  redis.call('ZADD', holders, now + lease, token)
  state = 1
elseif queued then
  redis.call('HDEL', weights, token)
end
if queued then
  redis.call('ZREM', queue, token)
  redis.call('ZREM', alive, token)
  redis.call('DEL', wake_prefix .. token)
  notify()
end
return {state, 0}
"""
)

LEAVE: Final = (
    _PRELUDE
    + """
-- A holder releases, or a waiter gives up its place; either way, wake who fits.
-- 1 if the token held a lease here (0: a waiter, or a lease that had expired).
local held = drop(token)
notify()
if held then return 1 end
return 0
"""
)

RENEW: Final = (
    _PRELUDE
    + """
-- 1 if the lease was extended, 0 if it was already gone (expired and dropped).
if not redis.call('ZSCORE', holders, token) then return 0 end
redis.call('ZADD', holders, now + lease, token)
return 1
"""
)

STATISTICS: Final = (
    _PRELUDE
    + """
-- {holders, units held, waiters, tokens (string, or '' without a bucket), paused until ms (string, '0' if not)}
local tokens = ''
if per_ms > 0 then tokens = tostring(bucket_tokens()) end
return {redis.call('ZCARD', holders), units_held(), redis.call('ZCARD', queue), tokens, tostring(paused_until())}
"""
)

PAUSE: Final = (
    _PRELUDE
    + """
-- Nobody starts before now + extra ms (a later pause never shortens an earlier one).
local until_ms = math.max(paused_until(), now + extra)
redis.call('SET', pause, tostring(until_ms), 'PX', math.max(1, math.ceil(until_ms - now)))
return tostring(until_ms)
"""
)
