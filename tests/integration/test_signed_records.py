"""Only records the API signed count on a main feed topic, and a signed envelope cannot be
counted twice by writing it to the log again; a rebuild, or a replay after Redis lost its
state, still counts the whole history, version 1 envelopes of an older hub included."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis
from aiokafka import AIOKafkaProducer
from prometheus_client import CollectorRegistry

from hub.adapters.codec import dumps, encode_envelope, loads
from hub.adapters.kafka.topics import deadletter_topic
from hub.adapters.signing import HEADER
from hub.domain.feeds import AMBULANCE_HANDOVER, AMBULANCE_INCIDENT, topic_for
from hub.domain.windows import DAY_MS, Bucket, Resolution
from hub.settings import Settings
from streams.rebuild import rebuild
from streams.wiring import build_worker
from tests.harness import caught_up, read_to_end, running_api, running_worker, wait_until
from tests.logs import as_accepted, handover, handover_topic, run_until_caught_up, signed
from tests.snapshots import snapshot

pytestmark = pytest.mark.timeout(180)

Message = tuple[str, bytes, bytes | None, list[tuple[str, Any]]]  # topic, key, value, headers


async def write(settings: Settings, messages: list[Message]) -> None:
    """Write messages to partition 0 of their topics, in order."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for topic, key, value, headers in messages:
            await producer.send_and_wait(topic, value, key=key, partition=0, headers=headers)
    finally:
        await producer.stop()


def accepted(n: int, at_ms: int, settings: Settings) -> tuple[bytes, bytes, list[Any]]:
    """Return handover H-n as the API writes it when it accepts it at `at_ms`: key, value, headers."""
    at = datetime.fromtimestamp(at_ms / 1000, tz=UTC)
    record = as_accepted(AMBULANCE_HANDOVER, handover(n, at_ms), at)
    value = encode_envelope(AMBULANCE_HANDOVER, record, at, "RX9", "sub-1", n)
    key = f"RX9|H-{n}".encode()
    return key, value, signed(settings, handover_topic(settings), key, value)


async def test_only_records_the_api_signed_count_on_a_main_topic(settings: Settings) -> None:
    now = int(time.time() * 1000)
    main = handover_topic(settings)
    key, value, headers = accepted(1, now, settings)
    forged = {**loads(value), "submitter_org": "RYA"}
    incidents = topic_for(AMBULANCE_INCIDENT, settings.topic_prefix)
    messages: list[Message] = [
        (main, b"RX9|H-2", dumps(handover(2, now)), []),  # a bare record, no signature
        (main, key, dumps(forged), headers),  # altered after signing
        (main, b"RX9|H-9", value, headers),  # moved under another key (another partition)
        (incidents, key, value, headers),  # copied onto another feed's topic
        (incidents, key, *version_1(settings, value)),  # the same, signed as older hubs did
        (main, key, value, [(HEADER, None)]),  # a null signature header
        (main, key, value, [(HEADER, "test:é".encode())]),  # a digest that is not ASCII
        (main, key, value, headers),  # what the API wrote: the only one that counts
    ]
    await write(settings, messages)
    async with running_api(settings) as api, running_worker(settings):
        await caught_up(settings)  # every partition's progress reached its end: no stall

        async def letters() -> list[Any]:
            found = await read_to_end(settings, deadletter_topic(settings))
            return [orjson.loads(m.value) for m in found] if len(found) >= 7 else []

        published = await wait_until(letters, timeout=30)
        async with api.client() as c:
            body = (await c.get("/v1/metrics/org/RX9")).json()
    assert body["metrics"]["handover.arrivals"]["windows"]["24h"] == 1
    assert sorted(letter["reason"] for letter in published) == [
        *["invalid signature"] * 5,
        "undecodable message",  # a signed envelope of another feed: not that topic's record
        "unsigned record",
    ]
    assert {letter["org"] for letter in published} == {None}  # no one's rejection list


def version_1(settings: Settings, value: bytes) -> tuple[bytes, list[Any]]:
    """Return an envelope as the hub wrote it before signatures bound topic and key."""
    old = dumps({**loads(value), "hub": 1})
    kid, _, secret = settings.envelope_key.partition(":")
    digest = hmac.new(secret.encode(), old, hashlib.sha256).hexdigest()
    return old, [(HEADER, f"{kid}:{digest}".encode())]


