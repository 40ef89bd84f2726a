"""The hub's topics: their names, creating them on the broker, and checking they keep history.

The feed topics are the source of truth: `hub rebuild` and a worker
recovering an empty Redis replay them from the start. So they must keep
every entity's latest version for ever: compaction (`cleanup.policy=compact`,
with the message key the entity key) rather than deletion after a retention
period. A broker's default for a topic it creates on first use is deletion
after 7 days; a hub that found such a topic would silently lose history, so
it refuses to start unless told that is intended (HUB_ALLOW_TOPIC_RETENTION).

What a record counts as received at, when no signed envelope says, is its
Kafka timestamp; only `message.timestamp.type=LogAppendTime` makes that the
broker's clock. `ensure_topics` returns the configs the broker reports so
that the production checks (`hub.domain.production`) can judge them: a
direct topic without it is refused there, a main feed topic warned about.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code

from hub.adapters.kafka.options import client_options
from hub.domain.errors import BrokerUnavailable, ConfigError
from hub.domain.feeds import DEADLETTER_SUFFIX, FEEDS, direct_topic_for, topic_for
from hub.settings import Settings

log = logging.getLogger(__name__)

DEADLETTER_RETENTION_MS = 30 * 24 * 3_600_000  # dead letters: a month, deduplicated by id
DESCRIBE_ATTEMPTS = 40  # a quarter of a second apart
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

    Return the configs of the feed topics whose broker reports them, for the production checks.
    """
    admin = AIOKafkaAdminClient(
        **client_options(settings), request_timeout_ms=int(timeout_s * 1000)
    )
    try:
        await asyncio.wait_for(admin.start(), timeout_s)
        await _create_missing(admin, settings)
        reported = await _reported_configs(admin, feed_topics(settings))
    except (KafkaError, OSError, TimeoutError) as exc:
        raise BrokerUnavailable(f"cannot create topics on the broker: {exc!r}") from exc
    finally:
        await admin.close()
    for topic, configs in reported.items():
        problem = history_problem(topic, configs)
        if problem is not None and not settings.allow_topic_retention:
            raise ConfigError(problem)
        if problem is not None:
            log.warning("%s; allowed by HUB_ALLOW_TOPIC_RETENTION", problem)
    return reported


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
            response = await admin.create_topics(new)
            for topic, code, *message in response.topic_errors:
                if code not in (0, TopicAlreadyExistsError.errno):
                    raise _refused(f"cannot create topic {topic}", code, message)


def _refused(what: str, code: int, message: list[Any]) -> Exception:
    """Return the error a broker's per-topic refusal means (Kafka answers, it does not raise)."""
    error = for_code(code)
    detail = f"{what}: {error.__name__}" + (f" ({message[0]})" if message and message[0] else "")
    return BrokerUnavailable(detail) if error.retriable else ConfigError(detail)


_unreported_said = False


async def _described(admin: AIOKafkaAdminClient, topics: list[str]) -> list[Any]:
    """Describe the topics' configs, waiting out brokers that do not know a new topic yet."""
    resources = [ConfigResource(ConfigResourceType.TOPIC, t) for t in topics]
    for attempt in range(DESCRIBE_ATTEMPTS):
        described = [
            r for response in await admin.describe_configs(resources) for r in response.resources
        ]
        failed = next((r for r in described if r[0]), None)
        if failed is None:
            return described
        code, message, _type, name, _entries = failed
        error = _refused(f"cannot read the configs of topic {name}", code, [message])
        if isinstance(error, ConfigError) or attempt == DESCRIBE_ATTEMPTS - 1:
            raise error
        await asyncio.sleep(0.25)  # created a moment ago: its metadata is still on its way
    raise AssertionError("unreachable")


async def _reported_configs(admin: AIOKafkaAdminClient, topics: list[str]) -> TopicConfigs:
    """Return the configs of each topic whose broker reports them (defaults included)."""
    global _unreported_said
    reported, unreported = {}, []
    for _code, _message, _type, name, entries in await _described(admin, topics):
        configs = {entry[0]: entry[1] for entry in entries}
        if "cleanup.policy" not in configs:
            unreported.append(name)  # this broker does not describe what it does not store
            continue
        reported[name] = configs
    if unreported and not _unreported_said:
        _unreported_said = True
        log.warning(
            "the broker does not report cleanup.policy for %s (the embedded broker keeps its "
            "log in memory and deletes nothing): cannot check they keep their history",
            ", ".join(sorted(unreported)),
        )
    return reported
