"""Accept-to-visible latency: feed messages produced at a steady rate, one `hub worker` applying
them, and the time from each message's acknowledgement by Kafka until Redis holds its effect
(its partition's stored offset has passed it).

On the embedded Tansu, which holds every fetch for the whole wait, the wait is most of the
latency. On a local Apache Kafka (`apache_kafka`), which answers a fetch as soon as
`fetch.min.bytes` (1) is there, it runs at two fetch waits, with what an idle worker and broker
cost at each: whether the wait still matters there.

Issue 2 reports Faust's driver at p50 ≈ 1.2 s at 2,000 events/s (its fetch wait is fixed at
1.5 s); the hub's fetch wait is HUB_FETCH_MAX_WAIT_MS (100 ms by default).
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.bench_worker import SIGNER, broker_stack, embedded_stack, generate, on_apache_kafka
from bench.stack import cpu_seconds
from hub.adapters.codec import encode_envelope
from hub.adapters.kafka.topics import ensure_topics
from hub.adapters.redis.state import RedisStateStore
from hub.adapters.reference_files import load_reference_data
from hub.domain.feeds import FEEDS, topic_for
from hub.domain.validation import Invalid, entity_key, to_canonical, validate
from hub.settings import Settings

RATE = 2_000  # events per second
IDLE_S = 20
KAFKA_WAITS_MS = (100, 500)  # the hub's default, and Kafka's own consumer default
SECONDS = 20
TICK_S = 0.05


async def measure(settings: Settings) -> dict[str, Any]:
    ref = load_reference_data(settings.config_dir)
    pushes = generate("mixed", 1.0)[: RATE * SECONDS]
    client = aioredis.from_url(settings.redis_url, decode_responses=True)
    state = RedisStateStore(client, settings.key_prefix)
    env = {**os.environ, **settings.to_env(), "HUB_LOG_LEVEL": "WARNING"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "streams"],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=2)
    await producer.start()
    acked: list[tuple[str, int, int, float]] = []  # topic, partition, offset, acknowledged at
    producing = asyncio.Event()
    producing.set()
    try:
        await asyncio.sleep(8)  # the worker starts and joins its group before the clock runs
        watcher = asyncio.create_task(_watch(state, acked, producing))
        per_tick = int(RATE * TICK_S)
        for i in range(0, len(pushes), per_tick):
            started = time.monotonic()
            futures = []
            for push in pushes[i : i + per_tick]:
                feed = FEEDS[push.feed]
                now = datetime.now(UTC)
                record = validate(
                    feed, push.record, ref=ref, received_at=now, submitter_org=push.org
                )
                if isinstance(record, Invalid):
                    continue
                value = encode_envelope(feed, to_canonical(feed, record), now, push.org, "lat", i)
                topic = topic_for(feed, settings.topic_prefix)
                key = entity_key(feed, record).encode()
                futures.append(
                    await producer.send(
                        topic,
                        value,
                        key=key,
                        headers=[SIGNER.header(topic, key, value)],  # signed as the API signs
                    )
                )
            for meta in await asyncio.gather(*futures):
                acked.append((meta.topic, meta.partition, meta.offset, time.monotonic()))
            await asyncio.sleep(max(0.0, TICK_S - (time.monotonic() - started)))
        producing.clear()
        latencies = await watcher
    finally:
        await producer.stop()
        worker.terminate()
        worker.wait(30)
        await client.aclose()
    ordered = sorted(latencies)
    return {
        "events": len(ordered),
        "rate_per_s": RATE,
        "fetch_max_wait_ms": settings.fetch_max_wait_ms,
        "p50_ms": round(1000 * statistics.median(ordered)),
        "p90_ms": round(1000 * ordered[int(0.9 * len(ordered))]),
        "p99_ms": round(1000 * ordered[int(0.99 * len(ordered))]),
    }


async def _watch(
    state: RedisStateStore, acked: list[tuple[str, int, int, float]], producing: asyncio.Event
) -> list[float]:
    """Poll the stored offsets while messages arrive; a message is visible once its
    partition's stored offset has passed it."""
    pending: list[tuple[str, int, int, float]] = []
    taken = 0
    seen: list[float] = []
    deadline = time.monotonic() + SECONDS + 120
    while (producing.is_set() or pending or taken < len(acked)) and time.monotonic() < deadline:
        pending.extend(acked[taken:])
        taken = len(acked)
        offsets = await state.offsets()
        now = time.monotonic()
        still = []
        for topic, partition, offset, at in pending:
            if offsets.get((topic, partition), -1) > offset:
                seen.append(max(0.0, now - at))
            else:
                still.append((topic, partition, offset, at))
        pending = still
        await asyncio.sleep(0.01)
    return seen


