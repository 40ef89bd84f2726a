"""The hub's topics: their names, creating them on the broker, and checking they keep history.

The feed topics are the source of truth: `hub rebuild` and a worker
recovering an empty Redis replay them from the start. So they must keep
every entity's latest version for ever: compaction (`cleanup.policy=compact`,
with the message key the entity key) rather than deletion after a retention
period. A broker's default for a topic it creates on first use is deletion
after 7 days; a hub that found such a topic would silently lose history, so
it refuses to start unless told that is intended (HUB_ALLOW_TOPIC_RETENTION).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from hub.adapters.kafka.options import client_options
from hub.domain.errors import BrokerUnavailable, ConfigError
from hub.domain.feeds import DEADLETTER_SUFFIX, FEEDS, direct_topic_for, topic_for
from hub.settings import Settings

log = logging.getLogger(__name__)

DEADLETTER_RETENTION_MS = 30 * 24 * 3_600_000  # dead letters: a month, deduplicated by id
TopicConfigs = dict[str, dict[str, str]]  # topic → its configs, as the broker reports them


def feed_topics(settings: Settings) -> list[str]:
    """Return the feed topics the API writes, and each direct producer's own topics."""
    main = [topic_for(feed, settings.topic_prefix) for feed in FEEDS.values()]
    return main + direct_topics(settings)


def direct_topics(settings: Settings) -> list[str]:
    """Return the topics of organisations that produce to Kafka themselves (HUB_DIRECT_PRODUCERS)."""
    orgs = [o.strip() for o in settings.direct_producers.split(",") if o.strip()]
    return [
        direct_topic_for(feed, org, settings.topic_prefix)
        for org in orgs
        for feed in FEEDS.values()
    ]


def deadletter_topic(settings: Settings) -> str:
    return f"{settings.topic_prefix}{DEADLETTER_SUFFIX}"


def feed_topic_configs(settings: Settings, brokers: int) -> tuple[int, dict[str, str]]:
    """Return the replication factor and configs the hub creates feed topics with."""
    replication = max(1, min(settings.topic_replication, brokers))
    configs = {
        "cleanup.policy": "compact",
        "retention.ms": "-1",
        "min.insync.replicas": str(max(1, min(settings.topic_min_insync, replication))),
        # The broker's clock, not a producer's, stamps what a record counts as received at.
        "message.timestamp.type": "LogAppendTime",
    }
    return replication, configs


def history_problem(topic: str, configs: Mapping[str, str]) -> str | None:
    """Return why a feed topic's configs would delete history, or None if they keep it.

    Compaction keeps each key's latest record whatever the retention settings;
    deletion removes records past `retention.ms` or beyond `retention.bytes`.
    """
    policy = {p.strip() for p in configs.get("cleanup.policy", "delete").split(",")}
    if "delete" not in policy:
        return None
    for setting in ("retention.ms", "retention.bytes"):
        value = configs.get(setting, "-1" if setting == "retention.bytes" else "604800000")
        if value.strip() != "-1":
            return (
                f"topic {topic} has cleanup.policy={','.join(sorted(policy))} and "
                f"{setting}={value}: the broker will delete feed history the hub replays "
                f"(set cleanup.policy=compact, or HUB_ALLOW_TOPIC_RETENTION=true if intended)"
            )
    return None


async def ensure_topics(settings: Settings, timeout_s: float = 30.0) -> TopicConfigs:
    """Create the hub's topics if they do not exist; refuse feed topics that delete history.

    Return the feed topics' configs as the broker reports them, for the production checks.
    """
    admin = AIOKafkaAdminClient(
        **client_options(settings), request_timeout_ms=int(timeout_s * 1000)
    )
    try:
        await asyncio.wait_for(admin.start(), timeout_s)
        await _create_missing(admin, settings)
        described = await _describe(admin, feed_topics(settings))
    except (KafkaError, OSError, TimeoutError) as exc:
        raise BrokerUnavailable(f"cannot create topics on the broker: {exc!r}") from exc
    finally:
        await admin.close()
    for problem in _history_problems(described):
        if not settings.allow_topic_retention:
            raise ConfigError(problem)
        log.warning("%s; allowed by HUB_ALLOW_TOPIC_RETENTION", problem)
    return described


def timestamp_types(
    settings: Settings, described: TopicConfigs
) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """Return each direct and each main feed topic's `message.timestamp.type` (None: unreported)."""
    direct = set(direct_topics(settings))
    stamps = {t: described.get(t, {}).get("message.timestamp.type") for t in feed_topics(settings)}
    return (
        {t: v for t, v in stamps.items() if t in direct},
        {t: v for t, v in stamps.items() if t not in direct},
    )


async def _create_missing(admin: AIOKafkaAdminClient, settings: Settings) -> None:
    existing = set(await admin.list_topics())
    brokers = len((await admin.describe_cluster())["brokers"])
    replication, configs = feed_topic_configs(settings, brokers)
    dead_configs = {
        "cleanup.policy": "compact,delete",
        "retention.ms": str(DEADLETTER_RETENTION_MS),
        "min.insync.replicas": configs["min.insync.replicas"],
    }
    new = [
        NewTopic(t, settings.partitions, replication, topic_configs=configs)
        for t in feed_topics(settings)
        if t not in existing
    ]
    if deadletter_topic(settings) not in existing:
        dlq = NewTopic(
            deadletter_topic(settings), settings.partitions, replication, topic_configs=dead_configs
        )
        new.append(dlq)
    if new:
        # Another process may have created them first.
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics(new)


_unreported_said = False


async def _describe(admin: AIOKafkaAdminClient, topics: list[str]) -> TopicConfigs:
    """Return each topic's configs as the broker reports them (some report only those set)."""
    resources = [ConfigResource(ConfigResourceType.TOPIC, t) for t in topics]
    responses: list[Any] = await admin.describe_configs(resources)
    return {
        name: {entry[0]: entry[1] for entry in entries}
        for response in responses
        for _code, _message, _type, name, entries in response.resources
    }


def _history_problems(described: TopicConfigs) -> list[str]:
    global _unreported_said
    problems, unreported = [], []
    for name, configs in described.items():
        if "cleanup.policy" not in configs:
            unreported.append(name)  # this broker does not describe what it does not store
            continue
        problem = history_problem(name, configs)
        if problem is not None:
            problems.append(problem)
    if unreported and not _unreported_said:
        _unreported_said = True
        log.warning(
            "the broker does not report cleanup.policy for %s (the embedded broker keeps its "
            "log in memory and deletes nothing): cannot check they keep their history",
            ", ".join(sorted(unreported)),
        )
    return problems
