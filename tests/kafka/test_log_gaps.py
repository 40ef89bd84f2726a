"""Real offset gaps on Apache Kafka: a log the cleaner compacted, aborted transactions read with
read_committed, and records removed by DeleteRecords. Every surviving record is applied once;
records deleted before they were applied are counted lost (`hub_offsets_lost_total`).

The same cases run on the embedded broker through a seam that drops offsets
(`tests/integration/test_log_gaps.py`); here the broker makes the gaps itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.records_to_delete import RecordsToDelete

from hub.adapters.codec import encode_envelope
from hub.adapters.kafka.topics import ensure_topics, feed_topic_configs
from hub.domain.feeds import AMBULANCE_HANDOVER
from hub.settings import Settings
from tests.conftest import unique
from tests.harness import read_to_end, wait_until
from tests.logs import (
    MINUTE_MS,
    apply_directly,
    as_accepted,
    handover,
    handover_topic,
    produce,
    replay_worker,
    run_until_caught_up,
    signed,
)
from tests.snapshots import serving, snapshot

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(240)]

RECORDS = 60


def corrected(record: dict[str, Any]) -> dict[str, Any]:
    """Return a later version of a handover: handed over ten minutes later (or at last)."""
    at = datetime.fromisoformat(record["arrived_at"].replace("Z", "+00:00")).timestamp() * 1000
    done = int(at) + 15 * MINUTE_MS
    return {**record, "handover_at": datetime.fromtimestamp(done / 1000, UTC).isoformat()}


async def reference(
    settings: Settings, redis_client: aioredis.Redis, records: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """Return the serving state of a store that applied `records` once, in one batch."""
    worker = replay_worker(settings.with_(key_prefix=unique("ref")))
    try:
        await apply_directly(worker, records)
        return serving(await snapshot(redis_client, worker))
    finally:
        await worker.close()


async def applied_by_a_replay(settings: Settings, redis_client: aioredis.Redis) -> dict[str, Any]:
    """Read the topic from its beginning into a new store, until caught up; return its state."""
    worker = replay_worker(settings.with_(key_prefix=unique("k")))
    await worker.start()
    try:
        await run_until_caught_up(worker, max_rounds=40)
        return serving(await snapshot(redis_client, worker))
    finally:
        await worker.close()


async def create_handover_topic(settings: Settings, **configs: str) -> None:
    """Create the handover topic as the hub would, with some configs changed (one partition)."""
    _, base = feed_topic_configs(settings, brokers=1)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        topic = NewTopic(handover_topic(settings), 1, 1, topic_configs={**base, **configs})
        await admin.create_topics([topic])
    finally:
        await admin.close()
    await ensure_topics(settings)


async def test_a_log_the_cleaner_compacted_is_applied_once_from_its_survivors(
    kafka_settings_factory: Any, redis_client: aioredis.Redis
) -> None:
    settings: Settings = kafka_settings_factory(partitions=1)
    # Segments roll after 100 ms and any dirt is worth cleaning: the cleaner runs within seconds.
    await create_handover_topic(
        settings, **{"segment.ms": "100", "min.cleanable.dirty.ratio": "0.01"}
    )
    now = int(time.time() * 1000)
    first = [handover(n, now) for n in range(RECORDS)]
    later = [corrected(r) for r in first[::2]]  # a new version of every other handover
    await produce(settings, first[:30])
    worker = replay_worker(settings)  # applies the first 30 before anything is compacted
    await worker.start()
    try:
        await run_until_caught_up(worker, max_rounds=20)
        for batch in (first[30:], later, [handover(RECORDS, now)]):  # the last rolls a segment
            await asyncio.sleep(0.3)
            await produce(settings, batch)

        async def compacted() -> list[Any]:
            messages = await read_to_end(settings, handover_topic(settings))
            return messages if len(messages) < len(first) + len(later) + 1 else []

        survivors = await wait_until(compacted, timeout=90, interval=1.0)
        offsets = [m.offset for m in survivors]
        assert offsets[0] > 0 and offsets != list(range(offsets[0], offsets[-1] + 1))  # gaps

        await run_until_caught_up(worker, max_rounds=40)
        latest = {r["handover_id"]: r for r in [*first, *later, handover(RECORDS, now)]}
        expected = await reference(settings, redis_client, list(latest.values()))
        assert serving(await snapshot(redis_client, worker)) == expected
    finally:
        await worker.close()
    # A store built from the compacted log alone (a rebuild) holds the same.
    assert await applied_by_a_replay(settings, redis_client) == expected


async def transaction(
    settings: Settings, records: Sequence[dict[str, Any]], commit: bool, first_index: int = 0
) -> None:
    """Write records in one Kafka transaction, as a trust's transactional producer would."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, transactional_id=unique("tx"), acks="all"
    )
    await producer.start()
    now = datetime.now(UTC)
    try:
        await producer.begin_transaction()
        topic = handover_topic(settings)
        for i, record in enumerate(records, start=first_index):
            canonical = as_accepted(AMBULANCE_HANDOVER, record, now)
            value = encode_envelope(AMBULANCE_HANDOVER, canonical, now, "RX9", "sub-tx", i)
            key = f"RX9|{record['handover_id']}".encode()
            headers = signed(settings, topic, key, value)  # signed as the API signs
            await producer.send(topic, value, key=key, partition=0, headers=headers)
        if commit:
            await producer.commit_transaction()
        else:
            await producer.abort_transaction()
    finally:
        await producer.stop()


