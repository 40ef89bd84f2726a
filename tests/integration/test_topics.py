"""The hub creates compacted feed topics, and refuses to start on ones that delete history."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from hub.adapters.kafka.topics import ensure_topics, feed_topics
from hub.domain.errors import ConfigError
from hub.settings import Settings


async def configs_of(settings: Settings, topic: str) -> dict[str, str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        (response,) = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic)]
        )
        ((*_, entries),) = response.resources
        return {entry[0]: entry[1] for entry in entries}
    finally:
        await admin.close()


async def precreate(settings: Settings, topic: str, configs: dict[str, str]) -> None:
    """Create a topic as ops (or a broker's auto-creation) might have, before the hub starts."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 2, 1, topic_configs=configs)])
    finally:
        await admin.close()


async def test_the_hub_creates_feed_topics_compacted_with_no_retention(
    settings_factory: Any,
) -> None:
    settings: Settings = settings_factory()
    await ensure_topics(settings)
    configs = await configs_of(settings, feed_topics(settings)[0])
    assert configs["cleanup.policy"] == "compact" and configs["retention.ms"] == "-1"


async def test_a_feed_topic_deleting_after_seven_days_stops_the_hub_with_one_clear_line(
    settings_factory: Any,
) -> None:
    settings: Settings = settings_factory()
    topic = feed_topics(settings)[1]
    await precreate(settings, topic, {"cleanup.policy": "delete", "retention.ms": "604800000"})

    with pytest.raises(ConfigError) as refused:
        await ensure_topics(settings)

    assert topic in str(refused.value) and "retention.ms=604800000" in str(refused.value)
    await ensure_topics(settings.with_(allow_topic_retention=True))  # told it is intended


async def test_a_feed_topic_precreated_compacted_passes(settings_factory: Any) -> None:
    settings: Settings = settings_factory()
    await precreate(settings, feed_topics(settings)[1], {"cleanup.policy": "compact"})
    await ensure_topics(settings)
