"""A bulk rebuild writes, key by key, the generation the live path's replay writes.

Both rebuild the same simulated log (`tests/bulk_log.py`: ten days, amendments,
late records, direct producers' records and refusals, versions of one entity
on two partitions) after a trust merger in the reference data, with the same
fixed clock. Every key of the new generation is compared, value for value.
What legitimately differs, and is checked to differ exactly so:

- entity versions: the replay keeps every one for at least a day (later records
  of the log it has not replayed yet may need them); the bulk keeps those a
  worker that had run all along would still hold, each until its horizon on
  the log's clock (`plan._entity_expiry` counted from when it was accepted);
- times to live run from when a key was written, so they are compared within
  the seconds between the two runs (entity versions: against their horizon).

Counters at zero are left out on both sides (a retraction leaves a field at 0).
Corrections applied by the live path afterwards must then retract exactly what
the bulk stored, so both generations are compared again after them.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

import orjson
import pytest
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry

from hub.adapters.embedded import ManagedProcess
from hub.adapters.kafka.topics import ensure_topics
from hub.adapters.redis.apply_script import SITREP_RETENTION_MS
from hub.domain.feeds import FEEDS, FeedKind
from hub.domain.plan import EVENT_AMENDABLE_MS, SITREP_AMENDABLE_MS
from hub.domain.timestamps import parse_timestamp
from hub.domain.windows import DAY_MS, LONDON, Bucket, Resolution
from hub.settings import Settings
from hub.simulation.push import Push
from streams.rebuild import RebuildUnfinished, abort, rebuild
from streams.wiring import build_worker
from tests.bulk_log import (
    FROM_TRUST,
    MOVED_SITE,
    TO_TRUST,
    FixedClock,
    merged_config,
    produce,
    simulate,
)
from tests.conftest import CONFIG, unique
from tests.logs import run_until_caught_up

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]

PARTITIONS = 3
TTL_SLACK_MS = 300_000  # the seconds between two runs' writes, with room for a loaded machine


def quiet(done: int, total: int) -> None:
    return None


class Log:
    """The simulated log in its topics, and the settings every rebuild of it shares."""

    def __init__(self, base: Settings, now_ms: int, messages: int) -> None:
        self.base = base
        self.now_ms = now_ms
        self.messages = messages

    def hub(self, **overrides: Any) -> Settings:
        return self.base.with_(key_prefix=unique("k"), **overrides)


async def simulated_log(
    broker: ManagedProcess, valkey: ManagedProcess, config: Path, days: float
) -> Log:
    """Produce `days` of the simulated log into topics of its own; rebuilds use `config`."""
    now_ms = int(time.time() * 1000)
    base = Settings(
        kafka_bootstrap=broker.address,
        redis_url=valkey.address,
        topic_prefix=unique("t") + ".",
        consumer_group=unique("g"),
        partitions=PARTITIONS,
        session_timeout_ms=6_000,
        envelope_key="test:" + "0123456789abcdef" * 2,
        config_dir=CONFIG,
    )
    await ensure_topics(base)
    messages = await produce(base, simulate(now_ms, days), PARTITIONS)
    return Log(base.with_(config_dir=config), now_ms, messages)


async def replay_of(log: Log, valkey: ManagedProcess) -> tuple[Settings, dict[str, Any]]:
    """The reference: the whole log replayed through the live path into generation 1."""
    settings = log.hub()
    await rebuild(settings, quiet, replay=True, clock_ms=FixedClock(log.now_ms))
    client = aioredis.from_url(valkey.address, decode_responses=True)
    try:
        return settings, await generation(client, settings, 1)
    finally:
        await client.aclose()


@pytest.fixture(scope="module")
def merged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference data changed before the rebuild: a trust merger moved a site."""
    return merged_config(tmp_path_factory.mktemp("merged"))


@pytest.fixture(scope="module")
async def log(broker: ManagedProcess, valkey: ManagedProcess, merged: Path) -> Log:
    """Ten days, so that many versions are past their horizon when the rebuild runs."""
    return await simulated_log(broker, valkey, merged, days=10.0)


