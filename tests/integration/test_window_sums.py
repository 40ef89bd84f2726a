"""Windows summed inside Valkey equal the same buckets read one by one and added up in Python."""

from __future__ import annotations

import random
from collections import Counter

import pytest
import redis.asyncio as aioredis

from hub.adapters.redis.apply_script import EXACT as EXACT_LIMIT
from hub.adapters.redis.keys import Keys
from hub.adapters.redis.reads import RedisStateReader
from hub.domain.windows import windows_cover
from hub.settings import Settings

pytestmark = pytest.mark.timeout(60)
NOW = 1_764_000_000_000 + 37 * 60_000 + 12_345  # not on an hour: every window has ragged ends


async def test_every_window_sums_its_buckets_exactly(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    rng = random.Random(12)
    keys = Keys(settings.key_prefix)
    cover = windows_cover(NOW)
    buckets = sorted({b for bs in cover.values() for b in bs}, key=lambda b: b.sort_key)
    stored: dict[str, dict[object, dict[str, int]]] = {"national": {}, "site/RWEAA": {}}
    for scope, rows in stored.items():
        for bucket in rng.sample(buckets, len(buckets) * 2 // 3):  # some buckets stay empty
            row = {f"c{n}": rng.randint(-5, 10**9) for n in rng.sample(range(40), 12)}
            row["sk.z"] = rng.randint(0, 3)
            rows[bucket] = row
            await redis_client.hset(keys.bucket(scope, bucket), mapping=row)  # type: ignore[misc]
    # The largest totals a double holds exactly, and a negative one.
    big = buckets[0]
    extra = {
        big: {"big": EXACT_LIMIT // 2, "neg": -(10**12)},
        buckets[-1]: {"big": EXACT_LIMIT // 2 - 1},
    }
    for bucket, row in extra.items():
        stored["national"].setdefault(bucket, {}).update(row)
        await redis_client.hset(keys.bucket("national", bucket), mapping=row)  # type: ignore[misc]

    store = RedisStateReader(redis_client, settings.key_prefix)
    got = await store.read_window_sums([(scope, cover) for scope in stored])

    for (scope, rows), sums in zip(stored.items(), got, strict=True):
        for window, window_buckets in cover.items():
            want: Counter[str] = Counter()
            for bucket in window_buckets:
                want.update(rows.get(bucket, {}))
            assert sums[window] == dict(want), (scope, window)
    assert got[0]["24h"]["big"] == EXACT_LIMIT - 1  # the largest total a double holds exactly


async def test_a_flushed_script_is_loaded_again(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    keys = Keys(settings.key_prefix)
    cover = windows_cover(NOW)
    bucket = cover["15m"][0]
    await redis_client.hset(keys.bucket("national", bucket), mapping={"n": 3})  # type: ignore[misc]
    store = RedisStateReader(redis_client, settings.key_prefix)
    assert (await store.read_window_sums([("national", cover)]))[0]["15m"] == {"n": 3}
    await redis_client.script_flush()
    assert (await store.read_window_sums([("national", cover)]))[0]["24h"] == {"n": 3}
