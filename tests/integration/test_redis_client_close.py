"""A closed Redis client opens no socket again, even for a subscription still listening."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from hub.adapters.redis.client import redis_client as hub_redis_client
from hub.settings import Settings

pytestmark = pytest.mark.timeout(60)


async def named(redis: aioredis.Redis, name: str) -> list[dict[str, str]]:
    """Return the connections Valkey holds for clients called `name`."""
    return [c for c in await redis.client_list() if c.get("name") == name]


async def test_a_subscription_listening_on_after_its_client_closed_opens_no_socket(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    # The hub's live notices listen like this. redis-py's health check pings before it
    # reads; on a socket the closing client cut, that ping used to open a fresh one,
    # which nothing would ever close (the leak a test run once tripped over).
    name = "closing-" + uuid.uuid4().hex[:8]
    url = f"{settings.redis_url}?client_name={name}&health_check_interval=1"
    client = hub_redis_client(settings.with_(redis_url=url))
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    try:
        await pubsub.subscribe(f"{settings.key_prefix}:live")
        assert len(await named(redis_client, name)) == 1
        await asyncio.sleep(1.2)  # its health check falls due

        await client.aclose()
        with pytest.raises(RedisConnectionError, match="has been closed"):
            await pubsub.get_message(timeout=0.2)
        assert await named(redis_client, name) == []
        with pytest.raises(RedisConnectionError, match="has been closed"):
            await client.ping()  # a command started later fails too, opening nothing
        assert await named(redis_client, name) == []
    finally:
        await pubsub.aclose()
