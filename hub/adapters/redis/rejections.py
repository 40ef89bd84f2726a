"""Each organisation's recent rejections, newest first, for `GET /v1/rejections`.

Stored as a sorted set scored by receipt time, with the rejection's stable id
inside the member, so a dead letter recorded twice (a worker replaying a
batch) appears once.

Bounded three ways: KEEP entries per organisation; each entry a dead letter
cut shorter than the one on the dead-letter topic (ORIGINAL_CHARS of the
record, ERRORS errors); and one answer stops at ANSWER_BYTES, saying so.
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
ORIGINAL_CHARS = 2_000
ERRORS = 10
ANSWER_BYTES = 1024 * 1024
PAGE = 100


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
            by_org.setdefault(letter.org, {})[
                dumps(dead_letter_doc(letter, ORIGINAL_CHARS, ERRORS))
            ] = score
        if not by_org:
            return
        async with translated("cannot record rejections"), self._r.pipeline(False) as pipe:
            for org, members in by_org.items():
                key = self._keys.rejections(org)
                pipe.zadd(key, members)
                pipe.zremrangebyrank(key, 0, -KEEP - 1)
            await pipe.execute()

    async def recent(
        self, org: str, feed: str | None, limit: int
    ) -> tuple[list[Mapping[str, Any]], bool]:
        """Return up to `limit` rejections, newest first, and whether ANSWER_BYTES cut them short."""
        out: list[Mapping[str, Any]] = []
        size = 0
        for start in range(0, KEEP, PAGE):
            async with translated("cannot read rejections"):
                members = await self._r.zrevrange(
                    self._keys.rejections(org), start, start + PAGE - 1
                )
            for member in members:
                text = str(member)
                doc = loads(text)
                if feed is not None and doc["feed"] != feed:
                    continue
                size += len(text.encode())
                if size > ANSWER_BYTES and out:
                    return out, True
                out.append(doc)
                if len(out) >= limit:
                    return out, False
            if len(members) < PAGE:
                break
        return out, False
