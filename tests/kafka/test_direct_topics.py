"""A trust's producer cannot move its records in time on Apache Kafka: direct topics use
LogAppendTime, so the broker's clock, not the producer's, says when a record was received.
(The embedded broker stores the setting but does not apply it; SECURITY.md.)"""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from hub.adapters.kafka.topics import deadletter_topic, ensure_topics
from hub.domain.feeds import AMBULANCE_HANDOVER, direct_topic_for
from hub.settings import Settings
from tests.harness import caught_up, read_to_end, running_api, running_worker, wait_until
from tests.integration.test_direct_topics import completed
from tests.logs import handover

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(120)]

DAY_MS = 86_400_000


async def send_backdated(settings: Settings, topic: str, record: Any, stamp_ms: int) -> None:
    """Write a record with the producer's own timestamp, as a backdating producer would."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        key = f"{record['ambulance_trust']}|{record['handover_id']}".encode()
        await producer.send_and_wait(topic, orjson.dumps(record), key=key, timestamp_ms=stamp_ms)
    finally:
        await producer.stop()


async def test_a_backdated_record_on_a_direct_topic_is_judged_by_the_brokers_clock(
    kafka_settings_factory: Any,
) -> None:
    settings: Settings = kafka_settings_factory(direct_producers="RX9")
    await ensure_topics(settings)
    now = int(time.time() * 1000)
    old = handover(7, now - 8 * DAY_MS)  # eight days old: too late to accept
    claimed = now - 8 * DAY_MS + 10 * 60_000  # "received" ten minutes after it happened
    topic = direct_topic_for(AMBULANCE_HANDOVER, "RX9", settings.topic_prefix)

    async with running_api(settings) as api, running_worker(settings):
        await send_backdated(settings, topic, old, claimed)
        await caught_up(settings)
        assert await completed(api, "RX9") == 0

        async def letters() -> list[Any]:
            return [
                orjson.loads(m.value)
                for m in await read_to_end(settings, deadletter_topic(settings))
            ]

        (letter,) = await wait_until(letters, timeout=30)
    assert any("late" in message for _, message in letter["errors"])
    (stored,) = await read_to_end(settings, topic)
    assert stored.timestamp_type == 1 and stored.timestamp >= now  # LogAppendTime: the broker's

    # The counterfactual: on a topic stamped with the producer's clock, the claim would stick.
    create_time = f"{settings.topic_prefix}create-time"
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        # Kept for ever: Kafka's default retention would delete an eight-day-old record at once.
        await admin.create_topics(
            [NewTopic(create_time, 1, 1, topic_configs={"retention.ms": "-1"})]
        )
    finally:
        await admin.close()
    await send_backdated(settings, create_time, old, claimed)
    (kept,) = await wait_until(lambda: read_to_end(settings, create_time), timeout=60)
    assert (kept.timestamp_type, kept.timestamp) == (0, claimed)
