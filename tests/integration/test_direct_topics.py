"""Trusts' own Kafka producers write to their organisation's direct topics, and can never
submit for another organisation or backdate records; forged envelopes on a main topic count
nothing and claim no one."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from hub.adapters.codec import dumps
from hub.adapters.kafka.topics import deadletter_topic, ensure_topics
from hub.domain.feeds import AMBULANCE_HANDOVER, direct_topic_for, topic_for
from hub.settings import Settings
from tests.harness import caught_up, read_to_end, running_api, running_worker, wait_until
from tests.logs import handover

pytestmark = pytest.mark.timeout(120)


async def send(settings: Settings, topic: str, value: bytes, key: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def completed(api: Any, org: str) -> int:
    async with api.client() as c:
        body = (await c.get(f"/v1/metrics/org/{org}")).json()
    return int(body["metrics"]["handover.completed"]["windows"]["24h"])


async def test_a_direct_producer_is_counted_for_itself_and_refused_for_anyone_else(
    settings_factory: Any,
) -> None:
    settings: Settings = settings_factory(direct_producers="RX9")
    await ensure_topics(settings)
    now = int(time.time() * 1000)
    own = direct_topic_for(AMBULANCE_HANDOVER, "RX9", settings.topic_prefix)
    mine = handover(1, now)
    theirs = {**handover(2, now), "ambulance_trust": "RYA"}
    async with running_api(settings) as api, running_worker(settings):
        await send(settings, own, orjson.dumps(mine), b"RX9|H-1")
        await send(settings, own, orjson.dumps(theirs), b"RYA|H-2")
        await caught_up(settings)
        assert await completed(api, "RX9") == 1
        assert await completed(api, "RYA") == 0

        async def letters() -> list[Any]:
            return [
                orjson.loads(m.value)
                for m in await read_to_end(settings, deadletter_topic(settings))
            ]

        (letter,) = await wait_until(letters, timeout=30)
    assert letter["original"]["ambulance_trust"] == "RYA"
    assert any("may only submit its own records" in message for _, message in letter["errors"])


def forged_envelope() -> bytes:
    """Return an envelope no API signed, for another organisation, backdated past lateness."""
    now = int(time.time() * 1000)
    record = handover(3, now - 8 * 24 * 3_600_000)  # eight days old: too late to accept
    return dumps({
        "hub": 2, "feed": "ambulance-handover", "record": record, "submitter_org": "RYA",
        "submission_id": "sub-forged", "index": 0,
        "received_at": (datetime.now(UTC) - timedelta(days=8, minutes=-5)).isoformat(),
    })  # fmt: skip


async def test_a_forged_envelope_on_a_main_topic_counts_nothing_and_claims_no_one(
    settings: Settings,
) -> None:
    # Written to the main feed topic without the API's signature: someone else's producer.
    async with running_api(settings) as api, running_worker(settings):
        topic = topic_for(AMBULANCE_HANDOVER, settings.topic_prefix)
        await send(settings, topic, forged_envelope(), b"x")
        await caught_up(settings)
        assert await completed(api, "RX9") == 0

        async def letters() -> list[Any]:
            return [
                orjson.loads(m.value)
                for m in await read_to_end(settings, deadletter_topic(settings))
            ]

        (letter,) = await wait_until(letters, timeout=30)
    assert letter["reason"] == "unsigned record"
    assert letter["source"].startswith("kafka:")  # not the forged submission
    assert letter["org"] is None  # neither the claimed submitter's list nor the record's


async def test_accepting_unsigned_records_reads_a_forged_envelope_as_a_bare_record(
    settings_factory: Any,
) -> None:
    # HUB_ACCEPT_UNSIGNED=true (development): validated, no submitter, the broker's clock.
    settings: Settings = settings_factory(accept_unsigned=True)
    await ensure_topics(settings)
    async with running_api(settings) as api, running_worker(settings):
        topic = topic_for(AMBULANCE_HANDOVER, settings.topic_prefix)
        await send(settings, topic, forged_envelope(), b"x")
        await caught_up(settings)
        assert await completed(api, "RX9") == 0  # judged by the broker's clock: too late

        async def letters() -> list[Any]:
            return [
                orjson.loads(m.value)
                for m in await read_to_end(settings, deadletter_topic(settings))
            ]

        (letter,) = await wait_until(letters, timeout=30)
    assert letter["source"].startswith("kafka:")  # not the forged submission
    assert letter["org"] == "RX9"  # the record's organisation, not the claimed submitter
    assert any("late" in message for _, message in letter["errors"])


async def test_feed_and_direct_topics_are_created_with_the_brokers_clock(
    settings_factory: Any,
) -> None:
    settings: Settings = settings_factory(direct_producers="RX9")
    await ensure_topics(settings)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        topic = direct_topic_for(AMBULANCE_HANDOVER, "RX9", settings.topic_prefix)
        (response,) = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic)]
        )
        ((*_, entries),) = response.resources
    finally:
        await admin.close()
    assert {e[0]: e[1] for e in entries}["message.timestamp.type"] == "LogAppendTime"