@pytest.fixture(scope="module")
async def replayed(log: Log, valkey: ManagedProcess) -> tuple[Settings, dict[str, Any]]:
    return await replay_of(log, valkey)


async def test_a_bulk_rebuild_writes_the_generation_the_replay_writes(
    log: Log, replayed: tuple[Settings, dict[str, Any]], redis_client: aioredis.Redis
) -> None:
    settings = log.hub()
    result = await rebuild(settings, quiet, clock_ms=FixedClock(log.now_ms))

    assert result.generation == 1 and result.records == log.messages
    bulk = await generation(redis_client, settings, 1)
    same_but_entities_past_their_horizon(replayed[1], bulk, log.now_ms)
    moved = [
        orjson.loads(v)["s"].split("|")
        for k, (v, _) in bulk.items()
        if k.startswith("e:ambulance-handover:") and f'"site":"{MOVED_SITE}"' in v
    ]
    assert moved and all(f"org/{TO_TRUST}" in s and f"org/{FROM_TRUST}" not in s for s in moved)


async def test_corrections_after_a_bulk_rebuild_retract_what_it_stored(
    broker: ManagedProcess, valkey: ManagedProcess, merged: Path, redis_client: aioredis.Redis
) -> None:
    log = await simulated_log(broker, valkey, merged, days=3.0)
    replay_settings, reference = await replay_of(log, valkey)
    settings = log.hub()
    await rebuild(settings, quiet, clock_ms=FixedClock(log.now_ms))
    bulk = await generation(redis_client, settings, 1)
    same_but_entities_past_their_horizon(reference, bulk, log.now_ms, some_gone=False)

    # The live path goes on from both: its corrections retract exactly what each stored.
    later = log.now_ms + 60_000
    await produce(log.base, corrections(bulk, later), PARTITIONS)
    for s in (replay_settings, settings):
        await apply_what_is_new(s, later)
    again = await generation(redis_client, settings, 1)
    assert again != bulk  # the corrections changed something
    same_but_entities_past_their_horizon(
        await generation(redis_client, replay_settings, 1), again, later, some_gone=False
    )


async def test_two_jobs_write_what_one_writes(
    log: Log, replayed: tuple[Settings, dict[str, Any]], redis_client: aioredis.Redis
) -> None:
    settings = log.hub()
    await rebuild(settings, quiet, jobs=2, clock_ms=FixedClock(log.now_ms))
    same_but_entities_past_their_horizon(
        replayed[1], await generation(redis_client, settings, 1), log.now_ms
    )


async def test_a_bulk_rebuild_killed_half_way_continues_to_the_same_generation(
    log: Log, replayed: tuple[Settings, dict[str, Any]], redis_client: aioredis.Redis
) -> None:
    settings = log.hub()
    clock = FixedClock(log.now_ms)
    await interrupted_half_way(settings, clock)
    assert await redis_client.hget(f"{settings.key_prefix}:rebuild", "bulk") == "1"

    result = await rebuild(settings, quiet, clock_ms=clock, checkpoint_s=0.0)

    assert result.resumed
    same_but_entities_past_their_horizon(
        replayed[1], await generation(redis_client, settings, 1), log.now_ms
    )


async def test_a_bulk_rebuild_past_its_timeout_stops_and_continues(
    log: Log, replayed: tuple[Settings, dict[str, Any]], redis_client: aioredis.Redis
) -> None:
    settings = log.hub()
    clock = FixedClock(log.now_ms)
    with pytest.raises(RebuildUnfinished, match="run `hub rebuild` again"):
        await rebuild(settings, quiet, timeout_s=0.0, clock_ms=clock)
    control = await redis_client.hgetall(f"{settings.key_prefix}:g1:bulk:run")
    assert control["committed"] == "1"  # it checkpointed before it stopped

    await rebuild(settings, quiet, clock_ms=clock)
    same_but_entities_past_their_horizon(
        replayed[1], await generation(redis_client, settings, 1), log.now_ms
    )


