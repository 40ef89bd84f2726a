"""Notes on a scope, metric and time in Redis, outside serving generations (kept by rebuilds).

note:{id}    the note (JSON string)
notes:at     sorted set: note id scored by the instant it is about (ms)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import redis.asyncio as aioredis

from hub.adapters.codec import dumps, loads
from hub.adapters.redis.errors import translated
from hub.adapters.redis.keys import Keys


class RedisAnnotationStore:
    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self._r = client
        self._keys = Keys(prefix)

    async def add(self, note: Mapping[str, Any]) -> None:
        async with translated("cannot store the note"), self._r.pipeline(True) as pipe:
            pipe.set(self._keys.note(str(note["id"])), dumps(dict(note)))
            pipe.zadd(self._keys.notes_by_time, {str(note["id"]): int(note["at_ms"])})
            await pipe.execute()

    async def between(self, from_ms: int, to_ms: int, limit: int) -> list[dict[str, Any]]:
        async with translated("cannot read notes"):
            ids = await self._r.zrevrangebyscore(
                self._keys.notes_by_time, to_ms, from_ms, start=0, num=limit
            )
            if not ids:
                return []
            docs = await self._r.mget([self._keys.note(str(i)) for i in ids])
        return [loads(d) for d in docs if d is not None]
