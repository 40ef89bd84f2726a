"""The bulk rebuild's store, on a real Valkey: what several jobs write at once is all kept."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from hub.adapters.codec import dumps_held, loads
from hub.adapters.redis.bulk_store import RedisBulkStore, entity_payloads
from hub.domain.bulk import Held
from hub.domain.feeds import FEEDS
from hub.domain.metrics import Params
from tests.conftest import unique

pytestmark = pytest.mark.timeout(60)

FEED = FEEDS["ambulance-handover"]
NOW_MS = 1_800_000_000_000


def held(key: str) -> Held:
    record = {"handover_id": key, "site": "RX1RA", "arrived_at": "2027-01-15T08:00:00Z"}
    rank = (NOW_MS - 60_000, f"sub:{key}")
    return Held(
        FEED, f"RX9|{key}", dumps_held(record), ("national",), Params(), rank, NOW_MS + 86_400_000
    )


async def test_jobs_that_finish_together_each_keep_every_entity_they_held(
    redis_client: aioredis.Redis,
) -> None:
    # Every job writes the entities it still holds at the end, at the same moment as the
    # others (they reach the log's end in the same round). Their payloads once shared names:
    # one job applied another's and its own part was lost (2,512 entities once, one part).
    prefix = unique("bulkstore")
    jobs = [
        (f"j{j}", RedisBulkStore(redis_client, prefix, 1), [held(f"H{j}-{i}") for i in range(50)])
        for j in range(3)
    ]
    await asyncio.gather(
        *(store.write_now(entity_payloads(store.keys, rows), NOW_MS, owner)
          for owner, store, rows in jobs)
    )  # fmt: skip
    for _, store, rows in jobs:
        stored = await redis_client.mget([store.keys.entity(FEED.name, h.key) for h in rows])
        assert all(stored), sum(1 for s in stored if s is None)
        assert loads(stored[0])["v"]["handover_id"] == rows[0].key.split("|")[1]
