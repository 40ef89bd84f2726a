"""Run the production checks at a process's start: read the facts, judge them, refuse or warn.

The verdicts are pure (`hub.domain.production`); this module reads what they
judge, from the settings, Redis (`maxmemory-policy`) and the broker (the feed
topics' timestamp types, which `ensure_topics` reports), and acts on them. A
hub that is not in production mode (loopback, HUB_ENV unset) reads nothing.
"""

from __future__ import annotations

import logging

from hub.adapters.kafka.topics import TopicConfigs, timestamp_types
from hub.adapters.redis.client import redis_client
from hub.adapters.redis.memory_policy import eviction_policy
from hub.domain.errors import ConfigError
from hub.domain.production import StartFacts, Verdict, judge
from hub.settings import Settings, is_loopback

log = logging.getLogger(__name__)
ROLES = ("api", "worker", "rebuild")


async def production_verdicts(
    settings: Settings, role: str, topics: TopicConfigs | None = None
) -> list[Verdict]:
    """Read the facts a `role` process is judged on and return the verdicts.

    `topics` are the feed topics' configs (`ensure_topics` returns them); the API,
    which does not read the topics, passes none.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, not {role!r}")
    client = redis_client(settings)
    try:
        policy, unread = await eviction_policy(client)
    finally:
        await client.aclose()
    direct, main = timestamp_types(settings, topics) if topics is not None else ({}, {})
    beyond_loopback = not is_loopback(settings.http_host)
    serves_metrics = role == "api" or (role == "worker" and settings.metrics_port > 0)
    facts = StartFacts(
        role=role,
        envelope_key_set=bool(settings.envelope_key.strip()),
        metrics_exposed=serves_metrics and beyond_loopback,
        metrics_token_set=bool(settings.metrics_token),
        admin_token=settings.admin_token if role == "api" else "",
        eviction_policy=policy,
        eviction_unread=unread,
        direct_topics=direct,
        feed_topics=main,
        accept_unsigned=settings.accept_unsigned and role in ("worker", "rebuild"),
    )
    return judge(facts)


def enforce(verdicts: list[Verdict]) -> None:
    """Log each warning; raise ConfigError listing every refusal, one a line."""
    for verdict in verdicts:
        if not verdict.refuse:
            log.warning("production check: %s", verdict.message)
    refused = [v.message for v in verdicts if v.refuse]
    if refused:
        raise ConfigError(
            "refusing to start in production mode (HUB_ENV=production, or HUB_HTTP_HOST beyond "
            "loopback):\n- " + "\n- ".join(refused)
        )


async def check_production(
    settings: Settings, role: str, topics: TopicConfigs | None = None
) -> None:
    """In production mode, refuse unsafe settings (ConfigError) and warn about doubtful ones."""
    if settings.production:
        enforce(await production_verdicts(settings, role, topics))
