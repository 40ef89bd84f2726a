"""Build the Redis client every hub process uses."""

from __future__ import annotations

import redis.asyncio as aioredis

from hub.settings import Settings


def redis_client(settings: Settings) -> aioredis.Redis:
    """Return a client with bounded waits, so an outage is an error, not a hang."""
    return aioredis.from_url(
        settings.redis_url,
        decode_responses=True,
        socket_timeout=5.0,
        socket_connect_timeout=2.0,
        health_check_interval=30,
    )
