"""Fixed-window request counters in Redis, shared by every API process (for rate limits)."""

from __future__ import annotations

import time

import redis.asyncio as aioredis

from hub.adapters.redis.errors import translated
from hub.adapters.redis.keys import Keys


class RedisRequestCounter:
    """Implements `hub.services.limits.RequestCounter`."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self._r = client
        self._prefix = Keys(prefix).prefix

    async def count(self, key: str, window_s: int) -> int:
        window = int(time.time()) // window_s
        name = f"{self._prefix}:rl:{key}:{window}"
        async with translated("cannot count requests"), self._r.pipeline(True) as pipe:
            pipe.incr(name)
            pipe.expire(name, window_s * 2)
            used, _ = await pipe.execute()
        return int(used)