async def uncommitted_count(settings: Settings) -> int:
    """Count the records in the handover topic as read_uncommitted sees them."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, isolation_level="read_uncommitted"
    )
    await consumer.start()
    tp = TopicPartition(handover_topic(settings), 0)
    try:
        consumer.assign([tp])
        consumer.seek(tp, 0)
        end = (await consumer.end_offsets([tp]))[tp]
        seen: list[Any] = []
        async with asyncio.timeout(30):
            while await consumer.position(tp) < end:
                seen += (await consumer.getmany(tp, timeout_ms=500)).get(tp, [])
        return len(seen)
    finally:
        await consumer.stop()


async def test_aborted_transactions_are_never_applied_and_progress_passes_their_markers(
    kafka_settings_factory: Any, redis_client: aioredis.Redis
) -> None:
    settings: Settings = kafka_settings_factory(partitions=1)
    await ensure_topics(settings)
    now = int(time.time() * 1000)
    records = [handover(n, now) for n in range(50)]
    worker = replay_worker(settings)
    await worker.start()
    try:
        await transaction(settings, records[:20], commit=True)
        await run_until_caught_up(worker, max_rounds=20)
        # Aborted: ten new handovers and a new version of five applied ones.
        await transaction(settings, records[20:30] + [corrected(r) for r in records[:5]], False)
        await transaction(settings, records[30:40], commit=True)
        await transaction(settings, records[40:50], commit=False)  # the log ends aborted
        assert await uncommitted_count(settings) >= 55  # the aborted records are in the log

        await run_until_caught_up(worker, max_rounds=40)  # stored progress reaches the end
        committed = records[:20] + records[30:40]
        expected = await reference(settings, redis_client, committed)
        assert serving(await snapshot(redis_client, worker)) == expected
        # An abort alone after the worker caught up: a fetch that returns no record at all.
        await transaction(settings, [corrected(r) for r in records[30:35]], commit=False)
        await run_until_caught_up(worker, max_rounds=40)
        assert serving(await snapshot(redis_client, worker)) == expected
    finally:
        await worker.close()
    assert await applied_by_a_replay(settings, redis_client) == expected


async def test_records_deleted_before_they_were_applied_are_counted_lost_once(
    kafka_settings_factory: Any, redis_client: aioredis.Redis
) -> None:
    # Kafka refuses DeleteRecords on a compacted-only topic (PolicyViolation): records can be
    # deleted only from a topic that also deletes by retention, allowed by the operator.
    settings: Settings = kafka_settings_factory(partitions=1, allow_topic_retention=True)
    await create_handover_topic(
        settings, **{"cleanup.policy": "compact,delete", "retention.ms": "604800000"}
    )
    now = int(time.time() * 1000)
    records = [handover(n, now) for n in range(RECORDS)]
    topic = handover_topic(settings)
    await produce(settings, records[:20])
    first = replay_worker(settings)
    await first.start()
    try:
        await run_until_caught_up(first, max_rounds=10)
    finally:
        await first.close()
    # While no worker ran, 40 more arrived and an operator deleted everything before offset 32.
    await produce(settings, records[20:])
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        await admin.delete_records({TopicPartition(topic, 0): RecordsToDelete(32)})
    finally:
        await admin.close()

    worker = replay_worker(settings)
    await worker.start()
    try:
        await run_until_caught_up(worker, max_rounds=10)
        lost = worker.registry.get_sample_value(
            "hub_offsets_lost_total", {"topic": topic, "partition": "0"}
        )
        assert lost == 12  # offsets 20…31
        expected = await reference(settings, redis_client, records[:20] + records[32:])
        assert serving(await snapshot(redis_client, worker)) == expected
    finally:
        await worker.close()