async def test_abort_gives_a_bulk_rebuild_up_and_leaves_the_serving_generation(
    log: Log, redis_client: aioredis.Redis
) -> None:
    settings = log.hub()
    await interrupted_half_way(settings, FixedClock(log.now_ms))

    assert await abort(settings) == 1
    prefix = settings.key_prefix
    assert await redis_client.get(f"{prefix}:gen") is None  # workers never left generation 0
    assert not [k async for k in redis_client.scan_iter(match=f"{prefix}:g1:*")]
    assert await redis_client.exists(f"{prefix}:rebuild") == 0


# -- helpers ----------------------------------------------------------------------------------


class Interrupted(Exception):
    """Raised from inside the rebuild, as Ctrl-C is: no checkpoint is written on the way out."""


async def interrupted_half_way(settings: Settings, clock: FixedClock) -> None:
    """Run a bulk rebuild checkpointing every round; interrupt it once half the log is read."""

    def watch(done: int, total: int) -> None:
        if total and done >= total // 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        await rebuild(settings, watch, clock_ms=clock, checkpoint_s=0.0)


async def apply_what_is_new(settings: Settings, now_ms: int) -> None:
    worker = build_worker(settings, CollectorRegistry(), group=False, clock_ms=FixedClock(now_ms))
    await worker.start()
    try:
        await run_until_caught_up(worker, max_rounds=500)
    finally:
        await worker.close()


def corrections(bulk: dict[str, Any], received_ms: int) -> list[Push]:
    """New versions of handovers the rebuild stored, at the merged site among them."""
    out: list[Push] = []
    for key, (value, _) in sorted(bulk.items()):
        if not key.startswith("e:ambulance-handover:") or len(out) >= 40:
            continue
        record = dict(orjson.loads(value)["v"])
        arrived = int(parse_timestamp(record["arrived_at"]).timestamp() * 1000)
        if not received_ms - 6 * DAY_MS < arrived < received_ms - 2 * 3_600_000:
            continue  # a correction must still be acceptable now
        record["handover_at"] = _iso(arrived + 95 * 60_000)  # corrected: later
        record["clear_at"] = None
        out.append(Push(received_ms, "ambulance-handover", record["ambulance_trust"], record))
    assert any(p.record["site"] == MOVED_SITE for p in out)
    return out


def _iso(at_ms: int) -> str:
    return datetime.fromtimestamp(at_ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def generation(client: aioredis.Redis, settings: Settings, gen: int) -> dict[str, Any]:
    """Return every key of a generation (minus its prefix): (value, milliseconds to live)."""
    head = f"{settings.key_prefix}:g{gen}:"
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
        return sorted(m.split(":", 1)[1] for m in await client.smembers(name))
    return await client.get(name)


def same_but_entities_past_their_horizon(
    reference: dict[str, Any], bulk: dict[str, Any], now_ms: int, some_gone: bool = True
) -> None:
    gone = {k for k in reference if k.startswith("e:") and horizon(k, reference[k][0]) <= now_ms}
    assert bool(gone) == some_gone  # ten days are long enough for some to pass it, three not
    # Keys due to expire within the minutes the test ran may have gone from either side since
    # (times to live count from the fixed clock, Redis expires them by its own).
    lapsed = {
        k
        for k in {*reference, *bulk}
        if 0 < ends(k, {**reference, **bulk}[k][0]) - now_ms <= TTL_SLACK_MS
    }
    assert set(bulk) - lapsed == set(reference) - gone - lapsed
    for key, (value, ttl) in bulk.items():
        if key not in reference:
            continue
        assert value == reference[key][0], key
        if key.startswith("e:"):  # until its horizon, counted from when it was accepted
            assert abs(ttl - (horizon(key, value) - now_ms)) <= TTL_SLACK_MS, key
        elif ttl > 0 or reference[key][1] > 0:
            assert abs(ttl - reference[key][1]) <= TTL_SLACK_MS, key


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
    return accepted + max(0, event + window - accepted) + DAY_MS


def _event_ms(kind: FeedKind, value: str) -> int:
    if kind is FeedKind.SITREP:
        day = date.fromisoformat(value)
        return int(datetime(day.year, day.month, day.day, tzinfo=LONDON).timestamp() * 1000)
    return int(parse_timestamp(value).timestamp() * 1000)
