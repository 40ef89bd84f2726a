"""The hub's topics: their names, and creating them on the broker."""

from __future__ import annotations

import asyncio
import contextlib

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from hub.adapters.kafka.options import client_options
from hub.domain.errors import BrokerUnavailable
from hub.domain.feeds import DEADLETTER_SUFFIX, FEEDS, topic_for
from hub.settings import Settings


def feed_topics(settings: Settings) -> list[str]:
    return [topic_for(feed, settings.topic_prefix) for feed in FEEDS.values()]


def deadletter_topic(settings: Settings) -> str:
    return f"{settings.topic_prefix}{DEADLETTER_SUFFIX}"


async def ensure_topics(settings: Settings, timeout_s: float = 30.0) -> None:
    """Create the feed and dead-letter topics if they do not exist."""
    admin = AIOKafkaAdminClient(
        **client_options(settings), request_timeout_ms=int(timeout_s * 1000)
    )
    try:
        await asyncio.wait_for(admin.start(), timeout_s)
        existing = set(await admin.list_topics())
        wanted = [*feed_topics(settings), deadletter_topic(settings)]
        new = [NewTopic(t, settings.partitions, 1) for t in wanted if t not in existing]
        if new:
            # Another process may have created them first.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(new)
    except (KafkaError, OSError, TimeoutError) as exc:
        raise BrokerUnavailable(
            f"cannot create topics on {settings.kafka_bootstrap}: {exc!r}"
        ) from exc
    finally:
        await admin.close()
