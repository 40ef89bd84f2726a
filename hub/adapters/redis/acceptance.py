"""How far the API has written each feed partition, and when: the AcceptedOffsets port.

Each partition has a sorted set of marks, one per second the API wrote to it:
the member is that second's first accept time (ms), the score the offset
written up to (exclusive), raised by every later write in the same second.
So the lowest mark above a partition's applied offset is the oldest second
holding records not yet applied, and the highest mark is where the partition
is written up to. Every API process writes one script call per chunk (a
thousand records), beside the accepted-versions call it already makes.

Marks at or below the applied offset are dropped as they are read. While
nothing is applied, one partition holds at most `MAX_MARKS` (a stall of over
an hour at a write a second): past that the two oldest are merged, keeping
the oldest time, so the age shown never reads younger than it is.
"""

from __future__ import annotations

from collections.abc import Mapping

import redis.asyncio as aioredis

from hub.adapters.codec import dumps, loads
from hub.adapters.redis.errors import translated
from hub.adapters.redis.keys import Keys
from hub.domain.delays import Behind

GRAIN_MS = 1_000
MAX_MARKS = 4_096

NOTE = f"""
local a = cjson.decode(ARGV[1])
for _, p in ipairs(a.p) do
  local key, written = p[1], p[3]
  redis.call('SADD', a.s, p[2])
  local last = redis.call('ZRANGE', key, -1, -1)
  if last[1] and a.t - tonumber(last[1]) < {GRAIN_MS} then
    redis.call('ZADD', key, 'GT', written, last[1])
  else
    redis.call('ZADD', key, 'GT', written, a.m)
    if redis.call('ZCARD', key) > {MAX_MARKS} then
      local two = redis.call('ZRANGE', key, 0, 1, 'WITHSCORES')
      redis.call('ZREM', key, two[3])
      redis.call('ZADD', key, 'GT', two[4], two[1])
    end
  end
end
return #a.p
"""

BEHIND = """
local a = cjson.decode(ARGV[1])
local out = {}
for _, field in ipairs(redis.call('SMEMBERS', a.s)) do
  local key = a.k .. field
  local done = a.a[field] or 0
  redis.call('ZREMRANGEBYSCORE', key, '-inf', done)
  local first = redis.call('ZRANGE', key, 0, 0)
  if first[1] then
    local top = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
    out[#out + 1] = {field, tonumber(top[2]) - done, first[1]}
  end
end
return cjson.encode(out)
"""


class RedisAcceptedOffsets:
    """Implements the AcceptedOffsets port on the hub's Redis (outside generations)."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self._r = client
        self._keys = Keys(prefix)

    async def note(self, ends: Mapping[tuple[str, int], int], at_ms: int) -> None:
        if not ends:
            return
        doc = {
            "s": self._keys.lag_partitions,
            "t": at_ms,
            "m": str(at_ms),  # Lua would print a large number in exponent form
            "p": [[self._keys.lag_marks(t, p), f"{t}:{p}", end] for (t, p), end in ends.items()],
        }
        async with translated("cannot note the offsets written"):
            await self._r.eval(NOTE, 0, dumps(doc))

    async def behind(self, applied: Mapping[tuple[str, int], int]) -> list[Behind]:
        doc = {
            "s": self._keys.lag_partitions,
            "k": self._keys.lag_marks("", 0)[: -len(":0")],
            "a": {f"{t}:{p}": offset for (t, p), offset in applied.items()},
        }
        async with translated("cannot read the offsets written"):
            raw = await self._r.eval(BEHIND, 0, dumps(doc))
        out = []
        for field, records, oldest in loads(raw):
            topic, _, partition = str(field).rpartition(":")
            out.append(Behind(topic, int(partition), int(records), int(oldest)))
        return out

    async def forget(self, topic: str, partition: int) -> None:
        async with translated("cannot forget the offsets written"):
            await self._r.delete(self._keys.lag_marks(topic, partition))