def worker_at(settings: Settings, clock_ms: Callable[[], int]) -> Any:
    """Return a worker reading every partition, whose clock says what `clock_ms` says."""
    return build_worker(settings, CollectorRegistry(), group=False, clock_ms=clock_ms)


async def counters(client: aioredis.Redis, settings: Settings, generation: int) -> dict[str, Any]:
    """Return a generation's hour and day buckets: where an old record counts (and recounts)."""
    prefix = f":g{generation}:b:"
    return {
        k[len(prefix) :]: v
        for k, v in (await snapshot(client, _Named(settings))).items()
        if k.startswith(prefix + "h:") or k.startswith(prefix + "d:")
    }


def unexpired(buckets: dict[str, Any], now_ms: int) -> dict[str, Any]:
    """Keep the buckets (`h:{number}:{scope}`) a worker would still write at `now_ms`."""
    out = {}
    for name, value in buckets.items():
        resolution, number, _ = name.split(":", 2)
        if Bucket(Resolution(resolution), int(number)).expires_at_ms > now_ms:
            out[name] = value
    return out


class _Named:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings


async def replay_letters(client: aioredis.Redis, settings: Settings) -> list[dict[str, Any]]:
    """Return the dead letters waiting in the outbox (no publisher runs in these workers)."""
    entries = await client.xrange(f"{settings.key_prefix}:outbox")
    return [loads(fields["letter"]) for _, fields in entries]


async def test_an_old_envelope_written_again_is_refused_as_a_replay_and_history_still_counts(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    now = int(time.time() * 1000)
    main = handover_topic(settings)
    # Accepted 20 days ago by the hub before this one (a version 1 envelope) and 10 days ago
    # by this one, and applied then, by workers whose clocks say so.
    old_key, v2_old, old_headers = accepted(1, now - 10 * DAY_MS, settings)
    older_key, value, _ = accepted(2, now - 20 * DAY_MS, settings)
    v1_older, older_headers = version_1(settings, value)
    await write(settings, [(main, older_key, v1_older, older_headers)])
    then = worker_at(settings, lambda: now - 20 * DAY_MS + 60_000)
    await then.start()
    await run_until_caught_up(then, max_rounds=20)
    await then.close()
    await write(settings, [(main, old_key, v2_old, old_headers)])
    then = worker_at(settings, lambda: now - 10 * DAY_MS + 60_000)
    await then.start()
    await run_until_caught_up(then, max_rounds=20)
    await then.close()
    counted = await counters(redis_client, settings, 0)
    assert any(k.startswith("d:") for k in counted) and any(k.startswith("h:") for k in counted)

    # Their entity versions have expired since (as Redis expires them after about 8 days);
    # the day and hour buckets they counted in have not. Someone writes both again.
    for n in (1, 2):
        await redis_client.delete(f"{settings.key_prefix}:g0:e:ambulance-handover:RX9|H-{n}")
    await write(
        settings, [(main, old_key, v2_old, old_headers), (main, older_key, v1_older, older_headers)]
    )
    live = worker_at(settings, lambda: int(time.time() * 1000))
    await live.start()
    try:
        await run_until_caught_up(live, max_rounds=20)
    finally:
        await live.close()
    assert await counters(redis_client, settings, 0) == counted  # nothing counted twice
    letters = await replay_letters(redis_client, settings)
    assert [(letter["reason"], letter["key"], letter["org"]) for letter in letters] == [
        ("replayed envelope", "RX9|H-1", None),
        ("replayed envelope", "RX9|H-2", None),
    ]
    assert "8 days or more before it reached a worker" in letters[0]["errors"][0][1]

    # A rebuild replays all four, older than 8 days: history, counted as the first time
    # (but for buckets expired since: `unexpired` keeps those still written at this hour).
    counted = unexpired(counted, int(time.time() * 1000))
    assert any(k.startswith("h:") for k in counted)
    result = await rebuild(settings, lambda done, total: None, timeout_s=120)
    assert (result.records, result.generation) == (4, 1)
    assert await counters(redis_client, settings, 1) == counted

    # So does a worker that finds Redis emptied (state lost) and reads the log from its start.
    async for name in redis_client.scan_iter(match=f"{settings.key_prefix}:g1:*"):
        await redis_client.delete(name)
    live = worker_at(settings, lambda: int(time.time() * 1000))
    await live.start()
    try:
        await run_until_caught_up(live, max_rounds=20)
    finally:
        await live.close()
    assert await counters(redis_client, settings, 1) == counted
    assert len(await replay_letters(redis_client, settings)) == 2  # no new letters