async def idle_cpu(settings: Settings, broker_pids: list[int]) -> dict[str, float]:
    """Return the share of a core an idle worker and the broker use, over IDLE_S seconds."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "streams"],
        env={**os.environ, **settings.to_env(), "HUB_LOG_LEVEL": "WARNING"},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await asyncio.sleep(8)  # started and joined
        pids = [worker.pid, *broker_pids]
        before = [cpu_seconds(p) for p in pids]
        await asyncio.sleep(IDLE_S)
        used = [cpu_seconds(p) - b for p, b in zip(pids, before, strict=True)]
    finally:
        worker.terminate()
        worker.wait(30)
    return {
        "idle_worker_core_pct": round(100 * used[0] / IDLE_S, 1),
        "idle_broker_core_pct": round(100 * sum(used[1:]) / IDLE_S, 1),
    }


async def fetch_wait_probe(settings: Settings, wait_ms: int = 1_000, count: int = 20) -> Any:
    """Return how long after its acknowledgement a consumer with a long fetch wait gets each of
    `count` single messages produced at random moments: does the broker answer a fetch as soon
    as data is there (Kafka, `fetch.min.bytes` 1), or hold it for the whole wait?"""
    topic = f"{settings.topic_prefix}probe"
    await ensure_topics(settings)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, fetch_max_wait_ms=wait_ms, fetch_min_bytes=1
    )
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await consumer.start()
    await producer.start()
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    await consumer.seek_to_end(tp)
    delays = []
    try:
        for _ in range(count):
            await asyncio.sleep(random.uniform(0.1, 0.6))
            await producer.send_and_wait(topic, b"probe", partition=0)
            acked = time.monotonic()
            while not (await consumer.getmany(tp, timeout_ms=5_000)).get(tp):
                pass
            delays.append(1000 * (time.monotonic() - acked))
    finally:
        await producer.stop()
        await consumer.stop()
    ordered = sorted(delays)
    return {"fetch_max_wait_ms": wait_ms, "messages": count, "min_ms": round(ordered[0]),
            "median_ms": round(statistics.median(ordered)), "max_ms": round(ordered[-1])}  # fmt: skip


def on_kafka(broker: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with broker_stack("probe", broker) as (base, _, _pids):
        out["fetch_wait_probe"] = asyncio.run(fetch_wait_probe(base.with_(topic_prefix="p.")))
    for wait in KAFKA_WAITS_MS:
        with broker_stack("latency", broker) as (base, _, pids):
            settings = base.with_(
                topic_prefix="lat.", key_prefix="lat", consumer_group="lat", fetch_max_wait_ms=wait
            )
            asyncio.run(ensure_topics(settings))
            idle = asyncio.run(idle_cpu(settings.with_(consumer_group="idle"), pids))
            out[f"fetch_max_wait_{wait}_ms"] = {**asyncio.run(measure(settings)), **idle}
    return out


def main(argv: list[str]) -> dict[str, Any]:
    with embedded_stack("latency") as (base, _):
        settings = base.with_(topic_prefix="lat.", key_prefix="lat", consumer_group="lat")
        asyncio.run(ensure_topics(settings))
        tansu = asyncio.run(measure(settings))
        tansu["fetch_wait_probe"] = asyncio.run(fetch_wait_probe(base.with_(topic_prefix="p.")))
    return {**tansu, "apache_kafka": on_apache_kafka(on_kafka)}
