"""The latest accepted version of each entity, as a fingerprint, shared by API processes.

A receipt counts a record `unchanged` when it is identical to the latest
version the hub accepted, whichever API process accepted it and whether or
not a worker has applied it yet: a BI scheduler that re-sends a file a
minute later is told that nothing changed. Kept (outside generations, so a
rebuild keeps them) for as long as the record could still be replaced.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis

from hub.adapters.redis.errors import translated
from hub.adapters.redis.keys import Keys


class RedisAcceptedLog:
    """Implements the AcceptedLog port."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self._r = client
        self._keys = Keys(prefix)

    async def fingerprints(self, feed: str, keys: Sequence[str]) -> list[str | None]:
        if not keys:
            return []
        async with translated("cannot read accepted versions"):
            values = await self._r.mget([self._keys.accepted(feed, k) for k in keys])
        return [None if v is None else str(v) for v in values]

    async def remember(self, feed: str, entries: Sequence[tuple[str, str, int]]) -> None:
        if not entries:
            return
        async with translated("cannot record accepted versions"), self._r.pipeline(False) as p:
            for key, mark, until_ms in entries:
                p.set(self._keys.accepted(feed, key), mark, pxat=until_ms)
            await p.execute()
