"""Compare two generations of serving state key by key: a bulk rebuild's against the replay's.

Used by `tests/integration/test_bulk_rebuild.py` and `bench/bench_rebuild.py`.
What legitimately differs, and is checked to differ exactly so:

- entity versions: the replay keeps every one for at least a day (later records
  of the log it has not replayed yet may need them); the bulk keeps those a
  worker that had run all along would still hold, each until its horizon on
  the log's clock (`plan._entity_expiry` counted from when it was accepted);
- times to live run from when a key was written, so they are compared within
  the time between the two runs (an entity version the bulk wrote: against its
  horizon; one the live path wrote after the hand-over: as the replay's);
- a key due to expire between the two runs (or while the comparison runs) may
  be gone from either side, since Redis expires keys by its own clock.

Counters at zero are left out on both sides (a retraction leaves a field at 0).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

import orjson
import redis.asyncio as aioredis

from hub.adapters.redis.apply_script import SITREP_RETENTION_MS
from hub.domain.feeds import FEEDS, FeedKind
from hub.domain.plan import EVENT_AMENDABLE_MS, SITREP_AMENDABLE_MS
from hub.domain.timestamps import parse_timestamp
from hub.domain.windows import DAY_MS, LONDON, Bucket, Resolution


async def generation(client: aioredis.Redis, prefix: str, gen: int) -> dict[str, Any]:
    """Return every key of a generation (minus its prefix): (value, milliseconds to live)."""
    head = f"{prefix}:g{gen}:"
    out: dict[str, Any] = {}
    async for name in client.scan_iter(match=head + "*", count=1000):
        value = await _value(client, name)
        if value:
            out[name[len(head) :]] = (value, await client.pttl(name))
    return out


async def _value(client: aioredis.Redis, name: str) -> Any:
    kind = await client.type(name)
    if kind == "hash" and name.endswith(":fp"):
        return await client.hgetall(name)
    if kind == "hash":  # a counter at zero reads the same as one never written
        return {f: int(v) for f, v in (await client.hgetall(name)).items() if int(v)}
    if kind == "zset":
        return dict(
            cast(list[tuple[str, float]], await client.zrange(name, 0, -1, withscores=True))
        )
    if kind == "set":  # the offset keys' names: without the hub's own prefix
        return sorted(str(m).split(":", 1)[1] for m in await client.smembers(name))
    return await client.get(name)


def same_but_entities_past_their_horizon(
    reference: dict[str, Any],
    bulk: dict[str, Any],
    now_ms: int,
    some_gone: bool = True,
    slack_ms: int = 300_000,
) -> int:
    """Assert the two generations agree but for what may differ; return the keys compared.

    `now_ms` is the bulk rebuild's clock; `slack_ms` how long before (and after) it
    the reference was written, and the comparison may run.
    """
    gone = {k for k in reference if k.startswith("e:") and horizon(k, reference[k][0]) <= now_ms}
    assert bool(gone) == some_gone, len(gone)
    # Keys due to expire between the runs, or since, may be gone from either side.
    both = {**reference, **bulk}
    lapsed = {k for k in both if -slack_ms < ends(k, both[k][0]) - now_ms <= slack_ms}
    extra, missing = set(bulk) - lapsed - set(reference), set(reference) - gone - lapsed - set(bulk)
    assert not extra and not missing, (
        sorted(extra)[:5],
        len(extra),
        sorted(missing)[:5],
        len(missing),
    )
    for key, (value, ttl) in bulk.items():
        if key not in reference:
            continue
        assert value == reference[key][0], (key, value, reference[key][0])
        if key.startswith("e:"):  # until its horizon, counted from when it was accepted
            by_bulk = abs(ttl - (horizon(key, value) - now_ms)) <= slack_ms
            by_live = abs(ttl - reference[key][1]) <= slack_ms  # the live path wrote it since
            assert by_bulk or by_live, key
        elif ttl > 0 or reference[key][1] > 0:
            assert abs(ttl - reference[key][1]) <= slack_ms, key
    return len(bulk)


def ends(key: str, value: Any) -> int:
    """Return when a key expires by its own rule (entities: their horizon); 0 for never."""
    kind, *rest = key.split(":")
    if kind == "e":
        return horizon(key, value)
    if kind == "b":
        resolution, number = Resolution(rest[0]), int(rest[1])
        return Bucket(resolution, number).expires_at_ms
    if kind == "s":
        return Bucket(Resolution.DAY, int(rest[1])).start_ms + SITREP_RETENTION_MS
    return 0


def horizon(key: str, value: str) -> int:
    """Return when a stored version stops being replaceable (`plan._entity_expiry`)."""
    feed = FEEDS[key.split(":")[1]]
    doc = orjson.loads(value)
    accepted, event = int(doc["t"]), _event_ms(feed.kind, doc["v"][feed.event_time_field])
    window = SITREP_AMENDABLE_MS if feed.kind is FeedKind.SITREP else EVENT_AMENDABLE_MS
    return accepted + max(window, event + window - accepted) + DAY_MS  # kept ≥ 8 days (27c)


def _event_ms(kind: FeedKind, value: str) -> int:
    if kind is FeedKind.SITREP:
        day = date.fromisoformat(value)
        return int(datetime(day.year, day.month, day.day, tzinfo=LONDON).timestamp() * 1000)
    return int(parse_timestamp(value).timestamp() * 1000)
