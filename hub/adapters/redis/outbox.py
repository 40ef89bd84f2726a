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

A letter that cannot be published (Kafka refuses it, or the entry is not a
letter) is parked: moved to `outbox:parked`, a stream capped at PARKED_KEEP,
so the letters after it flow. `trim` caps the outbox itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from hub.adapters.codec import loads
from hub.adapters.redis.errors import translated
from hub.adapters.redis.keys import Keys
from hub.ports import Claimed, DeadLetter

GROUP = "publishers"
CLAIM_AFTER_MS = 30_000
BLOCK_MS = 500
PARKED_KEEP = 10_000


class RedisOutbox:
    """Implements the DeadLetterOutbox port."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self._r = client
        self._key = Keys(prefix).outbox
        self._parked = Keys(prefix).outbox_parked
        self._grouped = False

    async def claim(self, consumer: str, limit: int) -> Claimed:
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
            gone = [str(entry_id) for entry_id, fields in entries if not fields]
            if gone:  # trimmed while pending: nothing to publish, and never read again
                await self._r.xack(self._key, GROUP, *gone)
        claimed = Claimed()
        for entry_id, fields in entries:
            if fields:
                _sort(claimed, str(entry_id), fields)
        return claimed

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

    async def park(self, entry_id: str, reason: str) -> None:
        async with translated("cannot park a dead letter"):
            found: Any = await self._r.xrange(self._key, entry_id, entry_id)
            async with self._r.pipeline(True) as p:
                if found and found[0][1]:
                    moved: Any = {**found[0][1], "entry": entry_id, "reason": reason}
                    p.xadd(self._parked, moved, maxlen=PARKED_KEEP, approximate=True)
                p.xack(self._key, GROUP, entry_id)
                p.xdel(self._key, entry_id)
                await p.execute()

    async def trim(self, keep: int) -> int:
        async with translated("cannot trim the dead-letter outbox"):
            return int(await self._r.xtrim(self._key, maxlen=keep, approximate=False))

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


def _sort(claimed: Claimed, entry_id: str, fields: dict[str, Any]) -> None:
    """Add an entry to the letters, or to the unreadable if it is not a well-formed letter."""
    try:
        claimed.letters.append((entry_id, _letter(fields["letter"])))
    except Exception as exc:  # written by something else, or damaged: never publishable
        claimed.unreadable.append((entry_id, f"not a dead letter: {exc!r}"[:500]))


def _letter(raw: str) -> DeadLetter:
    doc = loads(raw)
    doc["errors"] = tuple((str(field), str(message)) for field, message in doc["errors"])
    letter = DeadLetter(**doc)
    datetime.fromisoformat(letter.received_at)  # the rejection lists are scored by it
    return letter
