"""The forecaster's output in Redis: one JSON document per (metric, scope), with an expiry.

Forecasts live outside the serving generations: they are derived from the
hourly history and rewritten every hour, so `hub rebuild` need not touch them,
and the expiry makes a stopped forecaster's output vanish instead of going stale.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import redis.asyncio as aioredis

from hub.adapters.codec import dumps, loads
from hub.adapters.redis.errors import translated


class RedisForecastStore:
    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self._r = client
        self._prefix = prefix

    def _key(self, metric: str, scope: str) -> str:
        return f"{self._prefix}:fc:{metric}:{scope}"

    async def put(self, docs: Mapping[tuple[str, str], Mapping[str, Any]], ttl_s: int) -> None:
        if not docs:
            return
        async with translated("cannot store forecasts"), self._r.pipeline(False) as pipe:
            for (metric, scope), doc in docs.items():
                pipe.set(self._key(metric, scope), dumps(doc), ex=ttl_s)
            await pipe.execute()

    async def get(self, metric: str, scope: str) -> dict[str, Any] | None:
        async with translated("cannot read forecasts"):
            raw = await self._r.get(self._key(metric, scope))
        if raw is None:
            return None
        return dict(loads(raw))
