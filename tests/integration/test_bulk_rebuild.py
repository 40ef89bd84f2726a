"""A bulk rebuild writes, key by key, the generation the live path's replay writes.

Both rebuild the same simulated log (`tests/bulk_log.py`: ten days, amendments,
late records, direct producers' records and refusals, versions of one entity
on two partitions) after a trust merger in the reference data, with the same
fixed clock. Every key of the new generation is compared, value for value
(`tests/generations.py` says what may legitimately differ, and checks that it
differs exactly so). Corrections applied by the live path afterwards must then
retract exactly what the bulk stored, so both are compared again after them.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry

from hub.adapters.embedded import ManagedProcess
from hub.adapters.kafka.topics import ensure_topics
from hub.adapters.redis.generations import RedisGenerations
from hub.domain.timestamps import parse_timestamp
from hub.domain.windows import DAY_MS
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
from tests.generations import generation, same_but_entities_past_their_horizon
from tests.harness import caught_up, running_worker
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
        return settings, await generation(client, settings.key_prefix, 1)
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
    bulk = await generation(redis_client, settings.key_prefix, 1)
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
    bulk = await generation(redis_client, settings.key_prefix, 1)
    same_but_entities_past_their_horizon(reference, bulk, log.now_ms, some_gone=False)

    # The live path goes on from both: its corrections retract exactly what each stored.
    later = log.now_ms + 60_000
    await produce(log.base, corrections(bulk, later), PARTITIONS)
    for s in (replay_settings, settings):
        await apply_what_is_new(s, later)
    again = await generation(redis_client, settings.key_prefix, 1)
    assert again != bulk  # the corrections changed something
    same_but_entities_past_their_horizon(
        await generation(redis_client, replay_settings.key_prefix, 1), again, later, some_gone=False
    )


async def test_two_jobs_write_what_one_writes(
    log: Log, replayed: tuple[Settings, dict[str, Any]], redis_client: aioredis.Redis
) -> None:
    settings = log.hub()
    await rebuild(settings, quiet, jobs=2, clock_ms=FixedClock(log.now_ms))
    same_but_entities_past_their_horizon(
        replayed[1], await generation(redis_client, settings.key_prefix, 1), log.now_ms
    )


async def test_a_bulk_rebuild_killed_half_way_continues_to_the_same_generation(
    log: Log, replayed: tuple[Settings, dict[str, Any]], redis_client: aioredis.Redis
) -> None:
    settings = log.hub()
    clock = FixedClock(log.now_ms)
    await interrupted_half_way(settings, clock)
    state = await RedisGenerations(redis_client, settings.key_prefix).state()
    assert (state.writing, state.serving) == (1, 0)  # exported: an unfinished rebuild alerts

    result = await rebuild(settings, quiet, clock_ms=clock, checkpoint_s=0.0)

    assert result.resumed
    same_but_entities_past_their_horizon(
        replayed[1], await generation(redis_client, settings.key_prefix, 1), log.now_ms
    )


async def test_two_jobs_meeting_at_every_checkpoint_killed_half_way_continue_to_the_same_generation(
    log: Log, replayed: tuple[Settings, dict[str, Any]], redis_client: aioredis.Redis
) -> None:
    # Between checkpoints each job takes to the latest bound the other sent; a
    # checkpoint brings both to one bound, so what each stored and where each
    # resumes agree. Here every round is a checkpoint, and the run is cut off.
    settings = log.hub()
    clock = FixedClock(log.now_ms)
    await interrupted_half_way(settings, clock, jobs=2)

    result = await rebuild(settings, quiet, jobs=2, clock_ms=clock, checkpoint_s=0.0)

    assert result.resumed
    same_but_entities_past_their_horizon(
        replayed[1], await generation(redis_client, settings.key_prefix, 1), log.now_ms
    )


async def test_a_bulk_rebuild_past_its_timeout_stops_and_continues(
    log: Log, replayed: tuple[Settings, dict[str, Any]], redis_client: aioredis.Redis
) -> None:
    settings = log.hub()
    clock = FixedClock(log.now_ms)
    with pytest.raises(RebuildUnfinished, match="run `hub rebuild --bulk` again"):
        await rebuild(settings, quiet, timeout_s=0.0, clock_ms=clock)
    control = await redis_client.hgetall(f"{settings.key_prefix}:g1:bulk:run")
    assert control["committed"] == "1"  # it checkpointed before it stopped

    await rebuild(settings, quiet, clock_ms=clock)
    same_but_entities_past_their_horizon(
        replayed[1], await generation(redis_client, settings.key_prefix, 1), log.now_ms
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


async def interrupted_half_way(settings: Settings, clock: FixedClock, jobs: int = 1) -> None:
    """Run a bulk rebuild checkpointing every round; interrupt it once half the log is read."""

    def watch(done: int, total: int) -> None:
        if total and done >= total // 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        await rebuild(settings, watch, jobs=jobs, clock_ms=clock, checkpoint_s=0.0)


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


async def test_records_accepted_during_a_bulk_rebuild_are_applied_once_by_the_live_path(
    broker: ManagedProcess, valkey: ManagedProcess, merged: Path, redis_client: aioredis.Redis
) -> None:
    # Workers run throughout: on the old generation while the bulk reads, then on the new one
    # from the exact offsets the read stopped at. Records keep arriving meanwhile.
    log = await simulated_log(broker, valkey, merged, days=2.0)
    clock = FixedClock(log.now_ms)
    settings = log.hub()
    more = simulate(log.now_ms, days=0.3, seed=99)  # accepted while the rebuild reads
    async with running_worker(settings, clock_ms=clock):
        await caught_up(settings)  # generation 0, as the live path had it before the merger

        produced = False

        async def watch(done: int, total: int) -> None:
            nonlocal produced
            if done and not produced:
                produced = True
                await produce(log.base, more, PARTITIONS)

        pending: list[asyncio.Task[None]] = []
        result = await rebuild(
            settings,
            lambda done, total: pending.append(asyncio.ensure_future(watch(done, total))),
            clock_ms=clock,
            checkpoint_s=0.0,
        )
        await asyncio.gather(*pending)
        assert produced and result.generation == 1
        await caught_up(settings)
    _, reference = await replay_of(log, valkey)
    assert await redis_client.get(f"{settings.key_prefix}:serving") is None  # promoted
    same_but_entities_past_their_horizon(
        reference,
        await generation(redis_client, settings.key_prefix, 1),
        log.now_ms,
        some_gone=False,
    )
