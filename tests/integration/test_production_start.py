"""Production mode on a real broker and Valkey: unsafe settings stop `hub serve` and `hub worker`
at start, naming each setting; what cannot be known is warned about; loopback is never checked.

The embedded broker reports only the topic configs that were set explicitly, so
the timestamp checks are shown here on topics created with their configs set.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from hub.adapters.kafka.topics import ensure_topics
from hub.adapters.production_checks import check_production, production_verdicts
from hub.domain.errors import ConfigError
from hub.domain.feeds import AMBULANCE_HANDOVER, ED_ATTENDANCE, direct_topic_for, topic_for
from hub.settings import Settings

pytestmark = pytest.mark.timeout(120)


def safe(settings_factory: Any, **changes: Any) -> Settings:
    """Settings a production hub may start with, on the test's broker and Valkey."""
    settings: Settings = settings_factory(
        env="production",
        admin_token=secrets.token_hex(24),
        metrics_token=secrets.token_hex(24),
    )
    return settings.with_(**changes)


async def precreate(settings: Settings, topic: str, configs: dict[str, str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 2, 1, topic_configs=configs)])
    finally:
        await admin.close()


KEEPS = {"cleanup.policy": "compact", "retention.ms": "-1"}


@pytest.fixture
async def policy(redis_client: aioredis.Redis) -> AsyncIterator[aioredis.Redis]:
    """The session's Valkey, its maxmemory-policy put back however the test ends."""
    before = (await redis_client.config_get("maxmemory-policy"))["maxmemory-policy"]
    yield redis_client
    await redis_client.config_set("maxmemory-policy", before)


async def test_a_safe_production_api_and_worker_start_without_a_word(settings_factory: Any) -> None:
    settings = safe(settings_factory, metrics_port=9100, http_host="0.0.0.0")
    topics = await ensure_topics(settings)
    assert await production_verdicts(settings, "api") == []
    assert await production_verdicts(settings, "worker", topics) == []


async def test_an_evicting_redis_is_refused_naming_maxmemory_policy(
    settings_factory: Any, policy: aioredis.Redis
) -> None:
    settings = safe(settings_factory)
    await policy.config_set("maxmemory-policy", "volatile-lru")  # ElastiCache's default
    with pytest.raises(ConfigError) as refused:
        await check_production(settings, "api")
    assert "maxmemory-policy volatile-lru" in str(refused.value)
    assert "count twice" in str(refused.value)
    await check_production(settings.with_(env="development"), "api")  # loopback: not checked


async def test_without_config_the_policy_is_read_from_info_and_without_both_it_is_a_warning(
    settings_factory: Any, redis_client: aioredis.Redis
) -> None:
    name, password = f"hub-{uuid.uuid4().hex[:8]}", secrets.token_hex(16)
    host = redis_client.connection_pool.connection_kwargs["host"]
    port = redis_client.connection_pool.connection_kwargs["port"]
    url = f"redis://{name}:{password}@{host}:{port}/0"
    try:
        # A least-privilege user, as deploy/README.md asks for: no @admin, so no CONFIG.
        await redis_client.acl_setuser(
            name, enabled=True, passwords=[f"+{password}"], keys=["*"],
            commands=["+@all", "-@admin", "-@dangerous", "+info"],
        )  # fmt: skip
        settings = safe(settings_factory, redis_url=url)
        assert await production_verdicts(settings, "api") == []  # INFO said noeviction
        await redis_client.acl_setuser(name, enabled=True, commands=["-info"])  # and no INFO
        (verdict,) = await production_verdicts(settings, "api")
        assert not verdict.refuse and verdict.setting == "maxmemory-policy"
        assert "NOPERM" in verdict.message or "permission" in verdict.message
        await check_production(settings, "api")  # a warning does not stop the start
    finally:
        await redis_client.acl_deluser(name)


async def test_a_direct_topic_stamped_by_its_producer_is_refused_a_main_one_warned_about(
    settings_factory: Any,
) -> None:
    settings = safe(settings_factory, direct_producers="RX9")
    direct = direct_topic_for(AMBULANCE_HANDOVER, "RX9", settings.topic_prefix)
    main = topic_for(ED_ATTENDANCE, settings.topic_prefix)
    await precreate(settings, direct, {**KEEPS, "message.timestamp.type": "CreateTime"})
    await precreate(settings, main, {**KEEPS, "message.timestamp.type": "CreateTime"})
    topics = await ensure_topics(settings)
    verdicts = await production_verdicts(settings, "worker", topics)
    assert [(v.refuse, v.setting) for v in verdicts] == [
        (True, f"{direct} message.timestamp.type"),
        (False, f"{main} message.timestamp.type"),
    ]
    with pytest.raises(ConfigError, match=f"topic {direct} has message.timestamp.type=CreateTime"):
        await check_production(settings, "worker", topics)


def hub(settings: Settings, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        env={**os.environ, **settings.to_env(), **env},
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


async def test_hub_serve_and_hub_worker_refuse_to_start_naming_every_unsafe_setting(
    settings_factory: Any,
) -> None:
    settings = safe(settings_factory, direct_producers="RX9").with_(
        admin_token="change-me-2024!",
        envelope_key="",
        metrics_token="",
        http_host="0.0.0.0",  # metrics beyond loopback: the token is needed
        require_viewer_token=True,
        http_port=1,
    )
    direct = direct_topic_for(AMBULANCE_HANDOVER, "RX9", settings.topic_prefix)
    await precreate(settings, direct, {**KEEPS, "message.timestamp.type": "CreateTime"})

    served = hub(settings, "hub", "serve")
    assert served.returncode == 1, served.stderr
    for setting in ("HUB_ADMIN_TOKEN", "HUB_ENVELOPE_KEY", "HUB_METRICS_TOKEN"):
        assert setting in served.stderr
    assert "Uvicorn running" not in served.stderr  # refused before listening

    worked = hub(settings, "streams", "worker", HUB_METRICS_PORT="0")
    assert worked.returncode == 1, worked.stderr
    assert "HUB_ENVELOPE_KEY" in worked.stderr and direct in worked.stderr
    assert "HUB_ADMIN_TOKEN" not in worked.stderr  # a worker never holds it
