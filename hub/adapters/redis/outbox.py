"""The dead-letter outbox: a Redis stream that apply transactions append to.

A worker decides a record is a dead letter inside the transaction that moves
its partition's offset, and writes the letter to this stream in the same
MULTI/EXEC: so a letter exists exactly when the offset moved past its record,
however often a conflicting transaction was retried. Workers then publish
the stream to the dead-letter topic through a consumer group: each letter
goes to one worker, a dead worker's unfinished letters are claimed by
another after `CLAIM_AFTER_MS`, and a letter is deleted only after Kafka
acknowledged it. A crash between the two publishes it twice, with the same
Kafka key (its stable id), which consumers and compaction collapse.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from hub.adapters.codec import loads
from hub.adapters.redis.errors import translated
from hub.adapters.redis.keys import Keys
from hub.ports import DeadLetter

GROUP = "publishers"
CLAIM_AFTER_MS = 30_000
BLOCK_MS = 500


class RedisOutbox:
    """Implements the DeadLetterOutbox port."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self._r = client
        self._key = Keys(prefix).outbox
        self._grouped = False

    async def claim(self, consumer: str, limit: int) -> list[tuple[str, DeadLetter]]:
        async with translated("cannot read the dead-letter outbox"):
            await self._group()
            # Its own unfinished letters first (a publish that failed), then a dead
            # consumer's, then new ones.
            entries = await self._read(consumer, "0", limit, block=None)
            if not entries:
                _, stale, _ = await self._r.xautoclaim(
                    self._key, GROUP, consumer, CLAIM_AFTER_MS, "0-0", count=limit
                )
                entries = list(stale)
            if not entries:
                entries = await self._read(consumer, ">", limit, block=BLOCK_MS)
        return [
            (str(entry_id), _letter(fields["letter"])) for entry_id, fields in entries if fields
        ]

    async def _read(self, consumer: str, start: str, limit: int, block: int | None) -> list[Any]:
        reply: Any = await self._r.xreadgroup(
            GROUP, consumer, {self._key: start}, count=limit, block=block
        )
        return [e for _, batch in reply for e in batch]  # [[stream, [(id, fields), …]]]

    async def done(self, ids: Sequence[str]) -> None:
        if not ids:
            return
        async with translated("cannot clear the dead-letter outbox"), self._r.pipeline(True) as p:
            p.xack(self._key, GROUP, *ids)
            p.xdel(self._key, *ids)
            await p.execute()

    async def backlog(self) -> int:
        async with translated("cannot read the dead-letter outbox"):
            return int(await self._r.xlen(self._key))

    async def _group(self) -> None:
        if self._grouped:
            return
        try:
            # From the stream's first entry: letters written before any worker ran are kept.
            await self._r.xgroup_create(self._key, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._grouped = True


def _letter(raw: str) -> DeadLetter:
    doc = loads(raw)
    doc["errors"] = tuple(tuple(pair) for pair in doc["errors"])
    return DeadLetter(**doc)
