"""Each organisation's recent rejections, newest first, for `GET /v1/rejections`.

Stored as a sorted set scored by receipt time, with the rejection's stable id
inside the member, so a dead letter recorded twice (a worker replaying a
batch) appears once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis

from hub.adapters.codec import dead_letter_doc, dumps, loads
from hub.adapters.redis.errors import translated
from hub.adapters.redis.keys import Keys
from hub.ports import DeadLetter

KEEP = 1_000


class RedisRejectionLog:
    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self._r = client
        self._keys = Keys(prefix)

    async def record(self, letters: Sequence[DeadLetter]) -> None:
        by_org: dict[str, dict[bytes, float]] = {}
        for letter in letters:
            if letter.org is None:
                continue
            score = datetime.fromisoformat(letter.received_at).timestamp()
            by_org.setdefault(letter.org, {})[dumps(dead_letter_doc(letter))] = score
        if not by_org:
            return
        async with translated("cannot record rejections"), self._r.pipeline(False) as pipe:
            for org, members in by_org.items():
                key = self._keys.rejections(org)
                pipe.zadd(key, members)
                pipe.zremrangebyrank(key, 0, -KEEP - 1)
            await pipe.execute()

    async def recent(self, org: str, feed: str | None, limit: int) -> list[Mapping[str, Any]]:
        async with translated("cannot read rejections"):
            members = await self._r.zrevrange(self._keys.rejections(org), 0, KEEP - 1)
        out: list[Mapping[str, Any]] = []
        for member in members:
            doc = loads(str(member))
            if feed is None or doc["feed"] == feed:
                out.append(doc)
                if len(out) >= limit:
                    break
        return out
