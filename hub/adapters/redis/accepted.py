"""The latest accepted version of each entity, as a fingerprint, shared by API processes.

A receipt counts a record `unchanged` when it is identical to the latest
version the hub accepted, whichever API process accepted it and whether or
not a worker has applied it yet: a BI scheduler that re-sends a file a
minute later is told that nothing changed. Kept (outside generations, so a
rebuild keeps them) for as long as the record could still be replaced.

Both calls carry a whole chunk (a thousand records) as one JSON argument and
get one reply: a command argument or reply element per record would be
thousands of items for redis-py to pack and parse in Python.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis

from hub.adapters.codec import dumps, loads
from hub.adapters.redis.errors import translated
from hub.adapters.redis.keys import Keys

READ = """
local names = cjson.decode(ARGV[1])
local out = {}
for i, name in ipairs(names) do out[i] = redis.call('GET', name) or '' end
return cjson.encode(out)
"""

REMEMBER = """
local entries = cjson.decode(ARGV[1])
for _, e in ipairs(entries) do redis.call('SET', e[1], e[2], 'PXAT', e[3]) end
return #entries
"""


class RedisAcceptedLog:
    """Implements the AcceptedLog port."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self._r = client
        self._keys = Keys(prefix)

    async def fingerprints(self, feed: str, keys: Sequence[str]) -> list[str | None]:
        if not keys:
            return []
        names = dumps([self._keys.accepted(feed, k) for k in keys])
        async with translated("cannot read accepted versions"):
            raw = await self._r.eval(READ, 0, names)
        return [mark or None for mark in loads(raw)]

    async def remember(self, feed: str, entries: Sequence[tuple[str, str, int]]) -> None:
        if not entries:
            return
        doc = dumps([[self._keys.accepted(feed, k), mark, until] for k, mark, until in entries])
        async with translated("cannot record accepted versions"):
            await self._r.eval(REMEMBER, 0, doc)
